// Decoding of a received PKIMessage (RFC 9810 5.1): header fields, body element, protection and
// extraCerts, as ranges into the input (no copies). Checks on them are made in checks.ts.
import { E_CMP_PARSE, E_CMP_STORE, E_DER_VALUE } from "../errors";
import {
  derDescend,
  derEnter,
  derFail,
  derFinish,
  derInit,
  derLeave,
  derLen,
  derNext,
  derOptional,
  derPeek,
  derPtr,
  derRead,
  derReadBitStringOctets,
  derReadUint,
  derStart,
} from "../der/reader";
import { CONSTRUCTED, CONTEXT, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE } from "../der/tags";
import { IT_IMPLICIT_CONFIRM, OID_IT, oidIs } from "./oids";

export const MAX_EXTRA_CERTS: i32 = 16;
export const RSP_EXTRA = memory.data(MAX_EXTRA_CERTS * 8, 4); // (ptr, len) of each extraCerts entry
export let rspExtraCount: i32 = 0;

export let rspPvno: i32 = 0;
export let rspHeader: usize = 0; // header element start
export let rspBodyEnd: usize = 0; // end of the body element (ProtectedPart ends here)
export let rspProtAlg: usize = 0,
  rspProtAlgLen: i32 = 0; // protectionAlg AlgorithmIdentifier element
export let rspSenderKid: usize = 0,
  rspSenderKidLen: i32 = -1;
export let rspTid: usize = 0,
  rspTidLen: i32 = -1;
export let rspSenderNonce: usize = 0,
  rspSenderNonceLen: i32 = -1;
export let rspRecipNonce: usize = 0,
  rspRecipNonceLen: i32 = -1;
export let rspImplicitConfirm: bool = false;
export let rspBodyType: i32 = -1;
export let rspBody: usize = 0,
  rspBodyLen: i32 = 0; // body contents (inside the [n] tag)
export let rspProt: usize = 0,
  rspProtLen: i32 = -1;

// OCTET STRING inside an [n] EXPLICIT just read: its contents in derPtr/derLen.
function explicitOctets(): bool {
  return derDescend() && derRead(TAG_OCTET_STRING) && derLeave();
}

// Parses the PKIMessage [p, p+n): 0 or E_CMP_PARSE (the DER error in derErr).
export function parseMessage(p: usize, n: i32): i32 {
  rspProtAlgLen = 0;
  rspSenderKidLen = -1;
  rspTidLen = -1;
  rspSenderNonceLen = -1;
  rspRecipNonceLen = -1;
  rspImplicitConfirm = false;
  rspBodyType = -1;
  rspProtLen = -1;
  rspExtraCount = 0;
  derInit(p, n);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_SEQUENCE);
  rspHeader = derStart;
  derDescend();
  rspPvno = <i32>derReadUint(1000);
  derNext(); // sender GeneralName
  derNext(); // recipient
  derOptional(CONTEXT | CONSTRUCTED | 0); // messageTime
  if (derOptional(CONTEXT | CONSTRUCTED | 1)) {
    derDescend();
    derRead(TAG_SEQUENCE);
    rspProtAlg = derStart;
    rspProtAlgLen = <i32>(derPtr + derLen - derStart);
    derLeave();
  }
  if (derOptional(CONTEXT | CONSTRUCTED | 2) && explicitOctets()) {
    rspSenderKid = derPtr;
    rspSenderKidLen = derLen;
  }
  derOptional(CONTEXT | CONSTRUCTED | 3); // recipKID
  if (derOptional(CONTEXT | CONSTRUCTED | 4) && explicitOctets()) {
    rspTid = derPtr;
    rspTidLen = derLen;
  }
  if (derOptional(CONTEXT | CONSTRUCTED | 5) && explicitOctets()) {
    rspSenderNonce = derPtr;
    rspSenderNonceLen = derLen;
  }
  if (derOptional(CONTEXT | CONSTRUCTED | 6) && explicitOctets()) {
    rspRecipNonce = derPtr;
    rspRecipNonceLen = derLen;
  }
  derOptional(CONTEXT | CONSTRUCTED | 7); // freeText
  if (derOptional(CONTEXT | CONSTRUCTED | 8)) {
    // generalInfo: implicitConfirm granted? (RFC 9483 4.1.1)
    derDescend();
    derEnter(TAG_SEQUENCE);
    while (derPeek() == TAG_SEQUENCE) {
      derEnter(TAG_SEQUENCE);
      derRead(TAG_OID);
      if (oidIs(derPtr, derLen, OID_IT, 8, IT_IMPLICIT_CONFIRM)) rspImplicitConfirm = true;
      while (derPeek() >= 0) derNext();
      derLeave();
    }
    derLeave();
    derLeave();
  }
  derLeave(); // header
  const t = derNext();
  if (t >= 0 && (t & 0xe0) != (CONTEXT | CONSTRUCTED)) derFail(E_DER_VALUE);
  rspBodyType = t & 0x1f;
  rspBody = derPtr;
  rspBodyLen = derLen;
  rspBodyEnd = derPtr + derLen;
  if (derOptional(CONTEXT | CONSTRUCTED | 0)) {
    derDescend();
    derReadBitStringOctets();
    rspProt = derPtr;
    rspProtLen = derLen;
    derLeave();
  }
  if (derOptional(CONTEXT | CONSTRUCTED | 1)) {
    derDescend();
    derEnter(TAG_SEQUENCE);
    while (derPeek() >= 0) {
      derRead(TAG_SEQUENCE);
      if (rspExtraCount == MAX_EXTRA_CERTS) return E_CMP_STORE;
      const e = RSP_EXTRA + ((<usize>rspExtraCount) << 3);
      rspExtraCount++;
      store<u32>(e, derStart);
      store<i32>(e, <i32>(derPtr + derLen - derStart), 4);
    }
    derLeave();
    derLeave();
  }
  derLeave();
  return derFinish() == 0 ? 0 : E_CMP_PARSE;
}

// Writes SEQUENCE tag and length of the ProtectedPart { header, body } just before the header,
// over the message's own (longer or equal) tag and length: its start.
export function protectedPart(): usize {
  const n = <u32>(rspBodyEnd - rspHeader);
  const k: usize = n < 0x80 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : 5;
  const p = rspHeader - k;
  store<u8>(p, TAG_SEQUENCE);
  if (k == 2) store<u8>(p + 1, <u8>n);
  else {
    store<u8>(p + 1, <u8>(0x80 + k - 2));
    for (let i: usize = 0; i < k - 2; i++) store<u8>(p + k - 1 - i, <u8>(n >> (<u32>i * 8)));
  }
  return p;
}
