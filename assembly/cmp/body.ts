// Request bodies (RFC 9810 5.3, RFC 9483 4): ir/cr/kur CertReqMessages (RFC 4211), p10cr
// (RFC 2986), rr, genm, certConf, pollReq. Written back to front; each ends with its body tag.
import { E_CMP_CONFIG, E_KEY } from "../errors";
import { HASH_SHA256 } from "../crypto/hash";
import { p256Sign } from "../crypto/p256";
import { derMark, derPutBitString, derPutByte, derPutBytes, derPutPrimitive, derPutTime, derPutUint, derWrap, derWriterPtr } from "../der/writer";
import { CONSTRUCTED, CONTEXT, TAG_GENERALIZED_TIME, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE, TAG_SET, TAG_UTC_TIME } from "../der/tags";
import { host_time } from "../host";
import {
  getInt,
  INT_DAYS,
  INT_NEWKEY_HANDLE,
  INT_POPO,
  INT_REVREASON,
  item,
  POPO_RA_VERIFIED,
  POPO_SIGNATURE,
  itemLen,
  ITEM_CSR,
  ITEM_EXTENSION,
  ITEM_INFOTYPE,
  ITEM_ISSUER,
  ITEM_OLDCERT,
  ITEM_SANS,
  ITEM_SUBJECT,
} from "./config";
import { certInfo, ciIssuer, ciIssuerLen, ciSerial, ciSerialLen } from "./certinfo";
import { putDirectoryName } from "./header";
import { say } from "./detail";
import { T_CRL_STATUS_VALUE } from "./text";
import { IT_CRL_STATUS_LIST, OID_ECDSA_SHA256, OID_EXT_REQ, OID_IT, OID_OLD_CERT_ID, OID_REASON_CODE, OID_SAN, OID_SHA2, oidIs } from "./oids";
import { derEnter, derFinish, derInit, derLeave, derNext, derPeek, derRead } from "../der/reader";
import { LEAN } from "../features";
import { hostSign, signAlgFor, signAlgId, signAlgIdLen, signed } from "./signer";
import { putAlgId, putNamedBit, putOctets, putOid, swapLast, wrapExplicit } from "./put";
import { BODY_CERT_CONF, BODY_ERROR, BODY_GENM, BODY_KUR, BODY_P10CR, BODY_POLL_REQ, BODY_RR, OP_P10CR } from "./constants";
import { newKey, op, reqSpki, reqSpkiLen } from "./state";

const SIG = memory.data(72, 4);

// Extension { extnID, extnValue OCTET STRING { value written since m } } (RFC 5280 4.1).
function wrapExtension(oid: usize, oidLen: i32, m: usize): void {
  derWrap(TAG_OCTET_STRING, m);
  putOid(oid, oidLen);
  derWrap(TAG_SEQUENCE, m);
}

// The Extension elements of a request, without their SEQUENCE OF: subjectAltName when SANS is
// configured, then each EXTENSION as given; false when there is none.
function putExtensionList(): bool {
  let n = 0;
  while (item(ITEM_EXTENSION, n) != 0) n++;
  for (let i = n - 1; i >= 0; i--) {
    const e = item(ITEM_EXTENSION, i);
    derPutBytes(e, itemLen);
  }
  const sans = item(ITEM_SANS);
  if (sans != 0) {
    const m = derMark();
    derPutBytes(sans, itemLen);
    wrapExtension(OID_SAN, 3, m);
  }
  return sans != 0 || n > 0;
}

// Signs [p, p+n) with the new key and writes BIT STRING signature, AlgorithmIdentifier (back to
// front): in the core with the P-256 NEWKEY, or by the host signer (NEWKEY_HANDLE) for the
// NEWPUBKEY it holds (signer.ts). 0 or an error.
function putNewKeySignature(p: usize, n: i32): i32 {
  // statement-level `if (!LEAN)`: the compiler leaves the signer's buffers out of the lean module
  if (!LEAN)
    if (newKey == 0) {
      const alg = signAlgFor(reqSpki, reqSpkiLen);
      if (alg < 0) return alg;
      const r = hostSign(getInt(INT_NEWKEY_HANDLE), alg, reqSpki, reqSpkiLen, p, n);
      if (r < 0) return r;
      derPutBitString(signed(), r);
      derPutBytes(signAlgId(alg), signAlgIdLen);
      return 0;
    }
  const r = p256Sign(newKey, HASH_SHA256, p, n, SIG);
  if (r < 0) return r;
  derPutBitString(SIG, r);
  putAlgId(OID_ECDSA_SHA256, 8);
  return 0;
}

