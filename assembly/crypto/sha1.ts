// SHA-1 compression (FIPS 180-4 6.1). Legacy: kept for PBM/HMAC-SHA1 in CMP (RFC 4210 5.1.3.1).
export function iv1(): usize {
  return memory.data<u32>([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
}

// One block: st = 5 u32 words, w = 80-word schedule area whose first 16 words hold the block.
export function sha1Block(st: usize, w: usize): void {
  for (let i = 16; i < 80; i++) {
    const p = w + ((<usize>i) << 2);
    store<u32>(p, rotl(load<u32>(p - 12) ^ load<u32>(p - 32) ^ load<u32>(p - 56) ^ load<u32>(p - 64), 1));
  }
  let a = load<u32>(st),
    b = load<u32>(st, 4),
    c = load<u32>(st, 8),
    d = load<u32>(st, 12),
    e = load<u32>(st, 16);
  for (let i = 0; i < 80; i++) {
    let f: u32, k: u32;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const t = rotl(a, 5) + f + e + k + load<u32>(w + ((<usize>i) << 2));
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = t;
  }
  store<u32>(st, load<u32>(st) + a);
  store<u32>(st, load<u32>(st, 4) + b, 4);
  store<u32>(st, load<u32>(st, 8) + c, 8);
  store<u32>(st, load<u32>(st, 12) + d, 12);
  store<u32>(st, load<u32>(st, 16) + e, 16);
}
