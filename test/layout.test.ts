// The Node host's folders by role (README "Tour"): the library imports only itself, the test PKI
// only itself, and the programs and tools build on them; nothing below host/node/ imports the build
// and report commands of scripts/. Read from the sources' relative imports, so a new arrow fails here.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Folders (relative to the checkout) each role may import from. */
const ALLOWED: Record<string, string[]> = {
  "host/node/lib": ["host/node/lib"],
  "host/node/testpki": ["host/node/testpki"],
  "host/node/cli": ["host/node/cli", "host/node/lib", "host/node/testpki", "host/node/fleet"],
  "host/node/fleet": ["host/node/fleet", "host/node/lib", "host/node/testpki"],
  "host/node/tools": ["host/node/tools", "host/node/lib", "host/node/testpki", "test/helpers"],
};

/** Relative import specifiers of a TypeScript source: static imports, re-exports, import(). */
function relativeImports(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])(\.{1,2}\/[^"']+)\1/gm)) out.push(m[2]);
  return out;
}

/** "file: specifier" for every import that leaves the folders its role allows. */
function violations(files: Record<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, src] of Object.entries(files)) {
    const role = Object.keys(ALLOWED).find((r) => file.startsWith(r + "/"));
    if (!role) { bad.push(`${file}: in no role folder`); continue; }
    for (const spec of relativeImports(src)) {
      const target = normalize(join(dirname(file), spec));
      if (!ALLOWED[role].some((f) => target.startsWith(f + "/"))) bad.push(`${file}: ${spec}`);
    }
  }
  return bad;
}

function sources(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(".ts")) continue;
    const path = relative(root, join(e.parentPath, e.name));
    out[path] = readFileSync(join(root, path), "utf8");
  }
  return out;
}

describe("host/node folders by role", () => {
  it("every source sits in a role folder and imports only what its role allows", () => {
    const files = sources("host/node");
    expect(Object.keys(files).length).toBeGreaterThan(40);
    expect(violations(files)).toEqual([]);
  });

  it("refuses the arrows that would blur the roles", () => {
    expect(relativeImports(`import { a } from "./x";\nexport { b } from '../y.js';\nconst m = await import("../../z");\nimport "./side";`))
      .toEqual(["./x", "../y.js", "../../z", "./side"]);
    expect(violations({
      "host/node/lib/core.ts": `import { main } from "../cli/cli";`,
      "host/node/lib/store.ts": `const { TestPki } = await import("../testpki/index");`,
      "host/node/testpki/ca.ts": `export { Core } from "../lib/core";`,
      "host/node/tools/fuzzer.ts": `import { size } from "../../../scripts/size";`,
      "host/node/fleet/plan.ts": `import { fuzz } from "../tools/fuzzer";`,
      "host/node/misc.ts": ``,
      "host/node/cli/cli.ts": `import { Core } from "../lib/core";`,
    })).toEqual([
      "host/node/lib/core.ts: ../cli/cli",
      "host/node/lib/store.ts: ../testpki/index",
      "host/node/testpki/ca.ts: ../lib/core",
      "host/node/tools/fuzzer.ts: ../../../scripts/size",
      "host/node/fleet/plan.ts: ../tools/fuzzer",
      "host/node/misc.ts: in no role folder",
    ]);
  });
});
