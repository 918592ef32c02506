// PKIProtection (RFC 9810 5.1.3; algorithms RFC 9481): the protectionAlg of our requests, their
// MAC or signature, and verification of MAC-protected responses. Signatures of responses: verify.ts.
import { E_ALG, E_CMP_CONFIG, E_CMP_PROTECTION, E_DER_VALUE, E_ITERATIONS, E_RANDOM } from "../errors";
import { host_random } from "../host";
import { ctEqual, wipe } from "../crypto/ct";
import { HASH_SHA256, hashSize } from "../crypto/hash";
import { hmacOnce } from "../crypto/hmac";
import { passwordBasedMac } from "../crypto/pbm";
import { pbkdf2Hmac } from "../crypto/pbkdf2";
import { p256Sign } from "../crypto/p256";
import { derEnter, derErr, derInit, derLeave, derLen, derOptional, derPeek, derPtr, derRead, derReadUint } from "../der/reader";
import { derMark, derPutBytes, derPutUint, derWrap } from "../der/writer";
import { hostSign, signAlgId, signAlgIdLen, signed } from "./signer";
import { TAG_NULL, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE } from "../der/tags";
import {
  getInt,
  INT_KEY_HANDLE,
  INT_MAX_ITERATIONS,
  INT_PBM_ITERATIONS,
  INT_PBM_MAC,
  INT_PBM_OWF,
  item,
  itemLen,
  ITEM_KEY,
  ITEM_SECRET,
  option,
  OPT_PBMAC1,
} from "./config";
import { OID_ECDSA_SHA256, OID_HMAC_SHA1, OID_HMAC_WITH, OID_PBKDF2, OID_PBM, OID_PBMAC1, OID_SHA1, OID_SHA2, oidIs } from "./oids";
import { putAlgId, putOctets, putOid } from "./put";
import { LEAN } from "../features";
import { PROT_SIG } from "./constants";
import { protKind } from "./state";

const SALT = memory.data(16, 4);
export const PROT = memory.data(80, 4); // protection value of the request being built (P-256, MAC)
export let protValue: usize = PROT; // where computeProtection put it

// The host signer of the protection (KEY_HANDLE, full module): its algorithm (0: none, the core's
// own P-256 KEY or a MAC) and the SubjectPublicKeyInfo of CERT, set by the transaction's prepare.
export let protSignAlg: i32 = 0,
  protSpki: usize = 0,
  protSpkiLen: i32 = 0;
export function setProtSigner(alg: i32, spki: usize, n: i32): void {
  protSignAlg = alg;
  protSpki = spki;
  protSpkiLen = n;
}
const CALC = memory.data(64, 4); // MAC recomputed over a response
const KEY = memory.data(64, 8); // PBMAC1 derived key, wiped after use

// Bounds on the MAC parameters of a response (docs/SECURITY.md), besides the upper iteration
// limit of option 37: a salt of 16 to 128 octets (NIST SP 800-132 5.1: at least 128 bits);
// PBKDF2 (PBMAC1, RFC 9481 6.1) at least 1000 iterations (RFC 8018 4.2, SP 800-132 5.2);
// PasswordBasedMac (RFC 9481 6.1), for which RFC 9810 5.1.3.1 sets no minimum, at least 500,
// what OpenSSL's CMP writes; and a MAC key never shorter than the HMAC output (RFC 2104 3).
export const SALT_MIN: i32 = 16,
  SALT_MAX: i32 = 128,
  PBKDF2_ITER_MIN: i32 = 1000,
  PBM_ITER_MIN: i32 = 500;

// Iterations of our own requests: the configured count, raised to the minimum we accept.
function requestIterations(pbmac1: bool): i32 {
  const it = getInt(INT_PBM_ITERATIONS);
  return pbmac1 && it < PBKDF2_ITER_MIN ? PBKDF2_ITER_MIN : it;
}

// AlgorithmIdentifier of a hash (RFC 9481 2) or of its HMAC (RFC 9481 6.2).
function putHashAlg(h: i32): void {
  if (h == 1) putAlgId(OID_SHA1, 5);
  else putAlgId(OID_SHA2, 9, h - 1);
}
function putHmacAlg(h: i32): void {
  if (h == 1) putAlgId(OID_HMAC_SHA1, 8);
  else putAlgId(OID_HMAC_WITH, 8, 7 + h);
}

