// Arithmetic modulo the P-256 prime p and the group order n (FIPS 186-5 / SEC 2 2.4.2).
// An element is 8 little-endian u32 limbs (32 bytes) in linear memory. Both moduli share one
// Montgomery multiplication (R = 2^256). Every function runs in time independent of the values
// (masks instead of branches, no value-dependent addresses); only exponents in powMod are public.
// The full module keeps limbs in locals: a dedicated squaring mod p with the sparse reduction
// redcP, addMod/subMod on 64-bit limbs, no SUB round trip; the lean module keeps the smaller loops
// over memory. Products stay one CIOS loop in both (product scanning mod p would save about 8% of
// a verification for 2 KB of module).
import { LEAN } from "../features";

// Modulus descriptor: limbs [0, 32), -m^-1 mod 2^32 at 32, R^2 mod m at 36, R mod m at 68.
export const MOD_P = memory.data<u32>([
  0xffffffff, 0xffffffff, 0xffffffff, 0x00000000, 0x00000000, 0x00000000, 0x00000001, 0xffffffff, 0x00000001, 0x00000003, 0x00000000, 0xffffffff, 0xfffffffb,
  0xfffffffe, 0xffffffff, 0xfffffffd, 0x00000004, 0x00000001, 0x00000000, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0x00000000,
]);
export const MOD_N = memory.data<u32>([
  0xfc632551, 0xf3b9cac2, 0xa7179e84, 0xbce6faad, 0xffffffff, 0xffffffff, 0x00000000, 0xffffffff, 0xee00bc4f, 0xbe79eea2, 0x83244c95, 0x49bd6fa6, 0x4699799c,
  0x2b6bec59, 0x2845b239, 0xf3d95620, 0x66e12d94, 0x039cdaaf, 0x0c46353d, 0x58e8617b, 0x43190552, 0x00000000, 0x00000000, 0xffffffff, 0x00000000,
]);
export const R2: usize = 36,
  ONE: usize = 68; // offsets into a modulus descriptor

const M32: u64 = 0xffffffff;
const SUB = memory.data(32, 8);
const EXP = memory.data(32, 8);
const POW = memory.data(16 * 32, 8); // a^0 .. a^15 for powMod
export const PLAIN_ONE = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0]);

// r = r - m if carry·2^256 + r >= m, else r (inputs below 2m).
function reduceOnce(r: usize, m: usize, carry: u64): void {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    const d = <u64>load<u32>(r + i) - <u64>load<u32>(m + i) - borrow;
    store<u32>(SUB + i, <u32>d);
    borrow = d >> 63;
  }
  select(r, carry, borrow);
}

// r = SUB unless carry - borrow < 0 (the subtraction of m went negative).
function select(r: usize, carry: u64, borrow: u64): void {
  const keep = <u32>(0 - ((carry - borrow) >> 63));
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(r + i, (load<u32>(r + i) & keep) | (load<u32>(SUB + i) & ~keep));
  }
}

@inline function L(a: usize, o: usize): u64 {
  return <u64>load<u32>(a + o);
}

// r = t - m if carry·2^256 + t >= m, else t (t below 2m), t as 32-bit limbs in locals.
@inline function storeReduced(r: usize, m: usize, t0: u64, t1: u64, t2: u64, t3: u64, t4: u64, t5: u64, t6: u64, t7: u64, carry: u64): void {
  storeReduced64(r, m, t0 | (t1 << 32), t2 | (t3 << 32), t4 | (t5 << 32), t6 | (t7 << 32), carry);
}

// The same on 64-bit limbs (the memory layout of 8 little-endian u32 limbs); carries and borrows
// are unsigned comparisons (no branches): constant time.
@inline function storeReduced64(r: usize, m: usize, t0: u64, t1: u64, t2: u64, t3: u64, carry: u64): void {
  const m0 = load<u64>(m), m1 = load<u64>(m, 8), m2 = load<u64>(m, 16), m3 = load<u64>(m, 24);
  const d0 = t0 - m0;
  let b = <u64>(t0 < m0);
  let d1 = t1 - m1; let e = <u64>(t1 < m1) | <u64>(d1 < b); d1 -= b; b = e;
  let d2 = t2 - m2; e = <u64>(t2 < m2) | <u64>(d2 < b); d2 -= b; b = e;
  let d3 = t3 - m3; e = <u64>(t3 < m3) | <u64>(d3 < b); d3 -= b; b = e;
  const keep = 0 - ((carry - b) >> 63); // all ones: t < m, keep t
  store<u64>(r, (t0 & keep) | (d0 & ~keep));
  store<u64>(r, (t1 & keep) | (d1 & ~keep), 8);
  store<u64>(r, (t2 & keep) | (d2 & ~keep), 16);
  store<u64>(r, (t3 & keep) | (d3 & ~keep), 24);
}

