// Small DER writing helpers shared by the CMP message builders (writer: back to front).
import { derMark, derPutByte, derPutBytes, derPutNull, derPutPrimitive, derWrap, derWriterPtr } from "../der/writer";
import { CONTEXT, CONSTRUCTED, TAG_BIT_STRING, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE } from "../der/tags";

export function putOid(base: usize, n: i32, last: i32 = -1): void {
  const m = derMark();
  if (last >= 0) {
    derPutByte(last);
    n--;
  }
  derPutBytes(base, n);
  derWrap(TAG_OID, m);
}

// AlgorithmIdentifier { algorithm, parameters NULL when nullParams }.
export function putAlgId(base: usize, n: i32, last: i32 = -1, nullParams: bool = false): void {
  const m = derMark();
  if (nullParams) derPutNull();
  putOid(base, n, last);
  derWrap(TAG_SEQUENCE, m);
}

export function putOctets(p: usize, n: i32): void {
  derPutPrimitive(TAG_OCTET_STRING, p, n);
}

// [n] EXPLICIT around what was written since m.
export function wrapExplicit(n: i32, m: usize): void {
  derWrap(CONTEXT | CONSTRUCTED | n, m);
}

// BIT STRING with the one named bit `bit` set (X.680 22.7, X.690 11.2.2: no trailing zero bits):
// a PKIFailureInfo of one failure.
export function putNamedBit(bit: i32): void {
  const m = derMark();
  derPutByte(0x80 >> (bit & 7));
  for (let b = bit >> 3; b > 0; b--) derPutByte(0);
  derPutByte(7 - (bit & 7));
  derWrap(TAG_BIT_STRING, m);
}

function reverse(p: usize, e: usize): void {
  while (e > p + 1) {
    e--;
    const t = load<u8>(p);
    store<u8>(p, load<u8>(e));
    store<u8>(e, t);
    p++;
  }
}

// The writer holds [B][A] from derWriterPtr() to aEnd, A starting at aStart (A written first);
// reorders them in place to [A][B] (how a field written after its predecessor lands after it).
export function swapLast(aStart: usize, aEnd: usize): void {
  const p = derWriterPtr();
  reverse(p, aStart);
  reverse(aStart, aEnd);
  reverse(p, aEnd);
}
