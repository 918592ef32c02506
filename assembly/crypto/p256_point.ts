// P-256 points in homogeneous projective coordinates (X:Y:Z), Montgomery-form field elements,
// 96 bytes per point; the point at infinity is (0:1:0). Addition and doubling are the complete
// formulas of Renes, Costello, Batina 2015 for a = -3 (Algorithms 4 and 6): no exceptional cases,
// so no branch ever depends on a point. Scalar multiples of G use a 6-tooth comb whose table is
// read by scanning every entry with masks (constant time); the variable-base multiple used by
// verification (public data only) is a plain 4-bit window.
import { LEAN } from "../features";
import { addMod, copy, MOD_P, mulMod, ONE, subMod } from "./p256_field";

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
  mul(Z3, B, t2); sub(X3, Y3, Z3); add(Z3, X3, X3);
  add(X3, X3, Z3); sub(Z3, t1, X3); add(X3, t1, X3);
  mul(Y3, B, Y3); add(t1, t2, t2); add(t2, t1, t2);
  sub(Y3, Y3, t2); sub(Y3, Y3, t0); add(t1, Y3, Y3);
  add(Y3, t1, Y3); add(t1, t0, t0); add(t0, t1, t0);
  sub(t0, t0, t2); mul(t1, t4, Y3); mul(t2, t0, Y3);
  mul(Y3, X3, Z3); add(Y3, Y3, t2); mul(X3, t3, X3);
  sub(X3, X3, t1); mul(Z3, t4, Z3); mul(t1, t3, t0);
  add(Z3, Z3, t1);
  store3(r);
}

// r = 2p (RCB 2015 Algorithm 6, a = -3).
export function pointDouble(r: usize, p: usize): void {
  const X = p, Y = p + 32, Z = p + 64;
  mul(t0, X, X); mul(t1, Y, Y); mul(t2, Z, Z);
  mul(t3, X, Y); add(t3, t3, t3); mul(Z3, X, Z);
  add(Z3, Z3, Z3); mul(Y3, B, t2); sub(Y3, Y3, Z3);
  add(X3, Y3, Y3); add(Y3, X3, Y3); sub(X3, t1, Y3);
  add(Y3, t1, Y3); mul(Y3, X3, Y3); mul(X3, X3, t3);
  add(t3, t2, t2); add(t2, t2, t3); mul(Z3, B, Z3);
  sub(Z3, Z3, t2); sub(Z3, Z3, t0); add(t3, Z3, Z3);
  add(Z3, Z3, t3); add(t3, t0, t0); add(t0, t3, t0);
  sub(t0, t0, t2); mul(t0, t0, Z3); add(Y3, Y3, t0);
  mul(t0, Y, Z); add(t0, t0, t0); mul(Z3, t0, Z3);
  sub(X3, X3, Z3); mul(Z3, t0, t1); add(Z3, Z3, Z3);
  add(Z3, Z3, Z3);
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
  combReady = true;
}

// ENTRY = entry idx (infinity for 0), reading all 63 entries.
function combLookup(idx: i32): void {
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
  mul(t0, Z, Z); mul(t1, Y, Y); mul(t2, X, t1); // delta, gamma, beta
  sub(t3, X, t0); add(t4, X, t0); mul(t3, t3, t4);
  add(t4, t3, t3); add(t3, t3, t4); // alpha = 3(X - delta)(X + delta)
  add(t4, Y, Z); mul(t4, t4, t4); sub(t4, t4, t1); sub(Z, t4, t0); // Z3 = (Y + Z)^2 - gamma - delta
  add(t2, t2, t2); add(t2, t2, t2); add(t4, t2, t2); mul(X, t3, t3); sub(X, X, t4); // X3 = alpha^2 - 8beta
  sub(t2, t2, X); mul(t2, t3, t2); mul(t1, t1, t1);
  add(t1, t1, t1); add(t1, t1, t1); add(t1, t1, t1); sub(Y, t2, t1); // Y3 = alpha(4beta - X3) - 8gamma^2
}

// r = k·q for public k and q (verification only): 4-bit fixed window, variable time; the four
// doublings per window run in Jacobian coordinates: (X:Y:Z) -> (XZ:YZ^2:Z) -> back (XZ:Y:Z^3).
const WINDOW = memory.data(15 * 96, 8);
export function mulVar(r: usize, k: usize, q: usize): void {
  copy(WINDOW, q); copy(WINDOW + 32, q + 32); copy(WINDOW + 64, q + 64);
  for (let j: usize = 1; j < 15; j++) pointAdd(WINDOW + j * POINT, WINDOW + (j - 1) * POINT, q);
  setInfinity(r);
  let started = false; // r != infinity: k < n keeps every partial multiple nonzero
  for (let i = 63; i >= 0; i--) {
    if (LEAN) { // smaller, slower: the complete doubling of Algorithm 6
      if (started) { pointDouble(r, r); pointDouble(r, r); pointDouble(r, r); pointDouble(r, r); }
    } else if (started) {
      mul(t0, r + 64, r + 64); mul(r, r, r + 64); mul(r + 32, r + 32, t0);
      jacobianDouble(r); jacobianDouble(r); jacobianDouble(r); jacobianDouble(r);
      mul(t0, r + 64, r + 64); mul(r, r, r + 64); mul(r + 64, r + 64, t0);
    }
    const nib = (load<u32>(k + (<usize>(i >> 3) << 2)) >> ((i & 7) << 2)) & 15;
    if (nib) { pointAdd(r, r, WINDOW + <usize>(nib - 1) * POINT); started = true; }
  }
}
