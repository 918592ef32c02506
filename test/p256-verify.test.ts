// P-256 field operations and the verification path of the full module (assembly/crypto/
// p256_field.ts, p256_point.ts mulVerify): the field against bigint arithmetic, verification of
// digests against @noble/curves, with signatures built to reach the cases an interleaved
// u1·G + u2·Q meets (sum needing a doubling, sum at infinity, u1 = 0, small u2, Q = ±G).
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { E_SIG_INVALID } from "../host/node/lib/abi";

const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const R = 2n ** 256n;

const c = new Core<TestCoreExports>({ wasm: TEST_WASM });
const x = c.exports;

const le = (v: bigint): Uint8Array => {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
};
const fromLe = (b: Uint8Array): bigint => b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
const be = (v: bigint): Uint8Array => le(v).reverse();
const write = (ptr: number, b: Uint8Array): void => new Uint8Array(c.memory.buffer, ptr, b.length).set(b);
const rnd = (m: bigint): bigint => fromLe(randomBytes(32)) % m;
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return mod(s0, m);
}

describe("P-256 field operations against bigint arithmetic", () => {
  for (const [name, m, id] of [
    ["p", P, 0],
    ["n", N, 1],
  ] as const) {
    // Edge values: 0, 1, 2, m - 1, m - 2, limb boundaries, all-ones limbs below m, powers of 2.
    const edges = [0n, 1n, 2n, m - 1n, m - 2n, m >> 1n, (m >> 1n) + 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 224n - 1n, 2n ** 255n, R - 1n - (R - m)];
    for (let i = 0; i < 8; i++) edges.push(mod(2n ** BigInt(32 * i + 31), m), mod(2n ** BigInt(32 * (i + 1)) - 1n, m));
    const rinv = inv(R, m);
    const ops: [number, string, (a: bigint, b: bigint) => bigint][] = [
      [0, "a·b·R^-1", (a, b) => mod(a * b * rinv, m)],
      [1, "a·a·R^-1", (a) => mod(a * a * rinv, m)],
      [2, "a + b", (a, b) => mod(a + b, m)],
      [3, "a - b", (a, b) => mod(a - b, m)],
    ];
    if (id === 0) for (let k = 2; k <= 8; k++) ops.push([k + 2, `${k}·a`, (a) => mod(BigInt(k) * a, m)]);
    it(`mod ${name}: mul, sqr, add, sub (and small multiples mod p) equal bigint on edge values and 5000 random pairs`, () => {
      c.reset();
      const pr = c.reserve(32),
        pa = c.reserve(32),
        pb = c.reserve(32);
      const pairs: [bigint, bigint][] = [];
      for (const a of edges) for (const b of edges) pairs.push([a % m, b % m]);
      for (let i = 0; i < 5000; i++) pairs.push([rnd(m), i % 5 ? rnd(m) : m - 1n - rnd(2n ** 64n)]);
      for (const [a, b] of pairs) {
        write(pa, le(a));
        write(pb, le(b));
        for (const [op, what, f] of ops) {
          expect(x.p256_field(op, id, pr, pa, pb)).toBe(0);
          expect(fromLe(c.read(pr, 32)), `${what} a=${a.toString(16)} b=${b.toString(16)}`).toBe(f(a, b));
          // r aliasing a
          write(pr, le(a));
          expect(x.p256_field(op, id, pr, pr, pb)).toBe(0);
          expect(fromLe(c.read(pr, 32)), `${what} (r = a)`).toBe(f(a, b));
        }
      }
    });
  }
});

const G = p256.Point.BASE;
const pubOf = (d: bigint): Uint8Array => G.multiply(d).toBytes(false);

// Verify (r, s) over the digest e (32 bytes) under pub, tinycmp against noble.
function verify(pub: Uint8Array, e: bigint, r: bigint, s: bigint): { ours: number; noble: boolean } {
  c.reset();
  const digest = be(e),
    rb = be(r),
    sb = be(s);
  const ours = x.p256_verify_digest(c.put(digest), 32, c.put(pub), pub.length, c.put(rb), 32, c.put(sb), 32);
  const sig = new Uint8Array([...rb, ...sb]);
  const noble = p256.verify(sig, digest, pub, { prehash: false, lowS: false, format: "compact" });
  return { ours, noble };
}

// A signature under Q = d·G whose verification computes exactly u1·G + u2·Q (u2 != 0): the
// digest is chosen as e = u1·s. Returns also whether that sum is the point at infinity.
function craft(d: bigint, u1: bigint, u2: bigint) {
  const sum = G.multiplyUnsafe(mod(u1 + u2 * d, N));
  const r = sum.is0() ? 1n + rnd(N - 1n) : mod(sum.toAffine().x, N); // any r when R is infinity
  const s = mod(r * inv(u2, N), N);
  const e = mod(u1 * s, N);
  return { pub: pubOf(d), e, r, s, infinity: sum.is0() };
}

