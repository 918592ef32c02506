// SHA-256 compression (FIPS 180-4 6.2). Constants: upper halves of SHA-512's (4.2.2), so the
// full module shares SHA-512's table; the lean module, without SHA-512, has its own.
import { iv512, k512 } from "./sha512";
import { LEAN } from "../features";

function k256(): usize {
  return memory.data<u32>([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
}

// Initial hash value (5.3.3) into st.
export function sha256IV(st: usize): void {
  if (LEAN) {
    const iv = memory.data<u32>([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    for (let i: usize = 0; i < 32; i += 4) store<u32>(st + i, load<u32>(iv + i));
    return;
  }
  for (let i: usize = 0; i < 8; i++) store<u32>(st + (i << 2), <u32>(load<u64>(iv512() + (i << 3)) >> 32));
}

// K[i] (4.2.2).
@inline function k(i: usize): u32 {
  return LEAN ? load<u32>(k256() + (i << 2)) : <u32>(load<u64>(k512() + (i << 3)) >> 32);
}

// One block: st = 8 u32 words, w = 64-word schedule area whose first 16 words hold the block.
export function sha256Block(st: usize, w: usize): void {
  for (let i = 16; i < 64; i++) {
    const p = w + (<usize>i << 2);
    const a = load<u32>(p - 60), b = load<u32>(p - 8); // W[t-15], W[t-2]
    store<u32>(p, load<u32>(p - 64) + load<u32>(p - 28)
      + (rotr(a, 7) ^ rotr(a, 18) ^ (a >> 3)) + (rotr(b, 17) ^ rotr(b, 19) ^ (b >> 10)));
  }
  let a = load<u32>(st), b = load<u32>(st, 4), c = load<u32>(st, 8), d = load<u32>(st, 12);
  let e = load<u32>(st, 16), f = load<u32>(st, 20), g = load<u32>(st, 24), h = load<u32>(st, 28);
  for (let i: usize = 0; i < 64; i++) {
    const t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + (g ^ (e & (f ^ g)))
      + k(i) + load<u32>(w + (i << 2));
    const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) | (c & (a | b)));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(st, load<u32>(st) + a); store<u32>(st, load<u32>(st, 4) + b, 4);
  store<u32>(st, load<u32>(st, 8) + c, 8); store<u32>(st, load<u32>(st, 12) + d, 12);
  store<u32>(st, load<u32>(st, 16) + e, 16); store<u32>(st, load<u32>(st, 20) + f, 20);
  store<u32>(st, load<u32>(st, 24) + g, 24); store<u32>(st, load<u32>(st, 28) + h, 28);
}
