// Multi-precision unsigned integers for signature verification (RSA up to 4096 bits, P-384,
// P-521). A number is `n` little-endian u32 limbs at a pointer (so its bytes are the big-endian
// encoding reversed); products are u64. No allocation: callers own every buffer.
// Only public values pass through here (keys, signatures, digests), so the code is variable
// time by design; it must never be used with secrets.

export const BN_MAX_LIMBS: i32 = 128; // 4096-bit RSA

// Montgomery context ("Mod") at c: i32 limb count n, u32 m0inv = -m^-1 mod 2^32, the odd modulus
// m (n limbs), then R² mod m (n limbs) with R = 2^(32n). Size 8 + 8n bytes.
export function modM(c: usize): usize { return c + 8; }

const T = memory.data(BN_MAX_LIMBS * 4 + 4, 8); // montMul accumulator, n + 1 limbs
const U = memory.data(BN_MAX_LIMBS * 4, 8);     // montPow: copy of the base
const W = memory.data(BN_MAX_LIMBS * 4, 8);     // modInv: exponent m - 2
const ONE = memory.data<u32>([1]);

@inline function limb(a: usize, i: i32): u32 { return load<u32>(a + (<usize>i << 2)); }
@inline function setLimb(a: usize, i: i32, v: u32): void { store<u32>(a + (<usize>i << 2), v); }

export function bnCopy(out: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) setLimb(out, i, limb(a, i));
}

export function bnIsZero(a: usize, n: i32): bool {
  let x: u32 = 0;
  for (let i = 0; i < n; i++) x |= limb(a, i);
  return x == 0;
}

