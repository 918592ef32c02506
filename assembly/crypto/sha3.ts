// Keccak-f[1600] and its sponges (FIPS 202): SHA3-256, SHA3-512, SHAKE128, SHAKE256, over a
// caller-owned context of SHA3_CTX_SIZE bytes:
//   [0] i32 left to the caller (hash.ts keeps its algorithm id there), [4] rate in bytes u16,
//   [6] position in the current block u16, [8] state 25 x u64 (lanes little-endian, FIPS 202
//   3.1.2), so bytes XOR straight into the state.
// A context absorbs (sha3Absorb), is padded once (sha3Pad), then squeezes any length
// (sha3Squeeze, several calls allowed: SHAKE's output is a stream).
import { wipe } from "./ct";

export const SHA3_CTX_SIZE: i32 = 208;
const ST: usize = 8;

// FIPS 202 3.2.5: round constants of iota; 3.2.2 rho offsets and 3.2.3 pi positions in the
// order of the lane walk (x, y) -> (y, 2x + 3y).
function rc(): usize {
  return memory.data<u64>([
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
    0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
  ]);
}
function rotc(): usize {
  return memory.data<u8>([1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44]);
}
function piln(): usize {
  return memory.data<u8>([10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1]);
}

@inline function lane(s: usize, i: i32): u64 { return load<u64>(s + (<usize>i << 3)); }
@inline function setLane(s: usize, i: i32, v: u64): void { store<u64>(s + (<usize>i << 3), v); }

// Keccak-f[1600] on the 25 lanes at s (FIPS 202 3.3, 3.4: 24 rounds of theta, rho, pi, chi, iota).
export function keccakF(s: usize): void {
  const r = rc(), ro = rotc(), pl = piln(), C = memory.data(40, 8); // C: theta column parities
  for (let round = 0; round < 24; round++) {
    for (let x = 0; x < 5; x++) {
      setLane(C, x, lane(s, x) ^ lane(s, x + 5) ^ lane(s, x + 10) ^ lane(s, x + 15) ^ lane(s, x + 20));
    }
    for (let x = 0; x < 5; x++) {
      const d = lane(C, (x + 4) % 5) ^ rotl<u64>(lane(C, (x + 1) % 5), 1);
      for (let y = 0; y < 25; y += 5) setLane(s, y + x, lane(s, y + x) ^ d);
    }
    let t = lane(s, 1);
    for (let i = 0; i < 24; i++) {
      const j = <i32>load<u8>(pl + i);
      const u = lane(s, j);
      setLane(s, j, rotl<u64>(t, <u64>load<u8>(ro + i)));
      t = u;
    }
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) setLane(C, x, lane(s, y + x));
      for (let x = 0; x < 5; x++) {
        setLane(s, y + x, lane(C, x) ^ (~lane(C, (x + 1) % 5) & lane(C, (x + 2) % 5)));
      }
    }
    setLane(s, 0, lane(s, 0) ^ load<u64>(r + (<usize>round << 3)));
  }
}

// rate: 136 (SHA3-256, SHAKE256), 168 (SHAKE128), 72 (SHA3-512).
export function sha3Init(ctx: usize, rate: i32): void {
  store<u16>(ctx, <u16>rate, 4);
  store<u16>(ctx, 0, 6);
  for (let i: usize = 0; i < 200; i += 8) store<u64>(ctx + ST + i, 0);
}

export function sha3Absorb(ctx: usize, data: usize, len: i32): void {
  const rate = <i32>load<u16>(ctx, 4);
  let pos = <i32>load<u16>(ctx, 6);
  const s = ctx + ST;
  while (len > 0) {
    if (pos == 0 && len >= rate) { // whole blocks, a lane at a time
      for (let i = 0; i < rate; i += 8) store<u64>(s + i, load<u64>(s + i) ^ load<u64>(data + i));
      keccakF(s);
      data += rate; len -= rate;
      continue;
    }
    store<u8>(s + pos, load<u8>(s + pos) ^ load<u8>(data++));
    len--;
    if (++pos == rate) { keccakF(s); pos = 0; }
  }
  store<u16>(ctx, <u16>pos, 6);
}

// Domain separation and pad10*1 (FIPS 202 5.1, 6.1, 6.2): ds = 0x06 for SHA3, 0x1f for SHAKE.
// Leaves the context ready to squeeze from the start of a block.
export function sha3Pad(ctx: usize, ds: u8): void {
  const rate = <i32>load<u16>(ctx, 4), s = ctx + ST;
  const pos = <i32>load<u16>(ctx, 6);
  store<u8>(s + pos, load<u8>(s + pos) ^ ds);
  store<u8>(s + rate - 1, load<u8>(s + rate - 1) ^ 0x80);
  keccakF(s);
  store<u16>(ctx, 0, 6);
}

export function sha3Squeeze(ctx: usize, out: usize, len: i32): void {
  const rate = <i32>load<u16>(ctx, 4), s = ctx + ST;
  let pos = <i32>load<u16>(ctx, 6);
  for (let i = 0; i < len; i++) {
    if (pos == rate) { keccakF(s); pos = 0; }
    store<u8>(out + i, load<u8>(s + pos++));
  }
  store<u16>(ctx, <u16>pos, 6);
}

// One-shot SHA3-256/512 (outLen 32/64, ds 0x06) or SHAKE128/256 (ds 0x1f, any outLen).
export function sha3Once(rate: i32, ds: u8, data: usize, len: i32, out: usize, outLen: i32): void {
  const ONCE = memory.data(SHA3_CTX_SIZE, 8);
  sha3Init(ONCE, rate);
  sha3Absorb(ONCE, data, len);
  sha3Pad(ONCE, ds);
  sha3Squeeze(ONCE, out, outLen);
  wipe(ONCE, SHA3_CTX_SIZE);
}
