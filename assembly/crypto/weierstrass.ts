// ECDSA verification on the NIST short-Weierstrass curves P-384 and P-521 (y² = x³ - 3x + b,
// FIPS 186-5 / SP 800-186), SEC1 v2 section 4.1.4. Jacobian coordinates over field elements in
// Montgomery form (bignum.ts) for P-384 and in plain form for P-521 (a Mersenne prime);
// u1 G + u2 Q by Shamir's trick. Verification handles only public data (key, signature,
// digest), so this code is variable time by design; it never traps on any input.
import {
  bnAdd, bnBit, bnBits, bnCmp, bnCopy, bnFromBytes, bnIsZero, bnSub, modAdd, modInit, modInv,
  modM, modSub, montMul, toMont,
} from "./bignum";
import { E_ALG, E_ARG, E_KEY, E_SIG_INVALID } from "../errors";

// Curve constants (SP 800-186 section 3.2.1): p, n, b, Gx, Gy, big-endian, 48 or 66 bytes each.
// (inside functions: a module without this verifier carries none of them)
function p384(): usize {
  return memory.data<u8>([
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
  0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
  0xb3, 0x31, 0x2f, 0xa7, 0xe2, 0x3e, 0xe7, 0xe4, 0x98, 0x8e, 0x05, 0x6b, 0xe3, 0xf8, 0x2d, 0x19,
  0x18, 0x1d, 0x9c, 0x6e, 0xfe, 0x81, 0x41, 0x12, 0x03, 0x14, 0x08, 0x8f, 0x50, 0x13, 0x87, 0x5a,
  0xc6, 0x56, 0x39, 0x8d, 0x8a, 0x2e, 0xd1, 0x9d, 0x2a, 0x85, 0xc8, 0xed, 0xd3, 0xec, 0x2a, 0xef,
  0xaa, 0x87, 0xca, 0x22, 0xbe, 0x8b, 0x05, 0x37, 0x8e, 0xb1, 0xc7, 0x1e, 0xf3, 0x20, 0xad, 0x74,
  0x6e, 0x1d, 0x3b, 0x62, 0x8b, 0xa7, 0x9b, 0x98, 0x59, 0xf7, 0x41, 0xe0, 0x82, 0x54, 0x2a, 0x38,
  0x55, 0x02, 0xf2, 0x5d, 0xbf, 0x55, 0x29, 0x6c, 0x3a, 0x54, 0x5e, 0x38, 0x72, 0x76, 0x0a, 0xb7,
  0x36, 0x17, 0xde, 0x4a, 0x96, 0x26, 0x2c, 0x6f, 0x5d, 0x9e, 0x98, 0xbf, 0x92, 0x92, 0xdc, 0x29,
  0xf8, 0xf4, 0x1d, 0xbd, 0x28, 0x9a, 0x14, 0x7c, 0xe9, 0xda, 0x31, 0x13, 0xb5, 0xf0, 0xb8, 0xc0,
  0x0a, 0x60, 0xb1, 0xce, 0x1d, 0x7e, 0x81, 0x9d, 0x7a, 0x43, 0x1d, 0x7c, 0x90, 0xea, 0x0e, 0x5f,
]);
}
function p521(): usize {
  return memory.data<u8>([
  0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b, 0x7f, 0xcc, 0x01, 0x48,
  0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c, 0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e,
  0x91, 0x38, 0x64, 0x09, 0x00, 0x51, 0x95, 0x3e, 0xb9, 0x61, 0x8e, 0x1c, 0x9a, 0x1f, 0x92, 0x9a,
  0x21, 0xa0, 0xb6, 0x85, 0x40, 0xee, 0xa2, 0xda, 0x72, 0x5b, 0x99, 0xb3, 0x15, 0xf3, 0xb8, 0xb4,
  0x89, 0x91, 0x8e, 0xf1, 0x09, 0xe1, 0x56, 0x19, 0x39, 0x51, 0xec, 0x7e, 0x93, 0x7b, 0x16, 0x52,
  0xc0, 0xbd, 0x3b, 0xb1, 0xbf, 0x07, 0x35, 0x73, 0xdf, 0x88, 0x3d, 0x2c, 0x34, 0xf1, 0xef, 0x45,
  0x1f, 0xd4, 0x6b, 0x50, 0x3f, 0x00, 0x00, 0xc6, 0x85, 0x8e, 0x06, 0xb7, 0x04, 0x04, 0xe9, 0xcd,
  0x9e, 0x3e, 0xcb, 0x66, 0x23, 0x95, 0xb4, 0x42, 0x9c, 0x64, 0x81, 0x39, 0x05, 0x3f, 0xb5, 0x21,
  0xf8, 0x28, 0xaf, 0x60, 0x6b, 0x4d, 0x3d, 0xba, 0xa1, 0x4b, 0x5e, 0x77, 0xef, 0xe7, 0x59, 0x28,
  0xfe, 0x1d, 0xc1, 0x27, 0xa2, 0xff, 0xa8, 0xde, 0x33, 0x48, 0xb3, 0xc1, 0x85, 0x6a, 0x42, 0x9b,
  0xf9, 0x7e, 0x7e, 0x31, 0xc2, 0xe5, 0xbd, 0x66, 0x01, 0x18, 0x39, 0x29, 0x6a, 0x78, 0x9a, 0x3b,
  0xc0, 0x04, 0x5c, 0x8a, 0x5f, 0xb4, 0x2c, 0x7d, 0x1b, 0xd9, 0x98, 0xf5, 0x44, 0x49, 0x57, 0x9b,
  0x44, 0x68, 0x17, 0xaf, 0xbd, 0x17, 0x27, 0x3e, 0x66, 0x2c, 0x97, 0xee, 0x72, 0x99, 0x5e, 0xf4,
  0x26, 0x40, 0xc5, 0x50, 0xb9, 0x01, 0x3f, 0xad, 0x07, 0x61, 0x35, 0x3c, 0x70, 0x86, 0xa2, 0x72,
  0xc2, 0x40, 0x88, 0xbe, 0x94, 0x76, 0x9f, 0xd1, 0x66, 0x50,
]);
}
const ONE_BYTE = memory.data<u8>([1]);

