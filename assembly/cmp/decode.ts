// Decoding of a received body (RFC 9810 5.3) for the state the transaction is in: CertRepMessage,
// PollRepContent, RevRepContent, GenRepContent, PKIConfirmContent, ErrorMsgContent. Ranges into
// the response (no copies); what a caller may read back is recorded as results. The envelope
// (header, protection, extraCerts) is decoded by response.ts; checks are made in checks.ts.
import { E_CMP_BODY, E_CMP_CERT_REQ_ID, E_CMP_PARSE, E_CMP_STORE } from "../errors";
import {
  derDescend,
  derEnter,
  derErr,
  derInit,
  derLeave,
  derLen,
  derNext,
  derOptional,
  derPeek,
  derPtr,
  derRead,
  derReadUint,
  derStart,
  derUint,
} from "../der/reader";
import { CONSTRUCTED, CONTEXT, TAG_INTEGER, TAG_NULL, TAG_SEQUENCE } from "../der/tags";
import { LEAN } from "../features";
import { say, sayInt } from "./detail";
import { T_ERROR_CODE, T_ERROR_DETAILS } from "./text";
import { CA_PUB_PENDING, resAdd, RESULT_GENP_ITAV, RESULT_STATUS_STRING } from "./results";
import { rspBody, rspBodyLen, rspBodyType } from "./response";
import { BODY_CP, BODY_ERROR, BODY_GENP, BODY_IP, BODY_KUP, BODY_PKICONF, BODY_POLL_REP, BODY_RP, OP_P10CR } from "./constants";
import { op } from "./state";
import { clearStatus, clearStrings, readFreeText, readStatusInfo, sayStatus, sayStrings, stringCount, STRINGS } from "./status";

// What the last body decoded holds besides PKIStatusInfo: the certificate of ip/cp/kup,
// checkAfter of pollRep, errorCode and errorDetails of an error message.
export let certPtr: usize = 0,
  certLen: i32 = 0,
  checkAfter: i32 = 0,
  errorCode: i64 = -1;
let errorDetails: usize = 0,
  errorDetailsLen = 0;

export function clearBody(): void {
  certPtr = 0;
  certLen = 0;
  checkAfter = 0;
  errorCode = -1;
}

// Records the results of the accepted response (stored with the transaction's other results).
function keepStrings(): bool {
  for (let i = 0; i < stringCount; i++) {
    const e = STRINGS + ((<usize>i) << 3);
    if (!resAdd(RESULT_STATUS_STRING, load<u32>(e), load<i32>(e, 4))) return false;
  }
  return true;
}

// certReqId of our requests: 0, and -1 for p10cr (RFC 9810 5.3.4 / RFC 9483 4.1.4).
function certReqId(): i32 {
  return !LEAN && op == OP_P10CR ? -1 : 0;
}

// Reads a certReqId INTEGER: -1, or 0..2^31-1; other values as -2.
function readCertReqId(): i64 {
  if (!derRead(TAG_INTEGER)) return -2;
  if (derLen == 1 && load<u8>(derPtr) == 0xff) return -1;
  return derUint(0x7fffffff);
}

// Decodes the body for the current state; sets the certificate range for ip/cp/kup.
export function decodeBody(): i32 {
  certPtr = 0;
  certLen = 0;
  checkAfter = 0;
  errorCode = -1;
  errorDetails = 0;
  errorDetailsLen = 0;
  const t = rspBodyType;
  if (t != BODY_PKICONF && t != BODY_GENP)
    clearStatus(); // tx_status: the last PKIStatus received
  else clearStrings(); // statusStrings: of this response only
  derInit(rspBody, rspBodyLen);
  if (t == BODY_IP || t == BODY_CP || t == BODY_KUP) {
    derEnter(TAG_SEQUENCE); // CertRepMessage
    if (derOptional(CONTEXT | CONSTRUCTED | 1)) {
      // caPubs
      derDescend();
      derEnter(TAG_SEQUENCE);
      while (derPeek() >= 0) {
        derRead(TAG_SEQUENCE);
        if (!resAdd(CA_PUB_PENDING, derStart, <i32>(derPtr + derLen - derStart))) return E_CMP_STORE;
      }
      derLeave();
      derLeave();
    }
    derEnter(TAG_SEQUENCE); // response: exactly one CertResponse (RFC 9483 4.1.1)
    derEnter(TAG_SEQUENCE);
    const id = readCertReqId();
    readStatusInfo();
    if (derPeek() == TAG_SEQUENCE) {
      // certifiedKeyPair
      derEnter(TAG_SEQUENCE);
      if (derPeek() != (CONTEXT | CONSTRUCTED | 0)) return E_CMP_PARSE; // encryptedCert: not supported
      derEnter(CONTEXT | CONSTRUCTED | 0);
      derRead(TAG_SEQUENCE);
      certPtr = derStart;
      certLen = <i32>(derPtr + derLen - derStart);
      derLeave();
      while (derPeek() >= 0) derNext(); // privateKey, publicationInfo
      derLeave();
    }
    while (derPeek() >= 0) derNext(); // rspInfo
    derLeave();
    derLeave();
    derLeave();
    if (derErr == 0 && id != certReqId()) return E_CMP_CERT_REQ_ID;
  } else if (!LEAN && t == BODY_POLL_REP) {
    derEnter(TAG_SEQUENCE);
    derEnter(TAG_SEQUENCE);
    const id = readCertReqId();
    checkAfter = <i32>derReadUint(0x7fffffff);
    if (derPeek() == TAG_SEQUENCE) readFreeText();
    derLeave();
    derLeave();
    if (derErr == 0 && id != certReqId()) return E_CMP_CERT_REQ_ID;
  } else if (!LEAN && t == BODY_RP) {
    derEnter(TAG_SEQUENCE);
    derEnter(TAG_SEQUENCE);
    readStatusInfo();
    derLeave();
    while (derPeek() >= 0) derNext(); // revCerts, crls
    derLeave();
  } else if (!LEAN && t == BODY_GENP) {
    derEnter(TAG_SEQUENCE);
    while (derPeek() >= 0) {
      derRead(TAG_SEQUENCE);
      if (!resAdd(RESULT_GENP_ITAV, derStart, <i32>(derPtr + derLen - derStart))) return E_CMP_STORE;
    }
    derLeave();
  } else if (t == BODY_PKICONF) {
    derRead(TAG_NULL);
  } else if (t == BODY_ERROR) {
    derEnter(TAG_SEQUENCE); // ErrorMsgContent
    readStatusInfo();
    if (!keepStrings()) return E_CMP_STORE;
    if (derPeek() == TAG_INTEGER) errorCode = derReadUint(0x7fffffff);
    if (derPeek() == TAG_SEQUENCE) {
      // errorDetails: read after the statusString is said
      derRead(TAG_SEQUENCE);
      errorDetails = derStart;
      errorDetailsLen = <i32>(derPtr + derLen - derStart);
    }
    derLeave();
    return derErr != 0 ? E_CMP_PARSE : 0;
  } else {
    return E_CMP_BODY;
  }
  if (derErr != 0) return E_CMP_PARSE;
  return keepStrings() ? 0 : E_CMP_STORE;
}

// The content of a decoded error message: status, failInfo, statusString, errorCode, and
// errorDetails only when the message has them (RFC 9810 5.3.21).
export function sayError(): void {
  sayStatus();
  if (errorCode >= 0) {
    say(T_ERROR_CODE);
    sayInt(<i32>errorCode);
  }
  if (errorDetails != 0) {
    derInit(errorDetails, errorDetailsLen);
    readFreeText();
    sayStrings(T_ERROR_DETAILS);
  }
}