// r = REDC(s) for m = p, s = sum of s_i·2^(32i) (s < p·R, limbs below 2^32): q_i = limb i as
// p = -1 mod 2^32, and q_i·p adds q_i at limbs i + 3, i + 6, i + 8 and takes it from limb i + 7;
// the limbs stay signed and unnormalised, with one carry pass at the end. Constant time.
// Inlined: as a function its 17 parameters exceed the firmware runtime's function type arity (14).
@inline function redcP(r: usize, s0: i64, s1: i64, s2: i64, s3: i64, s4: i64, s5: i64, s6: i64, s7: i64, s8: i64, s9: i64, s10: i64, s11: i64, s12: i64, s13: i64, s14: i64, s15: i64): void {
  let v: i64 = 0, q: i64;
  v = <i64>s0 + v; q = v & 0xffffffff; v >>= 32; s3 += q; s6 += q; s7 -= q; s8 += q;
  v = <i64>s1 + v; q = v & 0xffffffff; v >>= 32; s4 += q; s7 += q; s8 -= q; s9 += q;
  v = <i64>s2 + v; q = v & 0xffffffff; v >>= 32; s5 += q; s8 += q; s9 -= q; s10 += q;
  v = <i64>s3 + v; q = v & 0xffffffff; v >>= 32; s6 += q; s9 += q; s10 -= q; s11 += q;
  v = <i64>s4 + v; q = v & 0xffffffff; v >>= 32; s7 += q; s10 += q; s11 -= q; s12 += q;
  v = <i64>s5 + v; q = v & 0xffffffff; v >>= 32; s8 += q; s11 += q; s12 -= q; s13 += q;
  v = <i64>s6 + v; q = v & 0xffffffff; v >>= 32; s9 += q; s12 += q; s13 -= q; s14 += q;
  v = <i64>s7 + v; q = v & 0xffffffff; v >>= 32; s10 += q; s13 += q; s14 -= q; s15 += q;
  v += s8; const r0 = <u64>(v & 0xffffffff); v >>= 32;
  v += s9; const r1 = <u64>(v & 0xffffffff); v >>= 32;
  v += s10; const r2 = <u64>(v & 0xffffffff); v >>= 32;
  v += s11; const r3 = <u64>(v & 0xffffffff); v >>= 32;
  v += s12; const r4 = <u64>(v & 0xffffffff); v >>= 32;
  v += s13; const r5 = <u64>(v & 0xffffffff); v >>= 32;
  v += s14; const r6 = <u64>(v & 0xffffffff); v >>= 32;
  v += s15; const r7 = <u64>(v & 0xffffffff); v >>= 32;
  storeReduced(r, MOD_P, r0, r1, r2, r3, r4, r5, r6, r7, <u64>v);
}

