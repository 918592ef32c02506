// SHA-1 / SHA-256 / SHA-384 / SHA-512 (FIPS 180-4) over a caller-owned context:
//   [0] alg i32, [4] bytes buffered i32, [8] total length u64, [16] chaining state (8 x u64 max),
//   [80] block buffer (128).
// SHAKE256 with 64 bytes of output (FIPS 202; RFC 9481 2.2 / RFC 8419 for Ed448) in the full
// module: the context is then sha3.ts's ([0] alg, sponge from [4]). It has no block size here,
// so HMAC, PBKDF2 and PBM refuse it (RFC 9481 6: it is no MAC hash).
import { E_ALG } from "../errors";
import { wipe } from "./ct";
import { LEAN } from "../features";
import { iv1, sha1Block } from "./sha1";
import { sha256Block, sha256IV } from "./sha256";
import { iv512, sha512Block } from "./sha512";
import { sha3Absorb, sha3Init, sha3Pad, sha3Squeeze } from "./sha3";

export const HASH_SHA1: i32 = 1,
  HASH_SHA256: i32 = 2,
  HASH_SHA384: i32 = 3,
  HASH_SHA512: i32 = 4,
  HASH_SHAKE256: i32 = 5;
export const HASH_CTX_SIZE: i32 = 208;
export const HASH_STATE: i32 = 16; // offset of the chaining state in a context
const BUF: usize = 80;

// Message schedule, shared by every compression (SHA-512 needs 80 u64 words).
const W = memory.data(640, 8);
// Context of hashOnce.
const ONCE = memory.data(208, 8);

export function hashSize(alg: i32): i32 {
  if (LEAN) return alg == HASH_SHA256 ? 32 : 0;
  return alg == HASH_SHA1 ? 20 : alg == HASH_SHA256 ? 32 : alg == HASH_SHA384 ? 48 : alg == HASH_SHA512 || alg == HASH_SHAKE256 ? 64 : 0;
}

export function hashBlockSize(alg: i32): i32 {
  if (LEAN) return alg == HASH_SHA256 ? 64 : 0;
  return alg == HASH_SHA1 || alg == HASH_SHA256 ? 64 : alg == HASH_SHA384 || alg == HASH_SHA512 ? 128 : 0;
}

// Initial hash value into st (FIPS 180-4 5.3).
export function hashIV(alg: i32, st: usize): void {
  if (LEAN) {
    sha256IV(st);
    return;
  }
  if (alg == HASH_SHA256) {
    sha256IV(st);
    return;
  }
  for (let i: usize = 0; i < 8; i++) {
    if (alg == HASH_SHA1) store<u32>(st + (i << 2), i < 5 ? load<u32>(iv1() + (i << 2)) : 0);
    else store<u64>(st + (i << 3), load<u64>(iv512() + (i << 3) + (alg == HASH_SHA384 ? 64 : 0)));
  }
}

// Compress the block held in W into st.
function compress(alg: i32, st: usize): void {
  if (LEAN) {
    sha256Block(st, W);
    return;
  }
  if (alg == HASH_SHA256) sha256Block(st, W);
  else if (alg == HASH_SHA1) sha1Block(st, W);
  else sha512Block(st, W);
}

// Load one block from src as big-endian words (FIPS 180-4 3.1) and compress it.
function block(ctx: usize, src: usize): void {
  const alg = load<i32>(ctx);
  for (let i: usize = 0; i < 16; i++) {
    if (LEAN || alg <= HASH_SHA256) store<u32>(W + (i << 2), bswap(load<u32>(src + (i << 2))));
    else store<u64>(W + (i << 3), bswap(load<u64>(src + (i << 3))));
  }
  compress(alg, ctx + HASH_STATE);
}

export function hashInit(ctx: usize, alg: i32): i32 {
  if (hashSize(alg) == 0) return E_ALG;
  store<i32>(ctx, alg);
  if (!LEAN && alg == HASH_SHAKE256) {
    sha3Init(ctx, 136);
    return 0;
  }
  store<i32>(ctx, 0, 4);
  store<u64>(ctx, 0, 8);
  hashIV(alg, ctx + HASH_STATE);
  return 0;
}

