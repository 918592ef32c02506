// SHA-256 compression (FIPS 180-4 6.2). Constants: upper halves of SHA-512's (4.2.2).
import { K512 } from "./sha512";

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
      + <u32>(load<u64>(K512 + (i << 3)) >> 32) + load<u32>(w + (i << 2));
    const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) | (c & (a | b)));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(st, load<u32>(st) + a); store<u32>(st, load<u32>(st, 4) + b, 4);
  store<u32>(st, load<u32>(st, 8) + c, 8); store<u32>(st, load<u32>(st, 12) + d, 12);
  store<u32>(st, load<u32>(st, 16) + e, 16); store<u32>(st, load<u32>(st, 20) + f, 20);
  store<u32>(st, load<u32>(st, 24) + g, 24); store<u32>(st, load<u32>(st, 28) + h, 28);
}
