// Test harness for the internal DER API (compiled by test/der.test.ts, not part of the module):
// an X.509 certificate read the way the pkix parsers will read it, a few error paths, and the
// writer building a small structure.
import "../../assembly/panic"; // abort -> env.panic, as in the module
import {
  derAtEnd,
  derCheck,
  derDescend,
  derEnter,
  derErr,
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
  derReadTime,
  derReadUint,
  derReadValue,
  derStart,
  derTime,
  oidEquals,
} from "../../assembly/der/reader";
import {
  derMark,
  derPutBitString,
  derPutBoolean,
  derPutInteger,
  derPutNull,
  derPutPrimitive,
  derPutTime,
  derPutUint,
  derWrap,
  derWriterFinish,
  derWriterInit,
  derWriterPtr,
} from "../../assembly/der/writer";
import {
  CONSTRUCTED,
  CONTEXT,
  TAG_BOOLEAN,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
} from "../../assembly/der/tags";

const OID_EC_PUBLIC_KEY = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]); // 1.2.840.10045.2.1
const OID_ECDSA_SHA256 = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2

function put(out: usize, i: i32, v: i32): void {
  store<i32>(out + ((<usize>i) << 2), v);
}

// RFC 5280 4.1 Certificate: fields as i32 at out (offsets from p), times as i64 at out+64.
export function cert_view(p: usize, n: i32, out: usize): i32 {
  derInit(p, n);
  derEnter(TAG_SEQUENCE); // Certificate
  derEnter(TAG_SEQUENCE); // tbsCertificate: its whole encoding is what the signature covers
  put(out, 0, <i32>(derStart - p));
  put(out, 1, <i32>(derPtr + derLen - derStart));
  let version: i64 = 0; // [0] EXPLICIT Version DEFAULT v1
  if (derOptional(CONTEXT | CONSTRUCTED | 0) && derDescend()) {
    version = derReadUint(2);
    derLeave();
  }
  put(out, 2, <i32>version);
  derReadValue(TAG_INTEGER); // serialNumber
  put(out, 3, <i32>(derPtr - p));
  put(out, 4, derLen);
  derRead(TAG_SEQUENCE); // signature
  derRead(TAG_SEQUENCE); // issuer
  derEnter(TAG_SEQUENCE); // validity
  derReadTime();
  store<i64>(out + 64, derTime);
  derReadTime();
  store<i64>(out + 72, derTime);
  derLeave();
  derRead(TAG_SEQUENCE); // subject
  derEnter(TAG_SEQUENCE); // subjectPublicKeyInfo
  derEnter(TAG_SEQUENCE); // algorithm
  derReadValue(TAG_OID);
  put(out, 5, <i32>oidEquals(derPtr, derLen, OID_EC_PUBLIC_KEY, 7));
  if (!derAtEnd()) derNext(); // parameters
  derLeave();
  derReadBitStringOctets();
  put(out, 6, <i32>(derPtr - p));
  put(out, 7, derLen);
  derLeave();
  derOptional(CONTEXT | 1); // issuerUniqueID
  derOptional(CONTEXT | 2); // subjectUniqueID
  let count = 0;
  let critical = 0;
  if (derOptional(CONTEXT | CONSTRUCTED | 3) && derDescend() && derEnter(TAG_SEQUENCE)) {
    while (!derAtEnd()) {
      derEnter(TAG_SEQUENCE); // Extension
      derReadValue(TAG_OID);
      if (derOptional(TAG_BOOLEAN) && load<u8>(derPtr) != 0) critical++; // critical DEFAULT FALSE
      derRead(TAG_OCTET_STRING);
      derLeave();
      count++;
    }
    derLeave();
    derLeave();
  }
  put(out, 8, count);
  put(out, 9, critical);
  derLeave();
  derRead(TAG_SEQUENCE); // signatureAlgorithm
  derReadBitStringOctets(); // signatureValue
  put(out, 10, <i32>(derPtr - p));
  put(out, 11, derLen);
  derLeave();
  return derFinish();
}

// INTEGER 0..max: the value or the error.
export function read_uint(p: usize, n: i32, max: i64): i64 {
  derInit(p, n);
  const v = derReadUint(max);
  const e = derFinish();
  return e != 0 ? e : v;
}

// BIT STRING without unused bits: octet count or error.
export function read_bits(p: usize, n: i32): i32 {
  derInit(p, n);
  derReadBitStringOctets();
  const e = derFinish();
  return e != 0 ? e : derLen;
}

// Enters a SEQUENCE, reads one child, leaves: 0, or E_DER_TRAILING when more children follow.
export function leave_early(p: usize, n: i32): i32 {
  derInit(p, n);
  derEnter(TAG_SEQUENCE);
  derNext();
  derLeave();
  return derFinish();
}

// Reads an INTEGER where `tag` is; after a failure every call fails the same way.
export function sticky(p: usize, n: i32, tag: i32): i32 {
  derInit(p, n);
  if (derRead(tag) && derCheck(TAG_INTEGER)) return 0;
  const e = derErr;
  const same = derAtEnd() && derPeek() == -1 && derNext() == e && !derRead(tag) && !derEnter(TAG_SEQUENCE);
  return same ? e : 1;
}

// SEQUENCE { AlgorithmIdentifier { ecdsa-with-SHA256 }, INTEGER mag, INTEGER v, BOOLEAN TRUE,
// NULL, GeneralizedTime t, UTCTime t, OCTET STRING data, BIT STRING data } at [out, out+cap):
// the length (the DER moved to out) or the error.
export function write_sample(out: usize, cap: i32, mag: usize, magLen: i32, v: i64, t: i64, data: usize, dataLen: i32): i32 {
  derWriterInit(out, cap);
  const seq = derMark();
  derPutBitString(data, dataLen);
  derPutPrimitive(TAG_OCTET_STRING, data, dataLen);
  derPutTime(TAG_UTC_TIME, t);
  derPutTime(TAG_GENERALIZED_TIME, t);
  derPutNull();
  derPutBoolean(true);
  derPutUint(v);
  derPutInteger(mag, magLen);
  const alg = derMark();
  derPutPrimitive(TAG_OID, OID_ECDSA_SHA256, 8);
  derWrap(TAG_SEQUENCE, alg);
  derWrap(TAG_SEQUENCE, seq);
  const n = derWriterFinish();
  const w = derWriterPtr();
  for (let i = 0; i < n; i++) store<u8>(out + i, load<u8>(w + i));
  return n;
}
