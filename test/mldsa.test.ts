// ML-DSA-44/65/87 verification of the core (assembly/crypto/mldsa.ts, FIPS 204): Wycheproof
// verify vectors (when present), @noble/post-quantum as the oracle for valid and invalid
// signatures, wrong keys, wrong contexts, malformed lengths, hints and z out of range.
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { hex, wycheproofIfPresent } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import { E_ARG, E_ALG, E_KEY, E_SIG_ENCODING, E_SIG_INVALID } from "../host/node/lib/abi";
const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
const SETS = [
  { id: 44, noble: ml_dsa44, pk: 1312, sig: 2420, lambda4: 32, omega: 80, k: 4, file: "mldsa_44_verify_test.json" },
  { id: 65, noble: ml_dsa65, pk: 1952, sig: 3309, lambda4: 48, omega: 55, k: 6, file: "mldsa_65_verify_test.json" },
  { id: 87, noble: ml_dsa87, pk: 2592, sig: 4627, lambda4: 64, omega: 75, k: 8, file: "mldsa_87_verify_test.json" },
] as const;

function verify(set: number, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array, ctx: Uint8Array = new Uint8Array(0)): number {
  core.reset();
  const pp = core.put(pub),
    pm = core.put(msg),
    pc = core.put(ctx),
    ps = core.put(sig);
  return core.exports.mldsa_verify(set, pp, pub.length, pm, msg.length, pc, ctx.length, ps, sig.length);
}

for (const s of SETS) {
  describe(`ML-DSA-${s.id}`, () => {
    const { publicKey, secretKey } = s.noble.keygen(randomBytes(32));
    const other = s.noble.keygen(randomBytes(32)).publicKey;
    const msg = new Uint8Array(randomBytes(333)),
      sig = s.noble.sign(msg, secretKey);

    const data = wycheproofIfPresent(s.file);
    it.skipIf(!data)(`Wycheproof ${s.file} (skipped when ../shared/vectors/wycheproof lacks it)`, () => {
      let n = 0;
      for (const g of data.testGroups) {
        const pub = hex(g.publicKey);
        for (const t of g.tests) {
          const ctx = t.ctx !== undefined ? hex(t.ctx) : new Uint8Array(0);
          const rc = verify(s.id, pub, hex(t.msg), hex(t.sig), ctx as Uint8Array<ArrayBuffer>);
          if (t.result === "valid") expect(rc, `tcId ${t.tcId} ${t.comment}`).toBe(0);
          else expect(rc, `tcId ${t.tcId} ${t.comment} ${t.flags}`).toBeLessThan(0);
          n++;
        }
      }
      expect(n).toBeGreaterThan(50);
    });

    it("noble signatures verify (several messages, hedged and deterministic, with a context)", () => {
      expect(verify(s.id, publicKey, msg, sig)).toBe(0);
      for (const len of [0, 1, 200, 3000]) {
        const m = new Uint8Array(randomBytes(len));
        expect(verify(s.id, publicKey, m, s.noble.sign(m, secretKey))).toBe(0);
        expect(verify(s.id, publicKey, m, s.noble.sign(m, secretKey, { extraEntropy: false }))).toBe(0);
      }
      const ctx = new Uint8Array(randomBytes(17));
      const sc = s.noble.sign(msg, secretKey, { context: ctx });
      expect(verify(s.id, publicKey, msg, sc, ctx)).toBe(0);
      expectCode(verify(s.id, publicKey, msg, sc), E_SIG_INVALID); // X.509 (RFC 9881): empty context
      expectCode(verify(s.id, publicKey, msg, sig, ctx), E_SIG_INVALID);
    });
    it("wrong key, changed message, changed c~ / z / public key bits are refused; noble agrees", () => {
      expectCode(verify(s.id, other, msg, sig), E_SIG_INVALID);
      const m2 = Uint8Array.from(msg);
      m2[100] ^= 4;
      expectCode(verify(s.id, publicKey, m2, sig), E_SIG_INVALID);
      for (const at of [0, s.lambda4 - 1, s.lambda4 + 5, s.sig - s.omega - s.k - 3]) {
        const bad = Uint8Array.from(sig);
        bad[at] ^= 1;
        expect(verify(s.id, publicKey, msg, bad), `byte ${at}`).toBeLessThan(0);
        expect(s.noble.verify(bad, msg, publicKey)).toBe(false);
      }
      for (const at of [0, 31, 32, 500, s.pk - 1]) {
        const bad = Uint8Array.from(publicKey);
        bad[at] ^= 0x10;
        expectCode(verify(s.id, bad, msg, sig), E_SIG_INVALID, `pk byte ${at}`);
      }
    });
    it("malformed lengths and parameter sets are refused without a trap", () => {
      expectCode(verify(s.id, publicKey.subarray(1), msg, sig), E_KEY);
      expectCode(verify(s.id, Uint8Array.from([...publicKey, 0]), msg, sig), E_KEY);
      expectCode(verify(s.id, publicKey, msg, sig.subarray(1)), E_SIG_ENCODING);
      expectCode(verify(s.id, publicKey, msg, Uint8Array.from([...sig, 0])), E_SIG_ENCODING);
      expectCode(verify(s.id, publicKey, msg, new Uint8Array(0)), E_SIG_ENCODING);
      expectCode(verify(s.id === 44 ? 65 : 44, publicKey, msg, sig), E_KEY);
      expectCode(verify(45, publicKey, msg, sig), E_ALG);
      expectCode(verify(s.id, publicKey, msg, sig, new Uint8Array(256)), E_ARG);
    });
    it("malformed hints (HintBitUnpack) are refused: counts decreasing or above omega, positions not increasing, stray bytes", () => {
      const y = s.sig - s.omega - s.k;
      const cases: [string, (b: Uint8Array) => void][] = [
        [
          "count above omega",
          (b) => {
            b[y + s.omega + s.k - 1] = s.omega + 1;
          },
        ],
        [
          "counts decreasing",
          (b) => {
            b[y + s.omega] = b[y + s.omega + 1] + 1;
          },
        ],
        [
          "positions not increasing",
          (b) => {
            const n = b[y + s.omega];
            if (n >= 2) b[y + 1] = b[y];
            else {
              b[y + s.omega] = 2;
              b[y] = 5;
              b[y + 1] = 5;
            }
          },
        ],
        [
          "stray byte after the last position",
          (b) => {
            b[y + s.omega - 1] = 1;
          },
        ],
      ];
      for (const [name, f] of cases) {
        const bad = Uint8Array.from(sig);
        f(bad);
        if (bad.every((v, i) => v === sig[i])) continue;
        expectCode(verify(s.id, publicKey, msg, bad), E_SIG_ENCODING, name);
        expect(s.noble.verify(bad, msg, publicKey), name).toBe(false);
      }
    });
    it("z with a coefficient at the norm bound gamma1 - beta is refused (E_SIG_ENCODING)", () => {
      const bad = Uint8Array.from(sig);
      // first packed z coefficient := 0, i.e. z = gamma1 (outside the bound)
      bad[s.lambda4] = 0;
      bad[s.lambda4 + 1] = 0;
      bad[s.lambda4 + 2] &= s.id === 44 ? 0xfc : 0xf0;
      expectCode(verify(s.id, publicKey, msg, bad), E_SIG_ENCODING);
      expect(s.noble.verify(bad, msg, publicKey)).toBe(false);
    });
    it("random bytes of the right lengths never trap", () => {
      for (let i = 0; i < 5; i++) expect(verify(s.id, randomBytes(s.pk), randomBytes(i * 10), randomBytes(s.sig))).toBeLessThan(0);
    });
  });
}