const FE: usize = 68;                    // field element stride: 17 limbs (P-521)
const MP = memory.data(8 + 17 * 8, 8);   // Montgomery context mod p (bignum: 8 + 8 limbs bytes)
const MN = memory.data(8 + 17 * 8, 8);   // Montgomery context mod n
const PT = memory.data(12 * 68, 8);      // points R (accumulator), G, Q, G+Q: Jacobian X, Y, Z
const TT = memory.data(8 * 68, 8);       // t(0..5): formula temporaries; t(6), t(7): u1, u2
const PROD = memory.data(34 * 4, 8);     // P-521: the 1042-bit product
let nl: i32 = 0;                         // limbs of the current curve

@inline function t(i: i32): usize { return TT + <usize>i * FE; }
@inline function pt(i: i32): usize { return PT + <usize>i * 3 * FE; }

// Field multiplication. P-384: Montgomery form. P-521: elements in plain form, since
// p = 2^521 - 1 reduces with 2^521 = 1 mod p: the product, then its low + high part
// (a, b < p: the sum is below 2p).
function mul(o: usize, a: usize, b: usize): void {
  if (nl != 17) { montMul(o, a, b, MP); return; }
  for (let j: usize = 0; j < 68; j += 4) store<u32>(PROD + j, 0);
  for (let i: usize = 0; i < 68; i += 4) { // schoolbook, row by row (fixed trip counts)
    const ai = <u64>load<u32>(a + i), r = PROD + i;
    let t: u64 = 0;
    for (let j: usize = 0; j < 68; j += 4) {
      t = <u64>load<u32>(r + j) + ai * <u64>load<u32>(b + j) + (t >> 32);
      store<u32>(r + j, <u32>t);
    }
    store<u32>(r + 68, <u32>(t >> 32));
  }
  let c: u64 = 0; // low 521 bits + high part < 2^522, then one conditional subtraction of p
  for (let i = 0; i < 17; i++) {
    const h = (load<u32>(PROD + (<usize>(16 + i) << 2)) >> 9) | (load<u32>(PROD + (<usize>(17 + i) << 2)) << 23);
    const l = i < 16 ? load<u32>(PROD + (<usize>i << 2)) : load<u32>(PROD + 64) & 0x1ff;
    c += <u64>l + <u64>h;
    store<u32>(o + (<usize>i << 2), <u32>c);
    c >>= 32;
  }
  if (bnCmp(o, modM(MP), 17) >= 0) bnSub(o, o, modM(MP), 17);
}

