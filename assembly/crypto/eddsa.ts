// Ed25519 and Ed448 signature verification, pure EdDSA (RFC 8032 5.1.7 and 5.2.7; in X.509 by
// RFC 8410: no context, no prehash). Twisted Edwards curves a x² + y² = 1 + d x² y² over
// field elements in Montgomery form (bignum.ts), extended coordinates (X:Y:Z:T) with the
// formulas of Hisil, Wong, Carter, Dawson 2008 (complete for both curves: a square, d not).
// Strict decoding: S must be below L, and A and R must be canonical encodings of curve points
// (y < p, no "negative zero"), as RFC 8032 5.1.3 / 5.2.3 require; the cofactored group equation
// [c][S]B = [c]R + [c][k]A is checked. Only public data passes through: variable time by design.
import {
  bnBit, bnBits, bnCmp, bnCopy, bnIsZero, bnSub, fromMont, modAdd, modInit, modInv, modM, modSub,
  montMul, montPow, toMont,
} from "./bignum";
import { E_ALG, E_ARG, E_KEY, E_SIG_ENCODING, E_SIG_INVALID } from "../errors";
import { HASH_SHA512, hashFinal, hashInit, hashUpdate } from "./hash";
import { SHA3_CTX_SIZE, sha3Absorb, sha3Init, sha3Pad, sha3Squeeze } from "./sha3";
import { VERIFY_SCRATCH_SIZE, verifyScratch } from "./scratch";

export const ED25519: i32 = 1, ED448: i32 = 2;

// Curve constants, little-endian (RFC 8032 5.1 and 5.2): p, L, d, then the encoded base point B.
function c25519(): usize {
  return memory.data<u8>([
  0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
  0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
  0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52,
  0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
  ]);
}
function c448(): usize {
  return memory.data<u8>([
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xf3, 0x44, 0x58, 0xab, 0x92, 0xc2, 0x78, 0x23, 0x55, 0x8f, 0xc5, 0x8d, 0x72, 0xc2, 0x6c, 0x21,
  0x90, 0x36, 0xd6, 0xae, 0x49, 0xdb, 0x4e, 0xc4, 0xe9, 0x23, 0xca, 0x7c, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f,
  0x56, 0x67, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0x14, 0xfa, 0x30, 0xf2, 0x5b, 0x79, 0x08, 0x98, 0xad, 0xc8, 0xd7, 0x4e, 0x2c, 0x13, 0xbd, 0xfd,
  0xc4, 0x39, 0x7c, 0xe6, 0x1c, 0xff, 0xd3, 0x3a, 0xd7, 0xc2, 0xa0, 0x05, 0x1e, 0x9c, 0x78, 0x87,
  0x40, 0x98, 0xa3, 0x6c, 0x73, 0x73, 0xea, 0x4b, 0x62, 0xc7, 0xc9, 0x56, 0x37, 0x20, 0x76, 0x88,
  0x24, 0xbc, 0xb6, 0x6e, 0x71, 0x46, 0x3f, 0x69, 0x00,
  ]);
}
// RFC 8032 5.2.5: dom4(0, "") = "SigEd448" || 0x00 || 0x00
function dom4(): usize { return memory.data<u8>([0x53, 0x69, 0x67, 0x45, 0x64, 0x34, 0x34, 0x38, 0, 0]); }

const FE: usize = 56;                    // field element stride: 14 limbs (Ed448)
// Working memory in verifyScratch() (EDDSA_SCRATCH bytes), placed by setScratch:
let MP: usize = 0;                       // Montgomery context mod p (8 + 14 x 8 bytes)
let ML: usize = 0;                       // Montgomery context mod L
let PT: usize = 0;                       // points: accumulator, B, -A, B - A, R, spare (6 x 4 x 56)
let TT: usize = 0;                       // formula temporaries t(0..7); d; k (10 x 56)
let H: usize = 0;                        // H(...): 64 or 114 bytes, zero-padded to 3 x 56
let HC: usize = 0;                       // SHA-512 or SHAKE256 context (same size)
const EDDSA_SCRATCH: i32 = 2 * 120 + 6 * 4 * 56 + 10 * 56 + 168 + SHA3_CTX_SIZE;
function setScratch(): void {
  MP = verifyScratch(); ML = MP + 120; PT = ML + 120; TT = PT + 6 * 4 * 56; H = TT + 10 * 56; HC = H + 168;
}
let nl: i32 = 0;                         // limbs of the current field

