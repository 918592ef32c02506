// Results of the transaction (tx_result) as (kind, address, length) ranges, not copies: into the
// response they come from (parsed in place), the configuration, or NEW_KEY. A response stays
// where the host put it until the host reads the results (DONE/FAILED); when another response
// will follow (certConf, pollReq), the part of the current one that results point into moves to
// the top of the I/O buffer (keepResults), below what was kept before, and the host puts the
// next response under it.
import { ioBase, ioEnd } from "../io";
import { wipe } from "../crypto/ct";

// Kinds of results (tx_result, docs/ABI.md).
export const RESULT_CERT: i32 = 1,
  RESULT_EXTRA_CERT: i32 = 2,
  RESULT_CA_PUB: i32 = 3,
  RESULT_NEW_KEY: i32 = 4,
  RESULT_STATUS_STRING: i32 = 5,
  RESULT_GENP_ITAV: i32 = 6,
  RESULT_CHAIN: i32 = 7;

export const CA_PUB_PENDING: i32 = 103; // caPubs of a response until its protection says whether to keep them

const RES_MAX: i32 = 64;
const RES = memory.data(RES_MAX * 12, 4);
export let resCount: i32 = 0;
export let resLen: i32 = -1;
export let keepFloor: usize = 0,
  keepTop: usize = 0; // kept bytes lie in [keepFloor, keepTop)

export const NEW_KEY = memory.data(32, 8); // a generated private key (result 4)

export function resClear(): void {
  wipe(RES, RES_MAX * 12);
  wipe(NEW_KEY, 32);
  resCount = 0;
  keepFloor = keepTop = ioEnd;
}

// Forgets the results added after the first n (a refused response).
export function resTruncate(n: i32): void {
  resCount = n;
}

// Polling keeps constant room (RFC 9483 4.4 sets no bound on the polls): each response to a
// pollReq replaces the results (statusString, extraCerts) and kept bytes of the pollRep before
// it; what was kept when polling began stays.
let markCount: i32 = 0,
  markKept: usize = 0;
export function resMark(): void {
  markCount = resCount;
  markKept = keepTop - keepFloor;
}
export function resBackToMark(): void {
  resCount = markCount;
  keepFloor = keepTop - markKept;
}

export function resAdd(kind: i32, p: usize, n: i32): bool {
  if (resCount == RES_MAX) return false;
  const e = RES + <usize>resCount * 12;
  store<i32>(e, kind);
  store<usize>(e, p, 4);
  store<i32>(e, n, 8);
  resCount++;
  return true;
}

// Address of the index-th result of this kind (resLen its length), or 0 (resLen -1).
export function resFind(kind: i32, index: i32): usize {
  for (let i = 0; i < resCount; i++) {
    const e = RES + <usize>i * 12;
    if (load<i32>(e) == kind && index-- == 0) {
      resLen = load<i32>(e, 8);
      return load<usize>(e, 4);
    }
  }
  resLen = -1;
  return 0;
}

// Gives every result of kind `from` the kind `to` (0: dropped).
export function resRetag(from: i32, to: i32): void {
  for (let i = 0; i < resCount; i++) {
    const e = RES + <usize>i * 12;
    if (load<i32>(e) == from) store<i32>(e, to);
  }
}

// [p, p+n) overlaps the kept bytes: a response placed there would destroy results.
export function overlapsKept(p: usize, n: i32): bool {
  return p < keepTop && p + <usize>n > keepFloor;
}

// Moves the span of [p, p+n) that results point into under the kept bytes; adjusts the results
// and returns the shift to apply to other addresses into that span (see kept), or false when
// the I/O buffer has no room left.
let lo: usize = 0,
  hi: usize = 0,
  shift: isize = 0;
export function keepResults(p: usize, n: i32): bool {
  lo = p + <usize>n;
  hi = p;
  shift = 0;
  for (let i = 0; i < resCount; i++) {
    const e = RES + <usize>i * 12;
    const a = load<usize>(e, 4),
      l = load<i32>(e, 8);
    if (a >= p && a < p + <usize>n) {
      if (a < lo) lo = a;
      if (a + <usize>l > hi) hi = a + <usize>l;
    }
  }
  if (hi <= lo) return true;
  const size = hi - lo;
  if (ioBase + size > keepFloor) return false;
  const dst = keepFloor - size;
  if (dst > lo) for (let i = size; i > 0; i--) store<u8>(dst + i - 1, load<u8>(lo + i - 1));
  else for (let i: usize = 0; i < size; i++) store<u8>(dst + i, load<u8>(lo + i));
  shift = <isize>dst - <isize>lo;
  for (let i = 0; i < resCount; i++) {
    const e = RES + <usize>i * 12;
    const a = load<usize>(e, 4);
    if (a >= lo && a < hi) store<usize>(e, <usize>(<isize>a + shift), 4);
  }
  keepFloor = dst;
  return true;
}

// An address after keepResults: moved with the span when it was inside it.
export function kept(a: usize): usize {
  return a >= lo && a < hi ? <usize>(<isize>a + shift) : a;
}

// The I/O buffer moved to [ioBase, ioEnd) (io.ts ioGrow): the kept bytes move to its top, with
// the results into them (kept() then gives the new address of any other pointer into them).
export function keepRebase(): void {
  if (keepTop == ioEnd) return;
  const size = keepTop - keepFloor;
  lo = keepFloor;
  hi = keepTop;
  const dst = ioEnd - size;
  for (let i = size; i > 0; i--) store<u8>(dst + i - 1, load<u8>(lo + i - 1)); // dst > lo: backwards
  shift = <isize>dst - <isize>lo;
  for (let i = 0; i < resCount; i++) {
    const e = RES + <usize>i * 12;
    const a = load<usize>(e, 4);
    if (a >= lo && a < hi) store<usize>(e, <usize>(<isize>a + shift), 4);
  }
  keepFloor = dst;
  keepTop = ioEnd;
}
