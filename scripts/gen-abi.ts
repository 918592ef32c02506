// `npx tsx scripts/gen-abi.ts` (run by `npm run build` after asc): the one source of the numbers
// hosts pass to and get from the core. Reads them from the core's own declarations, wherever they
// sit in assembly/ (`export const NAME: i32 = N`, several per statement allowed), and the export
// signatures from the built modules, and writes
//   host/c/tinycmp_abi.h     for the C hosts, the firmware and the fuzz harnesses (committed: a C
//                            build needs no Node)
//   host/node/lib/abi.ts     the same names for the Node host and the tests, the typed exports of
//                            the release, lean and test modules, and code -> name lookups
// It refuses a duplicate name anywhere in assembly/, and a duplicate value within a group (two
// error codes, two items... with one number), and a group value that is not a plain integer.
// `--check`: write nothing, exit 1 when a generated file differs from what is committed
// (test/abi.test.ts does the same).
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { wasmInfo, type FuncSig } from "./wasminfo";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const OUT_H = "host/c/tinycmp_abi.h";
export const OUT_TS = "host/node/lib/abi.ts";
const WASM = { release: "build/tinycmp.wasm", lean: "build/tinycmp-lean.wasm", test: "build/tinycmp-test.wasm" };

/** A group of numbers in the ABI: the declarations whose names match, in assembly/. */
interface Group {
  id: string;
  doc: string;
  match: (name: string, file: string) => boolean;
}
const prefix =
  (p: string, ...not: string[]) =>
  (n: string) =>
    n.startsWith(p) && !not.includes(n);
export const GROUPS: Group[] = [
  { id: "E", doc: "error codes: every export's negative result (assembly/errors.ts)", match: prefix("E_") },
  { id: "ACTION", doc: "actions: the result of tx_start, tx_input, tx_poll, tx_resume", match: prefix("ACTION_") },
  { id: "OP", doc: "operations: tx_start(op)", match: prefix("OP_") },
  // ITEM_LAST is the highest item (an alias), ITEM_HEAD the size of a store item's header
  { id: "ITEM", doc: "configuration items: tx_set(item, ...)", match: prefix("ITEM_", "ITEM_LAST", "ITEM_HEAD") },
  { id: "INT", doc: "integer items: tx_set_int(item, value)", match: prefix("INT_") },
  { id: "OPT", doc: "bits of the OPTIONS integer item", match: prefix("OPT_") },
  { id: "POPO", doc: "values of the POPO integer item (RFC 4211 4)", match: prefix("POPO_") },
  { id: "RESULT", doc: "result kinds: tx_result(kind, index)", match: prefix("RESULT_") },
  { id: "STATUS", doc: "PKIStatus (RFC 9810 5.2.3): tx_status()", match: prefix("STATUS_") },
  { id: "SIGN", doc: "algorithms of the host signer: env.sign(handle, alg, ...)", match: prefix("SIGN_") },
  { id: "HASH", doc: "hash identifiers: hash, hmac, pbm, pbkdf2, sig hashAlg", match: prefix("HASH_", "HASH_CTX_SIZE", "HASH_STATE") },
  { id: "CURVE", doc: "ECDSA curves: ecdsa_verify(curve, ...)", match: prefix("CURVE_") },
  { id: "EDDSA", doc: "EdDSA curves: eddsa_verify(curve, ...)", match: (n) => /^ED\d+$/.test(n) },
  { id: "RSA", doc: "RSA schemes: rsa_verify(scheme, ...)", match: prefix("RSA_", "RSA_FLAG_LEGACY") },
  { id: "SIG", doc: "flags of sig_verify and cert_verify_path", match: prefix("SIG_", "SIG_BUDGET") },
  { id: "KIND", doc: "record kinds of the credential store: store_*(kind, ...) (docs/STORE.md)", match: prefix("KIND_") },
  // TAG_ in assembly/der are DER tags, internal to the core
  { id: "TAG", doc: "item tags of store records: store_get(kind, tag, ...) (docs/STORE.md)", match: (n, f) => n.startsWith("TAG_") && f.startsWith("store/") },
];

