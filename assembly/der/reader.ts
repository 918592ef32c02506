// Bounded DER reader (X.690 clause 10): a cursor over [pos, end) of linear memory, no copies, no
// allocation. State lives in module globals (BearSSL style):
//   derInit(ptr, len)                       start on one input; clears the error
//   derPeek(), derOptional(tag)             tag of the next element (-1 at the end); read it if present
//   derNext() / derRead(tag)                read one element: derTag, derStart, derPtr, derLen
//   derReadValue(tag, type)                 ... and check its value as universal `type` (IMPLICIT)
//   derEnter(tag) ... derLeave()            step into a constructed element and out again
//   derAtEnd()                              no more elements in the current one (loops over SEQUENCE OF)
//   derFinish()                             the outermost element was the whole input: 0 or an error
// Errors are sticky: the first one is kept in derErr, every later call fails without reading, and
// derAtEnd() is true, so a parser may read a run of fields and check derErr once.
import {
  E_ARG,
  E_DER_DEPTH,
  E_DER_INDEFINITE,
  E_DER_LENGTH,
  E_DER_LENGTH_HUGE,
  E_DER_TAG,
  E_DER_TAG_FORM,
  E_DER_TIME,
  E_DER_TRAILING,
  E_DER_TRUNCATED,
  E_DER_VALUE,
} from "../errors";
import { TAG_BIT_STRING, TAG_BOOLEAN, TAG_GENERALIZED_TIME, TAG_IA5_STRING, TAG_INTEGER, TAG_NULL, TAG_OID, TAG_PRINTABLE_STRING, TAG_UTC_TIME } from "./tags";
import { daysFromCivil, daysInMonth } from "./time";
import { inMemory } from "../mem";

// Deepest nesting of constructed elements a reader enters (frames of the cursor stack).
export const DER_MAX_DEPTH: i32 = 24;

// The element read last: its tag, first octet (of the tag), value start and value length.
// The whole element is [derStart, derPtr + derLen), e.g. the signed bytes of a tbsCertificate.
export let derTag: i32 = 0;
export let derStart: usize = 0;
export let derPtr: usize = 0;
export let derLen: i32 = 0;
// Seconds since 1970 of the last UTCTime / GeneralizedTime checked.
export let derTime: i64 = 0;
// First error since derInit (0: none).
export let derErr: i32 = 0;

let pos: usize = 0;
let end: usize = 0;
let depth: i32 = 0;
const STACK = memory.data(DER_MAX_DEPTH * 8, 4); // (pos, end) of each enclosing element

// Universal types that are always constructed (X.690 8.9-8.12, 8.18-8.20): EXTERNAL, EMBEDDED
// PDV, SEQUENCE, SET, CHARACTER STRING; all others are primitive in DER (X.690 10.2).
const UNIVERSAL_CONSTRUCTED: u32 = (1 << 8) | (1 << 11) | (1 << 16) | (1 << 17) | (1 << 29);

// Records the first error; always false.
export function derFail(code: i32): bool {
  if (derErr == 0) derErr = code;
  return false;
}

export function derInit(ptr: usize, len: i32): void {
  derErr = 0;
  depth = 0;
  pos = end = ptr;
  if (inMemory(ptr, len)) end += len;
  else derFail(E_ARG);
}

// Parses the header of the element at p, which must end by e. Returns its tag or the error.
export function derHeader(p: usize, e: usize): i32 {
  if (derErr != 0) return derErr;
  derStart = p;
  if (p >= e) return failCode(E_DER_TRUNCATED);
  const tag = <i32>load<u8>(p++);
  if ((tag & 0x1f) == 0x1f) return failCode(E_DER_TAG_FORM); // X.690 8.1.2.4
  if (tag < 0x40) {
    const num = tag & 0x1f;
    if (num == 0) return failCode(E_DER_TAG); // end-of-contents: BER only
    if (((UNIVERSAL_CONSTRUCTED >> num) & 1) != <u32>(tag >> 5)) return failCode(E_DER_TAG_FORM);
  }
  if (p >= e) return failCode(E_DER_TRUNCATED);
  let n = <u32>load<u8>(p++);
  if (n == 0x80) return failCode(E_DER_INDEFINITE); // X.690 10.1
  if (n > 0x80) {
    let k = n - 0x80;
    if (k > 4) return failCode(E_DER_LENGTH_HUGE);
    if (<usize>k > e - p) return failCode(E_DER_TRUNCATED);
    if (load<u8>(p) == 0) return failCode(E_DER_LENGTH); // X.690 10.1: fewest octets
    n = 0;
    for (; k > 0; k--) n = (n << 8) | load<u8>(p++);
    if (n < 0x80) return failCode(E_DER_LENGTH);
    if (n > 0x7fffffff) return failCode(E_DER_LENGTH_HUGE);
  }
  if (<usize>n > e - p) return failCode(E_DER_TRUNCATED);
  derTag = tag;
  derPtr = p;
  derLen = <i32>n;
  return tag;
}

