// Whole-input DER operations behind the der_* exports: a checked walk over every element and a
// re-encoding through the writer (tests compare both with independent encoders and walkers).
import { E_ARG, E_DER_BUFFER, E_DER_DEPTH, E_DER_TRAILING } from "../errors";
import {
  DER_MAX_DEPTH,
  derAtEnd,
  derCheck,
  derDepth,
  derDescend,
  derErr,
  derFail,
  derFinish,
  derHeader,
  derInit,
  derLeave,
  derLen,
  derNext,
  derPtr,
  derReadTime,
  derStart,
  derTag,
  derTime,
  derUint,
} from "./reader";
import { inMemory } from "../mem";
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
} from "./writer";
import { CONSTRUCTED, TAG_BIT_STRING, TAG_BOOLEAN, TAG_GENERALIZED_TIME, TAG_INTEGER, TAG_NULL, TAG_UTC_TIME } from "./tags";

// Walks the one element [input, input+len), entering every constructed element and checking
// every primitive value; writes (tag, offset, value length, depth) as 4 i32 per element.
export function derWalk(input: usize, len: i32, out: usize, cap: i32): i32 {
  if (!inMemory(out, cap)) return E_ARG;
  derInit(input, len);
  let n = 0;
  do {
    const tag = derNext();
    if (tag < 0) break;
    if (n >= cap >> 4) return E_DER_BUFFER;
    const r = out + ((<usize>n) << 4);
    store<i32>(r, tag);
    store<i32>(r, <i32>(derStart - input), 4);
    store<i32>(r, derLen, 8);
    store<i32>(r, derDepth(), 12);
    n++;
    if ((tag & CONSTRUCTED) != 0) derDescend();
    else derCheck(tag);
    while (derDepth() > 0 && derAtEnd()) derLeave();
  } while (derDepth() > 0);
  const e = derFinish();
  return e != 0 ? e : n;
}

// Parses the one element [input, input+len) and writes it again with the writer into
// [out, out+cap); returns the length (equal to len for valid DER) or an error.
export function derReencode(input: usize, len: i32, out: usize, cap: i32): i32 {
  derInit(input, len);
  derWriterInit(out, cap);
  if (derHeader(input, input + len) >= 0 && derPtr + derLen != input + len) derFail(E_DER_TRAILING);
  if (derErr == 0) reencodeList(input, input + len, 1, 0);
  if (derErr != 0) return derErr;
  const n = derWriterFinish();
  const p = derWriterPtr();
  for (let i = 0; i < n; i++) store<u8>(out + i, load<u8>(p + i)); // down to out: forward is safe
  return n;
}

// Writes the n sibling elements of [a, b) (n < 0: count them) back to front: the later half
// first, then the earlier half, so the recursion is only log2(n) deep per level of nesting.
function reencodeList(a: usize, b: usize, n: i32, depth: i32): void {
  if (derErr != 0) return;
  if (n < 0) {
    n = 0;
    for (let p = a; p < b; n++) {
      if (derHeader(p, b) < 0) return;
      p = derPtr + derLen;
    }
  }
  if (n > 1) {
    const h = n >> 1;
    let m = a;
    for (let i = 0; i < h && derHeader(m, b) >= 0; i++) m = derPtr + derLen;
    reencodeList(m, b, n - h, depth);
    reencodeList(a, m, h, depth);
    return;
  }
  if (n == 0 || derHeader(a, b) < 0) return;
  const tag = derTag;
  const v = derPtr;
  const l = derLen;
  if ((tag & CONSTRUCTED) != 0) {
    if (depth >= DER_MAX_DEPTH) {
      derFail(E_DER_DEPTH);
      return;
    }
    const m = derMark();
    reencodeList(v, v + l, -1, depth + 1);
    derWrap(tag, m);
  } else if (!derCheck(tag)) {
    return;
  } else if (tag == TAG_BOOLEAN) {
    derPutBoolean(load<u8>(v) != 0);
  } else if (tag == TAG_INTEGER && load<u8>(v) < 0x80) {
    if (l <= 8) derPutUint(derUint(i64.MAX_VALUE));
    else derPutInteger(v, l);
  } else if (tag == TAG_BIT_STRING && load<u8>(v) == 0) {
    derPutBitString(v + 1, l - 1);
  } else if (tag == TAG_NULL) {
    derPutNull();
  } else if (tag == TAG_UTC_TIME || tag == TAG_GENERALIZED_TIME) {
    derPutTime(tag, derTime);
  } else {
    derPutPrimitive(tag, v, l);
  }
}

// Reads the one UTCTime or GeneralizedTime [input, input+len) into seconds since 1970 at out.
export function derTimeOf(input: usize, len: i32, out: usize): i32 {
  if (!inMemory(out, 8)) return E_ARG;
  derInit(input, len);
  derReadTime();
  const e = derFinish();
  if (e == 0) store<i64>(out, derTime);
  return e;
}