// r = a·b·R^-1 mod m (Montgomery CIOS, Koç et al. 1996). r may alias a or b.
export function mulMod(r: usize, a: usize, b: usize, m: usize): void {
  const a0 = <u64>load<u32>(a),
    a1 = <u64>load<u32>(a, 4),
    a2 = <u64>load<u32>(a, 8),
    a3 = <u64>load<u32>(a, 12);
  const a4 = <u64>load<u32>(a, 16),
    a5 = <u64>load<u32>(a, 20),
    a6 = <u64>load<u32>(a, 24),
    a7 = <u64>load<u32>(a, 28);
  const m0 = <u64>load<u32>(m),
    m1 = <u64>load<u32>(m, 4),
    m2 = <u64>load<u32>(m, 8),
    m3 = <u64>load<u32>(m, 12);
  const m4 = <u64>load<u32>(m, 16),
    m5 = <u64>load<u32>(m, 20),
    m6 = <u64>load<u32>(m, 24),
    m7 = <u64>load<u32>(m, 28);
  const minv = <u64>load<u32>(m, 32);
  let t0: u64 = 0,
    t1: u64 = 0,
    t2: u64 = 0,
    t3: u64 = 0,
    t4: u64 = 0,
    t5: u64 = 0,
    t6: u64 = 0,
    t7: u64 = 0,
    t8: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    const bi = <u64>load<u32>(b + i);
    let c = t0 + a0 * bi;
    t0 = c & M32;
    c >>= 32;
    c += t1 + a1 * bi;
    t1 = c & M32;
    c >>= 32;
    c += t2 + a2 * bi;
    t2 = c & M32;
    c >>= 32;
    c += t3 + a3 * bi;
    t3 = c & M32;
    c >>= 32;
    c += t4 + a4 * bi;
    t4 = c & M32;
    c >>= 32;
    c += t5 + a5 * bi;
    t5 = c & M32;
    c >>= 32;
    c += t6 + a6 * bi;
    t6 = c & M32;
    c >>= 32;
    c += t7 + a7 * bi;
    t7 = c & M32;
    t8 += c >> 32;
    const q = (t0 * minv) & M32;
    if (minv == 1) {
      // m = p: limbs 2^32-1, 2^32-1, 2^32-1, 0, 0, 0, 1, 2^32-1, so q·m needs no products
      t0 = t1;
      t1 = t2; // t0 + q·(2^96 - 1) = q·2^96: the low limbs shift down, carry q
      c = t3 + q;
      t2 = c & M32;
      c >>= 32;
      c += t4;
      t3 = c & M32;
      c >>= 32;
      c += t5;
      t4 = c & M32;
      c >>= 32;
      c += t6 + q;
      t5 = c & M32;
      c >>= 32;
      c += t7 + (q << 32) - q;
      t6 = c & M32;
      c >>= 32;
    } else {
      c = (t0 + q * m0) >> 32;
      c += t1 + q * m1;
      t0 = c & M32;
      c >>= 32;
      c += t2 + q * m2;
      t1 = c & M32;
      c >>= 32;
      c += t3 + q * m3;
      t2 = c & M32;
      c >>= 32;
      c += t4 + q * m4;
      t3 = c & M32;
      c >>= 32;
      c += t5 + q * m5;
      t4 = c & M32;
      c >>= 32;
      c += t6 + q * m6;
      t5 = c & M32;
      c >>= 32;
      c += t7 + q * m7;
      t6 = c & M32;
      c >>= 32;
    }
    c += t8;
    t7 = c & M32;
    t8 = c >> 32;
  }
  if (!LEAN) {
    storeReduced(r, m, t0, t1, t2, t3, t4, t5, t6, t7, t8);
    return;
  }
  store<u32>(r, <u32>t0);
  store<u32>(r, <u32>t1, 4);
  store<u32>(r, <u32>t2, 8);
  store<u32>(r, <u32>t3, 12);
  store<u32>(r, <u32>t4, 16);
  store<u32>(r, <u32>t5, 20);
  store<u32>(r, <u32>t6, 24);
  store<u32>(r, <u32>t7, 28);
  reduceOnce(r, m, t8);
}