// Signs [start, end) with the new key and writes AlgorithmIdentifier, BIT STRING signature
// after it (in the writer: before, then swapped). 0 or an error.
function putSignatureAfter(start: usize, end: usize): i32 {
  const r = putNewKeySignature(start, <i32>(end - start));
  if (r < 0) return r;
  swapLast(start, end);
  return 0;
}

// Time (RFC 5280 4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050.
function putTime(t: i64): void {
  derPutTime(t < 2524608000 ? TAG_UTC_TIME : TAG_GENERALIZED_TIME, t);
}

// certTemplate issuer [3] Name (EXPLICIT: a CHOICE) from ISSUER, and validity [4] IMPLICIT
// OptionalValidity { notBefore [0] Time, notAfter [1] Time } (EXPLICIT: Time is a CHOICE) from now
// to DAYS days later (RFC 4211 5, as openssl cmp -days), back to front.
function putIssuerValidity(): void {
  const days = getInt(INT_DAYS);
  if (days > 0) {
    const now = host_time();
    const mv = derMark();
    let m = derMark();
    putTime(now + <i64>days * 86400);
    wrapExplicit(1, m);
    m = derMark();
    putTime(now);
    wrapExplicit(0, m);
    derWrap(CONTEXT | CONSTRUCTED | 4, mv);
  }
  const issuer = item(ITEM_ISSUER);
  if (issuer != 0) {
    const mi = derMark();
    derPutBytes(issuer, itemLen);
    wrapExplicit(3, mi);
  }
}

// ir / cr / kur: CertReqMessages with one CertReqMsg, certReqId 0 (RFC 9483 4.1.1-4.1.3).
export function putCertReqMessages(bodyType: i32): i32 {
  const m = derMark();
  const mReq = derMark();
  // controls: id-regCtrl-oldCertID for kur (RFC 4211 6.5, RFC 9483 4.1.3)
  const old = item(ITEM_OLDCERT);
  if (old != 0 && bodyType == BODY_KUR) {
    if (certInfo(old, itemLen) != 0) return E_CMP_CONFIG;
    const mc = derMark();
    const mId = derMark();
    derPutPrimitive(0x02, ciSerial, ciSerialLen);
    putDirectoryName(ciIssuer, ciIssuerLen);
    derWrap(TAG_SEQUENCE, mId); // CertId
    putOid(OID_OLD_CERT_ID, 9);
    derWrap(TAG_SEQUENCE, mc);
    derWrap(TAG_SEQUENCE, mc);
  }
  // certTemplate: subject [5], publicKey [6], extensions [9] (RFC 4211 5)
  const mt = derMark();
  const me = derMark();
  // extensions [9] Extensions: RFC 4211's module has IMPLICIT TAGS, so [9] replaces the
  // SEQUENCE tag: [9] { Extension... } (RFC 4211 5, Appendix B)
  if (putExtensionList()) derWrap(CONTEXT | CONSTRUCTED | 9, me);
  if (reqSpkiLen < 4) return E_KEY;
  const hl = load<u8>(reqSpki + 1) < 0x80 ? 2 : 2 + (load<u8>(reqSpki + 1) & 0x7f);
  const mk = derMark();
  derPutBytes(reqSpki + hl, reqSpkiLen - hl);
  derWrap(CONTEXT | CONSTRUCTED | 6, mk); // IMPLICIT SubjectPublicKeyInfo
  const subject = item(ITEM_SUBJECT);
  if (subject != 0) {
    const ms = derMark();
    derPutBytes(subject, itemLen);
    wrapExplicit(5, ms); // Name is a CHOICE: the tag is explicit
  }
  if (!LEAN) putIssuerValidity();
  derWrap(TAG_SEQUENCE, mt);
  derPutUint(0); // certReqId
  derWrap(TAG_SEQUENCE, mReq); // CertRequest
  const popo = LEAN ? POPO_SIGNATURE : getInt(INT_POPO);
  if (popo == POPO_SIGNATURE) {
    // popo signature [1] POPOSigningKey over the DER CertRequest (RFC 4211 4.1, poposkInput absent)
    const reqStart = derWriterPtr();
    const mp = derMark();
    const r = putNewKeySignature(reqStart, <i32>(mReq - reqStart));
    if (r < 0) return r;
    derWrap(CONTEXT | CONSTRUCTED | 1, mp);
    swapLast(reqStart, mReq);
  } else if (popo == POPO_RA_VERIFIED) {
    // raVerified [0] NULL: an RA has verified the POP (RFC 4211 4); POPO_NONE leaves popo out
    const reqStart = derWriterPtr();
    derPutByte(0);
    derPutByte(CONTEXT);
    swapLast(reqStart, mReq);
  }
  derWrap(TAG_SEQUENCE, m); // CertReqMsg
  derWrap(TAG_SEQUENCE, m); // CertReqMessages
  wrapExplicit(bodyType, m);
  return 0;
}

