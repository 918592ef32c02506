// P-256 points in homogeneous projective coordinates (X:Y:Z), Montgomery-form field elements,
// 96 bytes per point; the point at infinity is (0:1:0). Addition and doubling are the complete
// formulas of Renes, Costello, Batina 2015 for a = -3 (Algorithms 4 and 6): no exceptional cases,
// so no branch ever depends on a point. Scalar multiples of G use a 6-tooth comb whose table is
// read by scanning every entry with masks (constant time). Verification (public data only,
// variable time): the lean module adds u1·G (comb) and u2·Q (4-bit window); the full module
// interleaves both in one chain of Jacobian doublings (Straus), u2 in width-5 NAF, the comb
// table made affine once so that its entries are mixed additions.
import { LEAN } from "../features";
import { addMod, copy, invMod, isZero, MOD_P, mulMod, mulSmallP, ONE, sqrMod, subMod } from "./p256_field";

export const POINT: usize = 96;

// b·R mod p and the base point G (SEC 2 2.4.2), Montgomery form.
export const B = memory.data<u32>([0x29c4bddf, 0xd89cdf62, 0x78843090, 0xacf005cd, 0xf7212ed6, 0xe5a220ab, 0x04874834, 0xdc30061d]);
const G = memory.data<u32>([
  0x18a9143c, 0x79e730d4, 0x5fedb601, 0x75ba95fc, 0x77622510, 0x79fb732b, 0xa53755c6, 0x18905f76,
  0xce95560a, 0xddf25357, 0xba19e45c, 0x8b4ab8e4, 0xdd21f325, 0xd2e88688, 0x25885d85, 0x8571ff18,
]);

@inline function mul(r: usize, a: usize, b: usize): void { mulMod(r, a, b, MOD_P); }
@inline function add(r: usize, a: usize, b: usize): void { addMod(r, a, b, MOD_P); }
@inline function sub(r: usize, a: usize, b: usize): void { subMod(r, a, b, MOD_P); }
@inline function triple(r: usize): void { mulSmallP(r, r, 3); } // full module; lean: two additions
@inline function sqr(r: usize, a: usize): void { if (LEAN) mulMod(r, a, a, MOD_P); else sqrMod(r, a, MOD_P); }

// Temporaries of pointAdd / pointDouble; the result is built in X3, Y3, Z3 and copied out, so
// the output may alias an input.
const T = memory.data(8 * 32, 8);
const t0 = T, t1 = T + 32, t2 = T + 64, t3 = T + 96, t4 = T + 128, X3 = T + 160, Y3 = T + 192, Z3 = T + 224;

function store3(r: usize): void {
  copy(r, X3); copy(r + 32, Y3); copy(r + 64, Z3);
}

export function setInfinity(r: usize): void {
  for (let i: usize = 0; i < POINT; i += 4) store<u32>(r + i, 0);
  copy(r + 32, MOD_P + ONE);
}

// r = p + q (RCB 2015 Algorithm 4, a = -3).
export function pointAdd(r: usize, p: usize, q: usize): void {
  const X1 = p, Y1 = p + 32, Z1 = p + 64, X2 = q, Y2 = q + 32, Z2 = q + 64;
  mul(t0, X1, X2); mul(t1, Y1, Y2); mul(t2, Z1, Z2);
  add(t3, X1, Y1); add(t4, X2, Y2); mul(t3, t3, t4);
  add(t4, t0, t1); sub(t3, t3, t4); add(t4, Y1, Z1);
  add(X3, Y2, Z2); mul(t4, t4, X3); add(X3, t1, t2);
  sub(t4, t4, X3); add(X3, X1, Z1); add(Y3, X2, Z2);
  mul(X3, X3, Y3); add(Y3, t0, t2); sub(Y3, X3, Y3);
  mul(Z3, B, t2); sub(X3, Y3, Z3);
  if (LEAN) { add(Z3, X3, X3); add(X3, X3, Z3); } else triple(X3);
  sub(Z3, t1, X3); add(X3, t1, X3); mul(Y3, B, Y3);
  if (LEAN) { add(t1, t2, t2); add(t2, t1, t2); } else triple(t2);
  sub(Y3, Y3, t2); sub(Y3, Y3, t0);
  if (LEAN) { add(t1, Y3, Y3); add(Y3, t1, Y3); add(t1, t0, t0); add(t0, t1, t0); } else { triple(Y3); triple(t0); }
  sub(t0, t0, t2); mul(t1, t4, Y3); mul(t2, t0, Y3);
  mul(Y3, X3, Z3); add(Y3, Y3, t2); mul(X3, t3, X3);
  sub(X3, X3, t1); mul(Z3, t4, Z3); mul(t1, t3, t0);
  add(Z3, Z3, t1);
  store3(r);
}