@inline function t(i: i32): usize { return TT + <usize>i * FE; }
@inline function pt(i: i32): usize { return PT + <usize>i * 4 * FE; }

@inline function mul(o: usize, a: usize, b: usize): void { montMul(o, a, b, MP); }
@inline function add(o: usize, a: usize, b: usize): void { modAdd(o, a, b, MP); }
@inline function sub(o: usize, a: usize, b: usize): void { modSub(o, a, b, MP); }
function neg(o: usize, a: usize): void {
  if (bnIsZero(a, nl)) bnCopy(o, a, nl); else bnSub(o, modM(MP), a, nl);
}
function setOne(o: usize): void { // 1 in Montgomery form: R mod p = R² R^-1
  for (let i = 0; i < nl; i++) store<u32>(o + (<usize>i << 2), i == 0 ? 1 : 0);
  toMont(o, o, MP);
}

// p = 2p (dbl-2008-hwcd): A = X², B = Y², C = 2Z², D = aA, E = (X+Y)² - A - B, G = D + B,
// F = G - C, H = D - B; X = EF, Y = GH, T = EH, Z = FG.
function dbl(p: usize, a25519: bool): void {
  const x = p, y = p + FE, z = p + 2 * FE, tt = p + 3 * FE;
  const A = t(0), B = t(1), C = t(2), D = t(3), E = t(4), G = t(5), F = t(6), Hh = t(7);
  mul(A, x, x); mul(B, y, y); mul(C, z, z); add(C, C, C);
  if (a25519) neg(D, A); else bnCopy(D, A, nl);
  add(E, x, y); mul(E, E, E); sub(E, E, A); sub(E, E, B);
  add(G, D, B); sub(F, G, C); sub(Hh, D, B);
  mul(x, E, F); mul(y, G, Hh); mul(tt, E, Hh); mul(z, F, G);
}

// p = p + q (add-2008-hwcd): A = X1X2, B = Y1Y2, C = T1 d T2, D = Z1Z2, E = (X1+Y1)(X2+Y2) - A - B,
// F = D - C, G = D + C, H = B - aA; X = EF, Y = GH, T = EH, Z = FG.
function addPoint(p: usize, q: usize, a25519: bool): void {
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE, t1 = p + 3 * FE;
  const x2 = q, y2 = q + FE, z2 = q + 2 * FE, t2 = q + 3 * FE;
  const A = t(0), B = t(1), C = t(2), D = t(3), E = t(4), G = t(5), F = t(6), Hh = t(7);
  mul(A, x1, x2); mul(B, y1, y2); mul(C, t1, t(8)); mul(C, C, t2); mul(D, z1, z2);
  add(E, x1, y1); add(F, x2, y2); mul(E, E, F); sub(E, E, A); sub(E, E, B);
  sub(F, D, C); add(G, D, C);
  if (a25519) add(Hh, B, A); else sub(Hh, B, A);
  mul(x1, E, F); mul(y1, G, Hh); mul(t1, E, Hh); mul(z1, F, G);
}