// p10cr: the configured CSR, or a PKCS#10 request (RFC 2986 4) built from NEWKEY and SUBJECT
// with the SANs in an extensionRequest attribute (RFC 2985 5.4.2).
export function putP10cr(): i32 {
  const m = derMark();
  const csr = item(ITEM_CSR);
  if (csr != 0) {
    derPutBytes(csr, itemLen);
  } else {
    const mi = derMark();
    const ma = derMark();
    if (putExtensionList()) {
      derWrap(TAG_SEQUENCE, ma); // Extensions (RFC 2985 5.4.2)
      derWrap(TAG_SET, ma);
      putOid(OID_EXT_REQ, 9);
      derWrap(TAG_SEQUENCE, ma);
    }
    derWrap(CONTEXT | CONSTRUCTED | 0, ma); // attributes [0] IMPLICIT SET OF
    derPutBytes(reqSpki, reqSpkiLen);
    const subject = item(ITEM_SUBJECT);
    if (subject != 0) derPutBytes(subject, itemLen);
    else derWrap(TAG_SEQUENCE, derMark());
    derPutUint(0); // version v1
    derWrap(TAG_SEQUENCE, mi); // CertificationRequestInfo
    const r = putSignatureAfter(derWriterPtr(), mi);
    if (r < 0) return r;
    derWrap(TAG_SEQUENCE, m);
  }
  wrapExplicit(BODY_P10CR, m);
  return 0;
}

// rr: one RevDetails for OLDCERT: certDetails issuer [3] + serialNumber [1], reasonCode
// (RFC 9483 4.2).
export function putRr(): i32 {
  const old = item(ITEM_OLDCERT);
  if (old == 0 || certInfo(old, itemLen) != 0) return E_CMP_CONFIG;
  const m = derMark();
  const reason = getInt(INT_REVREASON);
  // a negative REVREASON leaves crlEntryDetails out (RFC 9810 5.3.9; RFC 9483 4.2 wants one)
  if (reason >= 0) {
    const mx = derMark();
    const mr = derMark();
    derPutUint(reason);
    store<u8>(derWriterPtr(), 0x0a); // CRLReason ::= ENUMERATED
    wrapExtension(OID_REASON_CODE, 3, mr);
    derWrap(TAG_SEQUENCE, mx); // crlEntryDetails
  }
  const mt = derMark();
  const mi = derMark();
  derPutBytes(ciIssuer, ciIssuerLen);
  wrapExplicit(3, mi); // issuer [3] Name
  derPutPrimitive(CONTEXT | 1, ciSerial, ciSerialLen); // serialNumber [1] IMPLICIT INTEGER
  derWrap(TAG_SEQUENCE, mt); // certDetails
  derWrap(TAG_SEQUENCE, m); // RevDetails
  derWrap(TAG_SEQUENCE, m); // RevReqContent
  wrapExplicit(BODY_RR, m);
  return 0;
}