describe("P-256 verification of crafted digests against @noble/curves", () => {
  const cases: [string, bigint, bigint, bigint][] = [];
  const k = rnd(N - 1n) + 1n,
    d = rnd(N - 1n) + 1n;
  // Q = G: u1 = u2 makes the comb add at column 0 meet the NAF sum (a doubling).
  cases.push(["Q = G, u1 = u2 = 1", 1n, 1n, 1n], ["Q = G, u1 = u2 = k", 1n, k, k], ["Q = G, u1 = 2, u2 = 2", 1n, 2n, 2n]);
  cases.push(["Q = G, u1 = 1, u2 = n - 1 (infinity)", 1n, 1n, N - 1n], ["Q = G, u1 = k, u2 = n - k (infinity)", 1n, k, N - k]);
  // Q = -G: u1 = u2 cancels.
  cases.push(["Q = -G, u1 = u2 = 1 (infinity)", N - 1n, 1n, 1n], ["Q = -G, u1 = u2 = k (infinity)", N - 1n, k, k], ["Q = -G, u1 = 2, u2 = 1", N - 1n, 2n, 1n]);
  // At doubling j the NAF digit of u2 = 2^j and comb column j of u1 add ±G to nothing: the
  // partial sum meets a doubling (Q = G) or infinity (Q = -G) and later columns go on from it.
  for (const j of [1n, 2n, 5n, 42n])
    cases.push([`Q = G, u1 = 2^${j} + 1, u2 = 2^${j}`, 1n, 2n ** j + 1n, 2n ** j], [`Q = -G, u1 = 2^${j} + 1, u2 = 2^${j}`, N - 1n, 2n ** j + 1n, 2n ** j]);
  // Random Q: u1·G == u2·Q (doubling) and u1·G == -u2·Q (infinity).
  cases.push(["u1·G == u2·Q", d, mod(k * d, N), k], ["u1·G == -u2·Q (infinity)", d, mod(-k * d, N), k]);
  // u1 = 0 and small u2; small multiples of G as Q, and comb teeth 2^43i·G.
  for (const u2 of [1n, 2n, 3n, 15n, 16n, 17n, 31n, 32n, 33n, N - 1n, N - 2n, N - 16n]) cases.push([`u1 = 0, u2 = ${u2}`, d, 0n, u2]);
  for (const q of [1n, 2n, 3n, 15n, 2n ** 43n, 2n ** 86n, 2n ** 215n, N - 2n]) {
    for (const [u1, u2] of [
      [1n, 1n],
      [2n ** 43n, 1n],
      [1n, 2n ** 43n],
      [mod(-q, N), 1n],
      [q, N - 1n],
      [k, 1n],
      [2n ** 215n + 1n, 3n],
      [N - 1n, N - 1n],
    ]) {
      cases.push([`Q = ${q.toString(16)}·G, u1 = ${u1.toString(16)}, u2 = ${u2.toString(16)}`, q, u1, u2]);
    }
  }

  it(`accepts exactly what noble accepts (${cases.length} crafted cases, each also with r + 1 and s + 1)`, () => {
    let infinities = 0;
    for (const [what, dd, u1, u2] of cases) {
      const t = craft(dd, u1, u2);
      const v = verify(t.pub, t.e, t.r, t.s);
      expect(v.noble, `${what}: noble`).toBe(!t.infinity);
      expect(v.ours, what).toBe(t.infinity ? E_SIG_INVALID : 0);
      infinities += t.infinity ? 1 : 0;
      const rr = mod(t.r + 1n, N) || 1n,
        ss = mod(t.s + 1n, N) || 1n;
      for (const [r, s] of [
        [rr, t.s],
        [t.r, ss],
      ]) {
        const w = verify(t.pub, t.e, r, s);
        expect(w.ours === 0, `${what}: tampered`).toBe(w.noble);
      }
    }
    expect(infinities).toBeGreaterThanOrEqual(8);
  });

  it("random keys, digests and u1, u2 (300), valid and tampered, as noble says", () => {
    for (let i = 0; i < 300; i++) {
      const dd = rnd(N - 1n) + 1n,
        u1 = i % 10 === 0 ? 0n : rnd(N),
        u2 = rnd(N - 1n) + 1n;
      const t = craft(dd, u1, u2);
      expect(verify(t.pub, t.e, t.r, t.s)).toEqual({ ours: t.infinity ? E_SIG_INVALID : 0, noble: !t.infinity });
      const e2 = t.e ^ (1n << BigInt(i % 256));
      const w = verify(t.pub, e2, t.r, t.s);
      expect(w.ours === 0).toBe(w.noble);
      expect(w.noble).toBe(false);
    }
  });

  it("noble's signatures of random digests verify, low and high s (200 random keys)", () => {
    for (let i = 0; i < 200; i++) {
      const sk = p256.utils.randomSecretKey();
      const pub = p256.getPublicKey(sk, false);
      const digest = randomBytes(32);
      const sig = p256.sign(digest, sk, { prehash: false, lowS: i % 2 === 0, format: "compact" });
      const r = fromLe(sig.slice(0, 32).reverse()),
        s = fromLe(sig.slice(32).reverse());
      expect(verify(pub, fromLe(digest.reverse()), r, s)).toEqual({ ours: 0, noble: true });
    }
  });
});
