// The Node host's folders by role (docs/ARCHITECTURE.md, README "Tour"): the library imports only
// itself, the test PKI only itself, and the programs and tools build on them; nothing below
// host/node/ imports the build and report commands of scripts/. Read from the sources' relative
// imports, so a new arrow fails here.
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importsOf, tsFiles } from "./helpers/imports";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Folders (relative to the checkout) each role may import from. */
const ALLOWED: Record<string, string[]> = {
  "host/node/lib": ["host/node/lib"],
  "host/node/testpki": ["host/node/testpki"],
  "host/node/cli": ["host/node/cli", "host/node/lib", "host/node/testpki", "host/node/fleet"],
  "host/node/fleet": ["host/node/fleet", "host/node/lib", "host/node/testpki"],
  "host/node/tools": ["host/node/tools", "host/node/lib", "host/node/testpki", "test/helpers"],
};

/** "file: specifier" for every relative import that leaves the folders its role allows. */
function violations(files: Record<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, src] of Object.entries(files)) {
    const role = Object.keys(ALLOWED).find((r) => file.startsWith(r + "/"));
    if (!role) {
      bad.push(`${file}: in no role folder`);
      continue;
    }
    for (const spec of importsOf(src).filter((s) => s.startsWith("."))) {
      const target = normalize(join(dirname(file), spec));
      if (!ALLOWED[role].some((f) => target.startsWith(f + "/"))) bad.push(`${file}: ${spec}`);
    }
  }
  return bad;
}

function sources(dir: string): Record<string, string> {
  return Object.fromEntries(tsFiles(join(root, dir)).map((f) => [`${dir}/${f}`, readFileSync(join(root, dir, f), "utf8")]));
}

describe("host/node folders by role", () => {
  it("every source sits in a role folder and imports only what its role allows", () => {
    const files = sources("host/node");
    expect(Object.keys(files).length).toBeGreaterThan(40);
    expect(
      Object.values(files)
        .flatMap((s) => importsOf(s))
        .filter((s) => s.startsWith(".")).length,
    ).toBeGreaterThan(100);
    expect(violations(files)).toEqual([]);
  });

  it("the reader finds every kind of import, and not those in comments", () => {
    const src = `import { a } from "./x";\nexport { b } from '../y.js';\nconst m = await import("../../z");\nimport "./side";\nimport {\n  c,\n} from "node:fs";\n// import { d } from "../cli/cli";\n/* export { e } from "./no"; */\n`;
    expect(importsOf(src)).toEqual(["./x", "../y.js", "../../z", "./side", "node:fs"]);
  });

  it("refuses the arrows that would blur the roles", () => {
    expect(
      violations({
        "host/node/lib/core.ts": `import { main } from "../cli/cli";`,
        "host/node/lib/store.ts": `const { TestPki } = await import("../testpki/index");`,
        "host/node/testpki/ca.ts": `export { Core } from "../lib/core";`,
        "host/node/tools/fuzzer.ts": `import { size } from "../../../scripts/size";`,
        "host/node/fleet/plan.ts": `import { fuzz } from "../tools/fuzzer";`,
        "host/node/misc.ts": ``,
        "host/node/cli/cli.ts": `import { Core } from "../lib/core";\nimport { parseArgs } from "node:util";`,
      }),
    ).toEqual([
      "host/node/lib/core.ts: ../cli/cli",
      "host/node/lib/store.ts: ../testpki/index",
      "host/node/testpki/ca.ts: ../lib/core",
      "host/node/tools/fuzzer.ts: ../../../scripts/size",
      "host/node/fleet/plan.ts: ../tools/fuzzer",
      "host/node/misc.ts: in no role folder",
    ]);
  });
});
