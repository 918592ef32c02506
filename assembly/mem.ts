// Bounds of linear memory: every (pointer, length) from a host is checked here before use.

// [ptr, ptr + len) lies in linear memory (computed in 64 bits: no wrap-around).
export function inMemory(ptr: usize, len: i32): bool {
  return len >= 0 && <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}
