// RSA signature verification (RFC 8017): RSASSA-PKCS1-v1_5 (8.2.2) and RSASSA-PSS (8.1.2) with
// MGF1 over the same hash. Moduli of 2048..4096 bits, public exponents odd with 3 <= e < 2^32:
// what CAs issue (65537 nearly always; 32 bits is also the limit of Windows CryptoAPI keys), and
// it bounds the cost of one verification at 32 squarings and 32 multiplications mod n (SP
// 800-89 5.3.3 asks e > 2^16; 3 and 17 are still met in old roots). Only public data passes through here
// (key, signature, message), so the code is variable time by design; it never traps.
import { bnBits, bnCmp, bnFromBytes, bnToBytes, fromMont, modInit, modM, montPow, toMont } from "./bignum";
import { HASH_SHA1, hashBlockSize, hashOnce, hashSize } from "./hash";
import { ctEqual } from "./ct";
import { E_ALG, E_ARG, E_KEY, E_LEGACY, E_SIG_ENCODING, E_SIG_INVALID } from "../errors";

export const RSA_PKCS1: i32 = 1,
  RSA_PSS: i32 = 2;
export const RSA_FLAG_LEGACY: i32 = 1; // accept SHA-1

const MOD = memory.data(8 + 128 * 8, 8); // Montgomery context mod n (bignum: 8 + 8 limbs bytes)
const S = memory.data(512, 8); // s, then m = s^e mod n
const E = memory.data(512, 8); // e
const EM = memory.data(512, 8); // I2OSP(m, k)
const X = memory.data(8 + 64 + 512, 8); // PKCS#1: the expected EM; PSS: M' = 0^8 || mHash || salt
const MH = memory.data(64, 8); // mHash
const SEED = memory.data(68, 8); // MGF1: H || counter
const HO = memory.data(64, 8); // MGF1 block; H'

// DigestInfo prefixes (RFC 8017 9.2 note 1); the SHA-2 ones differ in the three bytes patched
// in emsaPkcs1 (SEQUENCE length, last OID arc, digest length). In functions: only a module
// with RSA carries them.
function diSha1(): usize {
  return memory.data<u8>([0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]);
}
function diSha2(): usize {
  return memory.data<u8>([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]);
}

function copy(dst: usize, src: usize, len: i32): void {
  for (let i = 0; i < len; i++) store<u8>(dst + i, load<u8>(src + i));
}

// EMSA-PKCS1-v1_5 (9.2): build the whole expected encoding 0x00 01 FF..FF 00 || DigestInfo and
// compare it with EM; the padding is never parsed (k >= 256 leaves room for >= 8 octets of FF).
function emsaPkcs1(alg: i32, hLen: i32, k: i32): i32 {
  const diLen = alg == HASH_SHA1 ? 15 : 19,
    t = X + k - diLen - hLen;
  store<u8>(X, 0);
  for (let p = X + 1; p < t - 1; p++) store<u8>(p, 0xff);
  store<u8>(X, 1, 1);
  store<u8>(t - 1, 0);
  copy(t, alg == HASH_SHA1 ? diSha1() : diSha2(), diLen);
  if (alg != HASH_SHA1) {
    store<u8>(t, 0x11 + hLen, 1);
    store<u8>(t, alg - 1, 14);
    store<u8>(t, hLen, 18);
  }
  copy(t + diLen, MH, hLen);
  return ctEqual(EM, X, k) ? 0 : E_SIG_INVALID;
}

