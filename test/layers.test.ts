// The core's layers (docs/ARCHITECTURE.md), read from the imports of every file under assembly/.
// Lowest first: base files (errors, features, host, io, mem, panic), then der and crypto, pkix,
// store, cmp, and the ABI layer (abi.ts, tx.ts, lean.ts). A file may import its own folder, the
// base files, and folders of a lower layer: never a folder of its own layer (der and crypto know
// nothing of each other) or of a higher one. So der/, crypto/, pkix/ and store/ know nothing of
// CMP, and where the store and the transaction meet is the ABI layer.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { importsOf, tsFiles } from "./helpers/imports";

const ROOT = fileURLToPath(new URL("../assembly/", import.meta.url));
const BASE = ["errors.ts", "features.ts", "host.ts", "io.ts", "mem.ts", "panic.ts"];
const ABI = ["abi.ts", "tx.ts", "lean.ts"];
const LAYER: Record<string, number> = { base: 0, der: 1, crypto: 1, pkix: 2, store: 3, cmp: 4, abi: 5 };

/** The layer of a file given by its path under assembly/ ("cmp/checks.ts"), or undefined. */
function layerOf(file: string): string | undefined {
  const parts = file.split("/");
  if (parts.length === 1) return BASE.includes(file) ? "base" : ABI.includes(file) ? "abi" : undefined;
  return parts.length === 2 && parts[0] in LAYER && parts[0] !== "base" && parts[0] !== "abi" ? parts[0] : undefined;
}

/** Why `file` may not import `spec`, or null when it may. */
function violation(file: string, spec: string): string | null {
  if (!spec.startsWith(".")) return `${file} imports ${spec}, outside assembly/`;
  const target = posix.normalize(posix.join(posix.dirname(file), spec)) + ".ts";
  const from = layerOf(file),
    to = layerOf(target);
  if (!from) return `${file} is in no layer`;
  if (!to) return `${file} imports ${target}, which is in no layer`;
  if (from === to || to === "base") return null;
  if (LAYER[to] < LAYER[from]) return null;
  return `${file} (${from}) imports ${target} (${to}): a lower layer may not import a higher one or a peer`;
}

describe("layers of the core", () => {
  const files = tsFiles(ROOT);

  it("every file under assembly/ belongs to a layer", () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files.filter((f) => !layerOf(f))).toEqual([]);
  });

  it("no file imports a higher layer or a peer folder", () => {
    let seen = 0;
    const bad: string[] = [];
    for (const f of files) {
      for (const spec of importsOf(readFileSync(join(ROOT, f), "utf8"))) {
        seen++;
        const v = violation(f, spec);
        if (v) bad.push(v);
      }
    }
    expect(seen).toBeGreaterThan(200); // the parser reads the imports at all
    expect(bad).toEqual([]);
  });

  it("der/, crypto/, pkix/ and store/ import nothing of cmp/ or the ABI layer", () => {
    for (const f of files.filter((f) => /^(der|crypto|pkix|store)\//.test(f))) {
      const targets = importsOf(readFileSync(join(ROOT, f), "utf8")).map((s) => posix.normalize(posix.join(posix.dirname(f), s)));
      expect(
        targets.filter((t) => t.startsWith("cmp/") || ABI.includes(t + ".ts")),
        f,
      ).toEqual([]);
    }
  });

  it("the rule refuses what the store once imported, and the other wrong arrows", () => {
    // store/store.ts before the key glue moved to abi.ts: it imported the transaction
    const oldStore = `import { txSet } from "../cmp/transaction";\nimport { ITEM_KEY, ITEM_NEWKEY } from "../cmp/config";\n`;
    expect(importsOf(oldStore).map((s) => violation("store/store.ts", s))).toEqual([
      "store/store.ts (store) imports cmp/transaction.ts (cmp): a lower layer may not import a higher one or a peer",
      "store/store.ts (store) imports cmp/config.ts (cmp): a lower layer may not import a higher one or a peer",
    ]);
    expect(violation("der/reader.ts", "../crypto/hash")).not.toBeNull(); // peers
    expect(violation("crypto/p256.ts", "../der/reader")).not.toBeNull();
    expect(violation("pkix/cert.ts", "../store/items")).not.toBeNull();
    expect(violation("cmp/checks.ts", "../tx")).not.toBeNull();
    expect(violation("mem.ts", "./cmp/state")).not.toBeNull(); // base imports nothing above
    expect(violation("cmp/checks.ts", "../pkix/path")).toBeNull();
    expect(violation("store/store.ts", "../crypto/p256")).toBeNull();
    expect(violation("abi.ts", "./cmp/transaction")).toBeNull();
    expect(violation("cmp/checks.ts", "./decode")).toBeNull();
    expect(violation("pkix/cert.ts", "../mem")).toBeNull();
  });

  it("the parser reads multi-line, re-exporting and side-effect imports, not comments", () => {
    const src = `// import { x } from "../nowhere";\nimport {\n  a,\n  b,\n} from "./one";\nexport { c } from "../two";\nimport "./three";\n/* export { d } from "./four"; */\n`;
    expect(importsOf(src)).toEqual(["./one", "../two", "./three"]);
  });
});
