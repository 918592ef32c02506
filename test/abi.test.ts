// The built modules' imports and exports equal the tables of docs/ABI.md, signatures included;
// the tables of numbers there equal the core's definitions; the generated header and TypeScript
// module are current; hosts refuse a module of another ABI version.
import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { AbiMismatch, Core, DEFAULT_WASM, LEAN_WASM, TEST_WASM } from "../host/node/lib/core";
import * as abi from "../host/node/lib/abi";
import { sigText, wasmInfo } from "../scripts/wasminfo";
import { generate, GROUPS, OUT_H, OUT_TS, scan } from "../scripts/gen-abi";

const ROOT = new URL("..", import.meta.url).pathname;
const doc = readFileSync(new URL("../docs/ABI.md", import.meta.url), "utf8");

/** Rows `| \`name\` | signature |` of a section, refusing a name listed twice. */
function table(text: string, heading: string): Map<string, string> {
  const section = text.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/ABI.md has no section ${heading}`);
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const m = /^\| `([^`]+)` \| `?([^`|]+?)`? \|/.exec(line);
    if (!m) continue;
    if (rows.has(m[1])) throw new Error(`docs/ABI.md ${heading}: ${m[1]} listed twice`);
    rows.set(m[1], m[2].trim());
  }
  return rows;
}

/** The table after the line starting with intro: `| number | name | ...` rows as name -> number,
 *  refusing a name or a number listed twice. */
function numbers(text: string, intro: string, prefix: string): Map<string, number> {
  const lines = text.split("\n");
  let i = lines.findIndex((l) => l.startsWith(intro));
  if (i < 0) throw new Error(`docs/ABI.md has no "${intro}"`);
  while (i < lines.length && !lines[i].startsWith("|")) i++;
  const rows = new Map<string, number>();
  const values = new Set<number>();
  for (; i < lines.length && lines[i].startsWith("|"); i++) {
    const m = /^\| (-?\d+) \| `?([A-Z0-9_]+)`? \|/.exec(lines[i]);
    if (!m) continue; // header and rule
    const name = m[2].startsWith(prefix) ? m[2] : prefix + m[2],
      v = Number(m[1]);
    if (rows.has(name)) throw new Error(`docs/ABI.md "${intro}": ${name} listed twice`);
    if (values.has(v)) throw new Error(`docs/ABI.md "${intro}": ${v} listed twice`);
    rows.set(name, v);
    values.add(v);
  }
  return rows;
}

const TABLES: [group: string, intro: string][] = [
  ["E", "| code | name | meaning |"],
  ["OP", "Operations (`tx_start(op)`)"],
  ["ACTION", "Actions (what"],
  ["ITEM", "Configuration items (`tx_set`"],
  ["INT", "Integer items (`tx_set_int`)"],
  ["OPT", "Option bits (OPTIONS)"],
  ["RESULT", "Results (`tx_result(kind, index)`)"],
];

const sigs = (wasm: string) => Object.fromEntries(wasmInfo(readFileSync(wasm)).exports.map((e) => [e.name, e.sig ? sigText(e.sig) : e.kind]));

describe("module ABI", () => {
  const info = wasmInfo(readFileSync(DEFAULT_WASM));

  it("imports exactly the documented host functions", () => {
    const got = new Map(info.imports.map((i) => [`${i.module}.${i.name}`, i.sig ? sigText(i.sig) : i.kind]));
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(table(doc, "Imports")));
  });

  it("the debug build imports nothing else, abort going to env.panic", () => {
    const debug = wasmInfo(readFileSync(DEFAULT_WASM.replace(/\.wasm$/, ".debug.wasm")));
    const allowed: Record<string, string> = { ...Object.fromEntries(table(doc, "Imports")), "env.panic": "(i32, i32) -> nil" };
    for (const i of debug.imports) expect(i.sig ? sigText(i.sig) : i.kind).toBe(allowed[`${i.module}.${i.name}`]);
  });

  it("exports exactly the documented functions", () => {
    expect(sigs(DEFAULT_WASM)).toEqual(Object.fromEntries(table(doc, "Exports")));
  });

  it("the test module exports the release module's functions and the documented test-only ones, nothing else", () => {
    const testOnly = table(doc, "Test module");
    for (const name of testOnly.keys()) expect(table(doc, "Exports").has(name), `${name} in both tables`).toBe(false);
    expect(sigs(TEST_WASM)).toEqual({ ...Object.fromEntries(table(doc, "Exports")), ...Object.fromEntries(testOnly) });
  });

  it("the lean module exports a subset of the release module's, with the same signatures", () => {
    const release = sigs(DEFAULT_WASM);
    for (const [name, sig] of Object.entries(sigs(LEAN_WASM))) expect(release[name], name).toBe(sig);
  });

  it("a table listing an export twice is refused, not folded into one row", () => {
    const twice = "## Exports\n\n| export | signature | meaning |\n|---|---|---|\n| `hmac` | `() -> i32` | a |\n| `hmac` | `() -> i32` | b |\n";
    expect(() => table(twice, "Exports")).toThrow(/hmac listed twice/);
  });

  it("has bounded memory: one page, and two more only for a response above the I/O buffer", () => {
    expect(info.memory).toEqual({ initial: 1, maximum: 3 });
  });
});

describe("numbers of the ABI: one source", () => {
  const { groups } = scan();

  it.each(TABLES)("docs/ABI.md lists exactly the core's %s definitions", (group, intro) => {
    const core = new Map(groups.get(group)!.map((d) => [d.name, d.value]));
    expect(Object.fromEntries(numbers(doc, intro, `${group}_`))).toEqual(Object.fromEntries(core));
  });

  it("a number table listing a name or a number twice is refused", () => {
    const rows = (r: string) => `Actions (what x):\n\n| action | name | the host |\n|---|---|---|\n| 1 | SEND | a |\n${r}\n`;
    expect(() => numbers(rows("| 1 | SEND | b |"), "Actions (what", "ACTION_")).toThrow(/ACTION_SEND listed twice/);
    expect(() => numbers(rows("| 1 | WAIT | b |"), "Actions (what", "ACTION_")).toThrow(/1 listed twice/);
  });

  it("the committed host/c/tinycmp_abi.h and host/node/lib/abi.ts are what the generator writes now", () => {
    for (const [file, text] of generate()) {
      expect(readFileSync(join(ROOT, file), "utf8"), `${file} is stale: run npx tsx scripts/gen-abi.ts`).toBe(text);
    }
    expect([...generate().keys()].sort()).toEqual([OUT_H, OUT_TS].sort());
  });

  it("the TypeScript module and the header say the same numbers as the core", () => {
    const header = readFileSync(join(ROOT, OUT_H), "utf8");
    for (const g of GROUPS) {
      for (const d of groups.get(g.id)!) {
        expect((abi as unknown as Record<string, number>)[d.name], d.name).toBe(d.value);
        expect(header).toContain(`#define ${d.name} ${d.value < 0 ? `(${d.value})` : d.value}\n`);
      }
    }
    expect(abi.errorName(abi.E_CMP_SIGNER)).toBe("E_CMP_SIGNER");
    expect(abi.errorName(-1000)).toBe("-1000");
  });

  describe("the generator refuses what would make two meanings of one number", () => {
    const tree = (files: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), "gen-abi-"));
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(join(dir, "assembly", f, ".."), { recursive: true });
        writeFileSync(join(dir, "assembly", f), text);
      }
      return dir;
    };
    // every group present once, so that only the planted fault can fail the scan
    const base = readFileSync(join(ROOT, "host/node/lib/abi.ts"), "utf8")
      .split("\n")
      .filter((l) => /^export const [A-Z][A-Z0-9_]* = -?\d+;$/.test(l))
      .map((l) => l.replace(/^export const (\w+) = (-?\d+);$/, "export const $1: i32 = $2;"))
      .map((l) => (/ (TAG_|ABI_VERSION)/.test(l) ? "" : l))
      .join("\n");
    const files = (extra: Record<string, string>) => ({
      "all.ts": base,
      "store/items.ts": "export const TAG_KEY: i32 = 1, TAG_CERT: i32 = 2;\n",
      "tx.ts": "export const ABI_VERSION: i32 = 7;\n",
      ...extra,
    });
    const attempt = (extra: Record<string, string>) => {
      const dir = tree(files(extra));
      try {
        return scan(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it("accepts the plain tree (the control case)", () => {
      const { groups, version } = attempt({});
      expect(version).toBe(7);
      expect(groups.get("TAG")!.map((d) => d.name)).toEqual(["TAG_KEY", "TAG_CERT"]);
    });
    it("an error code with the number of another, in another file", () => {
      expect(() => attempt({ "cmp/new.ts": "export const E_CMP_NEW: i32 = -96;\n" })).toThrow(/E_CMP_NEW .* and E_CMP_SIGNER .* are both -96/);
    });
    it("a second item of a comma list with the value of the first", () => {
      expect(() => attempt({ "cmp/new.ts": "export const ITEM_A: i32 = 90, ITEM_B: i32 = 90;\n" })).toThrow(/are both 90/);
    });
    it("a name declared in two files", () => {
      expect(() => attempt({ "cmp/moved.ts": "export const ACTION_SEND: i32 = 1;\n" })).toThrow(/ACTION_SEND declared twice/);
    });
    it("a group value that is an expression", () => {
      expect(() => attempt({ "cmp/new.ts": "export const RESULT_X: i32 = RESULT_CERT + 10;\n" })).toThrow(/RESULT_X .* not a plain integer/);
    });
    it("a group that vanished (renamed declarations)", () => {
      const dir = tree({ "tx.ts": "export const ABI_VERSION: i32 = 1;\n" });
      try {
        expect(() => scan(dir)).toThrow(/group E is empty/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    it("DER tags are not store tags (TAG_ outside assembly/store)", () => {
      const { groups } = attempt({ "der/tags.ts": "export const TAG_BOOLEAN: i32 = 0x01;\n" });
      expect(groups.get("TAG")!.some((d) => d.name === "TAG_BOOLEAN")).toBe(false);
    });
  });
});

describe("ABI version", () => {
  /** A module exporting memory and, unless version is undefined, abi_version() returning it. */
  function tinyModule(version?: number): Uint8Array {
    const name = (s: string) => [s.length, ...Buffer.from(s)];
    const section = (id: number, body: number[]) => [id, body.length, ...body];
    const exports = [...name("memory"), 2, 0, ...(version === undefined ? [] : [...name("abi_version"), 0, 0])];
    return Uint8Array.from([
      0x00,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      ...(version === undefined ? [] : [...section(1, [1, 0x60, 0, 1, 0x7f]), ...section(3, [1, 0])]),
      ...section(5, [1, 0, 1]),
      ...section(7, [version === undefined ? 1 : 2, ...exports]),
      ...(version === undefined ? [] : section(10, [1, 4, 0, 0x41, version & 0x3f, 0x0b])), // i32.const v (0..63)
    ]);
  }

  it("every built module says the version of the generated files", () => {
    for (const wasm of [DEFAULT_WASM, LEAN_WASM, TEST_WASM]) expect(new Core({ wasm }).exports.abi_version(), wasm).toBe(abi.ABI_VERSION);
  });

  it("the Node host refuses a module of another version, naming both numbers", () => {
    const other = (abi.ABI_VERSION + 1) & 0x3f;
    expect(() => new Core({ wasm: tinyModule(other) })).toThrow(AbiMismatch);
    expect(() => new Core({ wasm: tinyModule(other) })).toThrow(`has ABI version ${other}, this host needs ${abi.ABI_VERSION}`);
  });

  it("the Node host refuses a module without abi_version", () => {
    expect(() => new Core({ wasm: tinyModule() })).toThrow(/ABI version none \(no abi_version export\)/);
  });

  it("the hand-made module of the right version passes the check (the control case)", () => {
    // it then fails for lacking io_ptr, which shows the version check let it through
    expect(() => new Core({ wasm: tinyModule(abi.ABI_VERSION) })).toThrow(TypeError);
  });
});

describe("plain WebAssembly", () => {
  it("validates with bulk-memory, sign-extension and saturating float-to-int disabled", () => {
    // wasm-validate is Debian's wabt (installed by .ci/run); a missing tool is a failure, not a skip.
    const r = spawnSync("wasm-validate", ["--disable-bulk-memory", "--disable-sign-extension", "--disable-saturating-float-to-int", DEFAULT_WASM], {
      encoding: "utf8",
    });
    expect(r.error, "wasm-validate (apt-get install wabt)").toBeUndefined();
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
