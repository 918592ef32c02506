// SHA-3 and SHAKE of the core (assembly/crypto/sha3.ts, FIPS 202): published digests, then
// @noble/hashes as the oracle over lengths around the rates (72, 136, 168) and long outputs;
// SHAKE256 through the hash dispatch (hash id 5: 64 bytes, as RFC 9481 uses it for Ed448).
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { sha3_256, sha3_512, shake128, shake256 } from "@noble/hashes/sha3.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { toHex } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import { E_ARG, E_ALG, HASH_SHAKE256 } from "../host/node/lib/abi";
const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
const x = core.exports;

function sha3(kind: number, msg: Uint8Array, outLen: number): Uint8Array {
  core.reset();
  const p = core.put(msg),
    out = core.reserve(outLen);
  expect(x.sha3(kind, p, msg.length, out, outLen)).toBe(outLen);
  return core.read(out, outLen);
}

describe("FIPS 202 digests", () => {
  const abc = new TextEncoder().encode("abc"),
    empty = new Uint8Array(0);
  it("SHA3-256, SHA3-512, SHAKE128, SHAKE256 of short messages", () => {
    expect(toHex(sha3(1, empty, 32))).toBe("a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    expect(toHex(sha3(1, abc, 32))).toBe("3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
    expect(toHex(sha3(2, abc, 64))).toBe(
      "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
    );
    expect(toHex(sha3(3, empty, 32))).toBe("7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26");
    expect(toHex(sha3(4, empty, 64))).toBe(
      "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762fd75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be",
    );
  });
  it("refuses unknown kinds, wrong fixed lengths and out-of-memory ranges", () => {
    core.reset();
    const p = core.reserve(64);
    expectCode(x.sha3(0, p, 0, p, 32), E_ALG);
    expectCode(x.sha3(5, p, 0, p, 32), E_ALG);
    expectCode(x.sha3(1, p, 0, p, 64), E_ARG);
    expectCode(x.sha3(3, p, -1, p, 32), E_ARG);
    expectCode(x.sha3(3, p, 0, core.memory.buffer.byteLength - 8, 32), E_ARG);
  });
});

describe("against @noble/hashes", () => {
  const lens = [0, 1, 71, 72, 73, 135, 136, 137, 167, 168, 169, 335, 336, 337, 1000, 4099];
  it("every function at lengths around the rates", () => {
    for (const n of lens) {
      const m = randomBytes(n);
      expect(toHex(sha3(1, m, 32))).toBe(toHex(sha3_256(m)));
      expect(toHex(sha3(2, m, 64))).toBe(toHex(sha3_512(m)));
      expect(toHex(sha3(3, m, 200))).toBe(toHex(shake128(m, { dkLen: 200 })));
      expect(toHex(sha3(4, m, 300))).toBe(toHex(shake256(m, { dkLen: 300 })));
    }
  });
  it("SHAKE output longer than several blocks (squeeze continues the stream)", () => {
    const m = randomBytes(50);
    expect(toHex(sha3(3, m, 1000))).toBe(toHex(shake128(m, { dkLen: 1000 })));
    expect(toHex(sha3(4, m, 1000))).toBe(toHex(shake256(m, { dkLen: 1000 })));
  });
  it("SHAKE256 (64 bytes) through the hash dispatch, one-shot and streamed in pieces", () => {
    for (const n of [0, 5, 136, 137, 999]) {
      const m = randomBytes(n);
      core.reset();
      const p = core.put(m),
        out = core.reserve(64);
      expect(x.hash(HASH_SHAKE256, p, n, out)).toBe(64);
      expect(toHex(core.read(out, 64))).toBe(toHex(shake256(m, { dkLen: 64 })));
      expect(x.hash_init(HASH_SHAKE256)).toBe(0);
      for (let at = 0; at < n; at += 37) expect(x.hash_update(p + at, Math.min(37, n - at))).toBe(0);
      expect(x.hash_final(out)).toBe(64);
      expect(toHex(core.read(out, 64))).toBe(toHex(shake256(m, { dkLen: 64 })));
    }
  });
  it("SHAKE256 is no MAC hash: HMAC, PBM and PBKDF2 refuse it", () => {
    core.reset();
    const p = core.reserve(64);
    expectCode(x.hmac(HASH_SHAKE256, p, 16, p, 16, p), E_ALG);
    expectCode(x.pbm(HASH_SHAKE256, 2, p, 8, p, 8, 1, 10, p, 8, p), E_ALG);
    expectCode(x.pbm(2, HASH_SHAKE256, p, 8, p, 8, 1, 10, p, 8, p), E_ALG);
    expectCode(x.pbkdf2(HASH_SHAKE256, p, 8, p, 8, 1, 10, p, 32), E_ALG);
  });
  it("nor an ECDSA or RSA hash here (RFC 5758, RFC 4055 name SHA-1/SHA-2): sign and verify refuse it", () => {
    core.reset();
    const priv = core.reserve(32),
      pub = core.reserve(65),
      sig = core.reserve(72),
      msg = core.put(new Uint8Array(10));
    expect(x.p256_keygen(priv, pub)).toBe(0);
    expectCode(x.p256_sign(priv, HASH_SHAKE256, msg, 10, sig), E_ALG);
    const n = x.p256_sign(priv, 2, msg, 10, sig);
    expect(n).toBeGreaterThan(0);
    expect(x.ecdsa_verify(1, 2, pub, 65, msg, 10, sig, n)).toBe(0);
    expectCode(x.ecdsa_verify(1, HASH_SHAKE256, pub, 65, msg, 10, sig, n), E_ALG);
    expectCode(x.rsa_verify(1, HASH_SHAKE256, pub, 65, pub, 3, msg, 10, sig, n, 0, 0), E_ALG);
  });
});
