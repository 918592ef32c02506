// ECDSA over P-256 (FIPS 186-5 6.4, SEC 1 4.1): key generation, signing with hedged RFC 6979
// nonces, verification of a digest, and SEC 1 2.3.3/2.3.4 public key encodings.
// Private-key operations (keygen, public key derivation, signing) are constant time: scalars go
// through masked field arithmetic, the comb multiplication with full table scans and Fermat
// inversion; the only branches on secret-derived data are the RFC 6979 / FIPS 186-5 A.2.2
// rejection tests (k or d out of range, r or s zero), whose outcome is discarded with the value.
import { LEAN } from "../features";
import { E_ALG, E_ARG, E_KEY, E_RANDOM, E_SIG_INVALID } from "../errors";
import { host_random } from "../host";
import { wipe } from "./ct";
import { bits2int, ecdsaSigEncode } from "./ecdsa";
import { HASH_SHA256, hashBlockSize, hashOnce } from "./hash";
import { HMAC_CTX_SIZE, hmacFinal, hmacInit, hmacUpdate } from "./hmac";
import {
  addMod,
  copy,
  equal,
  fieldWipe,
  fromBytes,
  invMod,
  isZero,
  ltMod,
  MOD_N,
  MOD_P,
  mulMod,
  ONE,
  PLAIN_ONE,
  powMod,
  R2,
  reduceMod,
  sqrMod,
  subMod,
  toBytes,
} from "./p256_field";
import { B, mulBase, mulVar, mulVerify, pointAdd } from "./p256_point";

// Scratch, wiped as a whole after every private-key operation.
const SCRATCH_SIZE: i32 = 928 + HMAC_CTX_SIZE;
const SCR = memory.data(SCRATCH_SIZE, 8);
const D = SCR,
  K = SCR + 32,
  E = SCR + 64,
  RR = SCR + 96,
  S = SCR + 128,
  W = SCR + 160;
const U1 = SCR + 192,
  U2 = SCR + 224,
  AX = SCR + 256,
  AY = SCR + 288,
  ZI = SCR + 320;
const H1 = SCR + 352; // 64: message digest
const SEED = SCR + 416; // 96: int2octets(d) || bits2octets(h1) || 32 random bytes (RFC 6979 3.6)
const KEY = SCR + 512,
  V = SCR + 544,
  RS = SCR + 576; // RS: r || s, 64 bytes
const PT = SCR + 640,
  PT2 = SCR + 736,
  QP = SCR + 832,
  CTX = SCR + 928;

const ZERO = memory.data(32, 8);
const SEP = memory.data(1);
// (p + 1) / 4: square roots, since p = 3 mod 4.
function sqrtExp(): usize {
  return memory.data<u32>([0, 0, 0x40000000, 0, 0, 0x40000000, 0xc0000000, 0x3fffffff]);
}

// 1 when 1 <= a < n.
function validScalar(a: usize): u32 {
  return (isZero(a) ^ 1) & ltMod(a, MOD_N);
}

// AX, AY = affine coordinates (plain) of the projective point p.
function toAffine(p: usize): void {
  invMod(ZI, p + 64, MOD_P);
  mulMod(AX, p, ZI, MOD_P);
  mulMod(AX, AX, PLAIN_ONE, MOD_P);
  mulMod(AY, p + 32, ZI, MOD_P);
  mulMod(AY, AY, PLAIN_ONE, MOD_P);
}

// r = x^3 - 3x + b (Montgomery form): the curve equation's right side.
function curveRhs(r: usize, x: usize): void {
  mulMod(r, x, x, MOD_P);
  mulMod(r, r, x, MOD_P);
  subMod(r, r, x, MOD_P);
  subMod(r, r, x, MOD_P);
  subMod(r, r, x, MOD_P);
  addMod(r, r, B, MOD_P);
}

