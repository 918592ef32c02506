// `npm run bench [-- --json]`: median µs/op of tinycmp (the release module under Node), @noble and
// node:crypto, measured in one run so that the ratios compare like with like.
import crypto from "node:crypto";
import { p256, p384 } from "@noble/curves/nist.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed448 } from "@noble/curves/ed448.js";
import { ml_dsa44, ml_dsa65, ml_dsa87 } from "@noble/post-quantum/ml-dsa.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { Device } from "../host/node/lib/device";
import { makeCreds, opensslClient, startServer } from "../test/helpers/openssl-cmp";
import { ITEM_CERT, ITEM_EXTRA, OP_IR } from "../host/node/lib/abi";

type Impl = "tinycmp" | "noble" | "node" | "openssl";
interface Row {
  op: string;
  impl: Impl;
  median_us: number;
}

const json = process.argv.includes("--json");
const budgetMs = Number(process.env.BENCH_MS ?? 400);

/** Median µs of fn over repeated runs: warm up, then run for about budgetMs (at least 5 runs). */
function median(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  const times: number[] = [];
  const stop = performance.now() + budgetMs;
  while (times.length < 5 || (performance.now() < stop && times.length < 20000)) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function check(r: number, what: string): number {
  if (r < 0) throw new Error(`${what} failed with ${r}`);
  return r;
}

const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
const x = core.exports;
const SHA256 = 2,
  SHA384 = 3,
  P384 = 2;
const kib = crypto.randomBytes(1024);
const key = crypto.randomBytes(32);
const salt = crypto.randomBytes(16);
const secret = Buffer.from("insta-shared-secret");
const msg = crypto.randomBytes(300);

core.reset();
const pKib = core.put(kib),
  pKey = core.put(key),
  pSalt = core.put(salt),
  pSecret = core.put(secret);
const pMsg = core.put(msg),
  pOut = core.reserve(1024);

// P-256: one key pair per implementation, a signature of each to verify.
const pPriv = core.reserve(32),
  pPub = core.reserve(65),
  pSig = core.reserve(72);
check(x.p256_keygen(pPriv, pPub), "p256_keygen");
const sigLen = check(x.p256_sign(pPriv, SHA256, pMsg, msg.length, pSig), "p256_sign");
const nobleSk = p256.utils.randomSecretKey();
const noblePk = p256.getPublicKey(nobleSk);
const nobleSig = p256.sign(msg, nobleSk);
const nodeEc = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const nodeSig = crypto.sign("sha256", msg, nodeEc.privateKey);

// P-384 verify of one signature made by node:crypto.
const ec384 = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
const sig384 = crypto.sign("sha384", msg, ec384.privateKey);
const pub384 = ec384.publicKey.export({ format: "der", type: "spki" }).subarray(-97);
const p384Pub = core.put(pub384),
  p384Sig = core.put(sig384);
const sig384Raw = p384.Signature.fromBytes(sig384, "der").toBytes("compact");

// RSA-2048 PKCS#1 v1.5 verify (noble has no RSA).
const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaSig = crypto.sign("sha256", msg, rsa.privateKey);
const jwk = rsa.publicKey.export({ format: "jwk" });
const n = Buffer.from(jwk.n!, "base64url"),
  e = Buffer.from(jwk.e!, "base64url");
const pN = core.put(n),
  pE = core.put(e),
  pRsaSig = core.put(rsaSig);

// EdDSA (RFC 8032) and ML-DSA (FIPS 204): one noble key pair and signature each, verified by all.
const eddsa = (
  [
    [ed25519, 1, "ed25519"],
    [ed448, 2, "ed448"],
  ] as const
).map(([c, id, name]) => {
  const sk = c.utils.randomSecretKey(),
    pk = c.getPublicKey(sk),
    sig = c.sign(msg, sk);
  const nodePub = crypto.createPublicKey({
    key: { kty: "OKP", crv: name === "ed25519" ? "Ed25519" : "Ed448", x: Buffer.from(pk).toString("base64url") },
    format: "jwk",
  });
  return { c, id, name, pk, sig, nodePub, pPk: core.put(pk), pSig: core.put(sig) };
});
// (the three ML-DSA key and signature pairs do not fit the I/O buffer together: one region, filled
// by the first run of each case, before the timed runs)
const mlRegion = core.reserve(2592 + 4627);
let mlPlaced = 0;
const mldsa = (
  [
    [ml_dsa44, 44],
    [ml_dsa65, 65],
    [ml_dsa87, 87],
  ] as const
).map(([d, set]) => {
  const k = d.keygen(crypto.randomBytes(32)),
    sig = d.sign(msg, k.secretKey);
  return { d, set, pk: k.publicKey, sig, pPk: mlRegion, pSig: mlRegion + k.publicKey.length };
});
function placeMlDsa(m: (typeof mldsa)[number]): void {
  if (mlPlaced === m.set) return;
  const mem = new Uint8Array(core.memory.buffer);
  mem.set(m.pk, m.pPk);
  mem.set(m.sig, m.pSig);
  mlPlaced = m.set;
}

function pbmNode(iterations: number): Buffer {
  let k = crypto.createHash("sha256").update(secret).update(salt).digest();
  for (let i = 1; i < iterations; i++) k = crypto.createHash("sha256").update(k).digest();
  return crypto.createHmac("sha1", k).update(msg).digest();
}
function pbmNoble(iterations: number): Uint8Array {
  let k = sha256(Buffer.concat([secret, salt]));
  for (let i = 1; i < iterations; i++) k = sha256(k);
  return hmac(sha256, k, msg);
}

const cases: Record<string, Partial<Record<Impl, () => unknown>>> = {
  "sha256-1k": {
    tinycmp: () => check(x.hash(SHA256, pKib, 1024, pOut), "hash"),
    noble: () => sha256(kib),
    node: () => crypto.createHash("sha256").update(kib).digest(),
  },
  "hmac-sha256-1k": {
    tinycmp: () => check(x.hmac(SHA256, pKey, 32, pKib, 1024, pOut), "hmac"),
    noble: () => hmac(sha256, key, kib),
    node: () => crypto.createHmac("sha256", key).update(kib).digest(),
  },
  "pbm-10000": {
    tinycmp: () => check(x.pbm(SHA256, 1, pSecret, secret.length, pSalt, salt.length, 10000, 10000, pMsg, msg.length, pOut), "pbm"),
    noble: () => pbmNoble(10000),
    node: () => pbmNode(10000),
  },
  "p256-keygen": {
    tinycmp: () => check(x.p256_keygen(pOut, pOut + 64), "p256_keygen"),
    noble: () => p256.getPublicKey(p256.utils.randomSecretKey()),
    node: () => crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }),
  },
  "p256-sign": {
    tinycmp: () => check(x.p256_sign(pPriv, SHA256, pMsg, msg.length, pOut), "p256_sign"),
    noble: () => p256.sign(msg, nobleSk),
    node: () => crypto.sign("sha256", msg, nodeEc.privateKey),
  },
  "p256-verify": {
    tinycmp: () => check(x.ecdsa_verify(1, SHA256, pPub, 65, pMsg, msg.length, pSig, sigLen), "ecdsa_verify"),
    noble: () => {
      if (!p256.verify(nobleSig, msg, noblePk)) throw new Error("noble verify");
    },
    node: () => {
      if (!crypto.verify("sha256", msg, nodeEc.publicKey, nodeSig)) throw new Error("node verify");
    },
  },
  "p384-verify": {
    tinycmp: () => check(x.ecdsa_verify(P384, SHA384, p384Pub, pub384.length, pMsg, msg.length, p384Sig, sig384.length), "ecdsa_verify"),
    noble: () => {
      if (!p384.verify(sig384Raw, msg, pub384, { lowS: false })) throw new Error("noble verify");
    },
    node: () => {
      if (!crypto.verify("sha384", msg, ec384.publicKey, sig384)) throw new Error("node verify");
    },
  },
  "rsa2048-verify": {
    tinycmp: () => check(x.rsa_verify(1, SHA256, pN, n.length, pE, e.length, pMsg, msg.length, pRsaSig, rsaSig.length, 0, 0), "rsa_verify"),
    node: () => {
      if (!crypto.verify("sha256", msg, rsa.publicKey, rsaSig)) throw new Error("node verify");
    },
  },
};

