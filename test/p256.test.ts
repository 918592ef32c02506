// ECDSA P-256 (assembly/crypto/p256*.ts, ecdsa.ts): Wycheproof vectors, then random cross-checks
// against @noble/curves and node:crypto, then key decoding, error paths and entropy failure.
import { describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { hex, toHex, wycheproof } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import { E_ALG, E_RANDOM, E_KEY, E_SIG_ENCODING, E_SIG_INVALID } from "../host/node/lib/abi";
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const ROUNDS = 1000;

const HASHES = [
  { id: 1, name: "sha1", fn: sha1 },
  { id: 2, name: "sha256", fn: sha256 },
  { id: 3, name: "sha384", fn: sha384 },
  { id: 4, name: "sha512", fn: sha512 },
];

const be = (x: bigint, len = 32): Uint8Array => hex(x.toString(16).padStart(len * 2, "0"));
const num = (b: Uint8Array): bigint => BigInt("0x" + (toHex(b) || "0"));

// DER ECDSA-Sig-Value of r, s (test-side encoder, for high-s and tampered signatures).
function derSig(r: bigint, s: bigint): Uint8Array {
  const int = (x: bigint): number[] => {
    let b = Array.from(be(x));
    while (b.length > 1 && b[0] === 0) b.shift();
    if (b[0] & 0x80) b = [0, ...b];
    return [2, b.length, ...b];
  };
  const body = [...int(r), ...int(s)];
  return Uint8Array.from([0x30, body.length, ...body]);
}
function parseDer(sig: Uint8Array): { r: bigint; s: bigint } {
  const rl = sig[3];
  return { r: num(sig.subarray(4, 4 + rl)), s: num(sig.subarray(6 + rl, 6 + rl + sig[5 + rl])) };
}

function nodeKeys(sk: Uint8Array, pub: Uint8Array) {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  const jwk = { kty: "EC", crv: "P-256", x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) };
  return {
    pub: createPublicKey({ key: jwk, format: "jwk" }),
    priv: createPrivateKey({ key: { ...jwk, d: b64(sk) }, format: "jwk" }),
  };
}

// Random key pairs for the signing loops (noble's getPublicKey costs ~1 ms: 100 keys, reused).
const POOL = Array.from({ length: 100 }, () => {
  const sk = p256.utils.randomSecretKey();
  const full = p256.getPublicKey(sk, false);
  return { sk, full, short: p256.getPublicKey(sk, true), node: nodeKeys(sk, full) };
});

// Small deterministic generator for the fixed-random Core (the test needs repeatability only).
function counterRandom() {
  let ctr = 0;
  const state = { last: new Uint8Array(0) };
  const fill = (out: Uint8Array): boolean => {
    for (let i = 0; i < out.length; i += 32) out.set(sha256(Uint8Array.of(ctr >> 24, ctr >> 16, ctr >> 8, ctr++)).subarray(0, out.length - i), i);
    state.last = out.slice();
    return true;
  };
  return { fill, state };
}

function verify(c: Core<TestCoreExports>, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array, hashAlg = 2, curve = 1): number {
  c.reset();
  return c.exports.ecdsa_verify(curve, hashAlg, c.put(pub), pub.length, c.put(msg), msg.length, c.put(sig), sig.length);
}

function sign(c: Core<TestCoreExports>, sk: Uint8Array, msg: Uint8Array, hashAlg = 2): Uint8Array | number {
  c.reset();
  const sig = c.reserve(72);
  const n = c.exports.p256_sign(c.put(sk), hashAlg, c.put(msg), msg.length, sig);
  return n < 0 ? n : c.read(sig, n);
}

