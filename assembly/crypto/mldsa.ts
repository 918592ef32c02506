// ML-DSA-44/65/87 signature verification (FIPS 204 Algorithms 3 and 8; in X.509 by RFC 9881:
// pure ML-DSA, empty context). Full module only.
//
// Streaming, for one 64 KiB page: the matrix A is never held, not even one entry. For each row
// i, sum_j A[i][j] o NTT(z_j) is accumulated while A[i][j] is sampled coefficient by coefficient
// from SHAKE128 (RejNTTPoly) and NTT(z_j) is recomputed from the signature; c t1[i] 2^d is
// subtracted after the inverse NTT as a sparse product (c has tau <= 60 nonzero coefficients)
// with t1 read from the public key in place; UseHint and w1Encode of the row go straight into
// the SHAKE256 sponge of c~'. Working memory: verifyScratch() (scratch.ts), MLDSA_SCRATCH bytes:
// two polynomials (2 KiB), the NTT roots (1 KiB), two Keccak contexts (416 B), c (72 B),
// tr / mu (64 B). Only public data passes through: variable time by design.
import { E_ALG, E_ARG, E_KEY, E_SIG_ENCODING, E_SIG_INVALID } from "../errors";
import { SHA3_CTX_SIZE, sha3Absorb, sha3Init, sha3Pad, sha3Squeeze } from "./sha3";
import { VERIFY_SCRATCH_SIZE, verifyScratch } from "./scratch";

const Q: u32 = 8380417;          // FIPS 204 4: q = 2^23 - 2^13 + 1
// Working memory in verifyScratch() (MLDSA_SCRATCH bytes), placed by setScratch:
let ACC: usize = 0;   // u32[256]: the row accumulator, then w'_approx
let ZT: usize = 0;    // u32[256]: NTT(z_j); then the row's w1Encode bytes
let ZETA: usize = 0;  // u32[256]: zeta^BitRev8(m) mod q, zeta = 1753 (FIPS 204 B)
let XOF: usize = 0;   // SHAKE128 of RejNTTPoly; SHAKE256 of tr, mu, SampleInBall
let HC: usize = 0;    // SHAKE256 of c~' = H(mu || w1Encode(w1'))
let CPOS: usize = 0;  // c: positions of its tau nonzero coefficients (u8 each)
let CSGN: usize = 0;  // c: their signs, bit m set for -1 (u64)
let TRMU: usize = 0;  // tr, then mu (64 bytes)
function setScratch(): void {
  ACC = verifyScratch(); ZT = ACC + 1024; ZETA = ZT + 1024; XOF = ZETA + 1024; HC = XOF + SHA3_CTX_SIZE;
  CPOS = HC + SHA3_CTX_SIZE; CSGN = CPOS + 64; TRMU = CSGN + 8;
}
export const MLDSA_SCRATCH: i32 = 3 * 1024 + 2 * SHA3_CTX_SIZE + 64 + 8 + 64;

// Parameter set (FIPS 204 Table 1) of the current call.
let k = 0, l = 0, tau = 0, lambda4 = 0, gamma1Bits = 0, gamma2 = 0, beta = 0, omega = 0;

@inline function coef(p: usize, i: i32): u32 { return load<u32>(p + (<usize>i << 2)); }
@inline function setCoef(p: usize, i: i32, v: u32): void { store<u32>(p + (<usize>i << 2), v); }
@inline function mulq(a: u32, b: u32): u32 { return <u32>((<u64>a * <u64>b) % <u64>Q); }
@inline function addq(a: u32, b: u32): u32 { const s = a + b; return s >= Q ? s - Q : s; }
@inline function subq(a: u32, b: u32): u32 { return a >= b ? a - b : a + Q - b; }

function setParams(set: i32): bool {
  if (set == 44) { k = 4; l = 4; tau = 39; lambda4 = 32; gamma1Bits = 18; gamma2 = (Q - 1) / 88; beta = 78; omega = 80; }
  else if (set == 65) { k = 6; l = 5; tau = 49; lambda4 = 48; gamma1Bits = 20; gamma2 = (Q - 1) / 32; beta = 196; omega = 55; }
  else if (set == 87) { k = 8; l = 7; tau = 60; lambda4 = 64; gamma1Bits = 20; gamma2 = (Q - 1) / 32; beta = 120; omega = 75; }
  else return false;
  return true;
}

// FIPS 204 B: zetas in bit-reversed order, ZETA[BitRev8(m)] = 1753^m.
function initZetas(): void {
  let z: u32 = 1;
  for (let m = 0; m < 256; m++) {
    let r = 0;
    for (let b = 0; b < 8; b++) r |= ((m >> b) & 1) << (7 - b);
    setCoef(ZETA, r, z);
    z = mulq(z, 1753);
  }
}

// NTT (Algorithm 41) in place; coefficients in [0, q).
function ntt(w: usize): void {
  let m = 0;
  for (let len = 128; len >= 1; len >>= 1) {
    for (let start = 0; start < 256; start += len << 1) {
      const z = coef(ZETA, ++m);
      for (let j = start; j < start + len; j++) {
        const t = mulq(z, coef(w, j + len)), a = coef(w, j);
        setCoef(w, j + len, subq(a, t));
        setCoef(w, j, addq(a, t));
      }
    }
  }
}

