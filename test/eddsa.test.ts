// Ed25519 and Ed448 verification of the core (assembly/crypto/eddsa.ts, RFC 8032 pure EdDSA):
// RFC 8032 test vectors, Wycheproof (when the vectors are present), @noble/curves as the oracle,
// and the strict decoding rules: S >= L, y >= p and "negative zero" x encodings are refused.
import { describe, expect, it } from "vitest";
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { hex, wycheproofIfPresent } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import { E_ARG, E_ALG, E_KEY, E_SIG_ENCODING, E_SIG_INVALID } from "../host/node/lib/abi";
const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
const CURVES = [
  { id: 1, name: "Ed25519", b: 32, noble: ed25519, file: "ed25519_test.json" },
  { id: 2, name: "Ed448", b: 57, noble: ed448, file: "ed448_test.json" },
] as const;

function verify(curve: number, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): number {
  core.reset();
  const pp = core.put(pub),
    pm = core.put(msg),
    ps = core.put(sig);
  return core.exports.eddsa_verify(curve, pp, pub.length, pm, msg.length, ps, sig.length);
}
const le = (v: bigint, n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
};
const fromLe = (b: Uint8Array) => b.reduceRight((a, x) => (a << 8n) | BigInt(x), 0n);

describe("RFC 8032 7.1 / 7.4 test vectors", () => {
  it("Ed25519 TEST 1 and TEST 3", () => {
    const msg1 = new Uint8Array(0);
    const pub1 = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const sig1 = hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    expect(verify(1, pub1, msg1, sig1)).toBe(0);
    const pub3 = hex("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025");
    const sig3 = hex("6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a");
    expect(verify(1, pub3, hex("af82"), sig3)).toBe(0);
    expectCode(verify(1, pub3, hex("af83"), sig3), E_SIG_INVALID);
  });
  it("Ed448 blank and 1 octet", () => {
    const pub = hex("5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180");
    const sig = hex(
      "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600",
    );
    expect(verify(2, pub, new Uint8Array(0), sig)).toBe(0);
    const pub1 = hex("43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c235160627b4c3a9480");
    const sig1 = hex(
      "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0ff3348ab21aa4adafd1d234441cf807c03a00",
    );
    expect(verify(2, pub1, hex("03"), sig1)).toBe(0);
    expectCode(verify(2, pub1, hex("04"), sig1), E_SIG_INVALID);
  });
});