// Decodes the point encoding at src (b/8 bytes) into p (RFC 8032 5.1.3 / 5.2.3), or false.
function decodePoint(p: usize, src: usize, a25519: bool): bool {
  const bytes = a25519 ? 32 : 57;
  const x0 = <u32>load<u8>(src + bytes - 1) >> 7;
  const x = p, y = p + FE, z = p + 2 * FE, tt = p + 3 * FE;
  const u = t(0), v = t(1), w = t(2), e = t(3);
  // y: the low 255 (Ed25519) or 455 (Ed448) bits; Ed448 bits 448..454 make y >= p
  if (!a25519 && (load<u8>(src + 56) & 0x7f) != 0) return false;
  for (let i = 0; i < (nl << 2); i++) store<u8>(y + i, load<u8>(src + i));
  if (a25519) store<u8>(y + 31, load<u8>(y + 31) & 0x7f);
  if (bnCmp(y, modM(MP), nl) >= 0) return false;
  toMont(y, y, MP);
  // x² = (1 - y²) / (a - d y²); the denominator is never zero (d is not a square)
  setOne(z);
  mul(w, y, y);
  sub(u, z, w);
  mul(v, t(8), w);
  if (a25519) { neg(e, z); sub(v, e, v); } else sub(v, z, v);
  modInv(v, v, MP);
  mul(w, u, v);                                   // w = x²
  // square root: p = 3 mod 4 (Ed448): x = w^((p+1)/4); p = 5 mod 8 (Ed25519): x = w^((p+3)/8),
  // times sqrt(-1) = 2^((p-1)/4) when x² = -w
  bnCopy(e, modM(MP), nl);
  setLimbAdd(e, a25519 ? 3 : 1);
  shiftRight(e, a25519 ? 3 : 2);
  montPow(x, w, e, nl, MP);
  mul(u, x, x);
  if (bnCmp(u, w, nl) != 0) {
    neg(v, w);
    if (!a25519 || bnCmp(u, v, nl) != 0) return false; // not a square: no such point
    bnCopy(e, modM(MP), nl);
    store<u32>(e, load<u32>(e) & ~1); // (p - 1) / 4: p is odd
    shiftRight(e, 2);
    for (let i = 0; i < nl; i++) store<u32>(v + (<usize>i << 2), i == 0 ? 2 : 0);
    toMont(v, v, MP);
    montPow(v, v, e, nl, MP);
    mul(x, x, v);
  }
  fromMont(u, x, MP);
  if (bnIsZero(u, nl) && x0 == 1) return false;   // "negative zero" is not canonical
  if ((load<u32>(u) & 1) != x0) neg(x, x);
  setOne(z);
  mul(tt, x, y);
  return true;
}

// a (nl limbs) += small, no overflow (p + 3 < 2^(32 nl)).
function setLimbAdd(a: usize, small: u32): void {
  let c = <u64>small;
  for (let i = 0; i < nl && c != 0; i++) {
    c += <u64>load<u32>(a + (<usize>i << 2));
    store<u32>(a + (<usize>i << 2), <u32>c);
    c >>= 32;
  }
}
function shiftRight(a: usize, s: i32): void {
  for (let i = 0; i < nl; i++) {
    const hi = i + 1 < nl ? load<u32>(a + (<usize>(i + 1) << 2)) : 0;
    store<u32>(a + (<usize>i << 2), (load<u32>(a + (<usize>i << 2)) >> s) | (hi << (32 - s)));
  }
}

// out = the little-endian integer in H (len bytes, len <= 168) mod L: Horner over nl-limb
// chunks from the top, r = r R + chunk mod L, each chunk reduced as (chunk R² R^-1) R^-1.
function reduceH(out: usize, len: i32): void {
  const rr = modM(ML) + (<usize>nl << 2), c = t(0), chunk = <i32>(nl << 2);
  for (let i = len; i < 168; i++) store<u8>(H + i, 0);
  for (let i = 0; i < nl; i++) store<u32>(out + (<usize>i << 2), 0);
  let top = ((len + chunk - 1) / chunk) * chunk;
  while (top > 0) {
    top -= chunk;
    montMul(out, out, rr, ML);                     // r R mod L
    montMul(c, rr, H + top, ML);                   // chunk R mod L (rr < L, chunk < R)
    fromMont(c, c, ML);
    modAdd(out, out, c, ML);
  }
}

