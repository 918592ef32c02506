// Arithmetic modulo the P-256 prime p and the group order n (FIPS 186-5 / SEC 2 2.4.2).
// An element is 8 little-endian u32 limbs (32 bytes) in linear memory. Both moduli share one
// Montgomery multiplication (R = 2^256). Every function runs in time independent of the values
// (masks instead of branches, no value-dependent addresses); only exponents in powMod are public.

// Modulus descriptor: limbs [0, 32), -m^-1 mod 2^32 at 32, R^2 mod m at 36, R mod m at 68.
export const MOD_P = memory.data<u32>([
  0xffffffff, 0xffffffff, 0xffffffff, 0x00000000, 0x00000000, 0x00000000, 0x00000001, 0xffffffff, 0x00000001, 0x00000003, 0x00000000, 0xffffffff, 0xfffffffb,
  0xfffffffe, 0xffffffff, 0xfffffffd, 0x00000004, 0x00000001, 0x00000000, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0x00000000,
]);
export const MOD_N = memory.data<u32>([
  0xfc632551, 0xf3b9cac2, 0xa7179e84, 0xbce6faad, 0xffffffff, 0xffffffff, 0x00000000, 0xffffffff, 0xee00bc4f, 0xbe79eea2, 0x83244c95, 0x49bd6fa6, 0x4699799c,
  0x2b6bec59, 0x2845b239, 0xf3d95620, 0x66e12d94, 0x039cdaaf, 0x0c46353d, 0x58e8617b, 0x43190552, 0x00000000, 0x00000000, 0xffffffff, 0x00000000,
]);
export const R2: usize = 36,
  ONE: usize = 68; // offsets into a modulus descriptor

const M32: u64 = 0xffffffff;
const SUB = memory.data(32, 8);
const EXP = memory.data(32, 8);
const POW = memory.data(16 * 32, 8); // a^0 .. a^15 for powMod
export const PLAIN_ONE = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0]);

// r = r - m if carry·2^256 + r >= m, else r (inputs below 2m).
function reduceOnce(r: usize, m: usize, carry: u64): void {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    const d = <u64>load<u32>(r + i) - <u64>load<u32>(m + i) - borrow;
    store<u32>(SUB + i, <u32>d);
    borrow = d >> 63;
  }
  select(r, carry, borrow);
}

// r = SUB unless carry - borrow < 0 (the subtraction of m went negative).
function select(r: usize, carry: u64, borrow: u64): void {
  const keep = <u32>(0 - ((carry - borrow) >> 63));
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(r + i, (load<u32>(r + i) & keep) | (load<u32>(SUB + i) & ~keep));
  }
}

// r = a·b·R^-1 mod m (Montgomery CIOS, Koç et al. 1996). r may alias a or b.
export function mulMod(r: usize, a: usize, b: usize, m: usize): void {
  const a0 = <u64>load<u32>(a),
    a1 = <u64>load<u32>(a, 4),
    a2 = <u64>load<u32>(a, 8),
    a3 = <u64>load<u32>(a, 12);
  const a4 = <u64>load<u32>(a, 16),
    a5 = <u64>load<u32>(a, 20),
    a6 = <u64>load<u32>(a, 24),
    a7 = <u64>load<u32>(a, 28);
  const m0 = <u64>load<u32>(m),
    m1 = <u64>load<u32>(m, 4),
    m2 = <u64>load<u32>(m, 8),
    m3 = <u64>load<u32>(m, 12);
  const m4 = <u64>load<u32>(m, 16),
    m5 = <u64>load<u32>(m, 20),
    m6 = <u64>load<u32>(m, 24),
    m7 = <u64>load<u32>(m, 28);
  const minv = <u64>load<u32>(m, 32);
  let t0: u64 = 0,
    t1: u64 = 0,
    t2: u64 = 0,
    t3: u64 = 0,
    t4: u64 = 0,
    t5: u64 = 0,
    t6: u64 = 0,
    t7: u64 = 0,
    t8: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    const bi = <u64>load<u32>(b + i);
    let c = t0 + a0 * bi;
    t0 = c & M32;
    c >>= 32;
    c += t1 + a1 * bi;
    t1 = c & M32;
    c >>= 32;
    c += t2 + a2 * bi;
    t2 = c & M32;
    c >>= 32;
    c += t3 + a3 * bi;
    t3 = c & M32;
    c >>= 32;
    c += t4 + a4 * bi;
    t4 = c & M32;
    c >>= 32;
    c += t5 + a5 * bi;
    t5 = c & M32;
    c >>= 32;
    c += t6 + a6 * bi;
    t6 = c & M32;
    c >>= 32;
    c += t7 + a7 * bi;
    t7 = c & M32;
    t8 += c >> 32;
    const q = (t0 * minv) & M32;
    if (minv == 1) {
      // m = p: limbs 2^32-1, 2^32-1, 2^32-1, 0, 0, 0, 1, 2^32-1, so q·m needs no products
      t0 = t1;
      t1 = t2; // t0 + q·(2^96 - 1) = q·2^96: the low limbs shift down, carry q
      c = t3 + q;
      t2 = c & M32;
      c >>= 32;
      c += t4;
      t3 = c & M32;
      c >>= 32;
      c += t5;
      t4 = c & M32;
      c >>= 32;
      c += t6 + q;
      t5 = c & M32;
      c >>= 32;
      c += t7 + (q << 32) - q;
      t6 = c & M32;
      c >>= 32;
    } else {
      c = (t0 + q * m0) >> 32;
      c += t1 + q * m1;
      t0 = c & M32;
      c >>= 32;
      c += t2 + q * m2;
      t1 = c & M32;
      c >>= 32;
      c += t3 + q * m3;
      t2 = c & M32;
      c >>= 32;
      c += t4 + q * m4;
      t3 = c & M32;
      c >>= 32;
      c += t5 + q * m5;
      t4 = c & M32;
      c >>= 32;
      c += t6 + q * m6;
      t5 = c & M32;
      c >>= 32;
      c += t7 + q * m7;
      t6 = c & M32;
      c >>= 32;
    }
    c += t8;
    t7 = c & M32;
    t8 = c >> 32;
  }
  store<u32>(r, <u32>t0);
  store<u32>(r, <u32>t1, 4);
  store<u32>(r, <u32>t2, 8);
  store<u32>(r, <u32>t3, 12);
  store<u32>(r, <u32>t4, 16);
  store<u32>(r, <u32>t5, 20);
  store<u32>(r, <u32>t6, 24);
  store<u32>(r, <u32>t7, 28);
  reduceOnce(r, m, t8);
}