// genm: one InfoTypeAndValue per INFOTYPE (RFC 9483 4.3), none gives an empty genm. An INFOTYPE
// is either OID contents octets (a value-less InfoTypeAndValue: caCerts, certReqTemplate,
// certProfile) or a whole DER InfoTypeAndValue with its value (rootCaCert with the current root,
// crlStatusList with its CRLStatusListValue), copied as it is. crlStatusList without its value
// is refused (RFC 9483 4.3.4: the value is required). 0 or E_CMP_CONFIG.
export function putGenm(): i32 {
  const m = derMark();
  let n = 0;
  while (item(ITEM_INFOTYPE, n) != 0) n++;
  for (let i = n - 1; i >= 0; i--) {
    const p = item(ITEM_INFOTYPE, i);
    if (isItav(p, itemLen)) {
      derPutBytes(p, itemLen);
      continue;
    }
    if (oidIs(p, itemLen, OID_IT, 8, IT_CRL_STATUS_LIST)) {
      say(T_CRL_STATUS_VALUE);
      return E_CMP_CONFIG;
    }
    const mi = derMark();
    putOid(p, itemLen);
    derWrap(TAG_SEQUENCE, mi);
  }
  derWrap(TAG_SEQUENCE, m);
  wrapExplicit(BODY_GENM, m);
  return 0;
}

// [p, p+n) is one DER SEQUENCE { OID, ... } spanning all n bytes (an InfoTypeAndValue).
export function isItav(p: usize, n: i32): bool {
  derInit(p, n);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_OID);
  while (derPeek() >= 0) derNext();
  derLeave();
  return derFinish() == 0;
}

// certReqId of certConf and pollReq: 0, or -1 after p10cr (RFC 9483 4.1.4).
function putCertReqId(): void {
  if (op == OP_P10CR) {
    derPutByte(0xff);
    derPutByte(1);
    derPutByte(0x02);
  } else derPutUint(0);
}

// certConf: one CertStatus { certHash, certReqId 0, statusInfo when rejecting, hashAlg [0] when
// the certificate's signature algorithm names no hash (RFC 9483 4.1.1, RFC 9480 2.10): hashAlg
// is the hash id, 0 for none.
export function putCertConf(hash: usize, hashLen: i32, reject: bool, failBit: i32, hashAlg: i32): i32 {
  const m = derMark();
  if (hashAlg != 0) {
    const mh = derMark();
    putAlgId(OID_SHA2, 9, hashAlg - 1); // id-sha256/384/512, parameters absent (RFC 5754 2)
    wrapExplicit(0, mh); // the CMP module has EXPLICIT TAGS
  }
  if (reject) {
    const ms = derMark();
    putNamedBit(failBit);
    derPutUint(2); // rejection
    derWrap(TAG_SEQUENCE, ms);
  }
  putCertReqId();
  putOctets(hash, hashLen);
  derWrap(TAG_SEQUENCE, m);
  derWrap(TAG_SEQUENCE, m);
  wrapExplicit(BODY_CERT_CONF, m);
  return 0;
}

// error: ErrorMsgContent { PKIStatusInfo { rejection, failInfo } } refusing a response
// (RFC 9483 3.6.4).
export function putErrorMsg(failBit: i32): i32 {
  const m = derMark();
  putNamedBit(failBit);
  derPutUint(2); // rejection
  derWrap(TAG_SEQUENCE, m); // PKIStatusInfo
  derWrap(TAG_SEQUENCE, m);
  wrapExplicit(BODY_ERROR, m);
  return 0;
}

// pollReq: one certReqId 0 (RFC 9483 4.4).
export function putPollReq(): i32 {
  const m = derMark();
  putCertReqId();
  derWrap(TAG_SEQUENCE, m);
  derWrap(TAG_SEQUENCE, m);
  wrapExplicit(BODY_POLL_REQ, m);
  return 0;
}