// r = a^2·R^-1 mod m (full module; lean: mulMod). Product scanning with each column's products
// summed as low and high halves (no carry lost), cross products once and doubled (36 products
// against 64), then Montgomery reduction of the low half and the high half added:
// REDC(lo + hi·R) = REDC(lo) + hi, below 2m as REDC(lo) <= m and hi < m.
export function sqrMod(r: usize, a: usize, m: usize): void {
  if (LEAN) {
    mulMod(r, a, a, m);
    return;
  }
  const a0 = L(a, 0), a1 = L(a, 4), a2 = L(a, 8), a3 = L(a, 12), a4 = L(a, 16), a5 = L(a, 20), a6 = L(a, 24), a7 = L(a, 28);
  let x: u64, lo: u64, hi: u64, c: u64 = 0;
  x = a0 * a0; lo = x & M32; hi = x >> 32; lo += c; let s0 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a1; lo = x & M32; hi = x >> 32; lo <<= 1; hi <<= 1; lo += c; let s1 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a2; lo = x & M32; hi = x >> 32; lo <<= 1; hi <<= 1; x = a1 * a1; lo += x & M32; hi += x >> 32; lo += c; let s2 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a3; lo = x & M32; hi = x >> 32; x = a1 * a2; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; lo += c; let s3 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a4; lo = x & M32; hi = x >> 32; x = a1 * a3; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; x = a2 * a2; lo += x & M32; hi += x >> 32; lo += c; let s4 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a5; lo = x & M32; hi = x >> 32; x = a1 * a4; lo += x & M32; hi += x >> 32; x = a2 * a3; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; lo += c; let s5 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a6; lo = x & M32; hi = x >> 32; x = a1 * a5; lo += x & M32; hi += x >> 32; x = a2 * a4; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; x = a3 * a3; lo += x & M32; hi += x >> 32; lo += c; let s6 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a0 * a7; lo = x & M32; hi = x >> 32; x = a1 * a6; lo += x & M32; hi += x >> 32; x = a2 * a5; lo += x & M32; hi += x >> 32; x = a3 * a4; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; lo += c; let s7 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a1 * a7; lo = x & M32; hi = x >> 32; x = a2 * a6; lo += x & M32; hi += x >> 32; x = a3 * a5; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; x = a4 * a4; lo += x & M32; hi += x >> 32; lo += c; let s8 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a2 * a7; lo = x & M32; hi = x >> 32; x = a3 * a6; lo += x & M32; hi += x >> 32; x = a4 * a5; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; lo += c; let s9 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a3 * a7; lo = x & M32; hi = x >> 32; x = a4 * a6; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; x = a5 * a5; lo += x & M32; hi += x >> 32; lo += c; let s10 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a4 * a7; lo = x & M32; hi = x >> 32; x = a5 * a6; lo += x & M32; hi += x >> 32; lo <<= 1; hi <<= 1; lo += c; let s11 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a5 * a7; lo = x & M32; hi = x >> 32; lo <<= 1; hi <<= 1; x = a6 * a6; lo += x & M32; hi += x >> 32; lo += c; let s12 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a6 * a7; lo = x & M32; hi = x >> 32; lo <<= 1; hi <<= 1; lo += c; let s13 = <i64>(lo & M32); c = (lo >> 32) + hi;
  x = a7 * a7; lo = x & M32; hi = x >> 32; lo += c; let s14 = <i64>(lo & M32); c = (lo >> 32) + hi;
  let s15 = <i64>c;
  if (L(m, 32) == 1) {
    redcP(r, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15);
    return;
  }
  let t0 = <u64>s0, t1 = <u64>s1, t2 = <u64>s2, t3 = <u64>s3, t4 = <u64>s4, t5 = <u64>s5, t6 = <u64>s6, t7 = <u64>s7, t8: u64 = 0;
  const minv = L(m, 32);
  for (let i = 0; i < 8; i++) {
    const q = (t0 * minv) & M32; // m = n
    x = (t0 + q * L(m, 0)) >> 32;
    x += t1 + q * L(m, 4); t0 = x & M32; x >>= 32;
    x += t2 + q * L(m, 8); t1 = x & M32; x >>= 32;
    x += t3 + q * L(m, 12); t2 = x & M32; x >>= 32;
    x += t4 + q * L(m, 16); t3 = x & M32; x >>= 32;
    x += t5 + q * L(m, 20); t4 = x & M32; x >>= 32;
    x += t6 + q * L(m, 24); t5 = x & M32; x >>= 32;
    x += t7 + q * L(m, 28); t6 = x & M32; x >>= 32;
    x += t8; t7 = x & M32; t8 = x >> 32;
  }
  x = t0 + <u64>s8; t0 = x & M32; x >>= 32;
  x += t1 + <u64>s9; t1 = x & M32; x >>= 32;
  x += t2 + <u64>s10; t2 = x & M32; x >>= 32;
  x += t3 + <u64>s11; t3 = x & M32; x >>= 32;
  x += t4 + <u64>s12; t4 = x & M32; x >>= 32;
  x += t5 + <u64>s13; t5 = x & M32; x >>= 32;
  x += t6 + <u64>s14; t6 = x & M32; x >>= 32;
  x += t7 + c; t7 = x & M32; x >>= 32;
  storeReduced(r, m, t0, t1, t2, t3, t4, t5, t6, t7, x + t8);
}

