// HMAC (RFC 2104) over the hashes of hash.ts. Context: inner hash context, then outer.
import { E_ALG, E_ARG } from "../errors";
import { wipe } from "./ct";
import { LEAN } from "../features";
import { HASH_CTX_SIZE, HASH_STATE, hashBlockSize, hashInit, hashIterate, hashPadFinal, hashUpdate, hashWrite } from "./hash";

export const HMAC_CTX_SIZE: i32 = 416;
const PAD = memory.data(128, 8); // K0 xor ipad / opad, wiped after use
const ONCE = memory.data(416, 8); // context of hmacOnce

export function hmacInit(ctx: usize, alg: i32, key: usize, keyLen: i32): i32 {
  const bs = hashBlockSize(alg);
  if (bs == 0) return E_ALG;
  if (keyLen < 0) return E_ARG;
  const outer = ctx + HASH_CTX_SIZE;
  wipe(PAD, 128);
  if (LEAN && keyLen > bs) return E_ARG; // lean: HMAC keys are PBM's derived keys and the DRBG's
  if (keyLen > bs) {
    // RFC 2104 2: keys longer than B bytes are hashed first
    hashInit(outer, alg);
    hashUpdate(outer, key, keyLen);
    hashPadFinal(outer);
    hashWrite(alg, outer + HASH_STATE, PAD);
  } else {
    for (let i = 0; i < keyLen; i++) store<u8>(PAD + i, load<u8>(key + i));
  }
  for (let i = 0; i < bs; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ 0x36);
  hashInit(ctx, alg);
  hashUpdate(ctx, PAD, bs);
  for (let i = 0; i < bs; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ (0x36 ^ 0x5c));
  hashInit(outer, alg);
  hashUpdate(outer, PAD, bs);
  wipe(PAD, 128);
  return 0;
}

export function hmacUpdate(ctx: usize, data: usize, len: i32): void {
  hashUpdate(ctx, data, len);
}

// H(K0 ^ opad || H(K0 ^ ipad || text)): the outer hash is one block after the opad block.
export function hmacFinal(ctx: usize, out: usize): i32 {
  const alg = load<i32>(ctx);
  const bs = hashBlockSize(alg);
  if (bs == 0) return E_ALG;
  hashPadFinal(ctx);
  hashIterate(alg, ctx + HASH_STATE, ctx + HASH_CTX_SIZE + HASH_STATE, bs);
  const n = hashWrite(alg, ctx + HASH_STATE, out);
  wipe(ctx, HMAC_CTX_SIZE);
  return n;
}

export function hmacOnce(alg: i32, key: usize, keyLen: i32, data: usize, len: i32, out: usize): i32 {
  const r = hmacInit(ONCE, alg, key, keyLen);
  if (r < 0) return r;
  hashUpdate(ONCE, data, len);
  return hmacFinal(ONCE, out);
}