// -1, 0 or 1 as a < b, a == b, a > b.
export function bnCmp(a: usize, b: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    const x = limb(a, i), y = limb(b, i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// out = a + b; returns the carry (0 or 1). out may alias a or b.
export function bnAdd(out: usize, a: usize, b: usize, n: i32): u32 {
  let c: u64 = 0;
  for (let i = 0; i < n; i++) {
    c += <u64>limb(a, i) + <u64>limb(b, i);
    setLimb(out, i, <u32>c);
    c >>= 32;
  }
  return <u32>c;
}

// out = a - b; returns the borrow (0 or 1). out may alias a or b.
export function bnSub(out: usize, a: usize, b: usize, n: i32): u32 {
  let c: i64 = 0;
  for (let i = 0; i < n; i++) {
    c += <i64>limb(a, i) - <i64>limb(b, i);
    setLimb(out, i, <u32>c);
    c >>= 32;
  }
  return <u32>c & 1;
}

// Number of significant bits of a.
export function bnBits(a: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    const x = limb(a, i);
    if (x != 0) return (i << 5) + 32 - <i32>clz(x);
  }
  return 0;
}

export function bnBit(a: usize, i: i32): u32 { return (limb(a, i >> 5) >> (i & 31)) & 1; }

// out (n limbs) = the big-endian bytes [src, src+len) (RFC 8017 OS2IP). Returns false when the
// value does not fit in n limbs (leading zero bytes are allowed).
export function bnFromBytes(out: usize, n: i32, src: usize, len: i32): bool {
  while (len > 0 && load<u8>(src) == 0) { src++; len--; }
  if (len > (n << 2)) return false;
  for (let i = 0; i < (n << 2); i++) {
    store<u8>(out + i, i < len ? load<u8>(src + len - 1 - i) : 0);
  }
  return true;
}

// The len big-endian bytes of a (n limbs) at out (RFC 8017 I2OSP); a must be < 2^(8 len).
export function bnToBytes(out: usize, len: i32, a: usize, n: i32): void {
  for (let i = 0; i < len; i++) {
    store<u8>(out + len - 1 - i, i < (n << 2) ? load<u8>(a + i) : 0);
  }
}

// out = a + b mod m, for a, b < m.
export function modAdd(out: usize, a: usize, b: usize, c: usize): void {
  const n = load<i32>(c), m = modM(c);
  if (bnAdd(out, a, b, n) != 0 || bnCmp(out, m, n) >= 0) bnSub(out, out, m, n);
}

// out = a - b mod m, for a, b < m.
export function modSub(out: usize, a: usize, b: usize, c: usize): void {
  const n = load<i32>(c);
  if (bnSub(out, a, b, n) != 0) bnAdd(out, out, modM(c), n);
}

// out = a b R^-1 mod m (Montgomery multiplication; Koc, Acar, Kaliski 1996, the multiply and
// reduce steps interleaved in one inner loop), where b has bn limbs (the rest taken as zero).
// a, b < m gives out < m (the accumulator stays below 2m); out may alias a or b.
function montMulN(out: usize, a: usize, b: usize, bn: i32, c: usize): void {
  const n = load<i32>(c), m0inv = load<u32>(c, 4), m = modM(c);
  for (let j = 0; j <= n; j++) setLimb(T, j, 0);
  for (let i = 0; i < n; i++) {
    const bi = i < bn ? <u64>limb(b, i) : 0;
    let t = <u64>limb(T, 0) + <u64>limb(a, 0) * bi;
    const u = <u64>(<u32>t * m0inv);
    let s = (t & 0xffffffff) + u * <u64>limb(m, 0);
    for (let j = 1; j < n; j++) {
      t = <u64>limb(T, j) + <u64>limb(a, j) * bi + (t >> 32);
      s = (t & 0xffffffff) + u * <u64>limb(m, j) + (s >> 32);
      setLimb(T, j - 1, <u32>s);
    }
    t = <u64>limb(T, n) + (t >> 32) + (s >> 32);
    setLimb(T, n - 1, <u32>t);
    setLimb(T, n, <u32>(t >> 32));
  }
  if (limb(T, n) != 0 || bnCmp(T, m, n) >= 0) bnSub(out, T, m, n);
  else bnCopy(out, T, n);
}

export function montMul(out: usize, a: usize, b: usize, c: usize): void {
  montMulN(out, a, b, load<i32>(c), c);
}

// Into Montgomery form: a R mod m (a < m).
export function toMont(out: usize, a: usize, c: usize): void {
  montMul(out, a, c + 8 + (<usize>load<i32>(c) << 2), c);
}

// Out of Montgomery form: a R^-1 mod m.
export function fromMont(out: usize, a: usize, c: usize): void {
  montMulN(out, a, ONE, 1, c);
}

// out = x^e in Montgomery form (x in Montgomery form), e >= 1 of el limbs; left-to-right
// square-and-multiply over windows of up to two bits, 11 multiplying by x^3 (made at its first
// use): an RSA exponent 2^32 - 1 takes 31 squarings and 18 products instead of 31 and 31 (the
// costliest verification, docs/SECURITY.md rule 6). e is public. out may alias x.
export function montPow(out: usize, x: usize, e: usize, el: i32, c: usize): void {
  const n = load<i32>(c),
    U3 = memory.data(BN_MAX_LIMBS * 4, 8); // the cube of the base
  bnCopy(U, x, n);
  bnCopy(out, U, n);
  let cubed = false;
  for (let i = bnBits(e, el) - 2; i >= 0; i--) {
    montMul(out, out, out, c);
    if (!bnBit(e, i)) continue;
    if (i == 0 || !bnBit(e, i - 1)) {
      montMul(out, out, U, c);
      continue;
    }
    if (!cubed) {
      montMul(U3, U, U, c);
      montMul(U3, U3, U, c);
      cubed = true;
    }
    montMul(out, out, out, c);
    montMul(out, out, U3, c);
    i--;
  }
}

// Completes the context at c whose limb count and odd modulus m > 2 are in place: m0inv and
// R² mod m, computed here (no tables). With b = bits(m): 2^(b-1) < m, doubled 32n - b + 2 times
// gives 2R mod m, and (2R)^(32n) in Montgomery form is 2^(32n) R = R² mod m.
export function modInit(c: usize): void {
  const n = load<i32>(c), m = modM(c), rr = m + (<usize>n << 2), b = bnBits(m, n);
  const m0 = limb(m, 0);
  let inv: u32 = 1; // Newton iteration for m0^-1 mod 2^32: each step doubles the correct bits
  for (let i = 0; i < 5; i++) inv *= 2 - m0 * inv;
  store<u32>(c, -inv, 4);
  for (let i = 0; i < n; i++) setLimb(rr, i, i == (b - 1) >> 5 ? 1 << ((b - 1) & 31) : 0);
  for (let i = b; i <= (n << 5) + 1; i++) modAdd(rr, rr, rr, c);
  setLimb(W, 0, <u32>(n << 5));
  montPow(rr, rr, W, 1, c);
}

// out = a^-1 mod m in Montgomery form, for a prime m and a in Montgomery form, a != 0
// (Fermat: a^(m-2)).
export function modInv(out: usize, a: usize, c: usize): void {
  const n = load<i32>(c);
  bnCopy(W, modM(c), n);
  for (let i = 0; i < n; i++) { // W -= 2
    const x = limb(W, i), d: u32 = i == 0 ? 2 : 1;
    setLimb(W, i, x - d);
    if (x >= d) break;
  }
  montPow(out, a, W, n, c);
}