function failCode(code: i32): i32 {
  derFail(code);
  return derErr;
}

// Tag of the next element of the current one, or -1 at its end or after an error.
export function derPeek(): i32 {
  return derAtEnd() ? -1 : <i32>load<u8>(pos);
}

export function derAtEnd(): bool {
  return derErr != 0 || pos >= end;
}

export function derDepth(): i32 {
  return depth;
}

// Reads the next element; returns its tag or the error.
export function derNext(): i32 {
  const tag = derHeader(pos, end);
  if (tag >= 0) pos = derPtr + derLen;
  return tag;
}

// Reads the next element, which must have this tag.
export function derRead(tag: i32): bool {
  const t = derNext();
  return t == tag || (t >= 0 && derFail(E_DER_TAG));
}

// Reads the next element with this tag and checks its value as the universal type `type`
// (the same tag, or the underlying type of an IMPLICIT tag).
export function derReadValue(tag: i32, type: i32 = tag): bool {
  return derRead(tag) && derCheck(type);
}

// OPTIONAL / DEFAULT fields: if the next element has this tag, reads and checks it like
// derReadValue (true); false when absent or after an error. derDescend() then enters it.
export function derOptional(tag: i32, type: i32 = tag): bool {
  return derPeek() == tag && derReadValue(tag, type);
}

// Makes the element just read the current one: its children are read next. Works on primitive
// elements holding DER too (extnValue OCTET STRING, a key inside a BIT STRING after its octet).
export function derDescend(): bool {
  if (depth >= DER_MAX_DEPTH) return derFail(E_DER_DEPTH);
  const f = STACK + ((<usize>depth) << 3);
  store<u32>(f, pos);
  store<u32>(f, end, 4);
  depth++;
  pos = derPtr;
  end = derPtr + derLen;
  return derErr == 0;
}

// Reads the next element (a constructed tag: SEQUENCE, SET, [n] EXPLICIT) and enters it.
export function derEnter(tag: i32): bool {
  return derRead(tag) && derDescend();
}

// Returns to the enclosing element, after the one left; all its children must have been read.
export function derLeave(): bool {
  if (pos != end) derFail(E_DER_TRAILING);
  if (depth > 0) {
    depth--;
    const f = STACK + ((<usize>depth) << 3);
    pos = load<u32>(f);
    end = load<u32>(f, 4);
  }
  return derErr == 0;
}

// End of a parse of exactly one element: 0, or the first error (bytes after it: E_DER_TRAILING).
export function derFinish(): i32 {
  if (depth == 0 && pos != end) derFail(E_DER_TRAILING);
  return derErr;
}

// ---- values (X.690 clauses 8 and 11) ----

