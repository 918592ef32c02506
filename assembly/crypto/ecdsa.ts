// ECDSA for every curve: the DER ECDSA-Sig-Value codec (RFC 3279 2.2.3, strict DER per X.690),
// hash-to-integer (SEC 1 4.1.3 step 5) and the verification dispatcher by curve id.
import { E_ALG, E_ARG, E_SIG_ENCODING } from "../errors";
import { hashBlockSize, hashOnce } from "./hash";
import { p256VerifyDigest } from "./p256";
import { weierstrassVerify } from "./weierstrass";
import { LEAN } from "../features";

export const CURVE_P256: i32 = 1,
  CURVE_P384: i32 = 2,
  CURVE_P521: i32 = 3;

// Result of ecdsaSigDecode: r and s as big-endian unsigned magnitudes (leading zeros stripped,
// length 0 for the value zero), pointing into the signature.
export let sigR: usize = 0,
  sigRLen: i32 = 0,
  sigS: usize = 0,
  sigSLen: i32 = 0;
let intAt: usize = 0,
  intLen: i32 = 0;

// One INTEGER at p, inside [p, end): short-form length, positive, minimal (X.690 8.3.2).
// Sets intAt/intLen to its magnitude; returns the position after it, or 0.
function readUnsigned(p: usize, end: usize): usize {
  if (end - p < 2 || load<u8>(p) != 0x02) return 0;
  const len = <usize>load<u8>(p + 1);
  p += 2;
  if (len == 0 || len > 0x7f || len > end - p) return 0; // r, s of P-521 fit 67 bytes: no long form
  const first = load<u8>(p);
  if (first & 0x80) return 0; // negative
  if (first == 0 && len > 1 && (load<u8>(p + 1) & 0x80) == 0) return 0; // superfluous zero byte
  intAt = p + <usize>(first == 0);
  intLen = <i32>len - <i32>(first == 0);
  return p + len;
}

// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } with nothing after it; 0 or E_SIG_ENCODING.
export function ecdsaSigDecode(sig: usize, sigLen: i32): i32 {
  if (sigLen < 2 || load<u8>(sig) != 0x30) return E_SIG_ENCODING;
  let len = <i32>load<u8>(sig + 1);
  let p = sig + 2;
  if (len == 0x81 && sigLen > 2) {
    // long form only for 128..255 (X.690 10.1)
    len = <i32>load<u8>(p++);
    if (len < 0x80) return E_SIG_ENCODING;
  } else if (len > 0x7f) return E_SIG_ENCODING;
  const end = sig + <usize>sigLen;
  if (p + <usize>len != end) return E_SIG_ENCODING;
  p = readUnsigned(p, end);
  if (p == 0) return E_SIG_ENCODING;
  sigR = intAt;
  sigRLen = intLen;
  p = readUnsigned(p, end);
  if (p != end) return E_SIG_ENCODING;
  sigS = intAt;
  sigSLen = intLen;
  return 0;
}

// INTEGER of the size-byte big-endian unsigned v, minimal; returns the position after it.
function putUnsigned(out: usize, v: usize, size: i32): usize {
  while (size > 1 && load<u8>(v) == 0) {
    v++;
    size--;
  } // r and s are public
  const pad = <i32>(load<u8>(v) >> 7);
  store<u8>(out, 0x02);
  store<u8>(out, <u8>(size + pad), 1);
  out += 2;
  if (pad) store<u8>(out++, 0);
  for (let i = 0; i < size; i++) store<u8>(out + i, load<u8>(v + i));
  return out + size;
}

// DER ECDSA-Sig-Value of r, s (size-byte big-endian each, size <= 61 so that the short length
// form suffices) into out (2*size + 8 bytes); returns its length.
export function ecdsaSigEncode(r: usize, s: usize, size: i32, out: usize): i32 {
  const end = putUnsigned(putUnsigned(out + 2, r, size), s, size);
  const len = <i32>(end - out);
  store<u8>(out, 0x30);
  store<u8>(out, <u8>(len - 2), 1);
  return len;
}

// bits2int (SEC 1 4.1.3 step 5, RFC 6979 2.3.2) as size big-endian bytes: the leftmost
// min(digestLen, size) bytes of the digest, right-aligned. Exact for curves whose bit length is
// a multiple of 8 and for P-521 (every digest here is at most 512 bits, so nothing is cut).
// The result may exceed n; callers reduce it.
export function bits2int(digest: usize, digestLen: i32, size: i32, out: usize): void {
  const take = digestLen < size ? digestLen : size;
  const lead = size - take;
  for (let i = 0; i < lead; i++) store<u8>(out + i, 0);
  for (let i = 0; i < take; i++) store<u8>(out + lead + i, load<u8>(digest + i));
}

const DIGEST = memory.data(64, 8);

// Hash msg with hashAlg and verify the DER signature over it with the SEC 1 public key of the
// curve. 0 valid; E_SIG_ENCODING, E_SIG_INVALID, E_KEY, E_ALG, E_ARG otherwise.
export function ecdsaVerify(curve: i32, hashAlg: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (curve < CURVE_P256 || curve > (LEAN ? CURVE_P256 : CURVE_P521)) return E_ALG;
  if (msgLen < 0 || pubLen < 0) return E_ARG;
  if (hashBlockSize(hashAlg) == 0) return E_ALG; // SHA-1/SHA-2 (RFC 5758 3.2), not SHAKE
  const dlen = hashOnce(hashAlg, msg, msgLen, DIGEST);
  if (dlen < 0) return dlen;
  const rc = ecdsaSigDecode(sig, sigLen);
  if (rc < 0) return rc;
  if (curve == CURVE_P256) return p256VerifyDigest(DIGEST, dlen, pub, pubLen, sigR, sigRLen, sigS, sigSLen);
  if (LEAN) return E_ALG;
  return weierstrassVerify(curve, DIGEST, dlen, pub, pubLen, sigR, sigRLen, sigS, sigSLen);
}