// SEC 1 2.3.4 Octet-String-to-Elliptic-Curve-Point into QP (projective, Z = 1), compressed or
// uncompressed; infinity, hybrid forms, coordinates >= p and points off the curve are E_KEY.
function decodePub(pub: usize, len: i32): i32 {
  if (len < 1) return E_KEY;
  const prefix = <u32>load<u8>(pub);
  const y = QP + 32;
  if (len == 65 && prefix == 4) {
    fromBytes(AY, pub + 33);
    if (!ltMod(AY, MOD_P)) return E_KEY;
    mulMod(y, AY, MOD_P + R2, MOD_P);
  } else if (LEAN || len != 33 || (prefix | 1) != 3) return E_KEY; // lean: uncompressed only
  fromBytes(AX, pub + 1);
  if (!ltMod(AX, MOD_P)) return E_KEY;
  mulMod(QP, AX, MOD_P + R2, MOD_P);
  curveRhs(W, QP);
  if (LEAN) {
    /* uncompressed keys only */
  } else if (len == 33) {
    powMod(y, W, sqrtExp(), MOD_P);
    mulMod(AY, y, PLAIN_ONE, MOD_P);
    if ((load<u32>(AY) ^ prefix) & 1) subMod(y, ZERO, y, MOD_P); // the root with y's parity
  }
  mulMod(U1, y, y, MOD_P);
  if (!equal(U1, W)) return E_KEY;
  copy(QP + 64, MOD_P + ONE);
  return 0;
}

// SEC 1 2.3.3 uncompressed encoding of the point p.
function encodePub(out: usize, p: usize): void {
  toAffine(p);
  store<u8>(out, 4);
  toBytes(out + 1, AX);
  toBytes(out + 33, AY);
}

// pub (65 bytes) = d·G for the private key in D.
function publicFromD(pub: usize): void {
  mulBase(PT, D);
  encodePub(pub, PT);
}

// Fresh key pair (FIPS 186-5 A.2.2, rejection sampling): 32-byte private key, 65-byte public
// key. Nothing is written when the host has no entropy.
export function p256Keygen(priv: usize, pub: usize): i32 {
  for (let tries = 0; ; tries++) {
    if (tries == 64 || host_random(SEED, 32) != 0) {
      // 64 rejections: the source is broken
      return done(E_RANDOM);
    }
    fromBytes(D, SEED);
    if (validScalar(D)) break;
  }
  publicFromD(pub);
  for (let i: usize = 0; i < 32; i++) store<u8>(priv + i, load<u8>(SEED + i));
  return done(0);
}

// Public key of a 32-byte private key; E_KEY unless 1 <= d < n.
export function p256Public(priv: usize, pub: usize): i32 {
  fromBytes(D, priv);
  if (!validScalar(D)) return done(E_KEY);
  publicFromD(pub);
  return done(0);
}

// out = HMAC_KEY(V [|| sep] [|| SEED]): one step of the RFC 6979 3.2 HMAC-SHA256 DRBG.
function drbg(out: usize, sep: i32, seeded: bool): void {
  hmacInit(CTX, HASH_SHA256, KEY, 32);
  hmacUpdate(CTX, V, 32);
  if (sep >= 0) {
    store<u8>(SEP, <u8>sep);
    hmacUpdate(CTX, SEP, 1);
  }
  if (seeded) hmacUpdate(CTX, SEED, 96);
  hmacFinal(CTX, out);
}

// DER ECDSA signature (<= 72 bytes) of msg hashed with hashAlg; returns its length.
// Nonce: RFC 6979 with HMAC-SHA256, hedged with 32 host random bytes as the additional data k'
// of 3.6. s is not normalised to the low half.
export function p256Sign(priv: usize, hashAlg: i32, msg: usize, msgLen: i32, sig: usize): i32 {
  if (msgLen < 0) return E_ARG;
  if (hashBlockSize(hashAlg) == 0) return E_ALG; // SHA-1/SHA-2 (RFC 5758 3.2), not SHAKE
  const hlen = hashOnce(hashAlg, msg, msgLen, H1);
  if (hlen < 0) return hlen;
  fromBytes(D, priv);
  if (!validScalar(D)) return done(E_KEY);
  if (host_random(SEED + 64, 32) != 0) return done(E_RANDOM);
  bits2int(H1, hlen, 32, SEED + 32); // e = bits2int(h1) mod n; bits2octets(h1) = e (2.3.4)
  fromBytes(E, SEED + 32);
  reduceMod(E, E, MOD_N);
  toBytes(SEED + 32, E);
  toBytes(SEED, D); // int2octets(x)
  for (let i: usize = 0; i < 32; i++) {
    store<u8>(V + i, 1);
    store<u8>(KEY + i, 0);
  } // 3.2 b, c
  drbg(KEY, 0, true);
  drbg(V, -1, false);
  drbg(KEY, 1, true);
  drbg(V, -1, false); // 3.2 d-g
  for (;;) {
    // 3.2 h
    drbg(V, -1, false);
    fromBytes(K, V);
    if (validScalar(K)) {
      mulBase(PT, K);
      toAffine(PT);
      reduceMod(RR, AX, MOD_N); // r = x mod n
      mulMod(W, K, MOD_N + R2, MOD_N);
      invMod(W, W, MOD_N); // k^-1 (Montgomery form)
      mulMod(S, RR, D, MOD_N);
      mulMod(S, S, MOD_N + R2, MOD_N); // r·d
      addMod(S, S, E, MOD_N);
      mulMod(S, S, W, MOD_N); // s = k^-1 (e + r·d)
      if (!isZero(RR) && !isZero(S)) break;
    }
    drbg(KEY, 0, false);
    drbg(V, -1, false);
  }
  toBytes(RS, RR);
  toBytes(RS + 32, S);
  return done(ecdsaSigEncode(RS, RS + 32, 32, sig));
}

