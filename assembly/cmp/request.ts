// Building the request PKIMessages (RFC 9810 5.1): header (header.ts), body (body.ts),
// protection (protection.ts) and extraCerts into OUT; the requested public key; the hash the
// certConf carries.
import { E_CMP_CONFIG, E_CMP_STORE, E_ALG } from "../errors";
import { bytesEqual } from "../mem";
import { HASH_SHA1, HASH_SHA256, HASH_SHA512, HASH_SHAKE256 } from "../crypto/hash";
import { p256Keygen, p256Public } from "../crypto/p256";
import { derDepth, derEnter, derErr, derFinish, derInit, derLeave, derLen, derNext, derPeek, derPtr, derRead, derStart } from "../der/reader";
import { derMark, derPutBitString, derPutBytes, derWrap, derWriterFinish, derWriterInit, derWriterPtr, derWriterRewind } from "../der/writer";
import { CONSTRUCTED, CONTEXT, TAG_BIT_STRING, TAG_INTEGER, TAG_OID, TAG_SEQUENCE } from "../der/tags";
import { signatureHash } from "../pkix/signature";
import { LEAN } from "../features";
import {
  getInt,
  INT_NEWKEY_HANDLE,
  INT_POPO,
  item,
  itemLen,
  ITEM_CERT,
  ITEM_CSR,
  ITEM_EXTRA,
  ITEM_NEWKEY,
  ITEM_NEWPUBKEY,
  ITEM_REQIN,
  POPO_SIGNATURE,
} from "./config";
import { ciSigAlg, ciSigAlgLen } from "./certinfo";
import { putHeader, setHeaderPvno } from "./header";
import { putCertConf, putCertReqMessages, putErrorMsg, putGenm, putP10cr, putPollReq, putRr } from "./body";
import { OID_EC_PUBLIC_KEY, OID_ECDSA_SHA256, OID_ED25519, OID_ML_DSA_44, OID_P256, oidIs } from "./oids";
import { computeProtection, protValue } from "./protection";
import { putOid, swapLast, wrapExplicit } from "./put";
import { NEW_KEY, resAdd, RESULT_NEW_KEY } from "./results";
import {
  BODY_CERT_CONF,
  BODY_CR,
  BODY_ERROR,
  BODY_GENM,
  BODY_IR,
  BODY_KUR,
  BODY_P10CR,
  BODY_RR,
  OP_CR,
  OP_IR,
  OP_KUR,
  OP_P10CR,
  OP_RR,
  PROT_NONE,
  PROT_SIG,
} from "./constants";
import {
  CERT_HASH,
  certHashId,
  certHashLen,
  op,
  OUT,
  OUT_SIZE,
  pendingError,
  pendingFailBit,
  protKind,
  REQ_SPKI,
  refusal,
  setNewKey,
  setOut,
  setReqSpki,
} from "./state";

const PUB = memory.data(65, 4);

// Builds the PKIMessage with this body into OUT: header, body, protection, extraCerts.
export function build(bodyType: i32): i32 {
  derWriterInit(OUT, OUT_SIZE);
  const end = derMark();
  let r = 0;
  if (!LEAN && reqinLen > 0 && bodyType == reqinType) derPutBytes(reqinPtr, reqinLen);
  else if (bodyType == BODY_IR || bodyType == BODY_CR || bodyType == BODY_KUR) r = putCertReqMessages(bodyType);
  else if (!LEAN && bodyType == BODY_P10CR) r = putP10cr();
  else if (!LEAN && bodyType == BODY_RR) r = putRr();
  else if (!LEAN && bodyType == BODY_GENM) r = putGenm();
  else if (bodyType == BODY_CERT_CONF) r = putCertConf(CERT_HASH, certHashLen, pendingError != 0, pendingFailBit, certHashId);
  else if (bodyType == BODY_ERROR) r = putErrorMsg(refusal);
  else if (!LEAN) r = putPollReq();
  // hashAlg in certConf needs cmp2021 (RFC 9480 2.10); every other request says cmp2000
  setHeaderPvno(bodyType == BODY_CERT_CONF && certHashId != 0 ? 3 : 2);
  if (r == 0) r = putHeader(bodyType <= BODY_KUR);
  if (r < 0) return r;
  const hs = derWriterPtr();
  derWrap(TAG_SEQUENCE, end); // ProtectedPart (RFC 9810 5.1.3)
  const pp = derWriterPtr();
  r = derWriterFinish();
  if (r < 0) return r;
  const n = protKind == PROT_NONE ? 0 : computeProtection(pp, <i32>(end - pp));
  if (n < 0) return n;
  derWriterRewind(hs);
  if (protKind == PROT_SIG) {
    // extraCerts: the protection certificate first, then EXTRA (RFC 9483 3.3)
    const me = derMark();
    let k = 0;
    while (item(ITEM_EXTRA, k) != 0) k++;
    for (let i = k - 1; i >= 0; i--) {
      const c = item(ITEM_EXTRA, i);
      derPutBytes(c, itemLen);
    }
    const c = item(ITEM_CERT);
    derPutBytes(c, itemLen);
    derWrap(TAG_SEQUENCE, me);
    wrapExplicit(1, me);
  }
  if (protKind != PROT_NONE) {
    const mp = derMark();
    derPutBitString(protValue, n);
    wrapExplicit(0, mp);
  }
  swapLast(hs, end);
  derWrap(TAG_SEQUENCE, end);
  r = derWriterFinish();
  if (r < 0) return r;
  setOut(derWriterPtr(), r);
  return 0;
}