export function hashUpdate(ctx: usize, data: usize, len: i32): void {
  if (!LEAN && load<i32>(ctx) == HASH_SHAKE256) {
    if (len > 0) sha3Absorb(ctx, data, len);
    return;
  }
  const bs = hashBlockSize(load<i32>(ctx));
  if (bs == 0 || len <= 0) return;
  store<u64>(ctx, load<u64>(ctx, 8) + <u64>len, 8);
  let fill = load<i32>(ctx, 4);
  const buf = ctx + BUF;
  while (len > 0) {
    if (fill == 0 && len >= bs) {
      // whole blocks straight from the input
      block(ctx, data);
      data += bs;
      len -= bs;
      continue;
    }
    store<u8>(buf + fill, load<u8>(data++));
    len--;
    if (++fill == bs) {
      block(ctx, buf);
      fill = 0;
    }
  }
  store<i32>(ctx, fill, 4);
}

// Padding and length (FIPS 180-4 5.1): leaves the final chaining state at ctx + HASH_STATE.
export function hashPadFinal(ctx: usize): void {
  const bs = hashBlockSize(load<i32>(ctx));
  const buf = ctx + BUF;
  let fill = load<i32>(ctx, 4);
  store<u8>(buf + fill++, 0x80);
  if (fill > bs - (bs >> 3)) {
    // no room for the 64- or 128-bit length
    while (fill < bs) store<u8>(buf + fill++, 0);
    block(ctx, buf);
    fill = 0;
  }
  while (fill < bs - 8) store<u8>(buf + fill++, 0);
  store<u64>(buf + bs - 8, bswap(load<u64>(ctx, 8) << 3));
  block(ctx, buf);
}

// The digest of state st, big-endian, to out; returns its length.
export function hashWrite(alg: i32, st: usize, out: usize): i32 {
  const n = hashSize(alg);
  if (LEAN || alg <= HASH_SHA256) for (let i = 0; i < n; i += 4) store<u32>(out + i, bswap(load<u32>(st + i)));
  else for (let i = 0; i < n; i += 8) store<u64>(out + i, bswap(load<u64>(st + i)));
  return n;
}

// st := H-compression, from chaining state `from`, of the single padded block that holds the
// digest in st after `prefix` bytes already hashed (one block when iterating a hash or an HMAC
// with precomputed pads). Works on state words directly: no byte conversion, no buffering.
export function hashIterate(alg: i32, st: usize, from: usize, prefix: i32): void {
  const n = hashSize(alg);
  const bits = (<u64>(prefix + n)) << 3;
  if (LEAN || alg <= HASH_SHA256) {
    for (let i = 0; i < 64; i += 4) store<u32>(W + i, i < n ? load<u32>(st + i) : 0);
    store<u32>(W + n, 0x80000000);
    store<u32>(W + 60, <u32>bits);
  } else {
    for (let i = 0; i < 128; i += 8) store<u64>(W + i, i < n ? load<u64>(st + i) : 0);
    store<u64>(W + n, 0x8000000000000000);
    store<u64>(W + 120, bits);
  }
  for (let i = 0; i < 64; i += 8) store<u64>(st + i, load<u64>(from + i));
  compress(alg, st);
}

export function hashFinal(ctx: usize, out: usize): i32 {
  const alg = load<i32>(ctx);
  if (hashSize(alg) == 0) return E_ALG;
  let n = 64;
  if (!LEAN && alg == HASH_SHAKE256) {
    sha3Pad(ctx, 0x1f);
    sha3Squeeze(ctx, out, n);
  } else {
    hashPadFinal(ctx);
    n = hashWrite(alg, ctx + HASH_STATE, out);
  }
  wipe(ctx, HASH_CTX_SIZE);
  wipe(W, 640); // the last block may be the caller's secret
  return n;
}

export function hashOnce(alg: i32, data: usize, len: i32, out: usize): i32 {
  const r = hashInit(ONCE, alg);
  if (r < 0) return r;
  hashUpdate(ONCE, data, len);
  return hashFinal(ONCE, out);
}
