// The test module (asconfig target `test`, build/tinycmp-test.wasm): every export of the release
// module (assembly/abi.ts) and entry points that only tests, fuzzers and benchmarks call, so the
// release module does not carry them (docs/ABI.md "Test module").
export * from "../../assembly/abi";

import { E_ALG, E_ARG } from "../../assembly/errors";
import { inMemory } from "../../assembly/mem";
import { HASH_CTX_SIZE, hashFinal, hashInit, hashOnce, hashSize, hashUpdate } from "../../assembly/crypto/hash";
import { derReencode, derTimeOf, derWalk } from "../../assembly/der/tools";
import { p256Keygen, p256PubCompress, p256PubDecode, p256Sign, p256VerifyDigest } from "../../assembly/crypto/p256";
import { addMod, MOD_N, MOD_P, mulMod, mulSmallP, sqrMod, subMod } from "../../assembly/crypto/p256_field";
import { ecdsaVerify } from "../../assembly/crypto/ecdsa";
import { rsaVerify } from "../../assembly/crypto/rsa";
import { sha3Once } from "../../assembly/crypto/sha3";
import { eddsaVerify } from "../../assembly/crypto/eddsa";
import { mldsaVerify } from "../../assembly/crypto/mldsa";

// ---- hashes: one-shot and the one streaming context (hash_init / hash_update / hash_final) ----
const HASH_STREAM = memory.data(HASH_CTX_SIZE, 8);

export function hash(alg: i32, data: usize, len: i32, out: usize): i32 {
  if (!inMemory(data, len) || !inMemory(out, hashSize(alg))) return E_ARG;
  return hashOnce(alg, data, len, out);
}
export function hash_init(alg: i32): i32 {
  return hashInit(HASH_STREAM, alg);
}
export function hash_update(data: usize, len: i32): i32 {
  if (!inMemory(data, len)) return E_ARG;
  hashUpdate(HASH_STREAM, data, len);
  return 0;
}
export function hash_final(out: usize): i32 {
  if (!inMemory(out, hashSize(load<i32>(HASH_STREAM)))) return E_ARG;
  return hashFinal(HASH_STREAM, out);
}
// FIPS 202: kind 1 SHA3-256, 2 SHA3-512 (outLen 32 / 64), 3 SHAKE128, 4 SHAKE256 (any outLen).
export function sha3(kind: i32, data: usize, len: i32, out: usize, outLen: i32): i32 {
  if (kind < 1 || kind > 4) return E_ALG;
  if (kind <= 2 && outLen != (kind == 1 ? 32 : 64)) return E_ARG;
  if (!inMemory(data, len) || !inMemory(out, outLen)) return E_ARG;
  sha3Once(kind == 1 || kind == 4 ? 136 : kind == 2 ? 72 : 168, kind <= 2 ? 0x06 : 0x1f, data, len, out, outLen);
  return outLen;
}

// ---- DER (assembly/der): checks of the reader and writer on whole inputs ----
// Walks one DER element: (tag, offset, value length, depth) as 4 i32 per element; count or error.
export function der_walk(input: usize, len: i32, out: usize, cap: i32): i32 {
  return derWalk(input, len, out, cap);
}
// Parses one DER element and writes it again with the writer; output length or error.
export function der_reencode(input: usize, len: i32, out: usize, cap: i32): i32 {
  return derReencode(input, len, out, cap);
}
// One UTCTime / GeneralizedTime element to i64 seconds since 1970 at out; 0 or error.
export function der_time(input: usize, len: i32, out: usize): i32 {
  return derTimeOf(input, len, out);
}

