// ECDSA verification on P-384 and P-521 (weierstrass.ts, through the ecdsa_verify dispatcher):
// Wycheproof vectors, cross-checks against node:crypto and @noble/curves signatures, key checks,
// exceptional points, and random inputs that must never trap.
import { describe, expect, it } from "vitest";
import { generateKeyPairSync, randomBytes, randomInt, sign, type KeyObject } from "node:crypto";
import { p384, p521 } from "@noble/curves/nist.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { hex, wycheproof } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import { E_ALG, E_KEY, E_SIG_INVALID } from "../host/node/lib/abi";
const HASH: Record<string, number> = { "SHA-256": 2, "SHA-384": 3, "SHA-512": 4 };
const NODE_HASH = ["", "sha1", "sha256", "sha384", "sha512"];
const CURVES = [
  { id: 2, name: "P-384", size: 48, hashes: [3, 3, 2, 4], noble: p384 },
  { id: 3, name: "P-521", size: 66, hashes: [4, 4, 2, 3], noble: p521 },
];

const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
function verify(curve: number, alg: number, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): number {
  core.reset();
  const pp = core.put(pub),
    pm = core.put(msg),
    ps = core.put(sig);
  return core.exports.ecdsa_verify(curve, alg, pp, pub.length, pm, msg.length, ps, sig.length);
}

// ECDSA-Sig-Value DER (short-form lengths suffice up to P-521) <-> (r, s), for the tests only.
const toBig = (b: Uint8Array) => BigInt("0x" + (Buffer.from(b).toString("hex") || "0"));
function derInt(v: bigint): Buffer {
  let h = v.toString(16);
  if (h.length & 1) h = "0" + h;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = "00" + h;
  const b = Buffer.from(h, "hex");
  return Buffer.concat([Buffer.from([2, b.length]), b]);
}
function derSig(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([derInt(r), derInt(s)]);
  const len = body.length < 128 ? [body.length] : [0x81, body.length];
  return Buffer.concat([Buffer.from([0x30, ...len]), body]);
}
function parseSig(der: Uint8Array): [bigint, bigint] {
  let p = der[1] === 0x81 ? 3 : 2;
  const rl = der[p + 1],
    r = toBig(der.subarray(p + 2, p + 2 + rl));
  p += 2 + rl;
  return [r, toBig(der.subarray(p + 2, p + 2 + der[p + 1]))];
}
function publicPoint(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: "jwk" });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
}

describe("Wycheproof", () => {
  for (const [file, curve] of [
    ["ecdsa_secp384r1_sha256", 2],
    ["ecdsa_secp384r1_sha384", 2],
    ["ecdsa_secp521r1_sha512", 3],
  ] as const) {
    it(file, () => {
      const data = wycheproof(`${file}_test.json`);
      let n = 0;
      for (const g of data.testGroups) {
        const pub = hex(g.publicKey.uncompressed),
          alg = HASH[g.sha];
        for (const t of g.tests) {
          // these files have no 'acceptable' cases (asserted); BER/long-form encodings are invalid
          expect(t.result).not.toBe("acceptable");
          const rc = verify(curve, alg, pub, hex(t.msg), hex(t.sig));
          if (t.result === "valid") expect(rc, `tcId ${t.tcId} ${t.comment}`).toBe(0);
          else expect(rc, `tcId ${t.tcId} ${t.comment}`).toBeLessThan(0);
          n++;
        }
      }
      expect(n).toBe(data.numberOfTests);
    });
  }
});

