// DER writer into a caller's buffer [ptr, ptr + cap), back to front: the content of an element
// is written first (its last child first), then derWrap() prepends the tag and the length of
// everything written since a mark, so no length is computed in advance:
//   derWriterInit(ptr, cap); const m = derMark(); ...children, last first...; derWrap(TAG_SEQUENCE, m);
//   const n = derWriterFinish();   // length, or E_DER_BUFFER; the DER is at derWriterPtr()
// The error is sticky: once the buffer is full every later call does nothing.
import { E_ARG, E_DER_BUFFER, E_DER_TIME } from "../errors";
import { inMemory } from "../mem";
import { TAG_BIT_STRING, TAG_BOOLEAN, TAG_GENERALIZED_TIME, TAG_INTEGER, TAG_NULL, TAG_UTC_TIME } from "./tags";
import { civilDay, civilFromDays, civilMonth, civilYear, TIME_MAX, TIME_MIN } from "./time";

let wStart: usize = 0; // buffer start: the lowest address written
let wPos: usize = 0; // first byte written so far
let wEnd: usize = 0; // buffer end
let wErr: i32 = 0;

export function derWriterInit(ptr: usize, cap: i32): void {
  wErr = 0;
  wStart = wPos = wEnd = ptr;
  if (inMemory(ptr, cap)) wPos = wEnd = ptr + cap;
  else wErr = E_ARG;
}

// Length of the DER written, or the first error.
export function derWriterFinish(): i32 {
  return wErr != 0 ? wErr : <i32>(wEnd - wPos);
}

// Address of the first byte written.
export function derWriterPtr(): usize {
  return wPos;
}

// Position to pass to derWrap once the element's content is written.
export function derMark(): usize {
  return wPos;
}

// Claims n bytes before the written ones.
function room(n: i32): bool {
  if (wErr != 0) return false;
  if (<usize>n > wPos - wStart) {
    wErr = E_DER_BUFFER;
    return false;
  }
  wPos -= n;
  return true;
}

export function derPutByte(b: i32): void {
  if (room(1)) store<u8>(wPos, b);
}

export function derPutBytes(p: usize, n: i32): void {
  if (room(n)) for (let i = 0; i < n; i++) store<u8>(wPos + i, load<u8>(p + i));
}

// Tag and length (X.690 10.1: definite, fewest octets) around what was written since mark.
export function derWrap(tag: i32, mark: usize): void {
  let n = <u32>(mark - wPos);
  if (n < 0x80) {
    derPutByte(n);
  } else {
    let k = 0x80;
    for (; n != 0; n >>= 8, k++) derPutByte(n & 0xff);
    derPutByte(k);
  }
  derPutByte(tag);
}

// A primitive element: OCTET STRING, OID constant, UTF8String/PrintableString/IA5String, [n] IMPLICIT ...
export function derPutPrimitive(tag: i32, p: usize, n: i32): void {
  const m = wPos;
  derPutBytes(p, n);
  derWrap(tag, m);
}

// INTEGER of the unsigned big-endian magnitude [p, p+n): redundant leading zeros dropped, a zero
// octet added when the high bit is set (X.690 8.3.2).
export function derPutInteger(p: usize, n: i32): void {
  while (n > 1 && load<u8>(p) == 0) {
    p++;
    n--;
  }
  const m = wPos;
  derPutBytes(p, n);
  if (n == 0 || load<u8>(p) >= 0x80) derPutByte(0);
  derWrap(TAG_INTEGER, m);
}

// INTEGER of a value v >= 0.
export function derPutUint(v: i64): void {
  const m = wPos;
  let b: i32;
  do {
    b = <i32>v & 0xff;
    derPutByte(b);
    v >>>= 8;
  } while (v != 0);
  if (b >= 0x80) derPutByte(0);
  derWrap(TAG_INTEGER, m);
}

// BIT STRING of whole octets (0 unused bits: keys, signatures).
export function derPutBitString(p: usize, n: i32): void {
  const m = wPos;
  derPutBytes(p, n);
  derPutByte(0);
  derWrap(TAG_BIT_STRING, m);
}

export function derPutBoolean(v: bool): void {
  derPutByte(v ? 0xff : 0); // X.690 11.1
  derPutByte(1);
  derPutByte(TAG_BOOLEAN);
}

export function derPutNull(): void {
  derPutByte(0);
  derPutByte(TAG_NULL);
}

// Two decimal digits.
function put2(v: i32): void {
  derPutByte(0x30 + (v % 10));
  derPutByte(0x30 + v / 10);
}

// UTCTime (years 1950..2049) or GeneralizedTime (0000..9999) of t seconds since 1970, in the
// forms of RFC 5280 4.1.2.5: YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ.
export function derPutTime(tag: i32, t: i64): void {
  if (t < TIME_MIN || t > TIME_MAX) {
    if (wErr == 0) wErr = E_DER_TIME;
    return;
  }
  const u = t - TIME_MIN; // >= 0, so / and % round down
  civilFromDays(<i32>(u / 86400) + <i32>(TIME_MIN / 86400));
  const s = <i32>(u % 86400);
  if (tag == TAG_UTC_TIME && <u32>(civilYear - 1950) > 99) {
    if (wErr == 0) wErr = E_DER_TIME;
    return;
  }
  const m = wPos;
  derPutByte(0x5a);
  put2(s % 60);
  put2((s / 60) % 60);
  put2(s / 3600);
  put2(civilDay);
  put2(civilMonth);
  put2(civilYear % 100);
  if (tag == TAG_GENERALIZED_TIME) put2(civilYear / 100);
  derWrap(tag, m);
}

// Drops what was written before p (p between the first written byte and the buffer end): the
// writer continues at p. Lets a caller wrap content temporarily, e.g. to sign SEQUENCE { a, b }
// before writing a and b into a larger SEQUENCE.
export function derWriterRewind(p: usize): void {
  if (wErr == 0 && p >= wPos && p <= wEnd) wPos = p;
}