// SubjectPublicKeyInfo of the new P-256 key (RFC 5480 2) into REQ_SPKI.
function newKeySpki(): i32 {
  let key = item(ITEM_NEWKEY);
  let r = 0;
  if (!LEAN && key == 0 && item(ITEM_NEWPUBKEY) != 0) return givenSpki();
  if (!LEAN && getInt(INT_NEWKEY_HANDLE) != 0) return E_CMP_CONFIG; // a host-held new key needs NEWPUBKEY
  if (key != 0) {
    if (itemLen != 32) return E_CMP_CONFIG;
    r = p256Public(key, PUB);
  } else {
    key = NEW_KEY;
    if (!resAdd(RESULT_NEW_KEY, key, 32)) return E_CMP_STORE;
    r = p256Keygen(key, PUB);
  }
  if (r < 0) return r;
  setNewKey(key);
  derWriterInit(REQ_SPKI, 96);
  const m = derMark();
  derPutBitString(PUB, 65);
  const ma = derMark();
  putOid(OID_P256, 8);
  putOid(OID_EC_PUBLIC_KEY, 7);
  derWrap(TAG_SEQUENCE, ma);
  derWrap(TAG_SEQUENCE, m);
  setReqSpki(derWriterPtr(), derWriterFinish());
  return 0;
}

// NEWPUBKEY: a SubjectPublicKeyInfo whose private key the host does not hold (an RA requesting
// for another entity). Only its outer SEQUENCE is checked here; the CA judges the key.
// Without the private key no signature POPO can be given (RFC 4211 4).
function givenSpki(): i32 {
  const p = item(ITEM_NEWPUBKEY);
  const n = itemLen;
  // the host signer (NEWKEY_HANDLE) gives the POP signature or signs the PKCS#10 request
  if ((getInt(INT_POPO) == POPO_SIGNATURE || op == OP_P10CR) && getInt(INT_NEWKEY_HANDLE) == 0) return E_CMP_CONFIG;
  derInit(p, n);
  derEnter(TAG_SEQUENCE); // SubjectPublicKeyInfo (RFC 5280 4.1)
  derRead(TAG_SEQUENCE); //   algorithm
  derRead(TAG_BIT_STRING); //   subjectPublicKey
  derLeave();
  if (derFinish() != 0) return E_CMP_CONFIG;
  setNewKey(0);
  setReqSpki(p, n);
  return 0;
}

// The subjectPKInfo element of a configured PKCS#10 request (RFC 2986 4.1).
function csrSpki(csr: usize, n: i32): i32 {
  derInit(csr, n);
  derEnter(TAG_SEQUENCE);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_INTEGER);
  derRead(TAG_SEQUENCE);
  derRead(TAG_SEQUENCE);
  if (derErr != 0) return E_CMP_CONFIG;
  setReqSpki(derStart, <i32>(derPtr + derLen - derStart));
  return 0;
}

// The requested public key (REQ_SPKI): from the CSR of a p10cr, else of NEWKEY (generated if
// absent). 0 or an error code.
export function requestKey(o: i32): i32 {
  if (!LEAN && reqinLen > 0) return 0; // set by reqinBody
  const csr = item(ITEM_CSR);
  return !LEAN && o == OP_P10CR && csr != 0 ? csrSpki(csr, itemLen) : newKeySpki();
}

// REQIN (full module): a PKIMessage whose body is sent as the first request under our own header
// and protection. The fresh transactionID and senderNonce are ours, so every check of the response
// holds as for a body built here; the file's header is not used. reqinLen 0: none.
let reqinPtr: usize = 0,
  reqinLen = 0,
  reqinType = -1;