// Checks the value of the element just read as universal type `type`; types without rules
// (OCTET STRING, UTF8String, SEQUENCE, context tags ...) always pass.
export function derCheck(type: i32): bool {
  const p = derPtr;
  const n = derLen;
  let bad = false;
  if (type == TAG_BOOLEAN) {
    bad = n != 1 || <u8>(load<u8>(p) + 1) > 1; // X.690 11.1: 0x00 or 0xFF
  } else if (type == TAG_INTEGER) {
    // X.690 8.3.2: the first nine bits are not all zero or all one
    bad = n == 0 || (n > 1 && ((((<u32>load<u8>(p)) << 1) | (load<u8>(p + 1) >> 7)) + 1) % 0x200 <= 1);
  } else if (type == TAG_BIT_STRING) {
    // X.690 8.6.2: unused bits 0..7, 0 when empty; 11.2.1: the unused bits are zero
    const unused = n > 0 ? <u32>load<u8>(p) : 8;
    bad = unused > 7 || (n == 1 && unused != 0) || (load<u8>(p + n - 1) & ((1 << unused) - 1)) != 0;
  } else if (type == TAG_NULL) {
    bad = n != 0;
  } else if (type == TAG_OID) {
    // X.690 8.19.2: subidentifiers end with a clear bit 8 and have no leading 0x80 octet
    bad = n == 0 || load<u8>(p + n - 1) >= 0x80;
    for (let i = 0; i < n; i++) {
      if (load<u8>(p + i) == 0x80 && (i == 0 || load<u8>(p + i - 1) < 0x80)) bad = true;
    }
  } else if (type == TAG_PRINTABLE_STRING || type == TAG_IA5_STRING) {
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(p + i);
      // X.680 41.4 PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ?
      const ok = type == TAG_IA5_STRING ? c < 0x80 : (c | 0x20) - 0x61 < 26 || (c - 0x20 < 32 && ((<u32>0xa7fffb81 >> (c - 0x20)) & 1) != 0);
      if (!ok) bad = true;
    }
  } else if (type == TAG_UTC_TIME || type == TAG_GENERALIZED_TIME) {
    return checkTime(type == TAG_GENERALIZED_TIME ? 2 : 0) || derFail(E_DER_TIME);
  }
  return !bad || derFail(E_DER_VALUE);
}

// n decimal digits at p, or -1.
function digits(p: usize, n: i32): i32 {
  let v: u32 = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i) - 0x30;
    if (c > 9) return -1;
    v = v * 10 + c;
  }
  return <i32>v;
}

// RFC 5280 4.1.2.5.1 UTCTime YYMMDDHHMMSSZ (YY >= 50: 19YY) and 4.1.2.5.2 GeneralizedTime
// YYYYMMDDHHMMSSZ (no fractions); century: 0 or 2 extra year digits. Sets derTime.
function checkTime(century: i32): bool {
  let p = derPtr;
  if (derLen != 13 + century || load<u8>(p + 12 + century) != 0x5a) return false;
  let y = digits(p, 2 + century);
  if (y < 0) return false;
  if (century == 0) y += y < 50 ? 2000 : 1900;
  p += century;
  const m = digits(p + 2, 2);
  const d = digits(p + 4, 2);
  const hh = digits(p + 6, 2);
  const mm = digits(p + 8, 2);
  const ss = digits(p + 10, 2);
  if (<u32>(m - 1) > 11 || d < 1 || d > daysInMonth(y, m) || <u32>hh > 23 || <u32>mm > 59 || <u32>ss > 59) {
    return false;
  }
  derTime = <i64>daysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

// ---- typed reads for parsers ----

// The INTEGER just read (checked) as a value 0..max; the value, or the error (negative).
export function derUint(max: i64): i64 {
  const p = derPtr;
  const n = derLen;
  let v: i64 = 0;
  if (n == 0 || (load<u8>(p) & 0x80) != 0) return failCode(E_DER_VALUE);
  for (let i = 0; i < n; i++) {
    if (v > max >> 8) return failCode(E_DER_VALUE);
    v = (v << 8) | load<u8>(p + i);
  }
  return v <= max ? v : failCode(E_DER_VALUE);
}

// Reads an INTEGER (or IMPLICIT [n] INTEGER) with a value 0..max: the value or the error.
export function derReadUint(max: i64, tag: i32 = TAG_INTEGER): i64 {
  return derReadValue(tag, TAG_INTEGER) ? derUint(max) : derErr;
}

// Reads a BIT STRING with no unused bits (keys, signatures); derPtr/derLen are its octets.
export function derReadBitStringOctets(): bool {
  if (!derReadValue(TAG_BIT_STRING)) return false;
  if (load<u8>(derPtr) != 0) return derFail(E_DER_VALUE);
  derPtr++;
  derLen--;
  return true;
}

// Reads a Time (RFC 5280 4.1: UTCTime or GeneralizedTime) into derTime.
export function derReadTime(): bool {
  const t = derNext();
  if (t < 0) return false;
  if (t != TAG_UTC_TIME && t != TAG_GENERALIZED_TIME) return derFail(E_DER_TAG);
  return derCheck(t);
}

// The OID value [p, p+n) equals the constant [c, c+cn) (e.g. a memory.data<u8>([...]) pointer).
export function oidEquals(p: usize, n: i32, c: usize, cn: i32): bool {
  if (n != cn) return false;
  for (let i = 0; i < n; i++) if (load<u8>(p + i) != load<u8>(c + i)) return false;
  return true;
}
