// Board profiles (boards/*.json) against the built module, and the checker against modules made
// to break one rule each.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { abiImports, checkAll, checkBoard, featuresUsed, loadBoards, ramMeasured } from "../scripts/boards";

const boards = loadBoards();
const byName = (n: string) => boards.find((b) => b.board === n)!;

// A hand-assembled module: one page (max `pages`), optional import, one function body `code`.
function module(code: number[], pages = 1, imp?: string): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const sec = (id: number, body: number[]) => [id, body.length, ...body];
  const body = [0, ...code, 0x0b];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...sec(1, [1, 0x60, 0, 0]),
    ...(imp ? sec(2, [1, ...str("env"), ...str(imp), 0, 0]) : []),
    ...sec(3, [1, 0]),
    ...sec(5, [1, 1, pages, pages]),
    ...sec(10, [1, body.length, ...body]),
  ]);
}
function check(bin: Uint8Array, board: string) {
  const file = join(mkdtempSync(join(tmpdir(), "tinycmp-boards-")), "m.wasm");
  writeFileSync(file, bin);
  return checkBoard(byName(board), file, bin, featuresUsed(file), abiImports());
}

describe("boards", () => {
  it("has the required profiles", () => {
    expect(boards.map((b) => b.board).sort()).toEqual(["cortex-m7-wamr", "esp32-s3-wasm3", "linux-arm64-wamr", "linux-x64-node", "stm32f405-wasm2c"]);
    expect(byName("cortex-m7-wamr").ram_bytes).toBe(512 * 1024);
    expect(byName("cortex-m7-wamr").flash_bytes).toBe(2 * 1024 * 1024);
  });

  it("the built module fits every board", () => {
    const results = checkAll();
    for (const r of results) expect(r.problems, r.board).toEqual([]);
    expect(results.every((r) => r.fits && r.memory_pages === 1 && r.module_bytes <= 64 * 1024)).toBe(true);
  });

  it("npm run boards -- --json prints the array", () => {
    const out = execFileSync("npx", ["tsx", "scripts/boards.ts", "--json"], { encoding: "utf8" });
    const rows = JSON.parse(out);
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(Object.keys(r)).toEqual(expect.arrayContaining(["board", "fits", "module_bytes", "memory_pages"]));
  });

  it("a plain MVP module fits (control)", () => {
    expect(check(module([]), "cortex-m7-wamr").problems).toEqual([]);
  });

  it("memory.fill (bulk memory) does not fit a WAMR build without it, fits Node", () => {
    const bulk = module([0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0b, 0x00]);
    const m7 = check(bulk, "cortex-m7-wamr");
    expect(m7.fits).toBe(false);
    expect(m7.features_missing).toEqual(["bulk-memory"]);
    expect(check(bulk, "linux-x64-node").fits).toBe(true);
  });

  it("sign extension (i32.extend8_s) does not fit a board that lacks it", () => {
    const board = { ...byName("cortex-m7-wamr"), features: ["mutable-globals"] };
    const file = join(mkdtempSync(join(tmpdir(), "tinycmp-boards-")), "m.wasm");
    const bin = module([0x41, 0, 0xc0, 0x1a]);
    writeFileSync(file, bin);
    expect(checkBoard(board, file, bin, featuresUsed(file), abiImports()).features_missing).toEqual(["sign-extension"]);
  });

  it("two pages of memory or an import outside the ABI do not fit", () => {
    expect(check(module([], 2), "linux-arm64-wamr").problems).toEqual(["memory of 2 pages > 1"]);
    expect(check(module([], 1, "socket"), "linux-arm64-wamr").problems.join()).toMatch(/env.socket is not in docs\/ABI.md/);
  });

  it("overlapping or out-of-flash slots are reported", () => {
    const b = byName("cortex-m7-wamr");
    const bad = {
      ...b,
      flash: {
        ...b.flash,
        slots: [
          { offset: b.flash.region_offset!, size: 65536 },
          { offset: b.flash.region_offset! + 32768, size: 32768 },
          { offset: 2097152, size: 32768 },
        ],
      },
    };
    const bin = module([]);
    const r = checkBoard(bad, "", bin, [], abiImports());
    expect(r.fits).toBe(false);
    expect(r.problems.join("\n")).toMatch(/overlap/);
    expect(r.problems.join("\n")).toMatch(/outside the flash region/);
    expect(r.problems.join("\n")).toMatch(/3 flash slots < 7/);
  });

  it.skipIf(!existsSync(join(__dirname, "../build/firmware/tinycmp-fw-lean.elf")))(
    "the firmware's RAM is its ELF's data + bss + stack, refused above the budget",
    () => {
      const b = byName("stm32f405-wasm2c");
      const ram = ramMeasured(b, 0);
      expect(ram.bytes).toBeGreaterThan(65536); // the static page at least
      const tight = { ...b, ram_budget_bytes: ram.bytes! - 1 };
      expect(check(module([]), "stm32f405-wasm2c").problems).toEqual([]);
      const file = join(mkdtempSync(join(tmpdir(), "boards-")), "m.wasm");
      writeFileSync(file, module([]));
      expect(checkBoard(tight, file, module([]), featuresUsed(file), abiImports()).problems.join()).toMatch(/RAM \d+ B .* > budget/);
    },
  );
});