for (const e of eddsa) {
  cases[`${e.name}-verify`] = {
    tinycmp: () => check(x.eddsa_verify(e.id, e.pPk, e.pk.length, pMsg, msg.length, e.pSig, e.sig.length), "eddsa_verify"),
    noble: () => {
      if (!e.c.verify(e.sig, msg, e.pk)) throw new Error("noble verify");
    },
    node: () => {
      if (!crypto.verify(null, msg, e.nodePub, e.sig)) throw new Error("node verify");
    },
  };
}
for (const m of mldsa) {
  cases[`mldsa${m.set}-verify`] = {
    tinycmp: () => {
      placeMlDsa(m);
      return check(x.mldsa_verify(m.set, m.pPk, m.pk.length, pMsg, msg.length, 0, 0, m.pSig, m.sig.length), "mldsa_verify");
    },
    noble: () => {
      if (!m.d.verify(m.sig, msg, m.pk)) throw new Error("noble verify");
    },
  };
}

const rows: Row[] = [];
for (const [op, impls] of Object.entries(cases)) {
  for (const [impl, fn] of Object.entries(impls) as [Impl, () => unknown][]) {
    rows.push({ op, impl, median_us: Math.round(median(fn) * 10) / 10 });
  }
}

const cell = (op: string, impl: Impl) => rows.find((r) => r.op === op && r.impl === impl)?.median_us;
console.log("op".padEnd(16) + "tinycmp µs".padStart(12) + "noble µs".padStart(12) + "node µs".padStart(12) + "tinycmp/noble".padStart(15));
for (const op of Object.keys(cases)) {
  const [t, nb, nd] = [cell(op, "tinycmp"), cell(op, "noble"), cell(op, "node")];
  const f = (v?: number) => (v === undefined ? "-" : v.toFixed(1)).padStart(12);
  console.log(op.padEnd(16) + f(t) + f(nb) + f(nd) + (t && nb ? (t / nb).toFixed(2) + "x" : "-").padStart(15));
}

