// Bounds of linear memory: every (pointer, length) from a host is checked here before use.

// [ptr, ptr + len) lies in linear memory (computed in 64 bits: no wrap-around).
export function inMemory(ptr: usize, len: i32): bool {
  return len >= 0 && <u64>ptr + <u64>len <= (<u64>memory.size()) << 16;
}

// a[0..n) == b[0..n) (not constant time: for public values).
export function bytesEqual(a: usize, b: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}
