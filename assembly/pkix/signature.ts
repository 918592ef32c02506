// Signatures under an AlgorithmIdentifier with a SubjectPublicKeyInfo (RFC 5280 4.1.1.2, 4.1.2.7):
// ECDSA with SHA-2 (RFC 5758 3.2) on P-256/P-384/P-521 (RFC 5480), RSA PKCS#1 v1.5 with SHA-2
// (RFC 4055 5) and RSASSA-PSS with explicit parameters (RFC 4055 3.1); SHA-1 forms only with the
// legacy flag; in the full module also Ed25519 / Ed448 (RFC 8410, pure EdDSA of RFC 8032) and
// ML-DSA-44/65/87 (RFC 9881, pure ML-DSA of FIPS 204 with an empty context). Uses the DER
// cursor: callers must not be mid-parse.
import {
  derAtEnd,
  derDescend,
  derEnter,
  derFinish,
  derInit,
  derLeave,
  derLen,
  derNext,
  derOptional,
  derPtr,
  derReadBitStringOctets,
  derReadUint,
  derReadValue,
  oidEquals,
} from "../der/reader";
import { CONSTRUCTED, CONTEXT, TAG_INTEGER, TAG_NULL, TAG_OID, TAG_SEQUENCE } from "../der/tags";
import { E_ALG, E_KEY, E_LEGACY } from "../errors";
import { wipe } from "../crypto/ct";
import { HASH_CTX_SIZE, HASH_SHA1, HASH_SHA256, hashFinal, hashInit, hashUpdate } from "../crypto/hash";
import { LEAN } from "../features";
import { ecdsaVerify } from "../crypto/ecdsa";
import { ED25519, ED448, eddsaVerify } from "../crypto/eddsa";
import { mldsaVerify } from "../crypto/mldsa";
import { RSA_PKCS1, RSA_PSS, rsaVerify } from "../crypto/rsa";
import {
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_SHA256,
  OID_RSA_ENCRYPTION,
  OID_SECP256R1,
  OID_SECP384R1,
  OID_SHA1,
  OID_SHA256,
  PKCS1_MGF1,
  PKCS1_PSS,
  PKCS1_RSA,
  PKCS1_SHA1_RSA,
  oidArc,
  OID_ED25519,
  OID_ML_DSA_44,
} from "./oids";

export const SIG_LEGACY: i32 = 1; // flags bit 0: accept SHA-1

const ECDSA: i32 = 3,
  EDDSA: i32 = 4,
  MLDSA: i32 = 5; // schemes besides RSA_PKCS1 / RSA_PSS

// Result of readSigAlg: scheme, hash id, PSS salt length; for EdDSA the curve (ED25519, ED448)
// and for ML-DSA the parameter set (44, 65, 87) in salt.
let scheme = 0,
  hash = 0,
  salt = 0;

// EdDSA (RFC 8410 3) or ML-DSA (RFC 9881 2) OID at [p, p+n): sets scheme and salt; false if
// neither. These algorithms name no hash (hash stays 0): certConf's certHash takes its hash
// from RFC 9481 / hashAlg (RFC 9810 5.3.18), not from signatureHash.
function readPureAlg(p: usize, n: i32): bool {
  const ed = oidArc(p, n, OID_ED25519, 3),
    ml = oidArc(p, n, OID_ML_DSA_44, 9);
  if (ed == 0x70 || ed == 0x71) {
    scheme = EDDSA;
    salt = ed == 0x70 ? ED25519 : ED448;
  } else if (ml >= 0x11 && ml <= 0x13) {
    scheme = MLDSA;
    salt = ml == 0x11 ? 44 : ml == 0x12 ? 65 : 87;
  } else return false;
  return true;
}

// A hash AlgorithmIdentifier at the cursor (parameters NULL or absent, RFC 5754 2): its id or 0.
function readHashAlg(): i32 {
  derEnter(TAG_SEQUENCE);
  derReadValue(TAG_OID);
  let h = 0;
  if (oidEquals(derPtr, derLen, OID_SHA1, 5)) h = HASH_SHA1;
  const a = oidArc(derPtr, derLen, OID_SHA256, 9);
  if (a >= 1 && a <= 3) h = a + 1;
  derOptional(TAG_NULL);
  derLeave();
  return h;
}

