// Constant time, checked without timing: the module is instrumented with Binaryen's
// instrument-memory pass, so every load and store reports its address. An operation on secret data
// must touch the same addresses in the same order whatever the secret is (no early exit, no
// secret-dependent table index): the traces for different secrets must be identical.
// p256_sign and p256_keygen are exports of the test module only (docs/ABI.md "Test module"): the
// same source compiled with the release options; the release module signs with that code (POP).
import { describe, expect, it } from "vitest";
import binaryen from "binaryen";
import { readFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import asc from "assemblyscript/asc";
import { DEFAULT_WASM, TEST_WASM } from "../host/node/lib/core";

/** The module with every memory access reported; `trace` collects a digest of the addresses. */
function instrumented(bin: Uint8Array, env: Record<string, unknown> = {}) {
  const m = binaryen.readBinary(bin);
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals);
  m.runPasses(["instrument-memory"]);
  const out = m.emitBinary();
  m.dispose();
  let h = createHash("sha256"),
    count = 0,
    on = false;
  const ptr = (_id: number, bytes: number, offset: number, address: number) => {
    if (on) {
      h.update(`${bytes}:${(address + offset) >>> 0};`);
      count++;
    }
    return address;
  };
  const val = (_id: number, v: number | bigint) => v;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out as Uint8Array<ArrayBuffer>), {
    env: {
      flash_read: () => -1,
      flash_write: () => -1,
      flash_erase: () => -1,
      sign: () => -1,
      ...env,
      load_ptr: ptr,
      store_ptr: ptr,
      memory_grow_pre: (v: number) => v,
      memory_grow_post: (v: number) => v,
      load_val_i32: val,
      load_val_i64: val,
      load_val_f32: val,
      load_val_f64: val,
      store_val_i32: val,
      store_val_i64: val,
      store_val_f32: val,
      store_val_f64: val,
    },
  });
  const x: any = instance.exports;
  return {
    x,
    mem: () => new Uint8Array(x.memory.buffer),
    trace(f: () => unknown): { digest: string; count: number; result: unknown } {
      h = createHash("sha256");
      count = 0;
      on = true;
      const result = f();
      on = false;
      return { digest: h.digest("hex"), count, result };
    },
  };
}

describe("memory access pattern independent of secrets", () => {
  it("ctEqual (MAC and RSA encoding comparisons) reads every byte whatever differs", async () => {
    const src = readFileSync(new URL("../assembly/crypto/ct.ts", import.meta.url), "utf8");
    const r = await asc.compileString(
      { "input.ts": 'export { ctEqual } from "./ct";', "ct.ts": src },
      { runtime: "stub", optimizeLevel: 3, shrinkLevel: 2, initialMemory: 1 },
    );
    expect(r.error).toBeNull();
    const t = instrumented(r.binary!, { abort() {} });
    const a = randomBytes(32);
    const traces = new Set<string>();
    const results: unknown[] = [];
    for (const differAt of [-1, 0, 1, 15, 31]) {
      const b = Buffer.from(a);
      if (differAt >= 0) b[differAt] ^= 0x80;
      t.mem().set(a, 1024);
      t.mem().set(b, 2048);
      const tr = t.trace(() => t.x.ctEqual(1024, 2048, 32));
      traces.add(tr.digest);
      results.push(tr.result);
      expect(tr.count).toBeGreaterThanOrEqual(64);
    }
    expect(results).toEqual([1, 0, 0, 0, 0]);
    expect(traces.size).toBe(1);
  });

  it("P-256 public key from a private key (fixed-base scalar multiplication, inversion)", () => {
    const t = instrumented(readFileSync(DEFAULT_WASM), { random: () => -1, time: () => 0n });
    const io = t.x.io_ptr();
    t.mem().set(randomBytes(32), io);
    expect(t.x.p256_public(io, io + 64)).toBe(0); // the first call builds the base-point table
    const traces = new Set<string>();
    for (let i = 0; i < 4; i++) {
      t.mem().set(randomBytes(32), io);
      const tr = t.trace(() => t.x.p256_public(io, io + 64));
      expect(tr.result).toBe(0);
      traces.add(tr.digest);
    }
    expect(traces.size).toBe(1);
  });

  it("P-256 signing: keys and hedging bytes differ, the accesses do not (signatures of equal DER layout)", () => {
    let next = randomBytes(32);
    const t = instrumented(readFileSync(TEST_WASM), {
      random: (p: number, n: number) => {
        t.mem().set(next.subarray(0, n), p);
        return 0;
      },
      time: () => 0n,
    });
    const io = t.x.io_ptr();
    const msg = Buffer.from("the same message, different keys");
    t.mem().set(randomBytes(32), io);
    t.mem().set(msg, io + 256);
    expect(t.x.p256_sign(io, 2, io + 256, msg.length, io + 512)).toBeGreaterThan(0); // the first call builds the base-point table
    const traces = new Set<string>();
    let compared = 0;
    for (let i = 0; i < 60 && compared < 3; i++) {
      t.mem().set(randomBytes(32), io);
      t.mem().set(msg, io + 256);
      next = randomBytes(32);
      const tr = t.trace(() => t.x.p256_sign(io, 2, io + 256, msg.length, io + 512));
      // DER drops a leading zero byte of r or s: compare only signatures with 33-byte r and s (72 bytes)
      if (tr.result !== 72) continue;
      traces.add(tr.digest);
      compared++;
    }
    expect(compared).toBe(3);
    expect(traces.size).toBe(1);
  });

  it("control: verification (public data, variable time by design) does show different traces", () => {
    const t = instrumented(readFileSync(TEST_WASM), {
      random: (p: number, n: number) => {
        t.mem().set(randomBytes(n), p);
        return 0;
      },
      time: () => 0n,
    });
    const io = t.x.io_ptr();
    const msg = Buffer.from("message");
    t.mem().set(msg, io + 256);
    const traces = new Set<string>();
    for (let i = 0; i < 3; i++) {
      expect(t.x.p256_keygen(io, io + 64)).toBe(0);
      const n = t.x.p256_sign(io, 2, io + 256, msg.length, io + 512);
      const tr = t.trace(() => t.x.ecdsa_verify(1, 2, io + 64, 65, io + 256, msg.length, io + 512, n));
      expect(tr.result).toBe(0);
      traces.add(tr.digest);
    }
    expect(traces.size).toBeGreaterThan(1);
  });
});