// EMSA-PSS-VERIFY (9.1.2) of EM = I2OSP(m, k) with emBits = modBits - 1; sLen < 0: any salt.
function emsaPss(alg: i32, hLen: i32, modBits: i32, k: i32, sLen: i32): i32 {
  const emBits = modBits - 1,
    emLen = (emBits + 7) >> 3;
  let em = EM;
  if (emLen < k) {
    // I2OSP(m, emLen) (8.1.2 step 2c): the extra leading octet must be zero
    if (load<u8>(em) != 0) return E_SIG_INVALID;
    em++;
  }
  if (sLen > emLen - hLen - 2 || load<u8>(em + emLen - 1) != 0xbc) return E_SIG_INVALID; // step 3
  const dbLen = emLen - hLen - 1,
    h = em + dbLen,
    top = <u32>0xff >> (8 * emLen - emBits);
  if ((load<u8>(em) & ~top) != 0) return E_SIG_INVALID;
  // DB = maskedDB xor MGF1(H, dbLen) (B.2.1), in place
  copy(SEED, h, hLen);
  for (let c = 0; c * hLen < dbLen; c++) {
    store<u32>(SEED + hLen, bswap<u32>(c));
    hashOnce(alg, SEED, hLen + 4, HO);
    for (let j = 0, o = c * hLen; j < hLen && o + j < dbLen; j++) {
      store<u8>(em + o + j, load<u8>(em + o + j) ^ load<u8>(HO + j));
    }
  }
  store<u8>(em, load<u8>(em) & top);
  // DB = PS (zeros) || 0x01 || salt (step 10)
  let i = 0;
  while (i < dbLen && load<u8>(em + i) == 0) i++;
  if (i == dbLen || load<u8>(em + i) != 1) return E_SIG_INVALID;
  const saltLen = dbLen - i - 1;
  if (sLen >= 0 && saltLen != sLen) return E_SIG_INVALID;
  // H' = Hash(0^8 || mHash || salt) (steps 12-13)
  for (let j = 0; j < 8; j++) store<u8>(X + j, 0);
  copy(X + 8, MH, hLen);
  copy(X + 8 + hLen, em + i + 1, saltLen);
  hashOnce(alg, X, 8 + hLen + saltLen, HO);
  return ctEqual(HO, h, hLen) ? 0 : E_SIG_INVALID;
}

// Verifies the signature sig of msg under the public key (n, e) (big-endian, leading zeros
// allowed). scheme RSA_PKCS1 or RSA_PSS; saltLen: PSS salt length, -1 for any. Returns 0,
// E_SIG_INVALID, E_SIG_ENCODING (length is not k), E_KEY, E_ALG, E_LEGACY or E_ARG.
export function rsaVerify(
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
  if (nLen < 0 || eLen < 0 || msgLen < 0 || sigLen < 0) return E_ARG;
  const hLen = hashSize(hashAlg);
  if ((scheme != RSA_PKCS1 && scheme != RSA_PSS) || hashBlockSize(hashAlg) == 0) return E_ALG; // SHA-1/SHA-2 (RFC 4055)
  if (hashAlg == HASH_SHA1 && (flags & RSA_FLAG_LEGACY) == 0) return E_LEGACY;
  // public key (3.1): odd n of 2048..4096 bits, odd e with 3 <= e < 2^32
  while (nLen > 0 && load<u8>(n) == 0) {
    n++;
    nLen--;
  }
  while (eLen > 0 && load<u8>(e) == 0) {
    e++;
    eLen--;
  }
  if (eLen > 4) return E_KEY;
  if (nLen < 256 || nLen > 512) return E_KEY;
  const k = nLen,
    l = (k + 3) >> 2,
    m = modM(MOD);
  bnFromBytes(m, l, n, k);
  const modBits = bnBits(m, l);
  if (modBits < 2048 || (load<u8>(m) & 1) == 0) return E_KEY;
  if (!bnFromBytes(E, l, e, eLen) || (load<u8>(E) & 1) == 0 || bnBits(E, l) < 2) return E_KEY;
  // RSAVP1 (5.2.2): s = OS2IP(S) < n, m = s^e mod n (8.1.2 / 8.2.2 steps 1-2)
  if (sigLen != k) return E_SIG_ENCODING;
  bnFromBytes(S, l, sig, k);
  if (bnCmp(S, m, l) >= 0) return E_SIG_INVALID;
  store<i32>(MOD, l);
  modInit(MOD);
  toMont(S, S, MOD);
  montPow(S, S, E, l, MOD);
  fromMont(S, S, MOD);
  bnToBytes(EM, k, S, l);
  hashOnce(hashAlg, msg, msgLen, MH);
  return scheme == RSA_PKCS1 ? emsaPkcs1(hashAlg, hLen, k) : emsaPss(hashAlg, hLen, modBits, k, saltLen);
}
