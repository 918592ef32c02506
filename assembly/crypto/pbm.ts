// PasswordBasedMac (RFC 4210 5.1.3.1, RFC 9810 5.1.3.1): BASEKEY = OWF applied iterationCount
// times, the first time over password || salt; the MAC is HMAC(mac, BASEKEY, data).
import { E_ALG, E_ARG, E_ITERATIONS } from "../errors";
import { wipe } from "./ct";
import { HASH_CTX_SIZE, HASH_STATE, hashBlockSize, hashInit, hashIterate, hashIV, hashPadFinal, hashUpdate, hashWrite } from "./hash";
import { hmacOnce } from "./hmac";

const CTX = memory.data(HASH_CTX_SIZE, 8);
const IV = memory.data(64, 8);
const BASEKEY = memory.data(64, 8);

export function passwordBasedMac(
  owf: i32,
  mac: i32,
  secret: usize,
  secretLen: i32,
  salt: usize,
  saltLen: i32,
  iterationCount: i32,
  maxIterations: i32,
  data: usize,
  len: i32,
  out: usize,
): i32 {
  if (hashBlockSize(owf) == 0 || hashBlockSize(mac) == 0) return E_ALG; // SHA-1/SHA-2 only
  if (iterationCount <= 0 || iterationCount > maxIterations) return E_ITERATIONS;
  if (secretLen < 0 || saltLen < 0 || len < 0) return E_ARG;
  hashInit(CTX, owf);
  hashUpdate(CTX, secret, secretLen);
  hashUpdate(CTX, salt, saltLen);
  hashPadFinal(CTX);
  // Later iterations hash the previous digest: one pre-padded block each, on state words.
  hashIV(owf, IV);
  for (let i = 1; i < iterationCount; i++) hashIterate(owf, CTX + HASH_STATE, IV, 0);
  const n = hashWrite(owf, CTX + HASH_STATE, BASEKEY);
  wipe(CTX, HASH_CTX_SIZE);
  const r = hmacOnce(mac, BASEKEY, n, data, len, out);
  wipe(BASEKEY, 64);
  return r;
}