// Takes REQIN's body when it is the request of operation o (RFC 9810 5.1.2); ir/cr/kur: one
// CertReqMsg with certReqId 0 (certConf and pollReq say 0), whose template's publicKey [6] becomes
// REQ_SPKI, the key the issued certificate must carry; p10cr: the CSR's. 0 or E_CMP_CONFIG.
export function reqinBody(o: i32): i32 {
  reqinLen = 0;
  const p = item(ITEM_REQIN),
    n = itemLen;
  if (p == 0) return 0;
  const t = o == OP_IR ? BODY_IR : o == OP_CR ? BODY_CR : o == OP_KUR ? BODY_KUR : o == OP_P10CR ? BODY_P10CR : o == OP_RR ? BODY_RR : BODY_GENM;
  derInit(p, n);
  derEnter(TAG_SEQUENCE); // PKIMessage
  derRead(TAG_SEQUENCE); //   header
  derRead(CONTEXT | CONSTRUCTED | t); //   body
  if (derErr != 0) return E_CMP_CONFIG;
  const b = derStart,
    bl = <i32>(derPtr + derLen - derStart);
  if (t == BODY_P10CR) {
    if (csrSpki(derPtr, derLen) < 0) return E_CMP_CONFIG;
  } else if (t == BODY_IR || t == BODY_CR || t == BODY_KUR) {
    derInit(derPtr, derLen);
    derEnter(TAG_SEQUENCE); // CertReqMessages: one CertReqMsg (RFC 9483 4.1.1)
    derEnter(TAG_SEQUENCE); //   CertReqMsg
    derEnter(TAG_SEQUENCE); //     certReq
    derRead(TAG_INTEGER); //       certReqId
    if (derErr != 0 || derLen != 1 || load<u8>(derPtr) != 0) return E_CMP_CONFIG;
    derEnter(TAG_SEQUENCE); //       certTemplate (RFC 4211 5)
    while (derPeek() >= 0 && derPeek() != (CONTEXT | CONSTRUCTED | 6) && derNext() >= 0) {
      /* the fields before */
    }
    derRead(CONTEXT | CONSTRUCTED | 6); //       publicKey [6] IMPLICIT SubjectPublicKeyInfo
    if (derErr != 0) return E_CMP_CONFIG;
    setReqSpki(derStart, <i32>(derPtr + derLen - derStart));
    setNewKey(0);
    // no second CertReqMsg: skip to the end of CertReqMessages
    while (derDepth() > 1 && derErr == 0) {
      while (derPeek() >= 0 && derNext() >= 0) {
        /* skip */
      }
      derLeave();
    }
    if (derPeek() >= 0 || derErr != 0) return E_CMP_CONFIG;
  }
  reqinPtr = b;
  reqinLen = bl;
  reqinType = t;
  return 0;
}

// Hash of the certificate for certConf (RFC 9810 5.3.18, RFC 9480 2.10): the hash its signature
// algorithm names (SHA-256 for MD5/SHA-1); SHA-512 for Ed25519 (RFC 9481 3.3); for ML-DSA, which
// names none, SHA-512 given in hashAlg (then pvno 3); an unknown algorithm likewise with SHA-256;
// SHAKE256 (64 octets) for Ed448 (RFC 9481 3.3), not in the lean module: E_ALG. Sets certHashExplicit.
export let certHashExplicit = false;
export function certHashAlg(): i32 {
  certHashExplicit = false;
  const h = LEAN ? 0 : signatureHash(ciSigAlg, ciSigAlgLen);
  if (h >= HASH_SHA256 && h <= HASH_SHA512) return h;
  if (h == HASH_SHA1) return HASH_SHA256;
  if (LEAN && isEcdsaSha256(ciSigAlg, ciSigAlgLen)) return HASH_SHA256;
  // the OID of the AlgorithmIdentifier { algorithm, ... }
  derInit(ciSigAlg, ciSigAlgLen);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_OID);
  if (derErr == 0 && oidIs(derPtr, derLen, OID_ED25519, 3, 0x70)) return LEAN ? E_ALG : HASH_SHA512;
  if (derErr == 0 && oidIs(derPtr, derLen, OID_ED25519, 3, 0x71)) return LEAN ? E_ALG : HASH_SHAKE256;
  certHashExplicit = true;
  const mlDsa =
    derErr == 0 && derLen == 9 && load<u8>(derPtr + 8) >= 0x11 && load<u8>(derPtr + 8) <= 0x13 && oidIs(derPtr, derLen, OID_ML_DSA_44, 9, load<u8>(derPtr + 8));
  return LEAN ? HASH_SHA256 : mlDsa ? HASH_SHA512 : HASH_SHA256;
}

// The signature AlgorithmIdentifier is ecdsa-with-SHA256 without parameters (RFC 5758 3.2).
function isEcdsaSha256(alg: usize, n: i32): bool {
  return (
    n == 12 &&
    load<u8>(alg) == 0x30 &&
    load<u8>(alg + 1) == 10 &&
    load<u8>(alg + 2) == 0x06 &&
    load<u8>(alg + 3) == 8 &&
    bytesEqual(alg + 4, OID_ECDSA_SHA256, 8)
  );
}
