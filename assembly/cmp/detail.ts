import { TEXT, textFull } from "./text";
import { LEAN } from "../features";
import { derEnter, derErr, derInit, derLen, derPtr, derRead } from "../der/reader";
import { TAG_OID, TAG_SEQUENCE } from "../der/tags";

// The readable ASCII text that explains a FAILED transaction (tx_detail), built without allocation.
const DETAIL_SIZE: i32 = 480;
export const DETAIL = memory.data(DETAIL_SIZE, 4);
export let detailLen: i32 = 0;

export function detailClear(): void {
  detailLen = 0;
}

export function sayChar(c: i32): void {
  if (detailLen < DETAIL_SIZE) store<u8>(DETAIL + detailLen++, <u8>c);
}

// Appends a text of text.ts (T_*: offset << 12 | length; bit 30: of textFull(), which only
// the full module's code says, so the lean module never compiles it).
export function say(t: i32): void {
  if (!LEAN)
    if (t & (1 << 30)) {
      sayText(textFull() + ((<u32>t >> 12) & 0x3ffff), t & 0xfff);
      return;
    }
  sayText(TEXT + (<u32>t >> 12), t & 0xfff);
}

// Appends the k-th name of a comma-separated list text (its number when the list is shorter).
export function sayName(list: i32, k: i32): void {
  sayListName(TEXT + (<u32>list >> 12), list & 0xfff, k);
}

// The k-th name of the comma-separated list [p, p+n) (its number when the list is shorter).
export function sayListName(p: usize, n: i32, k: i32): void {
  const end = p + n;
  for (let j = k; j > 0 && p < end; p++) if (load<u8>(p) == 0x2c) j--;
  if (p >= end) {
    sayInt(k);
    return;
  }
  for (; p < end && load<u8>(p) != 0x2c; p++) sayChar(load<u8>(p));
}

export function sayInt(v: i32): void {
  if (v < 0) {
    sayChar(0x2d);
    v = -v;
  }
  let d = 1;
  while (v / d >= 10) d *= 10;
  for (; d > 0; d /= 10) sayChar(0x30 + ((v / d) % 10));
}

// Appends bytes from a message (statusString UTF-8): printable ASCII kept, others as '?'.
export function sayText(p: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(p + i);
    sayChar(c >= 0x20 && c < 0x7f ? c : 0x3f);
  }
}

// Appends an OID from its contents octets in dotted form (X.690 8.19), e.g. 1.3.101.113; an arc
// of more than 31 bits as "?".
export function sayOid(p: usize, n: i32): void {
  let v: u32 = 0,
    first = true,
    big = false;
  for (let i = 0; i < n; i++) {
    const b = <u32>load<u8>(p + i);
    if (v > 0xffffff) big = true;
    v = (v << 7) | (b & 0x7f);
    if ((b & 0x80) != 0) continue;
    if (!first) sayChar(0x2e);
    if (big) sayChar(0x3f);
    else if (first) {
      const a: u32 = v < 80 ? v / 40 : 2;
      sayInt(<i32>a);
      sayChar(0x2e);
      sayInt(<i32>(v - a * 40));
    } else sayInt(<i32>v);
    first = false;
    big = false;
    v = 0;
  }
}

// Appends the OID of an AlgorithmIdentifier element, or of the algorithm of a
// SubjectPublicKeyInfo (its first element); "?" when there is none. Uses the DER cursor.
export function sayAlgOid(p: usize, n: i32): void {
  derInit(p, n);
  derEnter(TAG_SEQUENCE);
  if (!derRead(TAG_OID)) {
    // a SubjectPublicKeyInfo: the AlgorithmIdentifier comes first
    derInit(p, n);
    derEnter(TAG_SEQUENCE);
    derEnter(TAG_SEQUENCE);
    derRead(TAG_OID);
  }
  if (derErr != 0) sayChar(0x3f);
  else sayOid(derPtr, derLen);
}