// r = 2p (RCB 2015 Algorithm 6, a = -3).
export function pointDouble(r: usize, p: usize): void {
  const X = p, Y = p + 32, Z = p + 64;
  sqr(t0, X); sqr(t1, Y); sqr(t2, Z);
  mul(t3, X, Y); add(t3, t3, t3); mul(Z3, X, Z);
  add(Z3, Z3, Z3); mul(Y3, B, t2); sub(Y3, Y3, Z3);
  if (LEAN) { add(X3, Y3, Y3); add(Y3, X3, Y3); } else triple(Y3);
  sub(X3, t1, Y3); add(Y3, t1, Y3); mul(Y3, X3, Y3); mul(X3, X3, t3);
  if (LEAN) { add(t3, t2, t2); add(t2, t2, t3); } else triple(t2);
  mul(Z3, B, Z3); sub(Z3, Z3, t2); sub(Z3, Z3, t0);
  if (LEAN) { add(t3, Z3, Z3); add(Z3, Z3, t3); add(t3, t0, t0); add(t0, t3, t0); } else { triple(Z3); triple(t0); }
  sub(t0, t0, t2); mul(t0, t0, Z3); add(Y3, Y3, t0);
  mul(t0, Y, Z); add(t0, t0, t0); mul(Z3, t0, Z3);
  sub(X3, X3, Z3); mul(Z3, t0, t1);
  if (LEAN) { add(Z3, Z3, Z3); add(Z3, Z3, Z3); } else mulSmallP(Z3, Z3, 4);
  store3(r);
}

// Comb (Lim-Lee) for k·G: entry j (1..63) holds sum of 2^(43·i)·G over the bits i of j; bit i of
// column c of k is bit 43·i + c. 63 projective points = 6048 bytes, built at first use.
const TEETH = 6, SPACING = 43;
const COMB = memory.data(63 * 96, 8);
let combReady = false;
const ENTRY = memory.data(96, 8);

@inline function combEntry(j: i32): usize { return COMB + <usize>(j - 1) * POINT; }

function combBuild(): void {
  const g = combEntry(1);
  copy(g, G); copy(g + 32, G + 32); copy(g + 64, MOD_P + ONE);
  for (let i = 1; i < TEETH; i++) {
    const top = combEntry(1 << i);
    pointDouble(top, combEntry(1 << (i - 1)));
    for (let d = 1; d < SPACING; d++) pointDouble(top, top);
    for (let low = 1; low < (1 << i); low++) pointAdd(combEntry((1 << i) | low), top, combEntry(low));
  }
  if (!LEAN) combAffine();
  combReady = true;
}