// Wipe every secret-bearing scratch area, then return rc.
function done(rc: i32): i32 {
  wipe(SCR, SCRATCH_SIZE);
  fieldWipe();
  return rc;
}

// rLen big-endian bytes into r (limbs); 1 when 1 <= r < n.
function scalarFrom(r: usize, v: usize, len: i32): u32 {
  if (len > 32) return 0;
  for (let i = 0; i < 32 - len; i++) store<u8>(RS + i, 0);
  for (let i = 0; i < len; i++) store<u8>(RS + 32 - len + i, load<u8>(v + i));
  fromBytes(r, RS);
  return validScalar(r);
}

// SEC 1 4.1.4 verification of (r, s) (big-endian, no leading zeros) over a message digest.
// Public data only: variable time. Both low and high s verify.
export function p256VerifyDigest(digest: usize, digestLen: i32, pub: usize, pubLen: i32, r: usize, rLen: i32, s: usize, sLen: i32): i32 {
  if (decodePub(pub, pubLen) < 0) return E_KEY;
  if (!scalarFrom(RR, r, rLen) || !scalarFrom(S, s, sLen)) return E_SIG_INVALID;
  bits2int(digest, digestLen, 32, RS);
  fromBytes(E, RS);
  reduceMod(E, E, MOD_N);
  mulMod(W, S, MOD_N + R2, MOD_N);
  invMod(W, W, MOD_N); // w = s^-1 (Montgomery form)
  mulMod(U1, E, W, MOD_N); // u1 = e·w
  mulMod(U2, RR, W, MOD_N); // u2 = r·w
  if (LEAN) {
    mulBase(PT, U1);
    mulVar(PT2, U2, QP);
    pointAdd(PT, PT, PT2);
    if (isZero(PT + 64)) return E_SIG_INVALID; // R = infinity
    toAffine(PT);
    reduceMod(AX, AX, MOD_N);
    return equal(AX, RR) ? 0 : E_SIG_INVALID;
  }
  mulVerify(PT, U1, U2, QP); // Jacobian: x = X/Z^2
  if (isZero(PT + 64)) return E_SIG_INVALID; // R = infinity
  // x mod n == r without inverting Z: X == r·Z^2, or X == (r + n)·Z^2 when r + n < p.
  sqrMod(ZI, PT + 64, MOD_P);
  mulMod(AX, RR, MOD_P + R2, MOD_P);
  mulMod(AX, AX, ZI, MOD_P);
  if (equal(AX, PT)) return 0;
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(RR + i) + <u64>load<u32>(MOD_N + i);
    store<u32>(AY + i, <u32>c);
    c >>= 32;
  }
  if (c || !ltMod(AY, MOD_P)) return E_SIG_INVALID;
  mulMod(AX, AY, MOD_P + R2, MOD_P);
  mulMod(AX, AX, ZI, MOD_P);
  return equal(AX, PT) ? 0 : E_SIG_INVALID;
}

// SEC 1 compressed or uncompressed public key -> 65-byte uncompressed; 65 or E_KEY.
export function p256PubDecode(input: usize, len: i32, out: usize): i32 {
  if (decodePub(input, len) < 0) return E_KEY;
  encodePub(out, QP);
  return 65;
}

// 65-byte uncompressed public key -> 33-byte compressed (SEC 1 2.3.3); 33 or E_KEY.
export function p256PubCompress(pub: usize, out: usize): i32 {
  if (decodePub(pub, 65) < 0) return E_KEY;
  store<u8>(out, <u8>(2 | (load<u8>(pub + 64) & 1)));
  for (let i: usize = 1; i < 33; i++) store<u8>(out + i, load<u8>(pub + i));
  return 33;
}
