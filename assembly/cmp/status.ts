// PKIStatusInfo (RFC 9810 5.2.3): status, statusString (kept as results), failInfo; and its
// readable form for tx_detail.
import { derAtEnd, derEnter, derLeave, derLen, derPeek, derPtr, derReadUint, derReadValue } from "../der/reader";
import { TAG_BIT_STRING, TAG_SEQUENCE, TAG_UTF8_STRING } from "../der/tags";
import { say, sayInt, sayListName, sayName, sayText } from "./detail";
import { LEAN } from "../features";
import {
  E_ALG,
  E_CERT_PARSE,
  E_CERT_POOL,
  E_CMP_BODY,
  E_CMP_CERT_REQ_ID,
  E_CMP_NO_CERT,
  E_CMP_PARSE,
  E_CMP_PVNO,
  E_CMP_RECIP_NONCE,
  E_CMP_SIGNER,
  E_CMP_STATUS,
  E_CMP_TRANSACTION_ID,
  E_DER_BUFFER,
  E_DER_TRUNCATED,
} from "../errors";
import { FAIL_NAMES_LEN, failNames, T_COMMA, T_FAILINFO, T_PLUS, T_QUOTE, T_QUOTE_OPEN, T_STATUS, T_STATUS_NAMES, T_STATUS_STRING } from "./text";

export const STATUS_ACCEPTED: i32 = 0,
  STATUS_GRANTED_WITH_MODS: i32 = 1,
  STATUS_REJECTION: i32 = 2,
  STATUS_WAITING: i32 = 3;
// PKIFailureInfo bit numbers (RFC 9810 5.2.3), those this client sends.
export const FAIL_BAD_ALG: i32 = 0,
  FAIL_BAD_MESSAGE_CHECK: i32 = 1,
  FAIL_BAD_REQUEST: i32 = 2,
  FAIL_BAD_CERT_ID: i32 = 4,
  FAIL_BAD_DATA_FORMAT: i32 = 5,
  FAIL_INCORRECT_DATA: i32 = 7,
  FAIL_BAD_RECIPIENT_NONCE: i32 = 13,
  FAIL_BAD_CERT_TEMPLATE: i32 = 19,
  FAIL_SIGNER_NOT_TRUSTED: i32 = 20,
  FAIL_UNSUPPORTED_VERSION: i32 = 22;

export let status: i32 = -1;
export let failInfo: i32 = 0;
export function clearStatus(): void {
  status = -1;
  failInfo = 0;
  stringCount = 0;
}

// statusString entries of the last PKIStatusInfo read: (ptr, len) pairs.
const MAX_STRINGS: i32 = 8;
export const STRINGS = memory.data(MAX_STRINGS * 8, 4);
export let stringCount: i32 = 0;
export function clearStrings(): void {
  stringCount = 0;
}

// Reads a PKIFreeText (SEQUENCE OF UTF8String) into STRINGS.
export function readFreeText(): void {
  stringCount = 0;
  derEnter(TAG_SEQUENCE);
  while (!derAtEnd()) {
    derReadValue(TAG_UTF8_STRING);
    if (stringCount < MAX_STRINGS) {
      store<u32>(STRINGS + ((<usize>stringCount) << 3), derPtr);
      store<i32>(STRINGS + ((<usize>stringCount) << 3), derLen, 4);
      stringCount++;
    }
  }
  derLeave();
}

// Reads one PKIStatusInfo.
export function readStatusInfo(): void {
  derEnter(TAG_SEQUENCE);
  status = <i32>derReadUint(6);
  stringCount = 0;
  if (derPeek() == TAG_SEQUENCE) readFreeText();
  failInfo = 0;
  if (derPeek() == TAG_BIT_STRING && derReadValue(TAG_BIT_STRING)) {
    // named bits: bit i is bit (7 - i % 8) of octet 1 + i / 8
    for (let i = 0; i < 31 && 1 + (i >> 3) < derLen; i++) {
      if ((load<u8>(derPtr + 1 + (i >> 3)) & (0x80 >> (i & 7))) != 0) failInfo |= 1 << i;
    }
  }
  derLeave();
}

// "status rejection, failInfo badPOP, statusString "...""
export function sayStatus(): void {
  say(T_STATUS);
  if (status >= 0 && status <= 6) sayName(T_STATUS_NAMES, status);
  else sayInt(status);
  if (failInfo != 0) {
    say(T_FAILINFO);
    let first = true;
    for (let i = 0; i < 31; i++) {
      if (((failInfo >> i) & 1) == 0) continue;
      if (!first) say(T_PLUS);
      first = false;
      if (LEAN)
        sayInt(i); // bit numbers: no names in the lean module
      else sayListName(failNames(), FAIL_NAMES_LEN, i);
    }
  }
  sayStrings(T_STATUS_STRING);
}

export function sayStrings(what: i32): void {
  for (let i = 0; i < stringCount; i++) {
    say(T_COMMA);
    say(what);
    say(T_QUOTE_OPEN);
    sayText(load<u32>(STRINGS + ((<usize>i) << 3)), load<i32>(STRINGS + ((<usize>i) << 3), 4));
    say(T_QUOTE);
  }
}

// PKIFailureInfo bit of the error message refusing a response that failed the check with this
// code (RFC 9483 3.5, 3.6.4).
export function refusalBit(code: i32): i32 {
  if (code == E_CMP_RECIP_NONCE) return FAIL_BAD_RECIPIENT_NONCE;
  if (code == E_CMP_PVNO) return FAIL_UNSUPPORTED_VERSION;
  if (code == E_CMP_PARSE || (code <= E_DER_TRUNCATED && code >= E_DER_BUFFER)) return FAIL_BAD_DATA_FORMAT;
  if (code == E_CMP_CERT_REQ_ID) return FAIL_BAD_CERT_ID;
  if (code == E_ALG) return FAIL_BAD_ALG;
  if (code == E_CMP_TRANSACTION_ID || code == E_CMP_BODY || code == E_CMP_STATUS || code == E_CMP_NO_CERT) return FAIL_BAD_REQUEST;
  // a signer or a certificate of its path the checks refused (E_CERT_*)
  return code == E_CMP_SIGNER || (code <= E_CERT_PARSE && code >= E_CERT_POOL) ? FAIL_SIGNER_NOT_TRUSTED : FAIL_BAD_MESSAGE_CHECK;
}