@inline function add(o: usize, a: usize, b: usize): void { modAdd(o, a, b, MP); }
@inline function sub(o: usize, a: usize, b: usize): void { modSub(o, a, b, MP); }

// out = the len big-endian bytes at src as a field element (Montgomery form for P-384), if < p.
function fieldElement(out: usize, src: usize, len: i32): bool {
  if (!bnFromBytes(out, nl, src, len) || bnCmp(out, modM(MP), nl) >= 0) return false;
  if (nl != 17) toMont(out, out, MP);
  return true;
}

// out = the integer at src if in [1, n-1] (SEC1 4.1.4 step 1).
function scalar(out: usize, src: usize, len: i32): bool {
  return bnFromBytes(out, nl, src, len) && !bnIsZero(out, nl) && bnCmp(out, modM(MN), nl) < 0;
}

// p = 2p (dbl-2001-b, a = -3). The point at infinity has Z = 0.
function dbl(p: usize): void {
  const x = p, y = p + FE, z = p + 2 * FE;
  const t1 = t(0), t2 = t(1), t3 = t(2), t4 = t(3), t5 = t(4);
  if (bnIsZero(z, nl)) return;
  mul(t1, z, z);                                  // delta = Z²
  mul(t2, y, y);                                  // gamma = Y²
  mul(t3, x, t2);                                 // beta = X gamma
  sub(t4, x, t1); add(t5, x, t1); mul(t4, t4, t5);
  add(t5, t4, t4); add(t4, t5, t4);               // alpha = 3 (X - delta)(X + delta)
  add(z, y, z); mul(z, z, z); sub(z, z, t2); sub(z, z, t1); // Z3 = (Y + Z)² - gamma - delta
  add(t3, t3, t3); add(t3, t3, t3);               // 4 beta
  mul(x, t4, t4); sub(x, x, t3); sub(x, x, t3);   // X3 = alpha² - 8 beta
  sub(y, t3, x); mul(y, t4, y);
  mul(t2, t2, t2); add(t2, t2, t2); add(t2, t2, t2); add(t2, t2, t2);
  sub(y, y, t2);                                  // Y3 = alpha (4 beta - X3) - 8 gamma²
}

// p = p + q for distinct storage p, q (add-1998-cmo-2; mixed when q is affine, Z2 = 1), with the
// special cases.
function addPoint(p: usize, q: usize, affine: bool): void {
  const x1 = p, y1 = p + FE, z1 = p + 2 * FE, x2 = q, y2 = q + FE, z2 = q + 2 * FE;
  const t1 = t(0), t2 = t(1), t3 = t(2), t4 = t(3), t5 = t(4), t6 = t(5);
  if (bnIsZero(z2, nl)) return;
  if (bnIsZero(z1, nl)) { bnCopy(p, q, 51); return; }
  mul(t1, z1, z1);
  if (affine) {
    bnCopy(t3, x1, nl); bnCopy(t5, y1, nl);
  } else {
    mul(t2, z2, z2);
    mul(t3, x1, t2);                              // U1 = X1 Z2²
    mul(t5, y1, z2); mul(t5, t5, t2);             // S1 = Y1 Z2³
  }
  mul(t4, x2, t1);                                // U2 = X2 Z1²
  mul(t6, y2, z1); mul(t6, t6, t1);               // S2 = Y2 Z1³
  sub(t4, t4, t3);                                // H = U2 - U1
  sub(t6, t6, t5);                                // r = S2 - S1
  if (bnIsZero(t4, nl)) {
    if (bnIsZero(t6, nl)) dbl(p); else bnSub(z1, z1, z1, nl); // p == q: double; p == -q: infinity
    return;
  }
  if (!affine) mul(z1, z1, z2);
  mul(z1, z1, t4);                                // Z3 = Z1 Z2 H
  mul(t1, t4, t4); mul(t2, t4, t1); mul(t3, t3, t1); // H², H³, V = U1 H²
  mul(x1, t6, t6); sub(x1, x1, t2); sub(x1, x1, t3); sub(x1, x1, t3); // X3 = r² - H³ - 2V
  sub(t3, t3, x1); mul(t3, t6, t3); mul(t5, t5, t2);
  sub(y1, t3, t5);                                // Y3 = r (V - X3) - S1 H³
}

