// The built module's imports and exports equal the tables of docs/ABI.md, signatures included.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { DEFAULT_WASM } from "../host/node/lib/core";
import { sigText, wasmInfo } from "../scripts/wasminfo";

const doc = readFileSync(new URL("../docs/ABI.md", import.meta.url), "utf8");

function table(heading: string): Map<string, string> {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/ABI.md has no section ${heading}`);
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const m = /^\| `([^`]+)` \| `?([^`|]+?)`? \|/.exec(line);
    if (m) rows.set(m[1], m[2].trim());
  }
  return rows;
}

describe("module ABI", () => {
  const info = wasmInfo(readFileSync(DEFAULT_WASM));

  it("imports exactly the documented host functions", () => {
    const got = new Map(info.imports.map((i) => [`${i.module}.${i.name}`, i.sig ? sigText(i.sig) : i.kind]));
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(table("Imports")));
  });

  it("the debug build imports nothing else, abort going to env.panic", () => {
    const debug = wasmInfo(readFileSync(DEFAULT_WASM.replace(/\.wasm$/, ".debug.wasm")));
    const allowed: Record<string, string> = { ...Object.fromEntries(table("Imports")), "env.panic": "(i32, i32) -> nil" };
    for (const i of debug.imports) expect(i.sig ? sigText(i.sig) : i.kind).toBe(allowed[`${i.module}.${i.name}`]);
  });

  it("exports exactly the documented functions", () => {
    const got = new Map(info.exports.map((e) => [e.name, e.sig ? sigText(e.sig) : e.kind]));
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(table("Exports")));
  });

  it("has bounded memory: one page, and two more only for a response above the I/O buffer", () => {
    expect(info.memory).toEqual({ initial: 1, maximum: 3 });
  });
});

describe("plain WebAssembly", () => {
  it("validates with bulk-memory, sign-extension and saturating float-to-int disabled", () => {
    // wasm-validate is Debian's wabt (installed by .ci/run); a missing tool is a failure, not a skip.
    const r = spawnSync("wasm-validate", [
      "--disable-bulk-memory", "--disable-sign-extension", "--disable-saturating-float-to-int", DEFAULT_WASM,
    ], { encoding: "utf8" });
    expect(r.error, "wasm-validate (apt-get install wabt)").toBeUndefined();
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