// Full module: every comb entry to Z = 1 (x = X/Z, y = Y/Z), public data. Montgomery's
// simultaneous inversion over runs of 32 entries, the prefix products in WINDOW.
function combAffine(): void {
  const inv = X3, zi = Y3;
  for (let base = 1; base < 64; base += 32) {
    const cnt = base == 1 ? 32 : 31;
    copy(WINDOW, combEntry(base) + 64);
    for (let i = 1; i < cnt; i++) mul(WINDOW + <usize>i * 32, WINDOW + <usize>(i - 1) * 32, combEntry(base + i) + 64);
    invMod(inv, WINDOW + <usize>(cnt - 1) * 32, MOD_P);
    for (let i = cnt - 1; i >= 0; i--) {
      const e = combEntry(base + i);
      if (i > 0) {
        mul(zi, inv, WINDOW + <usize>(i - 1) * 32); // 1/Z_i
        mul(inv, inv, e + 64); // 1/(Z_0 ... Z_(i-1))
      } else copy(zi, inv);
      mul(e, e, zi); mul(e + 32, e + 32, zi); copy(e + 64, MOD_P + ONE);
    }
  }
}

// ENTRY = entry idx (infinity for 0), reading all 63 entries. Full module: the entries are
// affine, so only x and y are scanned, into locals.
function combLookup(idx: i32): void {
  if (!LEAN) {
    let x0: i64 = 0, x1: i64 = 0, x2: i64 = 0, x3: i64 = 0, y0: i64 = 0, y1: i64 = 0, y2: i64 = 0, y3: i64 = 0;
    for (let j = 1; j < 64; j++) {
      const mask = <i64>(((j ^ idx) - 1) >> 31); // all ones iff j == idx
      const e = combEntry(j);
      x0 |= load<i64>(e) & mask; x1 |= load<i64>(e, 8) & mask; x2 |= load<i64>(e, 16) & mask; x3 |= load<i64>(e, 24) & mask;
      y0 |= load<i64>(e, 32) & mask; y1 |= load<i64>(e, 40) & mask; y2 |= load<i64>(e, 48) & mask; y3 |= load<i64>(e, 56) & mask;
    }
    const some = <i64>((0 - idx) >> 31); // all ones iff idx != 0; else (0 : 1 : 0)
    const one = MOD_P + ONE;
    store<i64>(ENTRY, x0); store<i64>(ENTRY, x1, 8); store<i64>(ENTRY, x2, 16); store<i64>(ENTRY, x3, 24);
    store<i64>(ENTRY, y0 | (load<i64>(one) & ~some), 32); store<i64>(ENTRY, y1 | (load<i64>(one, 8) & ~some), 40);
    store<i64>(ENTRY, y2 | (load<i64>(one, 16) & ~some), 48); store<i64>(ENTRY, y3 | (load<i64>(one, 24) & ~some), 56);
    store<i64>(ENTRY, load<i64>(one) & some, 64); store<i64>(ENTRY, load<i64>(one, 8) & some, 72);
    store<i64>(ENTRY, load<i64>(one, 16) & some, 80); store<i64>(ENTRY, load<i64>(one, 24) & some, 88);
    return;
  }
  setInfinity(ENTRY);
  for (let j = 1; j < 64; j++) {
    const mask = <i64>(((j ^ idx) - 1) >> 31); // all ones iff j == idx
    const e = combEntry(j);
    for (let w: usize = 0; w < POINT; w += 8) {
      store<i64>(ENTRY + w, (load<i64>(ENTRY + w) & ~mask) | (load<i64>(e + w) & mask));
    }
  }
}

// r = k·G for the scalar k (8 limbs, k < 2^256), constant time in k.
export function mulBase(r: usize, k: usize): void {
  if (!combReady) combBuild();
  setInfinity(r);
  for (let c = SPACING - 1; c >= 0; c--) {
    pointDouble(r, r);
    let idx = 0;
    for (let i = 0; i < TEETH; i++) {
      const bit = SPACING * i + c; // public position
      if (bit < 256) idx |= <i32>((load<u32>(k + (<usize>(bit >> 5) << 2)) >> (bit & 31)) & 1) << i;
    }
    combLookup(idx);
    pointAdd(r, r, ENTRY);
  }
  for (let w: usize = 0; w < POINT; w += 4) store<u32>(ENTRY + w, 0);
  for (let w: usize = 0; w < 8 * 32; w += 4) store<u32>(T + w, 0);
}