describe("Wycheproof ecdsa_secp256r1_sha256_test.json", () => {
  const data = wycheproof("ecdsa_secp256r1_sha256_test.json");
  const c = new Core<TestCoreExports>({ wasm: TEST_WASM });
  const tests = data.testGroups.flatMap((g: any) => g.tests.map((t: any) => ({ ...t, pub: hex(g.publicKey.uncompressed) })));

  it("has no 'acceptable' cases (so none needs a policy here)", () => {
    // This file marks every case valid or invalid: BER encodings, r/s out of range, wrong
    // signatures are all 'invalid'; we accept exactly the 'valid' ones.
    expect(tests.filter((t: any) => t.result === "acceptable")).toEqual([]);
    expect(tests.length).toBe(data.numberOfTests);
  });

  it("accepts every valid signature and rejects every invalid one", () => {
    for (const t of tests) {
      const rc = verify(c, t.pub, hex(t.msg), hex(t.sig));
      if (t.result === "valid") expect(rc, `tcId ${t.tcId} ${t.comment}`).toBe(0);
      else expect([E_SIG_ENCODING, E_SIG_INVALID], `tcId ${t.tcId} ${t.comment}`).toContain(rc);
    }
  });
});

describe("P-256 against @noble/curves and node:crypto", () => {
  it(`keygen and public key derivation equal noble's getPublicKey (${ROUNDS} each)`, () => {
    const c = new Core<TestCoreExports>({ wasm: TEST_WASM });
    const priv = c.reserve(32),
      pub = c.reserve(65);
    for (let i = 0; i < ROUNDS; i++) {
      expect(c.exports.p256_keygen(priv, pub)).toBe(0);
      const sk = c.read(priv, 32);
      expect(num(sk) > 0n && num(sk) < N).toBe(true);
      expect(toHex(c.read(pub, 65))).toBe(toHex(p256.getPublicKey(sk, false)));
      const sk2 = p256.utils.randomSecretKey();
      new Uint8Array(c.memory.buffer, priv, 32).set(sk2);
      expect(c.exports.p256_public(priv, pub)).toBe(0);
      expect(toHex(c.read(pub, 65))).toBe(toHex(p256.getPublicKey(sk2, false)));
    }
  });

  it(`signatures equal noble's hedged RFC 6979 ones and verify with noble and node:crypto (${ROUNDS})`, () => {
    const rnd = counterRandom();
    const c = new Core<TestCoreExports>({ wasm: TEST_WASM, random: rnd.fill });
    for (let i = 0; i < ROUNDS; i++) {
      const { sk, full: pk, node } = POOL[i % POOL.length];
      const msg = randomBytes(i % 200);
      const h = i % 10 === 0 ? HASHES[i % 4] : HASHES[1]; // mostly SHA-256, every hash sometimes
      const sig = sign(c, sk, msg, h.id) as Uint8Array;
      expect(sig).toBeInstanceOf(Uint8Array);
      const opts = { extraEntropy: rnd.state.last, lowS: false, format: "der" as const };
      const expected = h.id === 2 ? p256.sign(msg, sk, opts) : p256.sign(h.fn(msg), sk, { ...opts, prehash: false });
      expect(toHex(sig)).toBe(toHex(expected));
      expect(p256.verify(sig, h.fn(msg), pk, { prehash: false, format: "der", lowS: false })).toBe(true);
      expect(nodeVerify(h.name, msg, { key: node.pub, dsaEncoding: "der" }, sig)).toBe(true);
    }
  });

  it(`verifies node:crypto signatures, low and high s, and rejects tampering (${ROUNDS})`, () => {
    const c = new Core<TestCoreExports>({ wasm: TEST_WASM });
    for (let i = 0; i < ROUNDS; i++) {
      const key = POOL[i % POOL.length];
      const pub = i % 2 === 0 ? key.short : key.full; // compressed keys half of the time
      const msg = randomBytes(1 + (i % 100));
      const h = HASHES[i % 4];
      const sig = nodeSign(h.name, msg, { key: key.node.priv, dsaEncoding: "der" });
      expect(verify(c, pub, msg, sig, h.id)).toBe(0);
      const { r, s } = parseDer(sig);
      expect(verify(c, pub, msg, derSig(r, N - s), h.id)).toBe(0); // the other s verifies too
      // one tampering per round, each kind 200 times
      const bad = Uint8Array.from(msg);
      bad[i % bad.length] ^= 1 << (i % 8);
      const flipped = Uint8Array.from(sig);
      flipped[i % sig.length] ^= 1 << ((i >> 3) % 8);
      const tampered = [
        () => verify(c, pub, bad, sig, h.id),
        () => verify(c, pub, msg, derSig(r, (s + 1n) % N), h.id),
        () => verify(c, pub, msg, derSig((r + 1n) % N, s), h.id),
        () => verify(c, pub, msg, sig, h.id === 2 ? 4 : 2), // another hash
        () => (verify(c, pub, msg, flipped, h.id) === 0 ? 0 : E_SIG_INVALID), // any error
      ];
      expectCode(tampered[i % 5](), E_SIG_INVALID);
    }
  });

  it(`compresses and decompresses public keys like noble (${ROUNDS})`, () => {
    const c = new Core<TestCoreExports>({ wasm: TEST_WASM });
    let q = p256.Point.BASE.multiply(num(p256.utils.randomSecretKey()));
    for (let i = 0; i < ROUNDS; i++) {
      q = q.add(i % 3 ? p256.Point.BASE : q); // a random walk: cheaper than fresh keys
      const full = q.toBytes(false),
        short = q.toBytes(true);
      c.reset();
      const out = c.reserve(65),
        pf = c.put(full),
        ps = c.put(short);
      expect(c.exports.p256_pub_compress(pf, out)).toBe(33);
      expect(toHex(c.read(out, 33))).toBe(toHex(short));
      expect(c.exports.p256_pub_decode(ps, 33, out)).toBe(65);
      expect(toHex(c.read(out, 65))).toBe(toHex(full));
      expect(c.exports.p256_pub_decode(pf, 65, out)).toBe(65);
      expect(toHex(c.read(out, 65))).toBe(toHex(full));
    }
  });
});