// A whole ir + certConf transaction with PBM against the `openssl cmp` mock server: tinycmp
// in-process (a Device per transaction) beside the `openssl cmp` client process (wall time).
{
  const creds = makeCreds();
  const server = await startServer(creds);
  const req = { secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt") };
  const runs = Number(process.env.BENCH_TX ?? 15);
  const med = (t: number[]) => t.sort((a, b) => a - b)[t.length >> 1];
  const ours: number[] = [],
    theirs: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const d = Device.http({ url: server.url });
    const t = performance.now();
    await d.enroll(req);
    if (i >= 2) ours.push((performance.now() - t) * 1000);
    d.close();
  }
  for (let i = 0; i < Math.max(5, runs >> 1); i++) {
    theirs.push(
      opensslClient(creds, [
        "-cmd",
        "ir",
        "-server",
        `127.0.0.1:${server.port}/pkix/`,
        "-ref",
        "ref",
        "-secret",
        "pass:secret",
        "-newkey",
        "rsp.key",
        "-subject",
        "/CN=tinycmp device",
        "-certout",
        "out.crt",
      ]) * 1000,
    );
  }
  await server.stop();
  rows.push({ op: "ir-pbm-transaction", impl: "tinycmp", median_us: Math.round(med(ours)) });
  rows.push({ op: "ir-pbm-transaction", impl: "openssl", median_us: Math.round(med(theirs)) });
  console.log(`ir-pbm-transaction  tinycmp ${(med(ours) / 1000).toFixed(2)} ms  openssl cmp client ${(med(theirs) / 1000).toFixed(2)} ms (median wall)`);
}
// tx_input of one signed ip (an IDevID-signed ir answered by the test PKI: ECDSA P-256 signer,
// its chain and the new certificate validated) beside the costliest response the trust limits
// allow (test/helpers/rogue.ts costliest: RSA-4096 keys with e = 2^32 - 1 until the response's signature
// budget is spent), each fed to a core started afresh on the same request.
{
  const { createPrivateKey } = crypto;
  const { TestPki } = await import("../host/node/testpki/index");
  const { FuzzCore } = await import("../host/node/tools/fuzzer");
  const { costliest, parse } = await import("../test/helpers/rogue");
  const pki = await TestPki.start();
  const dev = await pki.createIdevid("BENCH-1");
  const derOf = (pem: string) => new Uint8Array(new crypto.X509Certificate(pem).raw);
  const d = Buffer.from(createPrivateKey(dev.keyPem).export({ format: "jwk" }).d!, "base64url");
  const items: [number, Uint8Array][] = [
    [3, d],
    [ITEM_CERT, derOf(dev.certPem)],
    [ITEM_EXTRA, derOf(dev.chain[0])],
    [6, pki.root.der],
    [9, new Uint8Array(dev.cert.subjectName.toArrayBuffer())],
  ];
  const fc = new FuzzCore(Math.floor(Date.now() / 1000));
  const tx = fc.core.exports;
  const start = (): Uint8Array => {
    tx.tx_reset();
    for (const [k, v] of items) {
      fc.core.reset();
      check(tx.tx_set(k, fc.core.put(v), v.length), "tx_set");
    }
    fc.reseed(7);
    if (tx.tx_start(OP_IR) !== 1) throw new Error("tx_start");
    return fc.core.read(tx.tx_out(), tx.tx_out_len());
  };
  const honest = await pki.responder.handle(start());
  const worst = await costliest(parse(honest), pki.hierarchy.issuingCa.cred, 15);
  const time = (rsp: Uint8Array, expect: number): number => {
    const runs = Number(process.env.BENCH_TRUST ?? 9),
      t: number[] = [];
    for (let i = 0; i < runs; i++) {
      start();
      fc.core.reset();
      const p = fc.core.put(rsp);
      const t0 = process.hrtime.bigint();
      const a = tx.tx_input(p, rsp.length);
      t.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (a !== expect) throw new Error(`tx_input gave ${a}, not ${expect}`);
    }
    return t.sort((a, b) => a - b)[t.length >> 1];
  };
  const normal = time(honest, 1),
    costly = time(worst, 4);
  await pki.close();
  rows.push({ op: "tx_input-signed-ip", impl: "tinycmp", median_us: Math.round(normal) });
  rows.push({ op: "tx_input-costliest", impl: "tinycmp", median_us: Math.round(costly) });
  console.log(
    `tx_input signed ip ${(normal / 1000).toFixed(2)} ms, costliest refused response ${(costly / 1000).toFixed(2)} ms: ${(costly / normal).toFixed(1)}x (median)`,
  );
}
if (json) console.log(JSON.stringify(rows));