// p = 2p in place, p in Jacobian coordinates (x = X/Z^2, y = Y/Z^3), a = -3: dbl-2001-b of the
// Explicit-Formulas Database, 3M + 5S against 13 products for Algorithm 6. Not complete (it maps
// infinity to (0:0:0)), so only for nonzero multiples of a public point.
function jacobianDouble(p: usize): void {
  const X = p, Y = p + 32, Z = p + 64;
  sqr(t0, Z); sqr(t1, Y); mul(t2, X, t1); // delta, gamma, beta
  sub(t3, X, t0); add(t4, X, t0); mul(t3, t3, t4); mulSmallP(t3, t3, 3); // alpha = 3(X - delta)(X + delta)
  add(t4, Y, Z); sqr(t4, t4); sub(t4, t4, t1); sub(Z, t4, t0); // Z3 = (Y + Z)^2 - gamma - delta
  mulSmallP(t2, t2, 4); add(t4, t2, t2); sqr(X, t3); sub(X, X, t4); // X3 = alpha^2 - 8beta
  sub(t2, t2, X); mul(t2, t3, t2); sqr(t1, t1);
  mulSmallP(t1, t1, 8); sub(Y, t2, t1); // Y3 = alpha(4beta - X3) - 8gamma^2
}

// r = k·q for public k and q (lean verification only): 4-bit fixed window, variable time, the
// complete doubling of Algorithm 6.
const WINDOW = memory.data(15 * 96, 8); // full module: 8 points, NAF digits, a negated point
export function mulVar(r: usize, k: usize, q: usize): void {
  copy(WINDOW, q); copy(WINDOW + 32, q + 32); copy(WINDOW + 64, q + 64);
  for (let j: usize = 1; j < 15; j++) pointAdd(WINDOW + j * POINT, WINDOW + (j - 1) * POINT, q);
  setInfinity(r);
  let started = false; // r != infinity: k < n keeps every partial multiple nonzero
  for (let i = 63; i >= 0; i--) {
    if (started) { pointDouble(r, r); pointDouble(r, r); pointDouble(r, r); pointDouble(r, r); }
    const nib = (load<u32>(k + (<usize>(i >> 3) << 2)) >> ((i & 7) << 2)) & 15;
    if (nib) { pointAdd(r, r, WINDOW + <usize>(nib - 1) * POINT); started = true; }
  }
}

// p += q, both Jacobian, q never infinity, q affine (Z = 1) when affine: add-2007-bl (mixed:
// madd-2007-bl) of the Explicit-Formulas Database with Z3 = 2·Z1·Z2·H. Public data only: the
// cases the formulas miss are branches (p infinity: copy; p == q: double; p == -q: infinity).
function jacobianAdd(p: usize, q: usize, affine: bool): void {
  const X1 = p, Y1 = p + 32, Z1 = p + 64, X2 = q, Y2 = q + 32, Z2 = q + 64;
  if (isZero(Z1)) {
    copy(X1, X2); copy(Y1, Y2); copy(Z1, affine ? MOD_P + ONE : Z2);
    return;
  }
  let u1 = X1, s1 = Y1;
  sqr(t0, Z1); // Z1^2
  if (!affine) {
    sqr(t1, Z2); mul(t2, X1, t1); mul(t3, Y1, Z2); mul(t3, t3, t1);
    u1 = t2; s1 = t3; // U1 = X1·Z2^2, S1 = Y1·Z2^3
  }
  mul(t4, X2, t0); mul(X3, Y2, Z1); mul(X3, X3, t0); // U2, S2
  sub(t4, t4, u1); sub(X3, X3, s1); // H, (S2 - S1)
  if (isZero(t4)) {
    if (isZero(X3)) jacobianDouble(p);
    else for (let w: usize = 64; w < POINT; w += 4) store<u32>(p + w, 0); // Z = 0: infinity
    return;
  }
  add(X3, X3, X3); // r = 2(S2 - S1)
  add(t0, t4, t4); sqr(t0, t0); mul(t1, t4, t0); mul(t0, u1, t0); // I = (2H)^2, J = H·I, V = U1·I
  mul(Z3, Z1, t4);
  if (!affine) mul(Z3, Z3, Z2);
  add(Z3, Z3, Z3);
  sqr(Y3, X3); sub(Y3, Y3, t1); sub(Y3, Y3, t0); sub(Y3, Y3, t0); // X3 = r^2 - J - 2V
  sub(t0, t0, Y3); mul(t0, t0, X3); mul(t1, s1, t1); add(t1, t1, t1); sub(t0, t0, t1); // r(V - X3) - 2·S1·J
  copy(X1, Y3); copy(Y1, t0); copy(Z1, Z3);
}