export interface Def {
  name: string;
  value: number;
  file: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

// An integer literal (decimal or hex, optional minus) or `a << b` of two: anything else is
// refused for a group member (the header and module must not compute).
function value(expr: string): number | undefined {
  const lit = (s: string) => (/^-?(0x[0-9a-f]+|\d+)$/i.test(s.trim()) ? Number(s.trim()) : undefined);
  const shl = /^(.+)<<(.+)$/.exec(expr);
  if (shl) {
    const a = lit(shl[1]),
      b = lit(shl[2]);
    return a === undefined || b === undefined ? undefined : a << b;
  }
  return lit(expr);
}

/** Every `export const NAME: i32 = ...` in assembly/ (names unique), and the ABI groups. */
export function scan(root = ROOT): { groups: Map<string, Def[]>; version: number } {
  const seen = new Map<string, string>();
  const groups = new Map<string, Def[]>(GROUPS.map((g) => [g.id, []]));
  const dir = join(root, "assembly");
  for (const path of files(dir).sort()) {
    const file = relative(dir, path).replace(/\\/g, "/");
    const src = readFileSync(path, "utf8")
      .replace(/\/\/.*$/gm, "")
      .replace(/\/\*[\s\S]*?\*\//g, "");
    for (const st of src.matchAll(/\bexport\s+const\s+([^;]+);/g)) {
      for (const decl of st[1].split(/,(?![^(]*\))/)) {
        const m = /^\s*([A-Za-z_]\w*)\s*:\s*i32\s*=\s*([\s\S]+?)\s*$/.exec(decl);
        if (!m) continue;
        const [, name, expr] = m;
        if (seen.has(name)) throw new Error(`gen-abi: ${name} declared twice: assembly/${seen.get(name)} and assembly/${file}`);
        seen.set(name, file);
        const g = name === "ABI_VERSION" ? { id: "VERSION" } : GROUPS.find((x) => x.match(name, file));
        if (!g) continue;
        const v = value(expr);
        if (v === undefined) throw new Error(`gen-abi: ${name} (assembly/${file}) is not a plain integer: ${expr}`);
        if (g.id === "VERSION") groups.set("VERSION", [{ name, value: v, file }]);
        else groups.get(g.id)!.push({ name, value: v, file });
      }
    }
  }
  const version = groups.get("VERSION")?.[0]?.value;
  if (version === undefined) throw new Error("gen-abi: no `export const ABI_VERSION: i32 = N` in assembly/");
  groups.delete("VERSION");
  for (const [id, defs] of groups) {
    if (defs.length === 0) throw new Error(`gen-abi: group ${id} is empty (renamed in assembly/?)`);
    const byValue = new Map<number, Def>();
    for (const d of defs) {
      const other = byValue.get(d.value);
      if (other) throw new Error(`gen-abi: ${d.name} (assembly/${d.file}) and ${other.name} (assembly/${other.file}) are both ${d.value}`);
      byValue.set(d.value, d);
    }
    if (id === "E" && defs.some((d) => d.value >= 0)) throw new Error("gen-abi: an error code is not negative");
    defs.sort((a, b) => (id === "E" ? b.value - a.value : a.value - b.value));
  }
  return { groups, version };
}

/** Parameter names of every `export function` in assembly/ and test/as (for readable signatures). */
function paramNames(root: string): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const path of [...files(join(root, "assembly")), ...files(join(root, "test/as"))]) {
    const src = readFileSync(path, "utf8");
    for (const m of src.matchAll(/export\s+function\s+(\w+)\s*\(([^)]*)\)/g)) {
      names.set(
        m[1],
        m[2]
          .split(",")
          .map((p) => p.trim().split(/\s*:/)[0])
          .filter((p) => p),
      );
    }
  }
  return names;
}

const TS_TYPE: Record<string, string> = { i32: "number", i64: "bigint" };

function tsSig(name: string, sig: FuncSig, names: Map<string, string[]>): string {
  const given = names.get(name);
  const ps = sig.params.map((t, i) => `${given?.length === sig.params.length ? given[i] : `a${i}`}: ${TS_TYPE[t] ?? t}`);
  const r = sig.results.length ? TS_TYPE[sig.results[0]] : "void";
  return `${name}(${ps.join(", ")}): ${r};`;
}