// protectionAlg of a request, with a fresh salt for MACs: 0 or an error.
export function putProtectionAlg(): i32 {
  if (protKind == PROT_SIG) {
    if (!LEAN)
      if (protSignAlg != 0) {
        derPutBytes(signAlgId(protSignAlg), signAlgIdLen);
        return 0;
      }
    putAlgId(OID_ECDSA_SHA256, 8); // RFC 9481 3.3
    return 0;
  }
  if (host_random(SALT, 16) != 0) return E_RANDOM;
  const it = requestIterations(!LEAN && option(OPT_PBMAC1));
  const m = derMark();
  const mp = derMark();
  if (!LEAN && option(OPT_PBMAC1)) {
    // RFC 9481 6.1.1, RFC 8018 A.5: PBKDF2 with HMAC of the owf
    // hash as prf, a key as long as the MAC's hash, messageAuthScheme the configured HMAC
    putHmacAlg(getInt(INT_PBM_MAC)); // messageAuthScheme
    const mk = derMark();
    const mkp = derMark();
    const prf = getInt(INT_PBM_OWF);
    putAlgId(OID_HMAC_WITH, 8, prf == 1 ? 7 : 7 + prf, true); // prf hmacWithSHA* (RFC 8018 B.1.2)
    derPutUint(hashSize(getInt(INT_PBM_MAC))); // keyLength
    derPutUint(it);
    putOctets(SALT, 16);
    derWrap(TAG_SEQUENCE, mkp);
    putOid(OID_PBKDF2, 9);
    derWrap(TAG_SEQUENCE, mk); // keyDerivationFunc
    derWrap(TAG_SEQUENCE, mp);
    putOid(OID_PBMAC1, 9);
  } else {
    // PBMParameter (RFC 9810 5.1.3.1)
    putHmacAlg(getInt(INT_PBM_MAC));
    derPutUint(it);
    putHashAlg(getInt(INT_PBM_OWF));
    putOctets(SALT, 16);
    derWrap(TAG_SEQUENCE, mp);
    putOid(OID_PBM, 9);
  }
  derWrap(TAG_SEQUENCE, m);
  return 0;
}

// MAC under a PBMParameter or PBMAC1 with the configured secret, into out; its length or error.
function mac(pbmac1: bool, owf: i32, h: i32, salt: usize, saltLen: i32, it: i32, max: i32, keyLen: i32, data: usize, len: i32, out: usize): i32 {
  const secret = item(ITEM_SECRET);
  const secretLen = itemLen;
  if (secret == 0) return E_CMP_CONFIG;
  if (LEAN) return passwordBasedMac(owf, h, secret, secretLen, salt, saltLen, it, max, data, len, out);
  if (!pbmac1) return passwordBasedMac(owf, h, secret, secretLen, salt, saltLen, it, max, data, len, out);
  if (keyLen <= 0 || keyLen > 64) return E_ALG;
  let r = pbkdf2Hmac(owf, secret, secretLen, salt, saltLen, it, max, KEY, keyLen);
  if (r == 0) r = hmacOnce(h, KEY, keyLen, data, len, out);
  wipe(KEY, 64);
  return r;
}

// Protection value of the ProtectedPart [data, data+len) into PROT: its length or an error.
export function computeProtection(data: usize, len: i32): i32 {
  if (protKind == PROT_SIG) {
    if (!LEAN)
      if (protSignAlg != 0) {
        const r = hostSign(getInt(INT_KEY_HANDLE), protSignAlg, protSpki, protSpkiLen, data, len);
        if (r > 0) protValue = signed();
        return r;
      }
    protValue = PROT;
    const key = item(ITEM_KEY);
    if (key == 0 || itemLen != 32) return E_CMP_CONFIG;
    return p256Sign(key, HASH_SHA256, data, len, PROT);
  }
  protValue = PROT;
  const it = requestIterations(!LEAN && option(OPT_PBMAC1));
  return !LEAN && option(OPT_PBMAC1)
    ? mac(true, getInt(INT_PBM_OWF), getInt(INT_PBM_MAC), SALT, 16, it, it, hashSize(getInt(INT_PBM_MAC)), data, len, PROT)
    : mac(false, getInt(INT_PBM_OWF), getInt(INT_PBM_MAC), SALT, 16, it, it, 0, data, len, PROT);
}

// What verifyMac read, for the words of a refusal: the iteration count and the least it takes,
// whether the key was shorter than the HMAC output, and the OID of an algorithm it did not support.
export let macIterations: i32 = 0,
  macMinIterations: i32 = 0;
export let macShortKey = false,
  macSaltLen: i32 = -1;
export let macUnknownOid: usize = 0,
  macUnknownOidLen: i32 = 0;