for (const c of CURVES) {
  const N = c.noble.Point.CURVE().n,
    P = c.noble.Point.CURVE().p;
  describe(`${c.name} cross-checks`, () => {
    it("1,000 node:crypto signatures verify; tampered ones do not; high-s accepted", () => {
      const keys = Array.from({ length: 8 }, () => generateKeyPairSync("ec", { namedCurve: c.name }));
      const pubs = keys.map((k) => publicPoint(k.publicKey));
      for (let i = 0; i < 1000; i++) {
        const mix = i + (i >> 2),
          k = mix & 7,
          alg = c.hashes[mix & 3],
          msg = randomBytes(randomInt(100));
        const sig = sign(NODE_HASH[alg], msg, keys[k].privateKey);
        expect(verify(c.id, alg, pubs[k], msg, sig), `sample ${i}`).toBe(0);
        const [r, s] = parseSig(sig);
        if (i & 3) continue; // one tampered or twin variant on every 4th sample (test time)
        switch ((i >> 4) & 3) {
          case 0:
            expectCode(verify(c.id, alg, pubs[k], Buffer.concat([msg, Buffer.from([1])]), sig), E_SIG_INVALID);
            break;
          case 1:
            expect(verify(c.id, alg, pubs[k], msg, derSig(r, N - s))).toBe(0);
            break; // high-s / low-s twin
          case 2:
            expectCode(verify(c.id, alg, pubs[k], msg, derSig(r, s ^ (1n << BigInt(randomInt(c.size * 8 - 8))))), E_SIG_INVALID);
            break;
          case 3:
            expectCode(verify(c.id, alg, pubs[(k + 1) & 7], msg, sig), E_SIG_INVALID);
            break;
        }
      }
    });

    it("noble signatures, exceptional keys Q = G and Q = -G, r and s out of range", () => {
      for (const d of [1n, 2n, N - 1n, N - 2n, 3n]) {
        const sk = hex(d.toString(16).padStart(c.size * 2, "0"));
        const pub = c.noble.getPublicKey(sk, false),
          msg = randomBytes(32);
        const sig = c.noble.sign(msg, sk, { format: "der", lowS: false });
        const alg = c.id === 2 ? 3 : 4;
        expect(verify(c.id, alg, pub, msg, sig), `d = ${d}`).toBe(0);
        expectCode(verify(c.id, alg, pub, randomBytes(32), sig), E_SIG_INVALID);
        const [r, s] = parseSig(sig);
        for (const [rr, ss] of [
          [0n, s],
          [r, 0n],
          [r + N, s],
          [r, s + N],
          [N, s],
          [r, N],
        ]) {
          expectCode(verify(c.id, alg, pub, msg, derSig(rr, ss)), E_SIG_INVALID);
        }
      }
    });

    it("rejects invalid public keys", () => {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: c.name });
      const pub = publicPoint(publicKey),
        msg = randomBytes(20),
        alg = c.hashes[0];
      const sig = sign(NODE_HASH[alg], msg, privateKey);
      expect(verify(c.id, alg, pub, msg, sig)).toBe(0);
      const x = toBig(pub.subarray(1, 1 + c.size)),
        y = toBig(pub.subarray(1 + c.size));
      const point = (px: bigint, py: bigint, tag = 4) =>
        Buffer.concat([Buffer.from([tag]), hex(px.toString(16).padStart(c.size * 2, "0")), hex(py.toString(16).padStart(c.size * 2, "0"))]);
      expectCode(verify(c.id, alg, point(x, (y + 1n) % P), msg, sig), E_KEY); // off the curve
      expect(verify(c.id, alg, point(x, y + P), msg, sig)).toBeLessThan(0); // y >= p (too long for P-384)
      expectCode(verify(c.id, alg, point(x, P - y), msg, sig), E_SIG_INVALID); // -Q: on the curve
      expectCode(verify(c.id, alg, point(x, y, 2), msg, sig), E_KEY);
      expectCode(verify(c.id, alg, pub.subarray(0, 1 + c.size), msg, sig), E_KEY); // compressed-size
      expectCode(verify(c.id, alg, pub.subarray(0, pub.length - 1), msg, sig), E_KEY);
      expectCode(verify(c.id, alg, new Uint8Array(0), msg, sig), E_KEY);
      expectCode(verify(c.id, alg, point(0n, 0n), msg, sig), E_KEY);
      if (c.id === 3)
        expectCode(verify(c.id, alg, point(x + (1n << 521n), y), msg, sig), E_KEY); // X >= p
      else expectCode(verify(c.id, alg, point(P + x < 1n << 384n ? P + x : P, y), msg, sig), E_KEY);
      expectCode(verify(4, alg, pub, msg, sig), E_ALG);
    });
  });
}

describe("bad input", () => {
  it("random keys and signatures return error codes, never trap", () => {
    for (let i = 0; i < 400; i++) {
      const c = CURVES[i & 1],
        pubLen = i % 3 ? 1 + 2 * c.size : randomInt(200);
      const pub = randomBytes(pubLen);
      if (i % 5) pub[0] = 4;
      const sig = i % 2 ? randomBytes(randomInt(160)) : derSig(toBig(randomBytes(c.size + 2)), toBig(randomBytes(randomInt(c.size + 3))));
      expect(verify(c.id, c.hashes[i & 3], pub, randomBytes(randomInt(40)), sig)).toBeLessThan(0);
    }
  });
});