// r = u1·G + u2·q in Jacobian coordinates (Z = 0: infinity), q affine with Z = 1 (full module,
// verification: public data, variable time). One chain of 257 doublings; u2 in width-5 NAF
// (Hankerson, Menezes, Vanstone, Guide to ECC, Algorithm 3.35) over q, 3q, ..., 15q; u1 by the
// comb, its column c added at doubling c.
const NAF = WINDOW + 8 * 96, NEG = NAF + 260;

// Bits [bit, bit + n) of the 8-limb k (zero above bit 255).
function bitsAt(k: usize, bit: i32, n: i32): i32 {
  const limb = bit >> 5;
  let v: u64 = limb < 8 ? <u64>load<u32>(k + (<usize>limb << 2)) : 0;
  if (limb < 7) v |= <u64>load<u32>(k + (<usize>limb << 2), 4) << 32;
  return <i32>(v >> (bit & 31)) & ((1 << n) - 1);
}

export function mulVerify(r: usize, u1: usize, u2: usize, q: usize): void {
  if (!combReady) combBuild();
  copy(WINDOW, q); copy(WINDOW + 32, q + 32); copy(WINDOW + 64, q + 64);
  copy(NEG, q); copy(NEG + 32, q + 32); copy(NEG + 64, q + 64);
  jacobianDouble(NEG); // 2q
  for (let j: usize = 1; j < 8; j++) {
    const e = WINDOW + j * POINT;
    copy(e, e - POINT); copy(e + 32, e - POINT + 32); copy(e + 64, e - POINT + 64);
    jacobianAdd(e, NEG, false);
  }
  // width-5 NAF of u2: odd digits in [-15, 15], at least 4 zeros after each
  for (let i: usize = 0; i < 257; i++) store<i8>(NAF + i, 0);
  let carry = 0;
  for (let bit = 0; bit < 257; ) {
    if (bitsAt(u2, bit, 1) == carry) { bit++; continue; }
    let d = bitsAt(u2, bit, 5) + carry;
    carry = (d >> 4) & 1;
    d -= carry << 5;
    store<i8>(NAF + <usize>bit, <i8>d);
    bit += 5;
  }
  for (let w: usize = 64; w < POINT; w += 4) store<u32>(r + w, 0); // infinity
  for (let i = 256; i >= 0; i--) {
    if (!isZero(r + 64)) jacobianDouble(r);
    const d = <i32>load<i8>(NAF + <usize>i);
    if (d > 0) jacobianAdd(r, WINDOW + <usize>(d >> 1) * POINT, false);
    else if (d < 0) {
      const e = WINDOW + <usize>((0 - d) >> 1) * POINT;
      copy(NEG, e); subMod(NEG + 32, MOD_P, e + 32, MOD_P); copy(NEG + 64, e + 64); // -e = (X : p - Y : Z), Y != 0
      jacobianAdd(r, NEG, false);
    }
    if (i < SPACING) {
      let idx = 0;
      for (let t = 0; t < TEETH; t++) if (SPACING * t + i < 256) idx |= bitsAt(u1, SPACING * t + i, 1) << t;
      if (idx) jacobianAdd(r, combEntry(idx), true);
    }
  }
}