// Reads an AlgorithmIdentifier of a hash (owf) or an HMAC: the hash id, or 0 when unknown.
function readHashAlg(hmac: bool): i32 {
  if (!derEnter(TAG_SEQUENCE) || !derRead(TAG_OID)) return 0;
  const p = derPtr,
    n = derLen;
  macUnknownOid = p;
  macUnknownOidLen = n;
  derOptional(TAG_NULL);
  derLeave();
  if (hmac) {
    if (oidIs(p, n, OID_HMAC_SHA1, 8, 2)) return 1;
    if (oidIs(p, n, OID_HMAC_WITH, 8, 7)) return 1;
    for (let h = 2; h <= 4; h++) if (oidIs(p, n, OID_HMAC_WITH, 8, 7 + h)) return h;
    return 0;
  }
  if (oidIs(p, n, OID_SHA1, 5, 0x1a)) return 1;
  for (let h = 2; h <= 4; h++) if (oidIs(p, n, OID_SHA2, 9, h - 1)) return h;
  return 0;
}

// True when the protectionAlg element is a MAC (PBM or PBMAC1).
export function isMacAlg(alg: usize, algLen: i32): bool {
  derInit(alg, algLen);
  if (!derEnter(TAG_SEQUENCE) || !derRead(TAG_OID)) return false;
  return oidIs(derPtr, derLen, OID_PBM, 9, 0x0d) || oidIs(derPtr, derLen, OID_PBMAC1, 9, 0x0e);
}

// Verifies the MAC of a response: protectionAlg element, ProtectedPart, protection octets.
// 0, or E_CMP_PROTECTION / E_ALG / E_ITERATIONS / a DER error.
export function verifyMac(alg: usize, algLen: i32, data: usize, len: i32, prot: usize, protLen: i32): i32 {
  const max = getInt(INT_MAX_ITERATIONS);
  macShortKey = false;
  macSaltLen = -1;
  derInit(alg, algLen);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_OID);
  const pbmac1 = oidIs(derPtr, derLen, OID_PBMAC1, 9, 0x0e);
  macUnknownOid = derPtr;
  macUnknownOidLen = derLen;
  if ((LEAN || !pbmac1) && !oidIs(derPtr, derLen, OID_PBM, 9, 0x0d)) return derErr != 0 ? derErr : E_ALG;
  derEnter(TAG_SEQUENCE);
  let owf = 0,
    h = 0,
    it: i64 = 0,
    keyLen: i64 = 0,
    salt: usize = 0,
    saltLen = 0;
  if (!LEAN && pbmac1) {
    // PBMAC1-params { keyDerivationFunc PBKDF2, messageAuthScheme }
    derEnter(TAG_SEQUENCE);
    derRead(TAG_OID);
    macUnknownOid = derPtr;
    macUnknownOidLen = derLen;
    if (!oidIs(derPtr, derLen, OID_PBKDF2, 9, 0x0c)) return derErr != 0 ? derErr : E_ALG;
    derEnter(TAG_SEQUENCE); // PBKDF2-params (RFC 8018 A.2): salt specified, iterationCount, keyLength, prf
    derRead(TAG_OCTET_STRING);
    salt = derPtr;
    saltLen = derLen;
    it = derReadUint(0x7fffffff);
    keyLen = derPeek() == 0x02 ? derReadUint(64) : 0;
    owf = derPeek() == TAG_SEQUENCE ? readHashAlg(true) : 1; // DEFAULT hmacWithSHA1
    derLeave();
    derLeave();
    h = readHashAlg(true);
  } else {
    // PBMParameter { salt, owf, iterationCount, mac }
    derRead(TAG_OCTET_STRING);
    salt = derPtr;
    saltLen = derLen;
    owf = readHashAlg(false);
    it = derReadUint(0x7fffffff);
    h = readHashAlg(true);
  }
  derLeave();
  derLeave();
  if (derErr != 0) return derErr;
  if (owf == 0 || h == 0) return E_ALG;
  if (saltLen < SALT_MIN || saltLen > SALT_MAX) {
    macSaltLen = saltLen;
    return E_DER_VALUE;
  }
  macIterations = <i32>it;
  macMinIterations = pbmac1 ? PBKDF2_ITER_MIN : PBM_ITER_MIN;
  if (it < macMinIterations) return E_ITERATIONS;
  // the key: PBKDF2 keyLength octets, or the OWF output for PBM (RFC 9810 5.1.3.1)
  macShortKey = (pbmac1 ? <i32>keyLen : hashSize(owf)) < hashSize(h);
  if (macShortKey) return E_ALG;
  const r = mac(pbmac1, owf, h, salt, saltLen, <i32>it, max, <i32>keyLen, data, len, CALC);
  if (r < 0) return r;
  const ok = r == protLen && ctEqual(CALC, prot, r);
  wipe(CALC, 64);
  return ok ? 0 : E_CMP_PROTECTION;
}