// Verifies the pure EdDSA signature sig of msg under the encoded public key pub.
// Returns 0, E_ALG, E_KEY (A is no valid point encoding), E_SIG_ENCODING (wrong length, S >= L,
// R no valid point encoding) or E_SIG_INVALID.
export function eddsaVerify(curve: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32,
  sig: usize, sigLen: i32): i32 {
  if (EDDSA_SCRATCH > VERIFY_SCRATCH_SIZE) return E_ARG; // layout (constant: folded away)
  if (curve != ED25519 && curve != ED448) return E_ALG;
  setScratch();
  if (msgLen < 0) return E_ARG;
  const is25519 = curve == ED25519, b = is25519 ? 32 : 57, cd = is25519 ? c25519() : c448();
  nl = is25519 ? 8 : 14;
  const fb = nl << 2;
  if (pubLen != b) return E_KEY;
  if (sigLen != 2 * b) return E_SIG_ENCODING;
  store<i32>(MP, nl); bnCopy(modM(MP), cd, nl); modInit(MP);
  store<i32>(ML, nl); bnCopy(modM(ML), cd + fb, nl); modInit(ML);
  bnCopy(t(8), cd + 2 * fb, nl); toMont(t(8), t(8), MP); // d
  // S: b bytes little-endian, 0 <= S < L (RFC 8032 5.1.7 step 1, 5.2.7 step 1)
  const s = sig + b, k = t(9);
  if (!is25519 && load<u8>(s + 56) != 0) return E_SIG_ENCODING;
  if (bnCmp(s, modM(ML), nl) >= 0) return E_SIG_ENCODING;
  if (!decodePoint(pt(1), cd + 3 * fb, is25519)) return E_ALG; // B: never fails
  if (!decodePoint(pt(2), pub, is25519)) return E_KEY;
  if (!decodePoint(pt(4), sig, is25519)) return E_SIG_ENCODING;
  // k = SHA-512(R || A || M) (5.1.7 step 2) or SHAKE256(dom4(0, "") || R || A || M, 114) (5.2.7)
  if (is25519) {
    hashInit(HC, HASH_SHA512);
    hashUpdate(HC, sig, b); hashUpdate(HC, pub, b); hashUpdate(HC, msg, msgLen);
    hashFinal(HC, H);
    reduceH(k, 64);
  } else {
    sha3Init(HC, 136);
    sha3Absorb(HC, dom4(), 10); sha3Absorb(HC, sig, b); sha3Absorb(HC, pub, b); sha3Absorb(HC, msg, msgLen);
    sha3Pad(HC, 0x1f);
    sha3Squeeze(HC, H, 114);
    reduceH(k, 114);
  }
  // [S]B + [k](-A) by Shamir's trick over the table B, -A, B - A
  const negA = pt(2);
  neg(negA, negA); neg(negA + 3 * FE, negA + 3 * FE);
  copyPoint(pt(3), pt(1));
  addPoint(pt(3), negA, is25519);
  const acc = pt(0);
  for (let i = 0; i < nl; i++) { store<u32>(acc + (<usize>i << 2), 0); store<u32>(acc + 3 * FE + (<usize>i << 2), 0); }
  setOne(acc + FE); setOne(acc + 2 * FE);          // identity (0 : 1 : 1 : 0)
  const bs = bnBits(s, nl), bk = bnBits(k, nl);
  for (let i = (bs > bk ? bs : bk) - 1; i >= 0; i--) {
    dbl(acc, is25519);
    const sel = bnBit(s, i) | (bnBit(k, i) << 1);
    if (sel != 0) addPoint(acc, pt(sel), is25519);
  }
  // - R, times the cofactor (8 = 2^3 or 4 = 2^2), must be the identity: X = 0 and Y = Z
  const r = pt(4);
  neg(r, r); neg(r + 3 * FE, r + 3 * FE);
  addPoint(acc, r, is25519);
  for (let i = is25519 ? 3 : 2; i > 0; i--) dbl(acc, is25519);
  return bnIsZero(acc, nl) && bnCmp(acc + FE, acc + 2 * FE, nl) == 0 ? 0 : E_SIG_INVALID;
}

function copyPoint(o: usize, p: usize): void {
  for (let c: usize = 0; c < 4; c++) bnCopy(o + c * FE, p + c * FE, nl);
}