/** The generated files: path -> content. */
export function generate(root = ROOT): Map<string, string> {
  const { groups, version } = scan(root);
  const info = Object.fromEntries(Object.entries(WASM).map(([k, f]) => [k, wasmInfo(readFileSync(join(root, f)))]));
  const names = paramNames(root);
  const funcs = (k: string) => info[k].exports.filter((e) => e.kind === "func");
  const release = new Set(funcs("release").map((e) => e.name));
  for (const e of funcs("lean")) if (!release.has(e.name)) throw new Error(`gen-abi: lean export ${e.name} not in the release module`);
  for (const e of release) if (!funcs("test").some((t) => t.name === e)) throw new Error(`gen-abi: the test module lacks ${e}`);
  const head = "Generated by scripts/gen-abi.ts from the declarations in assembly/ and the built modules: do not edit.";

  const h: string[] = [
    `/* ${head}\n * Names, values and meanings: docs/ABI.md. */`,
    "#ifndef TINYCMP_ABI_H",
    "#define TINYCMP_ABI_H",
    "#include <stdint.h>",
    "",
    '/* the module\'s abi_version() must equal this (docs/ABI.md "Compatibility") */',
    `#define TINYCMP_ABI_VERSION ${version}`,
  ];
  const ts: string[] = [
    `// ${head}`,
    "// Names, values and meanings: docs/ABI.md.",
    "",
    '/** The module\'s abi_version() must equal this (docs/ABI.md "Compatibility"). */',
    `export const ABI_VERSION = ${version};`,
  ];
  for (const g of GROUPS) {
    const defs = groups.get(g.id)!;
    h.push("", `/* ${g.doc} */`);
    ts.push("", `// ${g.doc}`);
    for (const d of defs) {
      h.push(`#define ${d.name} ${d.value < 0 ? `(${d.value})` : d.value}`);
      ts.push(`export const ${d.name} = ${d.value};`);
    }
    ts.push(
      `/** The names of the ${g.id} group by value. */`,
      `export const ${g.id}_NAMES: Readonly<Record<number, string>> = { ${defs.map((d) => `${d.value < 0 ? `"${d.value}"` : d.value}: "${d.name}"`).join(", ")} };`,
    );
  }
  const errs = groups.get("E")!;
  h.push(
    "",
    '/* the name of an error code ("E_CMP_SIGNER"), or NULL for another number */',
    "static inline const char *tinycmp_error_name(int32_t code) {",
    "  switch (code) {",
    ...errs.map((d) => `  case ${d.name}: return "${d.name}";`),
    "  default: return 0;",
    "  }",
    "}",
  );
  h.push("", "#endif", "");

  ts.push(
    "",
    '/** The name of a value of a group ("E_CMP_SIGNER", "ACTION_DONE"), or the number itself. */',
    "export function abiName(names: Readonly<Record<number, string>>, v: number): string {",
    "  return names[v] ?? String(v);",
    "}",
    "/** The name of an error code, or the number itself. */",
    "export function errorName(code: number): string {",
    "  return abiName(E_NAMES, code);",
    "}",
  );
  const iface = (name: string, doc: string, list: { name: string; kind: string; sig?: FuncSig }[], ext?: string) => {
    ts.push("", `/** ${doc} */`, `export interface ${name}${ext ? ` extends ${ext}` : ""} {`);
    for (const e of list) {
      if (e.kind !== "func" && e.kind !== "memory") throw new Error(`gen-abi: export ${e.name} is a ${e.kind}: only functions and memory belong in the ABI`);
      ts.push(e.sig ? `  ${tsSig(e.name, e.sig, names)}` : `  readonly ${e.name}: WebAssembly.Memory;`);
    }
    ts.push("}");
  };
  iface("CoreExports", "Exports of the release module (build/tinycmp.wasm).", info.release.exports);
  ts.push(
    "",
    "/** Exports of the lean module (build/tinycmp-lean.wasm). */",
    `export type LeanCoreExports = Pick<CoreExports, ${info.lean.exports.map((e) => `"${e.name}"`).join(" | ")}>;`,
  );
  iface(
    "TestCoreExports",
    "Exports of the test module (build/tinycmp-test.wasm): the release module's and these, for tests, fuzzers and benchmarks only.",
    info.test.exports.filter((e) => !release.has(e.name) && e.kind === "func"),
    "CoreExports",
  );
  ts.push("");
  return new Map([
    [OUT_H, h.join("\n")],
    [OUT_TS, ts.join("\n")],
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes("--check");
  let stale = 0;
  for (const [file, text] of generate()) {
    const path = join(ROOT, file);
    let old = "";
    try {
      old = readFileSync(path, "utf8");
    } catch {
      /* new */
    }
    if (old === text) continue;
    if (check) {
      console.error(`${file} is stale: run npx tsx scripts/gen-abi.ts`);
      stale++;
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${file}`);
  }
  process.exit(stale ? 1 : 0);
}