// r = a + b mod m. Lean: the sum into r and the sum minus m into SUB in one pass, then select.
export function addMod(r: usize, a: usize, b: usize, m: usize): void {
  if (!LEAN) {
    const a0 = load<u64>(a), a1 = load<u64>(a, 8), a2 = load<u64>(a, 16), a3 = load<u64>(a, 24);
    const s0 = a0 + load<u64>(b);
    let c = <u64>(s0 < a0);
    let s1 = a1 + load<u64>(b, 8); let k = <u64>(s1 < a1); s1 += c; c = k | <u64>(s1 < c);
    let s2 = a2 + load<u64>(b, 16); k = <u64>(s2 < a2); s2 += c; c = k | <u64>(s2 < c);
    let s3 = a3 + load<u64>(b, 24); k = <u64>(s3 < a3); s3 += c; c = k | <u64>(s3 < c);
    storeReduced64(r, m, s0, s1, s2, s3, c);
    return;
  }
  let c: u64 = 0,
    borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    const sum = c & M32;
    store<u32>(r + i, <u32>sum);
    c >>= 32;
    const d = sum - <u64>load<u32>(m + i) - borrow;
    store<u32>(SUB + i, <u32>d);
    borrow = d >> 63;
  }
  select(r, c, borrow);
}

// r = k·a mod p for 2 <= k <= 8 (full module; Jacobian doubling), constant time: k·a = t + h·2^256
// with h < 8, and 2^256 = 2^224 - 2^192 - 2^96 + 1 mod p folds h into t, below 2p.
export function mulSmallP(r: usize, a: usize, k: u64): void {
  let c = L(a, 0) * k; const t0 = <i64>(c & M32); c >>= 32;
  c += L(a, 4) * k; const t1 = <i64>(c & M32); c >>= 32;
  c += L(a, 8) * k; const t2 = <i64>(c & M32); c >>= 32;
  c += L(a, 12) * k; const t3 = <i64>(c & M32); c >>= 32;
  c += L(a, 16) * k; const t4 = <i64>(c & M32); c >>= 32;
  c += L(a, 20) * k; const t5 = <i64>(c & M32); c >>= 32;
  c += L(a, 24) * k; const t6 = <i64>(c & M32); c >>= 32;
  c += L(a, 28) * k; const t7 = <i64>(c & M32);
  const h = <i64>(c >> 32);
  let v = t0 + h; const r0 = <u64>(v & 0xffffffff); v >>= 32;
  v += t1; const r1 = <u64>(v & 0xffffffff); v >>= 32;
  v += t2; const r2 = <u64>(v & 0xffffffff); v >>= 32;
  v += t3 - h; const r3 = <u64>(v & 0xffffffff); v >>= 32;
  v += t4; const r4 = <u64>(v & 0xffffffff); v >>= 32;
  v += t5; const r5 = <u64>(v & 0xffffffff); v >>= 32;
  v += t6 - h; const r6 = <u64>(v & 0xffffffff); v >>= 32;
  v += t7 + h; const r7 = <u64>(v & 0xffffffff); v >>= 32;
  storeReduced(r, MOD_P, r0, r1, r2, r3, r4, r5, r6, r7, <u64>v);
}