// NTT^-1 (Algorithm 42) in place.
function invNtt(w: usize): void {
  let m = 256;
  for (let len = 1; len < 256; len <<= 1) {
    for (let start = 0; start < 256; start += len << 1) {
      const z = Q - coef(ZETA, --m);
      for (let j = start; j < start + len; j++) {
        const t = coef(w, j), u = coef(w, j + len);
        setCoef(w, j, addq(t, u));
        setCoef(w, j + len, mulq(z, subq(t, u)));
      }
    }
  }
  for (let j = 0; j < 256; j++) setCoef(w, j, mulq(8347681, coef(w, j))); // 256^-1 mod q
}

// z_j (BitUnpack with a = gamma1 - 1, b = gamma1: Algorithm 19 via 27) coefficient i, as the
// packed value v; z = gamma1 - v.
@inline function zPacked(zs: usize, j: i32, i: i32): u32 {
  const off = (j * 256 + i) * gamma1Bits, p = zs + (<usize>off >> 3);
  const v = <u32>load<u8>(p) | (<u32>load<u8>(p + 1) << 8) | (<u32>load<u8>(p + 2) << 16);
  return (v >> (off & 7)) & ((1 << gamma1Bits) - 1);
}

// t1[i] coefficient n (SimpleBitUnpack, 10 bits: 4 coefficients in 5 bytes).
@inline function t1Coef(t1: usize, i: i32, n: i32): u32 {
  const g = t1 + <usize>(i * 320 + (n >> 2) * 5), r = n & 3;
  return ((<u32>load<u8>(g + r) >> (r << 1)) | (<u32>load<u8>(g + r + 1) << (8 - (r << 1)))) & 0x3ff;
}

// HintBitUnpack (Algorithm 21) checks: the counts are non-decreasing and <= omega, the
// positions of each row strictly increasing, the unused bytes zero. True if well formed.
function hintWellFormed(y: usize): bool {
  let index = 0;
  for (let i = 0; i < k; i++) {
    const end = <i32>load<u8>(y + omega + i);
    if (end < index || end > omega) return false;
    const first = index;
    for (; index < end; index++) {
      if (index > first && load<u8>(y + index - 1) >= load<u8>(y + index)) return false;
    }
  }
  for (; index < omega; index++) if (load<u8>(y + index) != 0) return false;
  return true;
}

// SampleInBall (Algorithm 29) of c~ into CPOS / CSGN: c = sum_m (-1)^sign_m X^pos_m.
// Positions move as c_i = c_j, c_j = +-1: kept as a list, the swap is a search over it.
function sampleInBall(ct: usize): void {
  sha3Init(XOF, 136);
  sha3Absorb(XOF, ct, lambda4);
  sha3Pad(XOF, 0x1f);
  sha3Squeeze(XOF, TRMU, 8);
  const h = load<u64>(TRMU);
  let sgn: u64 = 0;
  for (let i = 256 - tau, m = 0; i < 256; i++, m++) {
    let j: i32;
    do { sha3Squeeze(XOF, TRMU, 1); j = <i32>load<u8>(TRMU); } while (j > i);
    // c_i = c_j: a coefficient at position j (if any) moves to i; then c_j = (-1)^h[m]
    for (let e = 0; e < m; e++) if (<i32>load<u8>(CPOS + e) == j) store<u8>(CPOS + e, <u8>i);
    store<u8>(CPOS + m, <u8>j);
    sgn |= ((h >> <u64>m) & 1) << <u64>m;
  }
  store<u64>(CSGN, sgn);
}

// w1 = UseHint(h, r) (Algorithms 40 and 36) for r in [0, q).
function useHint(r: u32, hint: bool): u32 {
  const g2 = gamma2 << 1;
  let r0 = <i32>(r % g2);
  if (r0 > <i32>gamma2) r0 -= <i32>g2;              // r0 = r mod+- 2 gamma2
  let r1: i32;
  if (<i32>r - r0 == <i32>Q - 1) { r1 = 0; r0 -= 1; } else r1 = (<i32>r - r0) / <i32>g2;
  if (!hint) return <u32>r1;
  const m = <i32>((Q - 1) / g2);
  return <u32>(r0 > 0 ? (r1 + 1 == m ? 0 : r1 + 1) : (r1 == 0 ? m - 1 : r1 - 1));
}

