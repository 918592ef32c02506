// Constant-time comparison and wiping of secrets (DESIGN: MACs compared in constant time,
// secrets wiped after use).

// a[0..len) == b[0..len), in time that depends on len only.
export function ctEqual(a: usize, b: usize, len: i32): bool {
  let d: u32 = 0;
  for (let i = 0; i < len; i++) d |= load<u8>(a + i) ^ load<u8>(b + i);
  return d == 0;
}

// Zero p[0..len). Stores to linear memory are observable, so the optimiser keeps them.
export function wipe(p: usize, len: i32): void {
  for (let i = 0; i < len; i++) store<u8>(p + i, 0);
}
