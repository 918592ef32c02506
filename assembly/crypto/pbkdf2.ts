// PBKDF2 (RFC 8018 5.2) with PRF = HMAC over a hash of hash.ts.
import { E_ALG, E_ARG, E_ITERATIONS } from "../errors";
import { wipe } from "./ct";
import { HASH_CTX_SIZE, HASH_STATE, hashBlockSize, hashIterate, hashPadFinal, hashSize, hashUpdate, hashWrite } from "./hash";
import { HMAC_CTX_SIZE, hmacInit } from "./hmac";

const KEYED = memory.data(HMAC_CTX_SIZE, 8); // HMAC context after the key P: the ipad/opad states
const WORK = memory.data(HMAC_CTX_SIZE, 8);
const T = memory.data(64, 8);

export function pbkdf2Hmac(prf: i32, pass: usize, passLen: i32, salt: usize, saltLen: i32, iterations: i32, maxIterations: i32, out: usize, dkLen: i32): i32 {
  const hLen = hashSize(prf),
    bs = hashBlockSize(prf);
  if (bs == 0) return E_ALG; // SHA-1/SHA-2 only
  if (iterations <= 0 || iterations > maxIterations) return E_ITERATIONS;
  if (passLen < 0 || saltLen < 0 || dkLen < 0) return E_ARG;
  hmacInit(KEYED, prf, pass, passLen);
  const inner = KEYED + HASH_STATE,
    outer = KEYED + HASH_CTX_SIZE + HASH_STATE;
  const u = WORK + HASH_STATE;
  for (let i = 1, done = 0; done < dkLen; i++, done += hLen) {
    // U_1 = PRF(P, S || INT(i))
    for (let j = 0; j < HMAC_CTX_SIZE; j += 8) store<u64>(WORK + j, load<u64>(KEYED + j));
    store<u32>(T, bswap<u32>(i));
    hashUpdate(WORK, salt, saltLen);
    hashUpdate(WORK, T, 4);
    hashPadFinal(WORK);
    hashIterate(prf, u, outer, bs);
    for (let j = 0; j < 64; j += 8) store<u64>(T + j, load<u64>(u + j));
    // U_c = PRF(P, U_{c-1}): two single-block compressions from the pad states; T_i = xor of all U
    for (let c = 1; c < iterations; c++) {
      hashIterate(prf, u, inner, bs);
      hashIterate(prf, u, outer, bs);
      for (let j = 0; j < 64; j += 8) store<u64>(T + j, load<u64>(T + j) ^ load<u64>(u + j));
    }
    if (dkLen - done >= hLen) hashWrite(prf, T, out + done);
    else {
      hashWrite(prf, T, WORK);
      for (let j = 0; j < dkLen - done; j++) store<u8>(out + done + j, load<u8>(WORK + j));
    }
  }
  wipe(KEYED, HMAC_CTX_SIZE);
  wipe(WORK, HMAC_CTX_SIZE);
  wipe(T, 64);
  return 0;
}