for (const c of CURVES) {
  describe(`${c.name}: Wycheproof`, () => {
    const data = wycheproofIfPresent(c.file);
    it.skipIf(!data)(`${c.file} (skipped when ../shared/vectors/wycheproof lacks it)`, () => {
      let n = 0;
      for (const g of data.testGroups) {
        const pub = hex(g.publicKey.pk);
        for (const t of g.tests) {
          expect(t.result).not.toBe("acceptable");
          const rc = verify(c.id, pub, hex(t.msg), hex(t.sig));
          if (t.result === "valid") expect(rc, `tcId ${t.tcId} ${t.comment}`).toBe(0);
          else expect(rc, `tcId ${t.tcId} ${t.comment}`).toBeLessThan(0);
          n++;
        }
      }
      expect(n).toBeGreaterThan(80);
    });
  });

  describe(`${c.name}: against @noble/curves`, () => {
    it("random keys and messages verify; any changed bit of message, key or signature is refused", () => {
      for (let i = 0; i < 12; i++) {
        const priv = c.noble.utils.randomSecretKey(),
          pub = c.noble.getPublicKey(priv);
        const msg = randomBytes(i * 37),
          sig = c.noble.sign(msg, priv);
        expect(verify(c.id, pub, msg, sig)).toBe(0);
        const bit = (b: Uint8Array) => {
          const o = Uint8Array.from(b);
          const k = Math.floor(Math.random() * o.length * 8);
          o[k >> 3] ^= 1 << (k & 7);
          return o;
        };
        if (msg.length) expectCode(verify(c.id, pub, bit(msg), sig), E_SIG_INVALID);
        const s2 = bit(sig),
          p2 = bit(pub);
        expect(verify(c.id, pub, msg, s2)).toBeLessThan(0);
        expect(c.noble.verify(s2, msg, pub, { zip215: false })).toBe(false);
        expect(verify(c.id, p2, msg, sig)).toBeLessThan(0);
      }
    });
    it("node:crypto signatures verify", () => {
      const { publicKey, privateKey } = c.id === 1 ? generateKeyPairSync("ed25519") : generateKeyPairSync("ed448");
      const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-c.b);
      const msg = randomBytes(1000);
      expect(verify(c.id, raw, msg, sign(null, msg, privateKey))).toBe(0);
    });
    it("S + L (same residue, not canonical) is refused, noble agrees", () => {
      const priv = c.noble.utils.randomSecretKey(),
        pub = c.noble.getPublicKey(priv);
      const msg = randomBytes(20),
        sig = c.noble.sign(msg, priv);
      const L = c.noble.Point.CURVE().n;
      const s = fromLe(sig.subarray(c.b)) + L;
      const bad = Uint8Array.from([...sig.subarray(0, c.b), ...le(s, c.b)]);
      expectCode(verify(c.id, pub, msg, bad), E_SIG_ENCODING);
      expect(c.noble.verify(bad, msg, pub, { zip215: false })).toBe(false);
    });
    it("a y >= p encoding of a point (y + p) in A or R is refused", () => {
      // the point with y = 1 (the identity, x = 0) encoded with y + p = p + 1: fits in b bytes
      const p = c.noble.Point.CURVE().p;
      const enc = le(p + 1n, c.b);
      expectCode(verify(c.id, enc, new Uint8Array(0), new Uint8Array(2 * c.b)), E_KEY);
      const priv = c.noble.utils.randomSecretKey(),
        pub = c.noble.getPublicKey(priv);
      const sig = Uint8Array.from([...enc, ...new Uint8Array(c.b)]);
      expectCode(verify(c.id, pub, new Uint8Array(0), sig), E_SIG_ENCODING);
    });
    it('x = 0 with the sign bit set ("negative zero") is refused, the canonical form is decoded', () => {
      const enc = le(1n, c.b); // identity
      enc[c.b - 1] |= 0x80;
      expectCode(verify(c.id, enc, new Uint8Array(0), new Uint8Array(2 * c.b)), E_KEY);
      // canonical identity as A decodes (no key error): the signature is then what fails
      expect(verify(c.id, le(1n, c.b), new Uint8Array(0), new Uint8Array(2 * c.b))).not.toBe(E_KEY);
    });
    it("a y with no x on the curve is refused as a key", () => {
      let refused = 0;
      for (let y = 2n; y < 40n && refused < 3; y++) {
        let ok = true;
        try {
          c.noble.Point.fromBytes(le(y, c.b));
        } catch {
          ok = false;
        }
        const rc = verify(c.id, le(y, c.b), new Uint8Array(0), new Uint8Array(2 * c.b));
        if (!ok) {
          expectCode(rc, E_KEY);
          refused++;
        } else expect(rc).not.toBe(E_KEY);
      }
      expect(refused).toBe(3);
    });
    it("wrong lengths and unknown curves are refused without a trap", () => {
      const priv = c.noble.utils.randomSecretKey(),
        pub = c.noble.getPublicKey(priv);
      const msg = randomBytes(10),
        sig = c.noble.sign(msg, priv);
      expectCode(verify(c.id, pub.subarray(1), msg, sig), E_KEY);
      expectCode(verify(c.id, pub, msg, sig.subarray(1)), E_SIG_ENCODING);
      expectCode(verify(c.id, pub, msg, Uint8Array.from([...sig, 0])), E_SIG_ENCODING);
      expectCode(verify(3, pub, msg, sig), E_ALG);
      core.reset();
      expectCode(core.exports.eddsa_verify(c.id, 0, c.b, 0, -1, 0, 2 * c.b), E_ARG);
    });
    it("random bytes never trap", () => {
      for (let i = 0; i < 50; i++) verify(c.id, randomBytes(c.b), randomBytes(i), randomBytes(2 * c.b));
    });
  });
}
