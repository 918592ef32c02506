// Security properties of the response path, each with a test, where not covered
// elsewhere: iteration counts from the server bounded, transactionIDs and nonces never reused, a
// failing random source aborts, trust never taken from extraCerts or a self-signed signer.
// Covered elsewhere (docs/SECURITY.md cites them): caPubs only under MAC or by option and a signer
// without authority refused unless configured (test/cmp-openssl.test.ts), PBM/PBKDF2 bounds of
// the primitives (test/hash.test.ts), no entropy at the start (test/cmp-core.test.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { Core } from "../host/node/lib/core";
import { HttpTransport } from "../host/node/lib/transport";
import { TestPki } from "../host/node/testpki/index.js";
import { answerTo, contents, headerField, parse, remacNode, requestIds, setProtectionAlg, tlv, write } from "../host/node/tools/fuzz-der";
import { makeCreds, startServer, type Creds } from "./helpers/openssl-cmp";
import { vector } from "./helpers/vectors";
import { cn, enc, FAILED, SEND, transaction } from "./helpers/tx-harness";
import { expectAction, expectCode } from "./helpers/codes";

import {
  E_CERT_SIGNATURE,
  E_CERT_UNTRUSTED,
  E_CMP_NO_CERT,
  E_CMP_PROTECTION,
  E_RANDOM,
  INT_MAX_ITERATIONS,
  INT_PBM_ITERATIONS,
  ITEM_CERT,
  ITEM_KEY,
  ITEM_NEWKEY,
  ITEM_REF,
  ITEM_SECRET,
  ITEM_SUBJECT,
  ITEM_TRUSTED,
  OP_GENM,
  OP_IR,
} from "../host/node/lib/abi";
const now = Math.floor(Date.now() / 1000);
const derInt = (v: number) => {
  const b: number[] = [];
  do {
    b.unshift(v & 255);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (b[0] & 0x80) b.unshift(0);
  return tlv(0x02, new Uint8Array(b));
};
const oid = (hex: string) => tlv(0x06, Buffer.from(hex, "hex"));
const SHA256 = tlv(0x30, oid("608648016503040201"));
const HMAC_SHA256 = tlv(0x30, oid("2a864886f70d0209"), new Uint8Array([5, 0]));
const pbm = (iterations: number) =>
  parse(tlv(0x30, oid("2a864886f67d07420d"), tlv(0x30, tlv(0x04, new Uint8Array(16).fill(1)), SHA256, derInt(iterations), HMAC_SHA256)))!;
const pbmac1 = (iterations: number) =>
  parse(
    tlv(
      0x30,
      oid("2a864886f70d01050e"),
      tlv(
        0x30,
        tlv(0x30, oid("2a864886f70d01050c"), tlv(0x30, tlv(0x04, new Uint8Array(16).fill(2)), derInt(iterations), derInt(32), HMAC_SHA256)),
        HMAC_SHA256,
      ),
    ),
  )!;

let pki: TestPki, attacker: TestPki, creds: Creds;
beforeAll(async () => {
  [pki, attacker] = await Promise.all([TestPki.start({}), TestPki.start({})]);
  creds = makeCreds();
}, 60_000);
afterAll(async () => {
  await pki?.close();
  await attacker?.close();
});
const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

describe("iteration counts from the server are bounded (DoS)", () => {
  const secret = enc("1234-5678-1234-5678");
  const items: [number, Uint8Array][] = [
    [ITEM_REF, enc("ref")],
    [ITEM_SECRET, secret],
    [ITEM_NEWKEY, new Uint8Array(32).fill(3)],
    [ITEM_SUBJECT, cn("iterations")],
  ];
  // a real PBM ip (RustCrypto's openssl capture), answered to our request and protected with `alg`
  function answer(t: ReturnType<typeof transaction>, alg: ReturnType<typeof pbm>, remac: boolean): Uint8Array {
    const ids = requestIds(t.start())!;
    const m = parse(answerTo(vector("rustcrypto-cmpv2/ir_rsp_01.bin"), ids, secret)!)!;
    setProtectionAlg(m, alg);
    if (remac) expect(remacNode(m, secret, 1e6)).toBe(true);
    else m.kids![2] = parse(tlv(0xa0, tlv(0x03, new Uint8Array(21))))!; // any MAC: it is never computed
    return write(m);
  }

  for (const [name, alg] of [
    ["PBM", pbm],
    ["PBMAC1", pbmac1],
  ] as const) {
    it(`${name}: 10^9 and 2^31-1 iterations refused at once; the limit (option 37) is exact`, () => {
      const t = transaction(items, [[INT_MAX_ITERATIONS, 1000]], now);
      for (const n of [1e9, 2 ** 31 - 1, 2 ** 40, 1001]) {
        const rsp = answer(t, alg(n), false);
        t.start();
        const t0 = performance.now();
        expectAction(t.input(rsp), FAILED);
        expect(performance.now() - t0).toBeLessThan(50);
        expectCode(t.error(), E_CMP_PROTECTION);
        // E_ITERATIONS (-23), or E_DER_VALUE (-8) for a count beyond 31 bits
        expect(new TextDecoder().decode(t.fc.core.read(t.fc.core.exports.tx_detail(), t.fc.core.exports.tx_detail_len()))).toMatch(
          n < 2 ** 31 ? /^response MAC uses \d+ iterations, more than the limit of \d+$/ : /error -8$/,
        );
      }
      const ok = answer(t, alg(1000), true);
      t.start();
      // at the limit the MAC is computed and verifies: the response is refused only for its content
      // (RustCrypto's ip holds no certificate for us)
      expectAction(t.input(ok), FAILED);
      expectCode(t.error(), E_CMP_NO_CERT);
    });
  }

  it("the default limit is 100000", () => {
    const t = transaction(items, [], now);
    const rsp = answer(t, pbm(100_001), false);
    t.start();
    expectAction(t.input(rsp), FAILED);
    expectCode(t.error(), E_CMP_PROTECTION);
  });
});

describe("transactionIDs and nonces are never reused", () => {
  it("100 transactions (50 restarts of one core, 50 fresh cores): every transactionID, senderNonce and salt distinct", () => {
    const seen = new Set<string>();
    const add = (b: Uint8Array | undefined) => {
      expect(b?.length).toBe(16);
      const h = Buffer.from(b!).toString("hex");
      expect(seen.has(h), h).toBe(false);
      seen.add(h);
    };
    const run = (c: Core) => {
      const x = c.exports;
      x.tx_reset();
      for (const [k, v] of [
        [ITEM_REF, enc("ref")],
        [ITEM_SECRET, enc("s")],
        [ITEM_NEWKEY, new Uint8Array(32).fill(5)],
      ] as const) {
        c.reset();
        expect(x.tx_set(k, c.put(v), v.length)).toBe(0);
      }
      expectAction(x.tx_start(OP_GENM), SEND);
      const req = c.read(x.tx_out(), x.tx_out_len());
      const m = parse(req)!;
      add(contents(headerField(m, 4)!.kids![0])); // transactionID
      add(contents(headerField(m, 5)!.kids![0])); // senderNonce
      add(contents(headerField(m, 1)!.kids![0].kids![1].kids![0])); // PBM salt
      c.reset();
      expectAction(x.tx_input(c.put(new Uint8Array([0x30, 0])), 2), FAILED); // end it
    };
    const one = new Core();
    for (let i = 0; i < 50; i++) run(one);
    for (let i = 0; i < 50; i++) run(new Core());
    expect(seen.size).toBe(300);
  });

  it("within a transaction: certConf has the same transactionID and a new senderNonce", async () => {
    const t = transaction(
      [
        [ITEM_REF, enc(pki.ref)],
        [ITEM_SECRET, enc(pki.secret)],
        [ITEM_NEWKEY, new Uint8Array(32).fill(6)],
        [ITEM_SUBJECT, cn("nonces")],
        [ITEM_TRUSTED, der(pki.root.certPem)],
      ],
      [[INT_PBM_ITERATIONS, 1]],
      now,
      1,
      1000,
    );
    const ir = t.start();
    const http = new HttpTransport({ url: pki.url + "/pkix/" });
    const ip = await http.transfer(ir);
    http.close();
    expectAction(t.input(ip), SEND);
    const x = t.fc.core.exports;
    const certConf = t.fc.core.read(x.tx_out(), x.tx_out_len());
    const a = requestIds(ir)!,
      b = requestIds(certConf)!;
    expect(Buffer.from(b.tid)).toEqual(Buffer.from(a.tid));
    expect(Buffer.from(b.nonce)).not.toEqual(Buffer.from(a.nonce));
  });
});

describe("a failing random source aborts the transaction", () => {
  const cfg = () =>
    [
      [ITEM_REF, enc(pki.ref)],
      [ITEM_SECRET, enc(pki.secret)],
      [ITEM_NEWKEY, new Uint8Array(32).fill(7)],
      [ITEM_SUBJECT, cn("entropy")],
      [ITEM_TRUSTED, der(pki.root.certPem)],
    ] as [number, Uint8Array][];
  for (const [name, behaviour] of [
    ["certConf", {}],
    ["pollReq", { pollCount: 1, checkAfter: 0 }],
  ] as const) {
    it(`entropy gone before the ${name}: FAILED with E_RANDOM, nothing to send`, async () => {
      pki.reset();
      pki.configure(behaviour);
      const t = transaction(cfg(), [[INT_PBM_ITERATIONS, 1]], now, 1, name.length); // a transactionID of its own
      const req = t.start();
      const http = new HttpTransport({ url: pki.url + "/pkix/" });
      const rsp = await http.transfer(req);
      http.close();
      pki.reset();
      t.fc.randomFails = true;
      expectAction(t.input(rsp), FAILED);
      expectCode(t.error(), E_RANDOM);
      expect(t.fc.core.exports.tx_out_len()).toBe(0);
    });
  }

  it("signature protection without entropy: FAILED with E_RANDOM at the start", () => {
    const c = new Core({ random: () => false });
    const x = c.exports;
    x.tx_reset();
    for (const [k, v] of [
      [ITEM_KEY, creds.scalar("dev.key")],
      [ITEM_CERT, creds.der("dev.crt")],
      [ITEM_NEWKEY, new Uint8Array(32).fill(8)],
    ] as const) {
      c.reset();
      expect(x.tx_set(k, c.put(v), v.length)).toBe(0);
    }
    expectAction(x.tx_start(OP_IR), FAILED);
    expectCode(x.tx_error(), E_RANDOM);
    expect(x.tx_out_len()).toBe(0);
  });
});

describe("trust is never taken from the response itself", () => {
  // The device trusts `pki`'s root; another PKI answers (a valid, correctly signed response).
  async function foreign(edit: (m: NonNullable<ReturnType<typeof parse>>) => void, ints: [number, number][] = []) {
    const t = transaction(
      [
        [ITEM_REF, enc(attacker.ref)],
        [ITEM_SECRET, enc(attacker.secret)],
        [ITEM_NEWKEY, new Uint8Array(32).fill(9)],
        [ITEM_SUBJECT, cn("trust")],
        [ITEM_TRUSTED, der(pki.root.certPem)],
      ],
      [[INT_PBM_ITERATIONS, 1], ...ints],
      now,
    );
    const http = new HttpTransport({ url: attacker.url + "/pkix/" });
    const rsp = await http.transfer(t.start());
    http.close();
    const m = parse(rsp)!;
    edit(m);
    t.start();
    const a = t.input(write(m));
    return { a, error: t.error() };
  }
  const attackerRoot = () => parse(der(attacker.root.certPem))!;

  it("a foreign PKI's signed ip: refused (untrusted)", async () => {
    expect(await foreign(() => {})).toEqual({ a: FAILED, error: E_CERT_UNTRUSTED });
  });

  it("its self-signed root added to extraCerts (not protected): still refused", async () => {
    const r = await foreign((m) => {
      m.kids![3].kids![0].kids!.push(attackerRoot());
    });
    expectAction(r.a, FAILED);
    expect([E_CERT_UNTRUSTED, E_CERT_SIGNATURE]).toContain(r.error); // both roots are named "tinycmp test root": tried, its signature fails
  });

  it("its root as extraCerts[0] and the rest after it: refused", async () => {
    const r = await foreign((m) => {
      m.kids![3].kids![0].kids!.unshift(attackerRoot());
    });
    expectAction(r.a, FAILED);
  });

  it("a foreign signer that sends its own root in caPubs (openssl -rsp_capubs): refused, with option 2 too", async () => {
    const s = await startServer(creds, []);
    try {
      const run = async (ints: [number, number][]) => {
        const t = transaction(
          [
            [ITEM_KEY, creds.scalar("dev.key")],
            [ITEM_CERT, creds.der("dev.crt")],
            [ITEM_NEWKEY, creds.scalar("rsp.key")],
            [ITEM_SUBJECT, creds.subjectDer("rsp.crt")],
            [6, der(pki.root.certPem)],
          ],
          ints,
          now + 60,
          1,
          7 + ints.length,
        );
        const http = new HttpTransport({ url: s.url });
        const rsp = await http.transfer(t.start());
        http.close();
        const m = parse(rsp)!;
        expect(Buffer.from(write(m.kids![1].kids![0].kids![0].kids![0].kids![0]))).toEqual(Buffer.from(creds.der("root.crt"))); // caPubs
        t.start();
        return { a: t.input(rsp), error: t.error() };
      };
      expect(await run([])).toEqual({ a: FAILED, error: E_CERT_UNTRUSTED });
      // regression: option 2 used to take the response's own caPubs as anchors for its signer
      expect(await run([[32, 4]])).toEqual({ a: FAILED, error: E_CERT_UNTRUSTED });
    } finally {
      await s.stop();
    }
  });

  it("a self-signed signer (digitalSignature, id-kp-cmcRA) from openssl cmp: refused", async () => {
    const env = { ...process.env, OPENSSL_CONF: "/dev/null" };
    copyFileSync(creds.file("srv.key"), creds.file("self.key"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-new",
        "-key",
        "self.key",
        "-subj",
        "/CN=self-signed cmp signer",
        "-days",
        "30",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-addext",
        "extendedKeyUsage=1.3.6.1.5.5.7.3.28",
        "-out",
        "self.crt",
      ],
      { cwd: creds.dir, env, stdio: "ignore" },
    );
    const s = await startServer(creds, [], { srv: "self" });
    try {
      const t = transaction(
        [
          [ITEM_KEY, creds.scalar("dev.key")],
          [ITEM_CERT, creds.der("dev.crt")],
          [ITEM_NEWKEY, creds.scalar("rsp.key")],
          [ITEM_SUBJECT, creds.subjectDer("rsp.crt")],
          [ITEM_TRUSTED, creds.der("root.crt")],
        ],
        [],
        Math.floor(Date.now() / 1000) + 60,
      );
      const http = new HttpTransport({ url: s.url });
      const rsp = await http.transfer(t.start());
      http.close();
      // openssl leaves a self-signed signer out of extraCerts: put it first (extraCerts are not protected)
      const m = parse(rsp)!;
      m.kids![3].kids![0].kids!.unshift(parse(creds.der("self.crt"))!);
      t.start();
      expectAction(t.input(write(m)), FAILED);
      expectCode(t.error(), E_CERT_UNTRUSTED);
    } finally {
      await s.stop();
    }
  });
});