// ---- P-256 keys and signatures; verification on every curve and scheme ----
export function p256_keygen(priv: usize, pub: usize): i32 {
  if (!inMemory(priv, 32) || !inMemory(pub, 65)) return E_ARG;
  return p256Keygen(priv, pub);
}
export function p256_sign(priv: usize, hashAlg: i32, msg: usize, msgLen: i32, sig: usize): i32 {
  if (!inMemory(priv, 32) || !inMemory(msg, msgLen) || !inMemory(sig, 72)) return E_ARG;
  return p256Sign(priv, hashAlg, msg, msgLen, sig);
}
export function p256_pub_decode(input: usize, len: i32, out: usize): i32 {
  if (!inMemory(input, len) || !inMemory(out, 65)) return E_ARG;
  return p256PubDecode(input, len, out);
}
export function p256_pub_compress(pub: usize, out: usize): i32 {
  if (!inMemory(pub, 65) || !inMemory(out, 33)) return E_ARG;
  return p256PubCompress(pub, out);
}
// P-256 verification of a digest (no hashing) with r and s as big-endian integers (1..32 bytes).
export function p256_verify_digest(digest: usize, digestLen: i32, pub: usize, pubLen: i32, r: usize, rLen: i32, s: usize, sLen: i32): i32 {
  if (digestLen < 0 || rLen < 0 || sLen < 0) return E_ARG;
  if (!inMemory(digest, digestLen) || !inMemory(pub, pubLen) || !inMemory(r, rLen) || !inMemory(s, sLen)) return E_ARG;
  return p256VerifyDigest(digest, digestLen, pub, pubLen, r, rLen, s, sLen);
}
// One P-256 field operation on 32-byte little-endian operands below the modulus (mod 0: p,
// 1: n): op 0 Montgomery product a·b·2^-256, 1 Montgomery square a·a·2^-256, 2 a + b, 3 a - b,
// 4..10 (p only) (op - 2)·a.
export function p256_field(op: i32, mod: i32, r: usize, a: usize, b: usize): i32 {
  if (!inMemory(r, 32) || !inMemory(a, 32) || !inMemory(b, 32) || mod < 0 || mod > 1) return E_ARG;
  const m = mod ? MOD_N : MOD_P;
  if (op == 0) mulMod(r, a, b, m);
  else if (op == 1) sqrMod(r, a, m);
  else if (op == 2) addMod(r, a, b, m);
  else if (op == 3) subMod(r, a, b, m);
  else if (op >= 4 && op <= 10 && mod == 0) mulSmallP(r, a, <u64>(op - 2));
  else return E_ARG;
  return 0;
}
export function ecdsa_verify(curve: i32, hashAlg: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (!inMemory(pub, pubLen) || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return E_ARG;
  return ecdsaVerify(curve, hashAlg, pub, pubLen, msg, msgLen, sig, sigLen);
}
// RFC 8017 RSASSA-PKCS1-v1_5 (scheme 1) / RSASSA-PSS (scheme 2, saltLen -1 = any) verification.
export function rsa_verify(
  scheme: i32,
  hashAlg: i32,
  n: usize,
  nLen: i32,
  e: usize,
  eLen: i32,
  msg: usize,
  msgLen: i32,
  sig: usize,
  sigLen: i32,
  saltLen: i32,
  flags: i32,
): i32 {
  if (!inMemory(n, nLen) || !inMemory(e, eLen) || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return E_ARG;
  return rsaVerify(scheme, hashAlg, n, nLen, e, eLen, msg, msgLen, sig, sigLen, saltLen, flags);
}
// RFC 8032 pure Ed25519 (curve 1) / Ed448 (curve 2) verification: 0 or an error code.
export function eddsa_verify(curve: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (!inMemory(pub, pubLen) || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return E_ARG;
  return eddsaVerify(curve, pub, pubLen, msg, msgLen, sig, sigLen);
}
// FIPS 204 ML-DSA-44/65/87 (set 44, 65, 87) verification with context ctx: 0 or an error code.
export function mldsa_verify(set: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, ctx: usize, ctxLen: i32, sig: usize, sigLen: i32): i32 {
  if (!inMemory(pub, pubLen) || !inMemory(msg, msgLen) || !inMemory(ctx, ctxLen) || !inMemory(sig, sigLen)) return E_ARG;
  return mldsaVerify(set, pub, pubLen, msg, msgLen, ctx, ctxLen, sig, sigLen);
}
