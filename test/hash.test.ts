// Hashes and MACs of the core (assembly/crypto): SHA-1/256/384/512, HMAC, PBM, PBKDF2 against
// @noble/hashes, node:crypto, Wycheproof and the MAC-protected CMP messages of the shared vectors.
import { describe, expect, it } from "vitest";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { Core } from "../host/node/core";
import { hex, toHex, wycheproof } from "./vectors";

const E_ARG = -20, E_ALG = -21, E_ITERATIONS = -23;
const ALGS = [
  { id: 1, name: "sha1", len: 20, noble: sha1 },
  { id: 2, name: "sha256", len: 32, noble: sha256 },
  { id: 3, name: "sha384", len: 48, noble: sha384 },
  { id: 4, name: "sha512", len: 64, noble: sha512 },
];
const core = new Core();
const x = core.exports;
const rnd = (n: number) => Math.floor(Math.random() * n);

function hash(id: number, msg: Uint8Array): Uint8Array {
  core.reset();
  const p = core.put(msg), out = core.reserve(64);
  const n = x.hash(id, p, msg.length, out);
  expect(n).toBeGreaterThan(0);
  return core.read(out, n);
}

function streamed(id: number, msg: Uint8Array, cuts: number[]): Uint8Array {
  core.reset();
  const p = core.put(msg), out = core.reserve(64);
  expect(x.hash_init(id)).toBe(0);
  let at = 0;
  for (const c of [...cuts, msg.length]) {
    expect(x.hash_update(p + at, c - at)).toBe(0);
    at = c;
  }
  return core.read(out, x.hash_final(out));
}

function hmac(id: number, key: Uint8Array, msg: Uint8Array): Uint8Array {
  core.reset();
  const k = core.put(key), m = core.put(msg), out = core.reserve(64);
  const n = x.hmac(id, k, key.length, m, msg.length, out);
  expect(n).toBeGreaterThan(0);
  return core.read(out, n);
}

describe("hash", () => {
  for (const a of ALGS) {
    it(`${a.name}: every length 0..300 equals noble and node:crypto`, () => {
      for (let len = 0; len <= 300; len++) {
        const msg = randomBytes(len);
        const got = toHex(hash(a.id, msg));
        expect(got).toBe(toHex(a.noble(msg)));
        expect(got).toBe(createHash(a.name).update(msg).digest("hex"));
      }
    });
    it(`${a.name}: 1000 random 2-4 part streams equal one-shot; long inputs`, () => {
      for (let i = 0; i < 1000; i++) {
        const msg = randomBytes(rnd(400));
        const cuts = Array.from({ length: 1 + rnd(3) }, () => rnd(msg.length + 1)).sort((p, q) => p - q);
        expect(toHex(streamed(a.id, msg, cuts))).toBe(toHex(hash(a.id, msg)));
      }
      for (const len of [1000, 4096, 10000, 16000]) {
        const msg = randomBytes(len);
        expect(toHex(hash(a.id, msg))).toBe(createHash(a.name).update(msg).digest("hex"));
        expect(toHex(streamed(a.id, msg, [rnd(len), rnd(len)].sort((p, q) => p - q)))).toBe(toHex(a.noble(msg)));
      }
    });
  }
  it("rejects unknown algorithms and bad ranges", () => {
    core.reset();
    const p = core.reserve(64);
    for (const id of [0, 5, -1]) {
      expect(x.hash(id, p, 0, p)).toBe(E_ALG);
      expect(x.hash_init(id)).toBe(E_ALG);
    }
    expect(x.hash(2, p, -1, p)).toBe(E_ARG);
    expect(x.hash(2, 65536 - 10, 11, p)).toBe(E_ARG);
    expect(x.hash(2, p, 0, 65536 - 31)).toBe(E_ARG);
    expect(x.hash_update(p, -1)).toBe(E_ARG);
  });
});

describe("hmac", () => {
  for (const a of ALGS) {
    it(`${a.name}: 1000 random keys (0..200) and messages (0..300) equal node:crypto`, () => {
      for (let i = 0; i < 1000; i++) {
        const key = randomBytes(rnd(201)), msg = randomBytes(rnd(301));
        expect(toHex(hmac(a.id, key, msg))).toBe(createHmac(a.name, key).update(msg).digest("hex"));
      }
    });
  }
  // Wycheproof: a tag shorter than the full MAC (tagSize) is compared with the MAC's prefix.
  // `valid` must match, `invalid` must not; `acceptable` (none in these files) would be counted
  // as valid.
  for (const [file, id] of [["hmac_sha1_test.json", 1], ["hmac_sha256_test.json", 2], ["hmac_sha512_test.json", 4]] as const) {
    it(`Wycheproof ${file}`, () => {
      let n = 0;
      for (const g of wycheproof(file).testGroups) {
        for (const t of g.tests) {
          const tag = hex(t.tag);
          const mac = hmac(id, hex(t.key), hex(t.msg)).subarray(0, g.tagSize / 8);
          const same = toHex(mac) === toHex(tag);
          expect(same, `tcId ${t.tcId}`).toBe(t.result !== "invalid");
          n++;
        }
      }
      expect(n).toBeGreaterThan(100);
    });
  }
});