// Verifies the ECDSA signature (r, s) of a message digest under the public key pub (SEC1
// 2.3.3 uncompressed point 0x04 || X || Y) on curve 2 (P-384) or 3 (P-521). r and s are
// big-endian integers (leading zeros allowed). Returns 0, E_KEY, E_SIG_INVALID, E_ALG, E_ARG.
export function weierstrassVerify(
  curve: i32, digest: usize, digestLen: i32, pub: usize, pubLen: i32,
  r: usize, rLen: i32, s: usize, sLen: i32,
): i32 {
  let k: i32, cd: usize;
  if (curve == 2) { nl = 12; k = 48; cd = p384(); } else if (curve == 3) { nl = 17; k = 66; cd = p521(); } else return E_ALG;
  if (digestLen < 0 || digestLen > 64 || rLen < 0 || sLen < 0) return E_ARG;
  store<i32>(MP, nl); bnFromBytes(modM(MP), nl, cd, k); if (nl != 17) modInit(MP);
  store<i32>(MN, nl); bnFromBytes(modM(MN), nl, cd + k, k); modInit(MN);
  const g = pt(1), q = pt(2), u1 = t(6), u2 = t(7);
  fieldElement(g, cd + 3 * k, k); fieldElement(g + FE, cd + 4 * k, k); fieldElement(g + 2 * FE, ONE_BYTE, 1);
  // Q: X, Y < p and y² = x³ - 3x + b (SEC1 2.3.4, 3.2.2.1; the cofactor is 1)
  if (pubLen != 1 + 2 * k || load<u8>(pub) != 4) return E_KEY;
  if (!fieldElement(q, pub + 1, k) || !fieldElement(q + FE, pub + 1 + k, k)) return E_KEY;
  fieldElement(q + 2 * FE, ONE_BYTE, 1);
  mul(t(0), q + FE, q + FE);
  mul(t(1), q, q); mul(t(1), t(1), q);
  add(t(2), q, q); add(t(2), t(2), q); sub(t(1), t(1), t(2));
  fieldElement(t(2), cd + 2 * k, k); add(t(1), t(1), t(2));
  if (bnCmp(t(0), t(1), nl) != 0) return E_KEY;
  if (!scalar(u2, r, rLen) || !scalar(u1, s, sLen)) return E_SIG_INVALID;
  // e = the leftmost bits of the digest, mod n (steps 2-3): n has 384 / 521 bits, so the
  // leftmost 48 bytes are exact for P-384 and a digest of <= 64 bytes needs no cut for P-521.
  const e = t(0);
  bnFromBytes(e, nl, digest, digestLen < k ? digestLen : k);
  if (bnCmp(e, modM(MN), nl) >= 0) bnSub(e, e, modM(MN), nl);
  toMont(u1, u1, MN); modInv(u1, u1, MN);         // w R = s^-1 R mod n
  montMul(u2, u2, u1, MN);                        // u2 = r w mod n
  montMul(u1, e, u1, MN);                         // u1 = e w mod n (step 4)
  // R = u1 G + u2 Q (step 5), Shamir's trick with the table G, Q, G + Q
  const acc = pt(0);
  bnCopy(pt(3), g, 51); addPoint(pt(3), q, true);
  bnSub(acc + 2 * FE, acc + 2 * FE, acc + 2 * FE, nl);
  const b1 = bnBits(u1, nl), b2 = bnBits(u2, nl);
  for (let i = (b1 > b2 ? b1 : b2) - 1; i >= 0; i--) {
    dbl(acc);
    const sel = bnBit(u1, i) | (bnBit(u2, i) << 1);
    if (sel != 0) addPoint(acc, pt(sel), sel != 3);
  }
  if (bnIsZero(acc + 2 * FE, nl)) return E_SIG_INVALID;
  // x(R) mod n == r (steps 6-8) without inverting Z: x = X / Z² < p < 2n, so x mod n == r iff
  // X == r' Z² for r' = r or r' = r + n < p.
  const z2 = t(0), v = t(1);
  mul(z2, acc + 2 * FE, acc + 2 * FE);
  bnFromBytes(u1, nl, r, rLen);
  for (let i = 0; i < 2; i++) {
    bnCopy(v, u1, nl); if (nl != 17) toMont(v, v, MP);
    mul(v, v, z2);
    if (bnCmp(v, acc, nl) == 0) return 0;
    if (bnAdd(u1, u1, modM(MN), nl) != 0 || bnCmp(u1, modM(MP), nl) >= 0) break;
  }
  return E_SIG_INVALID;
}