// Verifies the ML-DSA-44/65/87 (set = 44, 65 or 87) signature sig of msg under context ctx
// (RFC 9881: empty) with the encoded public key pub (FIPS 204 7.2 pkEncode).
// Returns 0, E_ALG (unknown set), E_ARG, E_KEY (wrong key length), E_SIG_ENCODING (wrong
// length, malformed hint, ||z|| too large) or E_SIG_INVALID.
export function mldsaVerify(set: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32,
  ctx: usize, ctxLen: i32, sig: usize, sigLen: i32): i32 {
  if (MLDSA_SCRATCH > VERIFY_SCRATCH_SIZE) return E_ARG; // layout (constant: folded away)
  if (!setParams(set)) return E_ALG;
  if (msgLen < 0 || ctxLen < 0 || ctxLen > 255) return E_ARG;    // Algorithm 3 step 1
  const zBytes = 32 * gamma1Bits;
  if (pubLen != 32 + 320 * k) return E_KEY;
  if (sigLen != lambda4 + l * zBytes + omega + k) return E_SIG_ENCODING;
  const zs = sig + lambda4, y = zs + l * zBytes, t1 = pub + 32;
  if (!hintWellFormed(y)) return E_SIG_ENCODING;
  // ||z||inf < gamma1 - beta (Algorithm 8 step 13): packed v = gamma1 - z in (beta, 2 gamma1 - beta)
  const g1: u32 = 1 << (gamma1Bits - 1);
  for (let j = 0; j < l; j++) {
    for (let i = 0; i < 256; i++) {
      const v = zPacked(zs, j, i);
      if (v <= <u32>beta || v >= 2 * g1 - <u32>beta) return E_SIG_ENCODING;
    }
  }
  // tr = H(pk, 64); mu = H(tr || 0 || |ctx| || ctx || M, 64) (Algorithms 3 and 8 steps 6-7)
  setScratch();
  sha3Init(XOF, 136);
  sha3Absorb(XOF, pub, pubLen);
  sha3Pad(XOF, 0x1f);
  sha3Squeeze(XOF, TRMU, 64);
  sha3Init(XOF, 136);
  sha3Absorb(XOF, TRMU, 64);
  store<u8>(TRMU, 0); store<u8>(TRMU + 1, <u8>ctxLen);
  sha3Absorb(XOF, TRMU, 2);
  sha3Absorb(XOF, ctx, ctxLen);
  sha3Absorb(XOF, msg, msgLen);
  sha3Pad(XOF, 0x1f);
  sha3Squeeze(XOF, TRMU, 64);
  sha3Init(HC, 136);
  sha3Absorb(HC, TRMU, 64);
  sampleInBall(sig);
  initZetas();
  const sgn = load<u64>(CSGN);
  let hintAt = 0;
  for (let i = 0; i < k; i++) {
    // ACC = sum_j A[i][j] o NTT(z_j), A[i][j] = RejNTTPoly(rho || j || i) (Algorithms 30, 32)
    for (let n = 0; n < 256; n++) setCoef(ACC, n, 0);
    for (let j = 0; j < l; j++) {
      for (let n = 0; n < 256; n++) setCoef(ZT, n, subq(g1, zPacked(zs, j, n) % Q));
      ntt(ZT);
      sha3Init(XOF, 168);
      sha3Absorb(XOF, pub, 32);
      store<u8>(TRMU, <u8>j); store<u8>(TRMU + 1, <u8>i);
      sha3Absorb(XOF, TRMU, 2);
      sha3Pad(XOF, 0x1f);
      for (let n = 0; n < 256;) {
        sha3Squeeze(XOF, TRMU, 3);                  // CoeffFromThreeBytes (Algorithm 14)
        const a = <u32>load<u8>(TRMU) | (<u32>load<u8>(TRMU + 1) << 8) | ((<u32>load<u8>(TRMU + 2) & 0x7f) << 16);
        if (a >= Q) continue;
        setCoef(ACC, n, addq(coef(ACC, n), mulq(a, coef(ZT, n))));
        n++;
      }
    }
    invNtt(ACC);
    // - c t1[i] 2^d, negacyclic (X^256 = -1), d = 13
    for (let m = 0; m < tau; m++) {
      const p = <i32>load<u8>(CPOS + m), minus = ((sgn >> <u64>m) & 1) != 0;
      for (let n = 0; n < 256; n++) {
        const v = t1Coef(t1, i, n) << 13;               // < 2^23, may exceed q
        const t = v >= Q ? v - Q : v;
        let at = p + n, neg = minus;
        if (at >= 256) { at -= 256; neg = !neg; }
        setCoef(ACC, at, neg ? addq(coef(ACC, at), t) : subq(coef(ACC, at), t));
      }
    }
    // w1'[i] = UseHint(h[i], w'_approx[i]) (step 10), w1Encode (Algorithm 28) into the sponge
    const end = <i32>load<u8>(y + omega + i);
    const bits = gamma2 == (Q - 1) / 88 ? 6 : 4;
    let acc: u32 = 0, have = 0, out = 0;
    for (let n = 0; n < 256; n++) {
      const hint = hintAt < end && <i32>load<u8>(y + hintAt) == n;
      if (hint) hintAt++;
      acc |= useHint(coef(ACC, n), hint) << have;
      have += bits;
      while (have >= 8) { store<u8>(ZT + out++, <u8>acc); acc >>= 8; have -= 8; }
    }
    sha3Absorb(HC, ZT, out);
  }
  // c~' == c~ (steps 12-13)
  sha3Pad(HC, 0x1f);
  sha3Squeeze(HC, TRMU, lambda4);
  for (let i = 0; i < lambda4; i++) if (load<u8>(TRMU + i) != load<u8>(sig + i)) return E_SIG_INVALID;
  return 0;
}