describe("P-256 edge cases and errors", () => {
  const c = new Core<TestCoreExports>({ wasm: TEST_WASM });
  const sk = p256.utils.randomSecretKey();
  const full = p256.getPublicKey(sk, false);
  const decode = (b: Uint8Array): number => {
    c.reset();
    return c.exports.p256_pub_decode(c.put(b), b.length, c.reserve(65));
  };

  it("rejects invalid public keys", () => {
    // a point with a small x, so that x + p still fits 32 bytes
    let small = { x: 0n, y: 0n };
    for (let t = 1n; small.x === 0n; t++) {
      try {
        small = p256.Point.fromBytes(Uint8Array.of(2, ...be(t))).toAffine();
      } catch {
        /* not on the curve */
      }
    }
    expect(decode(Uint8Array.of(4, ...be(small.x), ...be(small.y)))).toBe(65);
    const y = num(full.subarray(33));
    const x = num(full.subarray(1, 33));
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(0),
      full.subarray(0, 64),
      Uint8Array.of(5, ...full.subarray(1)),
      Uint8Array.of(6, ...full.subarray(1)),
      Uint8Array.of(4, ...be(x), ...be((y + 1n) % P)), // off the curve
      Uint8Array.of(4, ...be(small.x + P), ...be(small.y)),
      Uint8Array.of(3, ...be(small.x + P)), // x >= p
      Uint8Array.of(4, ...be(x), ...be(P)), // y >= p
      Uint8Array.of(2, ...be(P)),
      Uint8Array.of(4, ...new Uint8Array(64)),
    ];
    for (const b of bad) expectCode(decode(b), E_KEY, toHex(b));
    // compressed x with no square root for x^3 - 3x + b: find one
    let nonResidue = 0n;
    for (let t = 1n; ; t++) {
      try {
        p256.Point.fromBytes(Uint8Array.of(2, ...be(t)));
      } catch {
        nonResidue = t;
        break;
      }
    }
    expectCode(decode(Uint8Array.of(2, ...be(nonResidue))), E_KEY);
    expectCode(decode(Uint8Array.of(3, ...be(nonResidue))), E_KEY);
    const msg = Uint8Array.of(1, 2, 3);
    const sig = sign(c, sk, msg) as Uint8Array;
    expect(verify(c, full, msg, sig)).toBe(0);
    expectCode(verify(c, Uint8Array.of(4, ...be(x), ...be((y + 1n) % P)), msg, sig), E_KEY);
  });

  it("rejects private keys 0, n and above; unknown hashes and curves", () => {
    for (const d of [0n, N, N + 1n, 2n ** 256n - 1n]) {
      c.reset();
      expectCode(c.exports.p256_public(c.put(be(d)), c.reserve(65)), E_KEY);
      expectCode(sign(c, be(d), Uint8Array.of(1)), E_KEY);
    }
    c.reset();
    expect(c.exports.p256_public(c.put(be(N - 1n)), c.reserve(65))).toBe(0);
    expectCode(sign(c, sk, Uint8Array.of(1), 5), E_ALG);
    const sig = sign(c, sk, Uint8Array.of(1)) as Uint8Array;
    expectCode(verify(c, full, Uint8Array.of(1), sig, 0), E_ALG);
    for (const curve of [0, 4]) expectCode(verify(c, full, Uint8Array.of(1), sig, 2, curve), E_ALG); // 2, 3: weierstrass.ts
  });

  it("parses DER signatures strictly", () => {
    const msg = Uint8Array.of(9);
    const sig = sign(c, sk, msg) as Uint8Array;
    const { r, s } = parseDer(sig);
    expect(verify(c, full, msg, sig)).toBe(0);
    const rb = Array.from(be(r)),
      sb = Array.from(be(s));
    const enc = (...b: number[]) => Uint8Array.from(b);
    const bad = [
      enc(...sig, 0), // trailing byte
      enc(0x30, 0x81, sig[1], ...sig.subarray(2)), // non-minimal long length
      enc(0x31, ...sig.subarray(1)), // SET, not SEQUENCE
      enc(0x30, 68, 2, 32, ...rb, 2, 32, ...sb).subarray(0, 10), // truncated
      enc(0x30, 70, 2, 33, 0, ...rb.map((b, i) => (i === 0 ? b & 0x7f : b)), 2, 33, 0, ...sb), // superfluous zero unless r's top bit is set
      enc(0x30, 71, 2, 34, 0, 0, ...rb, 2, 33, 0, ...sb), // two leading zeros
      enc(0x30, 6, 2, 1, 0x80, 2, 1, 1), // negative r
      enc(0x30, 4, 2, 0, 2, 0), // empty integers
      enc(0x30, 0x80, 2, 1, 1, 2, 1, 1, 0, 0), // indefinite length
      new Uint8Array(0),
      enc(0x30),
      enc(0x30, 0),
    ];
    for (const b of bad) expectCode(verify(c, full, msg, b), E_SIG_ENCODING, toHex(b));
    expectCode(verify(c, full, msg, enc(0x30, 6, 2, 1, 0, 2, 1, 1)), E_SIG_INVALID); // r = 0
    expectCode(verify(c, full, msg, derSig(r, N)), E_SIG_INVALID); // s = n
    if (r + N < 2n ** 256n) expectCode(verify(c, full, msg, derSig(r + N, s)), E_SIG_INVALID); // r + n
  });

  it("fails with E_RANDOM and writes nothing when the host has no entropy", () => {
    const dry = new Core<TestCoreExports>({ wasm: TEST_WASM, random: () => false });
    const priv = dry.reserve(32),
      pub = dry.reserve(65);
    new Uint8Array(dry.memory.buffer, priv, 32 + 65 + 3).fill(0xaa);
    expectCode(dry.exports.p256_keygen(priv, pub), E_RANDOM);
    expect(dry.read(priv, 32).every((b) => b === 0xaa)).toBe(true);
    expect(dry.read(pub, 65).every((b) => b === 0xaa)).toBe(true);
    const k = dry.put(sk),
      m = dry.put(Uint8Array.of(1, 2)),
      sig = dry.reserve(72);
    new Uint8Array(dry.memory.buffer, sig, 72).fill(0xaa);
    expectCode(dry.exports.p256_sign(k, 2, m, 2, sig), E_RANDOM);
    expect(dry.read(sig, 72).every((b) => b === 0xaa)).toBe(true);
  });
});