// r = a + b mod m: the sum into r and the sum minus m into SUB in one pass, then select.
export function addMod(r: usize, a: usize, b: usize, m: usize): void {
  let c: u64 = 0,
    borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    const sum = c & M32;
    store<u32>(r + i, <u32>sum);
    c >>= 32;
    const d = sum - <u64>load<u32>(m + i) - borrow;
    store<u32>(SUB + i, <u32>d);
    borrow = d >> 63;
  }
  select(r, c, borrow);
}

// r = a - b mod m.
export function subMod(r: usize, a: usize, b: usize, m: usize): void {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    const d = <u64>load<u32>(a + i) - <u64>load<u32>(b + i) - borrow;
    store<u32>(r + i, <u32>d);
    borrow = d >> 63;
  }
  const mask = 0 - borrow; // add m back when a < b
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(r + i) + (<u64>load<u32>(m + i) & mask);
    store<u32>(r + i, <u32>c);
    c >>= 32;
  }
}

// r = a mod m for a < 2m (any 256-bit a when m > 2^255, as p and n are).
export function reduceMod(r: usize, a: usize, m: usize): void {
  copy(r, a);
  reduceOnce(r, m, 0);
}

// r = a^e·R^(1-e) mod m: a^e in the Montgomery domain, 4-bit fixed window over the exponent e
// (8 limbs), which is public; the table is read at public indices only.
export function powMod(r: usize, a: usize, e: usize, m: usize): void {
  copy(POW, m + ONE);
  for (let j: usize = 1; j < 16; j++) mulMod(POW + j * 32, POW + (j - 1) * 32, a, m); // a^j
  copy(r, m + ONE);
  for (let i = 63; i >= 0; i--) {
    mulMod(r, r, r, m);
    mulMod(r, r, r, m);
    mulMod(r, r, r, m);
    mulMod(r, r, r, m);
    const nib = (load<u32>(e + ((<usize>(i >> 3)) << 2)) >> ((i & 7) << 2)) & 15;
    if (nib) mulMod(r, r, POW + <usize>nib * 32, m);
  }
  for (let w: usize = 0; w < 16 * 32; w += 4) store<u32>(POW + w, 0);
}

// r = a^-1 in the Montgomery domain (Fermat: a^(m-2)); 0 for 0.
export function invMod(r: usize, a: usize, m: usize): void {
  copy(EXP, m);
  store<u32>(EXP, load<u32>(m) - 2); // no borrow: the low limbs of p and n exceed 2
  powMod(r, a, EXP, m);
}

// 1 when a < m, else 0.
export function ltMod(a: usize, m: usize): u32 {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) borrow = (<u64>load<u32>(a + i) - <u64>load<u32>(m + i) - borrow) >> 63;
  return <u32>borrow;
}

// 1 when a == 0, else 0.
export function isZero(a: usize): u32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i);
  return <u32>((<u64>acc - 1) >> 63);
}

// 1 when a == b, else 0.
export function equal(a: usize, b: usize): u32 {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i) ^ load<u32>(b + i);
  return <u32>((<u64>acc - 1) >> 63);
}

export function copy(r: usize, a: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(r + i, load<u32>(a + i));
}

// Zero the scratch that last held (values minus m) of a private-key operation.
export function fieldWipe(): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(SUB + i, 0);
}

// 32 big-endian bytes <-> limbs.
export function fromBytes(r: usize, s: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(r + i, bswap<u32>(load<u32>(s + 28 - i)));
}
export function toBytes(s: usize, a: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(s + 28 - i, bswap<u32>(load<u32>(a + i)));
}