// Reads the signature AlgorithmIdentifier [alg, alg+algLen) into scheme/hash/salt: 0 or E_ALG.
function readSigAlg(alg: usize, algLen: i32): i32 {
  derInit(alg, algLen);
  derEnter(TAG_SEQUENCE);
  derReadValue(TAG_OID);
  if (LEAN) {
    // ecdsa-with-SHA256 only, parameters absent (RFC 5758 3.2)
    scheme = ECDSA;
    hash = derLen == 8 && oidArc(derPtr, derLen, OID_ECDSA_SHA256, 8) == 2 ? 2 : 0;
    derLeave();
    return derFinish() == 0 && hash != 0 ? 0 : E_ALG;
  }
  const ec = oidArc(derPtr, derLen, OID_ECDSA_SHA256, derLen == 7 ? 7 : 8);
  const rsa = oidArc(derPtr, derLen, OID_RSA_ENCRYPTION, 9);
  scheme = 0;
  hash = 0;
  if (readPureAlg(derPtr, derLen)) {
    // parameters absent (RFC 8410 3, RFC 9881 2): anything left fails at derLeave
  } else if (derLen == 7 && ec == 1) {
    scheme = ECDSA;
    hash = HASH_SHA1;
  } // ecdsa-with-SHA1
  else if (derLen == 8 && ec >= 2 && ec <= 4) {
    scheme = ECDSA;
    hash = ec;
  } else if (rsa == PKCS1_SHA1_RSA || (rsa >= 11 && rsa <= 13)) {
    scheme = RSA_PKCS1;
    hash = rsa == PKCS1_SHA1_RSA ? HASH_SHA1 : rsa - 9;
  }
  if (scheme == ECDSA || scheme == RSA_PKCS1) {
    derOptional(TAG_NULL); // RFC 4055 5: NULL; RFC 5758 3.2: absent
  } else if (rsa == PKCS1_PSS) {
    // RSASSA-PSS-params (RFC 4055 3.1): hash [0] DEFAULT sha1, MGF1 over [1] DEFAULT sha1,
    // saltLength [2] DEFAULT 20, trailerField [3] DEFAULT 1; MGF1 must use the same hash
    scheme = RSA_PSS;
    hash = HASH_SHA1;
    salt = 20;
    let mgfHash = HASH_SHA1;
    derEnter(TAG_SEQUENCE);
    if (derOptional(CONTEXT | CONSTRUCTED | 0) && derDescend()) {
      hash = readHashAlg();
      derLeave();
    }
    if (derOptional(CONTEXT | CONSTRUCTED | 1) && derDescend()) {
      derEnter(TAG_SEQUENCE);
      derReadValue(TAG_OID);
      if (oidArc(derPtr, derLen, OID_RSA_ENCRYPTION, 9) != PKCS1_MGF1) scheme = 0;
      mgfHash = readHashAlg();
      derLeave();
      derLeave();
    }
    if (derOptional(CONTEXT | CONSTRUCTED | 2) && derDescend()) {
      salt = <i32>derReadUint(512);
      derLeave();
    }
    if (derOptional(CONTEXT | CONSTRUCTED | 3) && derDescend()) {
      if (derReadUint(1) != 1) scheme = 0;
      derLeave();
    }
    derLeave();
    if (mgfHash != hash) scheme = 0;
  }
  derLeave();
  return derFinish() == 0 && scheme != 0 && (hash != 0 || scheme >= EDDSA) ? 0 : E_ALG;
}

// Hash id of a signature AlgorithmIdentifier (e.g. for certConf certHash, RFC 9810 5.3.18), or E_ALG.
export function signatureHash(alg: usize, algLen: i32): i32 {
  const rc = readSigAlg(alg, algLen);
  return rc < 0 ? rc : hash != 0 ? hash : E_ALG;
}

// Signatures found valid (full module): SHA-256 over (flags, alg, spki, sig, data), each
// length-prefixed, in a ring of SEEN_N. The outcome of a check is a function of those inputs
// alone, so a transaction that checks the same certificate twice (the CA certificate on the
// signer's path and on the new certificate's, RFC 9483 3.5 and 4.1.1) verifies it once. Only
// successes are kept; a differing byte is another key.
const SEEN_N: i32 = 8;
// The ring, a hash context, the key looked up, a length: reserved only where the full module
// uses it (a top-level memory.data would be reserved in the lean module too).
function seenMem(): usize {
  return memory.data(SEEN_N * 32 + HASH_CTX_SIZE + 40, 8);
}
function seenCtx(): usize {
  return seenMem() + <usize>(SEEN_N * 32);
}
function seenKey(): usize {
  return seenCtx() + <usize>HASH_CTX_SIZE;
}
function seenLen(): usize {
  return seenKey() + 32;
}
let seenNext = 0;

function seenPart(p: usize, n: i32): void {
  store<i32>(seenLen(), n);
  hashUpdate(seenCtx(), seenLen(), 4);
  hashUpdate(seenCtx(), p, n);
}

// The key of these inputs into seenKey(); whether the ring holds it.
function seen(alg: usize, algLen: i32, spki: usize, spkiLen: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32, flags: i32): bool {
  hashInit(seenCtx(), HASH_SHA256);
  store<i32>(seenLen(), flags);
  hashUpdate(seenCtx(), seenLen(), 4);
  seenPart(alg, algLen);
  seenPart(spki, spkiLen);
  seenPart(sig, sigLen);
  seenPart(data, dataLen);
  hashFinal(seenCtx(), seenKey());
  for (let i = 0; i < SEEN_N; i++) {
    if (oidEquals(seenMem() + <usize>(i * 32), 32, seenKey(), 32)) return true;
  }
  return false;
}