// r = a - b mod m.
export function subMod(r: usize, a: usize, b: usize, m: usize): void {
  if (!LEAN) {
    const a0 = load<u64>(a), a1 = load<u64>(a, 8), a2 = load<u64>(a, 16), a3 = load<u64>(a, 24);
    const b0 = load<u64>(b), b1 = load<u64>(b, 8), b2 = load<u64>(b, 16), b3 = load<u64>(b, 24);
    const d0 = a0 - b0;
    let w = <u64>(a0 < b0);
    let d1 = a1 - b1; let e = <u64>(a1 < b1) | <u64>(d1 < w); d1 -= w; w = e;
    let d2 = a2 - b2; e = <u64>(a2 < b2) | <u64>(d2 < w); d2 -= w; w = e;
    let d3 = a3 - b3; e = <u64>(a3 < b3) | <u64>(d3 < w); d3 -= w; w = e;
    const mask = 0 - w; // add m back when a < b
    const s0 = d0 + (load<u64>(m) & mask);
    let c = <u64>(s0 < d0);
    let s1 = d1 + (load<u64>(m, 8) & mask); e = <u64>(s1 < d1); s1 += c; c = e | <u64>(s1 < c);
    let s2 = d2 + (load<u64>(m, 16) & mask); e = <u64>(s2 < d2); s2 += c; c = e | <u64>(s2 < c);
    const s3 = d3 + (load<u64>(m, 24) & mask) + c;
    store<u64>(r, s0); store<u64>(r, s1, 8); store<u64>(r, s2, 16); store<u64>(r, s3, 24);
    return;
  }
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    const d = <u64>load<u32>(a + i) - <u64>load<u32>(b + i) - borrow;
    store<u32>(r + i, <u32>d);
    borrow = d >> 63;
  }
  const mask = 0 - borrow; // add m back when a < b
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(r + i) + (<u64>load<u32>(m + i) & mask);
    store<u32>(r + i, <u32>c);
    c >>= 32;
  }
}

// r = a mod m for a < 2m (any 256-bit a when m > 2^255, as p and n are).
export function reduceMod(r: usize, a: usize, m: usize): void {
  copy(r, a);
  reduceOnce(r, m, 0);
}

// r = a^e·R^(1-e) mod m: a^e in the Montgomery domain, 4-bit fixed window over the exponent e
// (8 limbs), which is public; the table is read at public indices only.
export function powMod(r: usize, a: usize, e: usize, m: usize): void {
  copy(POW, m + ONE);
  for (let j: usize = 1; j < 16; j++) mulMod(POW + j * 32, POW + (j - 1) * 32, a, m); // a^j
  copy(r, m + ONE);
  for (let i = 63; i >= 0; i--) {
    if (LEAN) {
      mulMod(r, r, r, m);
      mulMod(r, r, r, m);
      mulMod(r, r, r, m);
      mulMod(r, r, r, m);
    } else {
      sqrMod(r, r, m);
      sqrMod(r, r, m);
      sqrMod(r, r, m);
      sqrMod(r, r, m);
    }
    const nib = (load<u32>(e + ((<usize>(i >> 3)) << 2)) >> ((i & 7) << 2)) & 15;
    if (nib) mulMod(r, r, POW + <usize>nib * 32, m);
  }
  for (let w: usize = 0; w < 16 * 32; w += 4) store<u32>(POW + w, 0);
}

// r = a^-1 in the Montgomery domain (Fermat: a^(m-2)); 0 for 0.
export function invMod(r: usize, a: usize, m: usize): void {
  copy(EXP, m);
  store<u32>(EXP, load<u32>(m) - 2); // no borrow: the low limbs of p and n exceed 2
  powMod(r, a, EXP, m);
}

// 1 when a < m, else 0.
export function ltMod(a: usize, m: usize): u32 {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) borrow = (<u64>load<u32>(a + i) - <u64>load<u32>(m + i) - borrow) >> 63;
  return <u32>borrow;
}

// 1 when a == 0, else 0.
export function isZero(a: usize): u32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i);
  return <u32>((<u64>acc - 1) >> 63);
}

// 1 when a == b, else 0.
export function equal(a: usize, b: usize): u32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i) ^ load<u32>(b + i);
  return <u32>((<u64>acc - 1) >> 63);
}

export function copy(r: usize, a: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(r + i, load<u32>(a + i));
}

// Zero the scratch that last held (values minus m) of a private-key operation.
export function fieldWipe(): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(SUB + i, 0);
}

// 32 big-endian bytes <-> limbs.
export function fromBytes(r: usize, s: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(r + i, bswap<u32>(load<u32>(s + 28 - i)));
}
export function toBytes(s: usize, a: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(s + 28 - i, bswap<u32>(load<u32>(a + i)));
}
