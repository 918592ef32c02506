// Append-only stores of typed byte strings in fixed buffers: the transaction's configuration
// (tx_set) and its results (tx_result). Record: kind i32, length i32, bytes (padded to 4).
import { wipe } from "../crypto/ct";

// A store is [base, base + cap); its used size is kept in its first 4 bytes.
export function recClear(base: usize, cap: i32): void {
  wipe(base, cap);
  store<i32>(base, 4);
}

export function recUsed(base: usize): i32 {
  return load<i32>(base);
}

export function recSetUsed(base: usize, used: i32): void {
  const old = load<i32>(base);
  if (old > used) wipe(base + used, old - used);
  store<i32>(base, used);
}

// Reserves one record of n bytes (zeros) for the caller to write; its address, or 0 when full.
export function recReserve(base: usize, cap: i32, kind: i32, n: i32): usize {
  const used = load<i32>(base);
  if (n < 0 || n > cap - used - 8) return 0;
  const r = base + used;
  store<i32>(r, kind);
  store<i32>(r, n, 4);
  store<i32>(base, used + ((8 + n + 3) & ~3));
  return r + 8;
}

// Appends one record holding a copy of [p, p+n); its bytes' address, or 0 when full.
export function recAdd(base: usize, cap: i32, kind: i32, p: usize, n: i32): usize {
  const r = recReserve(base, cap, kind, n);
  if (r != 0) for (let i = 0; i < n; i++) store<u8>(r + i, load<u8>(p + i));
  return r;
}

// Length of the record found by recFind.
export let recLen: i32 = -1;

// Address of the index-th record of this kind (recLen its length), or 0 (recLen -1).
export function recFind(base: usize, kind: i32, index: i32): usize {
  const used = load<i32>(base);
  let off = 4;
  while (off < used) {
    const r = base + off;
    const n = load<i32>(r, 4);
    if (load<i32>(r) == kind && index-- == 0) {
      recLen = n;
      return r + 8;
    }
    off += (8 + n + 3) & ~3;
  }
  recLen = -1;
  return 0;
}