// Forgets every signature found valid (a new transaction starts from nothing).
export function sigCacheClear(): void {
  wipe(seenMem(), SEEN_N * 32);
  seenNext = 0;
}

// Verifies sig over data with the key in spki under alg: 0, or E_ALG (unsupported or malformed
// algorithm, key type not matching it), E_KEY (malformed key), E_LEGACY, E_SIG_INVALID,
// E_SIG_ENCODING. id-RSASSA-PSS keys are accepted for PSS signatures; their parameters are not
// compared with the signature's.
export function verifySignature(alg: usize, algLen: i32, spki: usize, spkiLen: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32, flags: i32): i32 {
  if (LEAN) return verifyOnce(alg, algLen, spki, spkiLen, data, dataLen, sig, sigLen, flags);
  if (seen(alg, algLen, spki, spkiLen, data, dataLen, sig, sigLen, flags)) return 0;
  const rc = verifyOnce(alg, algLen, spki, spkiLen, data, dataLen, sig, sigLen, flags);
  if (rc == 0) {
    const e = seenMem() + <usize>(seenNext * 32);
    for (let i: usize = 0; i < 32; i += 8) store<u64>(e + i, load<u64>(seenKey() + i));
    seenNext = (seenNext + 1) % SEEN_N;
  }
  return rc;
}

function verifyOnce(alg: usize, algLen: i32, spki: usize, spkiLen: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32, flags: i32): i32 {
  const rc = readSigAlg(alg, algLen);
  if (rc < 0) return rc;
  if (!LEAN && hash == HASH_SHA1 && (flags & SIG_LEGACY) == 0) return E_LEGACY;
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
  derInit(spki, spkiLen);
  derEnter(TAG_SEQUENCE);
  derEnter(TAG_SEQUENCE);
  derReadValue(TAG_OID);
  const key = oidArc(derPtr, derLen, OID_RSA_ENCRYPTION, 9);
  let curve = 0;
  if (!LEAN && (scheme == EDDSA || scheme == MLDSA)) {
    // the key's algorithm is the signature's (RFC 8410 4, RFC 9881 4), parameters absent
    const set = salt,
      sch = scheme;
    if (!readPureAlg(derPtr, derLen) || scheme != sch || salt != set) return E_ALG;
    derLeave();
    derReadBitStringOctets();
    const pub = derPtr,
      pubLen = derLen;
    derLeave();
    if (derFinish() != 0) return E_KEY;
    if (sch == EDDSA) return eddsaVerify(set, pub, pubLen, data, dataLen, sig, sigLen);
    return mldsaVerify(set, pub, pubLen, data, dataLen, 0, 0, sig, sigLen);
  }
  if (oidEquals(derPtr, derLen, OID_EC_PUBLIC_KEY, 7)) {
    derReadValue(TAG_OID); // ECParameters: namedCurve (RFC 5480 2.1.1)
    if (oidEquals(derPtr, derLen, OID_SECP256R1, 8)) curve = 1;
    const c = LEAN ? 0 : oidArc(derPtr, derLen, OID_SECP384R1, 5);
    if (c == 0x22 || c == 0x23) curve = c - 0x20;
    if (scheme != ECDSA || curve == 0) return E_ALG;
  } else if (LEAN) {
    return E_ALG;
  } else if (key == PKCS1_RSA || (key == PKCS1_PSS && scheme == RSA_PSS)) {
    if (scheme == ECDSA) return E_ALG;
    if (!derAtEnd()) derNext(); // NULL (RFC 3279 2.3.1) or RSASSA-PSS-params
  } else {
    return E_ALG;
  }
  derLeave();
  derReadBitStringOctets();
  let pub = derPtr,
    pubLen = derLen,
    e: usize = 0,
    eLen = 0;
  if (!LEAN && curve == 0) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    derDescend();
    derEnter(TAG_SEQUENCE);
    derReadValue(TAG_INTEGER);
    pub = derPtr;
    pubLen = derLen;
    derReadValue(TAG_INTEGER);
    e = derPtr;
    eLen = derLen;
    derLeave();
    derLeave();
  }
  derLeave();
  if (derFinish() != 0) return E_KEY;
  if (curve != 0) return ecdsaVerify(curve, hash, pub, pubLen, data, dataLen, sig, sigLen);
  if (LEAN) return E_ALG;
  return rsaVerify(scheme, hash, pub, pubLen, e, eLen, data, dataLen, sig, sigLen, scheme == RSA_PSS ? salt : -1, flags & SIG_LEGACY);
}
