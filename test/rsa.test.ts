// RSA signature verification (rsa_verify): Wycheproof PKCS#1 v1.5 and PSS vectors, cross-checks
// against node:crypto signatures, the key/length policy, and random inputs that must never trap.
import { describe, expect, it } from "vitest";
import { constants, generateKeyPair, generateKeyPairSync, randomBytes, randomInt, sign, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { hex, wycheproof } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import { E_ARG, E_ALG, E_KEY, E_SIG_ENCODING, E_SIG_INVALID, E_LEGACY } from "../host/node/lib/abi";
const PKCS1 = 1,
  PSS = 2;
const HASH: Record<string, number> = { "SHA-1": 1, "SHA-256": 2, "SHA-384": 3, "SHA-512": 4 };
const NODE_HASH = ["", "sha1", "sha256", "sha384", "sha512"];
const H_LEN = [0, 20, 32, 48, 64];

const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
function verify(scheme: number, alg: number, n: Uint8Array, e: Uint8Array, msg: Uint8Array, sig: Uint8Array, saltLen = -1, flags = 0): number {
  core.reset();
  const pn = core.put(n),
    pe = core.put(e),
    pm = core.put(msg),
    ps = core.put(sig);
  return core.exports.rsa_verify(scheme, alg, pn, n.length, pe, e.length, pm, msg.length, ps, sig.length, saltLen, flags);
}

function publicNE(key: KeyObject): [Uint8Array, Uint8Array] {
  const jwk = key.export({ format: "jwk" });
  return [Buffer.from(jwk.n!, "base64url"), Buffer.from(jwk.e!, "base64url")];
}

// Key generation is the slow part: three keys made in the background (thread pool) while the
// vector tests run, many messages each (1,200 signatures in total).
const KEYS = Promise.all(
  (
    [
      [2048, 800],
      [3072, 250],
      [4096, 150],
    ] as const
  ).map(async ([bits, count]) => ({
    ...(await promisify(generateKeyPair)("rsa", { modulusLength: bits })),
    count,
  })),
);

describe("Wycheproof", () => {
  for (const name of ["rsa_signature_2048_sha256", "rsa_signature_3072_sha256", "rsa_signature_4096_sha256"]) {
    // 'acceptable' here is only MissingNull (DigestInfo without the NULL parameters): we rebuild
    // the one DER encoding of RFC 8017 9.2 and compare, so those are rejected (asserted).
    it(`${name} (PKCS#1 v1.5)`, () => {
      const data = wycheproof(`${name}_test.json`);
      const count = { valid: 0, invalid: 0, acceptable: 0 };
      // Keys our policy rejects (modulus outside 2048..4096 bits, even e or e < 3) would have to
      // fail with E_KEY; these files have none (e is 3 or 65537, sizes 2048/3072/4096): counted.
      const policy = data.testGroups.filter(
        (g: any) =>
          g.keySize < 2048 || g.keySize > 4096 || (BigInt("0x" + g.publicKey.publicExponent) & 1n) === 0n || BigInt("0x" + g.publicKey.publicExponent) < 3n,
      );
      expect(policy.length).toBe(0);
      for (const g of data.testGroups) {
        const n = hex(g.publicKey.modulus),
          e = hex(g.publicKey.publicExponent),
          alg = HASH[g.sha];
        for (const t of g.tests) {
          const rc = verify(PKCS1, alg, n, e, hex(t.msg), hex(t.sig));
          if (t.result === "valid") expect(rc, `tcId ${t.tcId}`).toBe(0);
          else expect(rc, `tcId ${t.tcId} ${t.comment}`).toBeLessThan(0);
          if (t.result === "acceptable") expect(t.flags).toEqual(["MissingNull"]);
          count[t.result as keyof typeof count]++;
        }
      }
      expect(count.valid + count.invalid + count.acceptable).toBe(data.numberOfTests);
    });
  }

  it("rsa_pss_2048_sha256_mgf1_32 (PSS, sLen 32, and any salt length)", () => {
    const data = wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json");
    let n = 0;
    for (const g of data.testGroups) {
      expect([g.sha, g.mgf, g.mgfSha, g.sLen]).toEqual(["SHA-256", "MGF1", "SHA-256", 32]);
      const mod = hex(g.publicKey.modulus),
        e = hex(g.publicKey.publicExponent);
      for (const t of g.tests) {
        expect(t.result).not.toBe("acceptable"); // none in this file
        const rc = verify(PSS, 2, mod, e, hex(t.msg), hex(t.sig), 32);
        if (t.result === "valid") {
          expect(rc, `tcId ${t.tcId}`).toBe(0);
          expect(verify(PSS, 2, mod, e, hex(t.msg), hex(t.sig), -1)).toBe(0);
        } else expect(rc, `tcId ${t.tcId} ${t.comment}`).toBeLessThan(0);
        n++;
      }
    }
    expect(n).toBe(data.numberOfTests);
  });
});

describe("cross-check with node:crypto signatures", () => {
  it("accepts every signature and rejects tampered messages and signatures", async () => {
    const keys = await KEYS;
    let total = 0;
    for (const { privateKey, publicKey, count } of keys) {
      const [n, e] = publicNE(publicKey);
      for (let i = 0; i < count; i++) {
        const alg = 2 + randomInt(3),
          msg = randomBytes(randomInt(200)),
          scheme = 1 + randomInt(2);
        const saltLen = [0, H_LEN[alg], randomInt(100)][randomInt(3)];
        const sig = sign(
          NODE_HASH[alg],
          msg,
          scheme === PKCS1 ? privateKey : { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLen },
        );
        const sl = scheme === PSS && i % 2 ? -1 : saltLen;
        expect(verify(scheme, alg, n, e, msg, sig, sl), `scheme ${scheme} alg ${alg}`).toBe(0);
        const badMsg = Buffer.concat([msg, Buffer.from([i & 255])]);
        expectCode(verify(scheme, alg, n, e, badMsg, sig, sl), E_SIG_INVALID);
        const badSig = Buffer.from(sig);
        badSig[randomInt(sig.length)] ^= 1 << randomInt(8);
        expect(verify(scheme, alg, n, e, msg, badSig, sl)).toBeLessThan(0);
        if (scheme === PSS && saltLen !== H_LEN[alg]) {
          expectCode(verify(scheme, alg, n, e, msg, sig, H_LEN[alg]), E_SIG_INVALID); // salt length pinned
        }
        if (scheme === PKCS1 && alg !== 2) expectCode(verify(scheme, 2, n, e, msg, sig), E_SIG_INVALID);
        total++;
      }
    }
    expect(total).toBe(1200);
  });

  it("public exponents other than 65537: every pattern of the two-bit windows of montPow", async () => {
    // 3 = 11, 0x2f = 101111, 0x1b5 = 110110101, 2^32 - 1: sixteen 11 windows (the costliest
    // exponent docs/SECURITY.md allows); 65537 above has none
    for (const publicExponent of [3, 0x2f, 0x1b5, 0xffffffff]) {
      const { privateKey, publicKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048, publicExponent });
      const [n, e] = publicNE(publicKey);
      expect(BigInt(`0x${Buffer.from(e).toString("hex")}`)).toBe(BigInt(publicExponent));
      for (let i = 0; i < 10; i++) {
        const msg = randomBytes(1 + randomInt(100));
        const sig = sign("sha256", msg, privateKey);
        expect(verify(PKCS1, 2, n, e, msg, sig), `e ${publicExponent}`).toBe(0);
        const bad = Buffer.from(sig);
        bad[randomInt(sig.length)] ^= 1 << randomInt(8);
        expect(verify(PKCS1, 2, n, e, msg, bad)).toBeLessThan(0);
      }
    }
  });

  it("SHA-1 only when the legacy flag is set", async () => {
    const { privateKey, publicKey } = (await KEYS)[0];
    const [n, e] = publicNE(publicKey);
    const msg = randomBytes(33);
    const sig = sign("sha1", msg, privateKey);
    expectCode(verify(PKCS1, 1, n, e, msg, sig), E_LEGACY);
    expect(verify(PKCS1, 1, n, e, msg, sig, -1, 1)).toBe(0);
    const pss = sign("sha1", msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
    expectCode(verify(PSS, 1, n, e, msg, pss, 20), E_LEGACY);
    expect(verify(PSS, 1, n, e, msg, pss, 20, 1)).toBe(0);
  });

  it("enforces the key and length policy", async () => {
    const { privateKey, publicKey } = (await KEYS)[0];
    const [n, e] = publicNE(publicKey);
    const msg = randomBytes(10),
      sig = sign("sha256", msg, privateKey);
    expect(verify(PKCS1, 2, Buffer.concat([Buffer.alloc(3), n]), Buffer.concat([Buffer.alloc(2), e]), msg, sig)).toBe(0);
    expectCode(verify(PKCS1, 2, n, e, msg, Buffer.concat([Buffer.alloc(1), sig])), E_SIG_ENCODING);
    expectCode(verify(PKCS1, 2, n, e, msg, sig.subarray(1)), E_SIG_ENCODING);
    expectCode(verify(PKCS1, 2, n, e, msg, n), E_SIG_INVALID); // s = n is out of range
    expectCode(verify(PKCS1, 2, n, e, msg, Buffer.alloc(256, 0xff)), E_SIG_INVALID);
    expectCode(verify(PKCS1, 2, n, Uint8Array.of(1), msg, sig), E_KEY);
    expectCode(verify(PKCS1, 2, n, Uint8Array.of(2), msg, sig), E_KEY);
    expectCode(verify(PKCS1, 2, n, Uint8Array.of(1, 0, 0), msg, sig), E_KEY);
    expectCode(verify(PKCS1, 2, n, new Uint8Array(0), msg, sig), E_KEY);
    expectCode(verify(PKCS1, 2, n, n, msg, sig), E_KEY); // e >= n
    const even = Buffer.from(n);
    even[255] &= 0xfe;
    expectCode(verify(PKCS1, 2, even, e, msg, sig), E_KEY);
    const small = publicNE(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey); // 1024: fast
    expectCode(verify(PKCS1, 2, small[0], small[1], msg, sig.subarray(0, 128)), E_KEY);
    expectCode(verify(PKCS1, 2, n.subarray(0, 255), e, msg, sig.subarray(1)), E_KEY); // 2040 bits
    expectCode(verify(PKCS1, 2, Buffer.alloc(513, 0xff), e, msg, sig), E_KEY);
    const pss = sign("sha256", msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    for (const sl of [0x7fffffff, 0x7ffffffe, 256, 223, 222]) expectCode(verify(PSS, 2, n, e, msg, pss, sl), E_SIG_INVALID);
    expect(verify(PSS, 2, n, e, msg, pss, -2)).toBe(0); // any negative: any salt length
    expectCode(verify(3, 2, n, e, msg, sig), E_ALG);
    expectCode(verify(PKCS1, 5, n, e, msg, sig), E_ALG);
    expectCode(verify(PKCS1, 0, n, e, msg, sig), E_ALG);
    core.reset();
    expectCode(core.exports.rsa_verify(PKCS1, 2, core.io, -1, core.io, 3, core.io, 0, core.io, 256, -1, 0), E_ARG);
    expectCode(core.exports.rsa_verify(PKCS1, 2, core.io, 256, core.io, 3, 0xfff0, 0x100, core.io, 256, -1, 0), E_ARG);
  });
});

describe("bad input", () => {
  it("random keys, exponents and signatures return error codes, never trap", async () => {
    const { publicKey } = (await KEYS)[0];
    const [n0, e0] = publicNE(publicKey);
    for (let i = 0; i < 300; i++) {
      const len = [256, 384, 512, randomInt(600)][i & 3];
      const n = i % 5 === 0 ? n0 : randomBytes(len),
        e = i % 3 === 0 ? e0 : randomBytes(randomInt(8));
      const sig = randomBytes(i % 2 ? n.length : randomInt(600));
      const rc = verify(1 + (i & 1), 1 + randomInt(4), n, e, randomBytes(randomInt(50)), sig, randomInt(80) - 1, i & 1);
      expect(rc).toBeLessThan(0);
    }
  });
});
