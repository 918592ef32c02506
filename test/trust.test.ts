// The trust model (docs/SECURITY.md) against a rogue responder (test/helpers/rogue.ts): correctly
// protected but malicious responses from a compromised sibling device, a rogue or misconfigured
// RA, and a man in the middle, each through the core (full and lean module, by the Device API)
// and through the agent (its stored credential unchanged byte for byte). For every rule, the
// response that would slip past it without the rule is shown refused, beside a control that is
// accepted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac, createPrivateKey, pbkdf2Sync, X509Certificate } from "node:crypto";
import { CmpError, Device, Options, type Outcome, type Request } from "../host/node/lib/device";
import { expectRefused } from "./helpers/refused";
import { DEFAULT_WASM } from "../host/node/lib/core";
import { Agent, type Clock } from "../host/node/lib/agent";
import { Flash } from "../host/node/lib/flash";
import { KIND, Store, TAG } from "../host/node/lib/store";
import { Core } from "../host/node/lib/core";
import { TestPki } from "../host/node/testpki/index";
import type { Credential } from "../host/node/testpki/ca";
import * as x509 from "../host/node/testpki/x509";
import {
  bigModulus,
  costliest,
  forge,
  issueTo,
  OID,
  parse,
  pbmAlg,
  pbmac1Alg,
  protect,
  rewriteCertRep,
  Rogue,
  rogueRoot,
  rsaSpki,
  setCaPubs,
  setReturnedCert,
  subjectAndKey,
} from "./helpers/rogue";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { bodyType } from "../host/node/testpki/asn1";
import { transaction, cn, enc, FAILED, SEND, DONE } from "./helpers/tx-harness";
import {
  E_ARG,
  E_CERT_SIGNATURE,
  E_CMP_REJECTED,
  INT_OPTIONS,
  ITEM_REF,
  ITEM_SECRET,
  ITEM_SUBJECT,
  ITEM_TRUSTED,
  OP_GENM,
  RESULT_STATUS_STRING,
} from "../host/node/lib/abi";
import { expectAction, expectCode } from "./helpers/codes";

const LEAN = (process.env.TINYCMP_WASM ?? DEFAULT_WASM).replace(/tinycmp\.wasm$/, "tinycmp-lean.wasm");
const E = {
  SIGNER: -96,
  CERT_UNTRUSTED: -54,
  CERT_NOT_CA: -55,
  CERT_POOL: -60,
  PROTECTION: -88,
  KEY: -24,
  ALG: -21,
  ITERATIONS: -23,
  DER_VALUE: -8,
  KEY_USAGE: -57,
};
const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
const scalar = (pem: string) => new Uint8Array(Buffer.from(createPrivateKey(pem).export({ format: "jwk" }).d!, "base64url"));
const name = (s: string) => new Uint8Array(new x509.Name(s).toArrayBuffer());

let pki: TestPki;
let root: Credential, issuingCa: Credential, ra: Credential;
let sibling: Credential; // another device's operational certificate: end entity, no EKU
let anyEku: Credential; // an end entity with anyExtendedKeyUsage
let cmcCa: Credential; // an end entity with id-kp-cmcCA
let caDs: Credential; // a CA (cA=TRUE, digitalSignature + keyCertSign) under the root
let caDs2: Credential; // another such CA
let rogue: Credential; // a root nobody trusts
let chainUp: Uint8Array[]; // the issuing CA, for extraCerts

beforeAll(async () => {
  pki = await TestPki.start({ secret: "trust-secret", ref: "trust-ref" });
  const h = pki.hierarchy;
  root = h.root.cred;
  issuingCa = h.issuingCa.cred;
  ra = h.cmpSigner;
  chainUp = [issuingCa.der];
  sibling = await issueTo(h.issuingCa, "CN=sibling device,O=tinycmp test PKI");
  anyEku = await issueTo(h.issuingCa, "CN=any purpose,O=tinycmp test PKI", { eku: [OID.anyEKU] });
  cmcCa = await issueTo(h.issuingCa, "CN=cmc CA signer,O=tinycmp test PKI", { eku: [OID.cmcCA] });
  const caKu = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
  caDs = await issueTo(h.root, "CN=signing CA,O=tinycmp test PKI", { ca: true, keyUsage: caKu });
  caDs2 = await issueTo(h.root, "CN=other signing CA,O=tinycmp test PKI", { ca: true, keyUsage: caKu });
  rogue = await rogueRoot();
}, 60_000);
afterAll(async () => {
  await pki?.close();
});

/** A device with a fresh IDevID: its signed-ir Request (trusting the test PKI root). */
async function idevidRequest(sn: string): Promise<Request> {
  const dev = await pki.createIdevid(sn);
  return { key: scalar(dev.keyPem), cert: der(dev.certPem), extraCerts: [der(dev.chain[0])], trusted: [root.der], subject: name(`CN=${sn}`) };
}

const macRequest = (extra: Partial<Request> = {}): Request => ({ secret: "trust-secret", ref: "trust-ref", subject: name("CN=mac device"), ...extra });

/** status and failInfo bits of the certConf the device sent, if any (RFC 9810 5.3.18). */
function certConfStatus(requests: Uint8Array[]): { status: number; failInfo: number } | undefined {
  for (const r of requests) {
    const m = parse(r);
    if (bodyType(m.body) !== "certConf") continue;
    const s = m.body.certConf![0].statusInfo;
    if (!s) return { status: 0, failInfo: 0 };
    return { status: s.status, failInfo: s.failInfo ? s.failInfo.toNumber() : 0 };
  }
  return undefined;
}
const INCORRECT_DATA = 1 << 7; // PKIFailureInfo incorrectData (RFC 9810 5.2.3)

/** Runs `op` of a fresh device (full or lean core) through the rogue with `attack` set. */
async function run(
  attack: Parameters<typeof rewriteCertRep>[0] | null,
  req: Request,
  op: "ir" | "cr" | "kur" | "genm" | "rr" = "ir",
  opts: { lean?: boolean; edit?: Parameters<typeof rewriteCertRep>[1]; custom?: Rogue["attack"] } = {},
): Promise<{ out?: Outcome; err?: CmpError; requests: Uint8Array[] }> {
  const t = new Rogue(pki);
  t.attack = opts.custom ?? (attack ? rewriteCertRep(attack, opts.edit) : undefined);
  const d = new Device(t, opts.lean ? { wasm: LEAN } : {});
  try {
    const out = op === "genm" ? await d.general(req) : op === "rr" ? await d.revoke(req) : await d.enroll({ ...req, op });
    return { out, requests: t.requests };
  } catch (e) {
    if (!(e instanceof CmpError)) throw e;
    return { err: e, requests: t.requests };
  }
}

function refused(r: { out?: Outcome; err?: CmpError }, code: number, detail?: RegExp): void {
  expect(r.out, "accepted").toBeUndefined();
  expect(r.err!.code, r.err!.detail).toBe(code);
  if (detail) expect(r.err!.detail).toMatch(detail);
}

/** The returned certificate re-issued for the same subject and key by `signer`, naming `issuer`. */
const reissue =
  (signer: Credential, issuer: Uint8Array | string, aki?: Uint8Array) => async (m: Parameters<typeof setReturnedCert>[0], genuine: Uint8Array) => {
    const { subject, spki } = subjectAndKey(genuine);
    setReturnedCert(m, await forge({ subject, publicKey: spki, issuer, signer, aki }));
  };
const subjectOf = (c: Credential) => new Uint8Array(c.cert.subjectName.toArrayBuffer());
const skiOf = (c: Credential) => Buffer.from(c.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId, "hex");

describe("signer authorization: a sibling device's certificate never speaks for the CA", () => {
  for (const lean of [false, true]) {
    const mod = lean ? "lean" : "full";
    it(`${mod}: ip signed by the sibling, the certificate issued by the sibling naming itself: refused`, async () => {
      const r = await run({ signer: sibling, chain: chainUp }, await idevidRequest(`SIB-A-${mod}`), "ir", { lean, edit: reissue(sibling, subjectOf(sibling)) });
      refused(r, E.SIGNER);
      if (!lean) expect(r.err!.detail).toMatch(/neither the issuing CA nor an RA/);
    });
    it(`${mod}: ip signed by the sibling, the CA's genuine certificate: refused`, async () => {
      refused(await run({ signer: sibling, chain: chainUp }, await idevidRequest(`SIB-B-${mod}`), "ir", { lean }), E.SIGNER);
    });
    it(`${mod}: ip signed by the sibling, a certificate it forged in the CA's name and key identifier: refused`, async () => {
      const r = await run({ signer: sibling, chain: chainUp }, await idevidRequest(`SIB-C-${mod}`), "ir", {
        lean,
        edit: reissue(sibling, subjectOf(issuingCa), skiOf(issuingCa)),
      });
      refused(r, E.SIGNER);
    });
    it(`${mod}: control: the same device and flow with the test PKI's RA is accepted`, async () => {
      const r = await run(null, await idevidRequest(`SIB-OK-${mod}`), "ir", { lean });
      expect(r.err?.detail).toBeUndefined();
      expect(r.out!.chain.map((c) => Buffer.from(c))).toEqual([r.out!.cert, issuingCa.der, root.der].map((c) => Buffer.from(c!)));
    });
  }

  it("cp and kup signed by the sibling (naming itself as issuer or not): refused", async () => {
    const req = await idevidRequest("SIB-KUR");
    const first = await run(null, req, "ir");
    const op = { key: first.out!.newKey!, cert: first.out!.cert!, oldCert: first.out!.cert!, trusted: [root.der], subject: req.subject };
    for (const edit of [undefined, reissue(sibling, subjectOf(sibling))]) {
      refused(await run({ signer: sibling, chain: chainUp }, op, "kur", { edit }), E.SIGNER);
      refused(await run({ signer: sibling, chain: chainUp }, op, "cr", { edit }), E.SIGNER);
    }
    // control: the RA's kup is accepted
    expect((await run(null, op, "kur")).out?.cert).toBeDefined();
  });

  it("genp and rp signed by the sibling: refused; signed by the RA: accepted", async () => {
    const req = await idevidRequest("SIB-GENP");
    const first = await run(null, req, "ir");
    const creds = { key: first.out!.newKey!, cert: first.out!.cert!, trusted: [root.der] };
    expect((await run(null, creds, "genm")).out).toBeDefined();
    refused(await run({ signer: sibling, chain: chainUp }, creds, "genm"), E.SIGNER);
    // the rr reaches the test PKI, which revokes: the honest rp first, then the sibling's (on the PKI's
    // "already revoked" answer: the signer is refused before the status is read)
    expect((await run(null, { ...creds, oldCert: first.out!.cert! }, "rr")).out?.status).toBe(0);
    refused(await run({ signer: sibling, chain: chainUp }, { ...creds, oldCert: first.out!.cert! }, "rr"), E.SIGNER);
  });

  it("anyExtendedKeyUsage is not id-kp-cmcRA: ip and genp refused", async () => {
    const req = await idevidRequest("ANY-EKU");
    refused(await run({ signer: anyEku, chain: chainUp }, req, "ir"), E.SIGNER);
    const first = await run(null, req, "ir");
    refused(await run({ signer: anyEku, chain: chainUp }, { key: first.out!.newKey!, cert: first.out!.cert!, trusted: [root.der] }, "genm"), E.SIGNER);
  });

  it("id-kp-cmcCA authorizes an end-entity signer (RFC 6402 2.10)", async () => {
    expect((await run({ signer: cmcCa, chain: chainUp }, await idevidRequest("CMC-CA"), "ir")).out?.cert).toBeDefined();
  });

  it("a CA signs for the certificates it issued, verified by signature: the issuer accepted, another CA refused", async () => {
    const caIssues = reissue(caDs, subjectOf(caDs), skiOf(caDs));
    const ok = await run({ signer: caDs }, await idevidRequest("CA-OWN"), "ir", { edit: caIssues });
    expect(ok.err?.detail).toBeUndefined();
    expect(ok.out!.chain.map((c) => Buffer.from(c))).toEqual([ok.out!.cert, caDs.der, root.der].map((c) => Buffer.from(c!)));
    // caDs2 is a CA under the same root, and names caDs's subject nowhere: not the issuer
    refused(await run({ signer: caDs2 }, await idevidRequest("CA-OTHER"), "ir", { edit: caIssues }), E.SIGNER);
    // caDs2 signs a certificate in caDs's name and key identifier: its key did sign it, but the
    // certificate names another CA, and path validation refuses it (certConf rejection)
    const inCaName = reissue(caDs2, subjectOf(caDs), skiOf(caDs));
    const r = await run({ signer: caDs2, chain: [caDs.der] }, await idevidRequest("CA-NAME"), "ir", { edit: inCaName });
    refused(r, -51);
    expect(certConfStatus(r.requests)).toEqual({ status: 2, failInfo: INCORRECT_DATA });
  });

  it("a genp signed with a CA's own key (cA=TRUE, no cmcRA) is accepted; by the sibling it is not", async () => {
    const req = await idevidRequest("CA-GENP");
    const first = await run(null, req, "ir");
    const creds = { key: first.out!.newKey!, cert: first.out!.cert!, trusted: [root.der] };
    const out = (await run({ signer: caDs }, creds, "genm")).out;
    expect(out).toBeDefined();
    expect(out!.genp.length).toBeGreaterThanOrEqual(0);
    refused(await run({ signer: sibling, chain: chainUp }, creds, "genm"), E.SIGNER);
    // a CA certificate whose keyUsage forbids signing (the test PKI's issuing CA): refused (RFC 5280 4.2.1.3)
    refused(await run({ signer: issuingCa }, creds, "genm"), E.KEY_USAGE);
  });
});

describe("every returned certificate validates to a trust anchor", () => {
  for (const lean of [false, true]) {
    const mod = lean ? "lean" : "full";
    it(`${mod}: the RA returns a certificate issued by the sibling / a rogue root / self-signed: certConf rejects it (incorrectData), FAILED`, async () => {
      const cases: [string, ReturnType<typeof reissue>, Uint8Array[], number][] = [
        ["sibling", reissue(sibling, subjectOf(sibling), skiOf(sibling)), [...chainUp, sibling.der], E.CERT_NOT_CA],
        ["rogue root", reissue(rogue, subjectOf(rogue), skiOf(rogue)), [...chainUp, rogue.der], E.CERT_UNTRUSTED],
        ["CA name, sibling key", reissue(sibling, subjectOf(issuingCa), skiOf(issuingCa)), chainUp, -51],
      ];
      for (const [what, edit, chain, code] of cases) {
        const r = await run({ signer: ra, chain }, await idevidRequest(`RA-${what.replace(/\W/g, "")}-${mod}`), "ir", { lean, edit });
        expect(r.out, what).toBeUndefined();
        expect(r.err!.code, `${what}: ${r.err!.detail}`).toBe(code);
        if (!lean) expect(r.err!.detail).toMatch(/does not validate to a trust anchor/);
        expect(certConfStatus(r.requests), what).toEqual({ status: 2, failInfo: INCORRECT_DATA });
      }
    });
    it(`${mod}: with implicit confirmation granted the certificate is refused without a certConf`, async () => {
      const r = await run({ signer: ra, chain: chainUp }, { ...(await idevidRequest(`RA-IC-${mod}`)), implicitConfirm: true }, "ir", {
        lean,
        edit: reissue(rogue, subjectOf(rogue), skiOf(rogue)),
      });
      refused(r, E.CERT_UNTRUSTED);
      expect(certConfStatus(r.requests)).toBeUndefined();
    });
  }

  it("caPubs carrying a rogue root are no anchors under signature protection, even with caPubsTrusted", async () => {
    const edit = async (m: Parameters<typeof setCaPubs>[0], g: Uint8Array) => {
      setCaPubs(m, [rogue.der]);
      await reissue(rogue, subjectOf(rogue), skiOf(rogue))(m, g);
    };
    for (const options of [0, Options.caPubsTrusted]) {
      const r = await run({ signer: ra, chain: chainUp }, { ...(await idevidRequest(`CAPUBS-SIG-${options}`)), options }, "ir", { edit });
      refused(r, E.CERT_UNTRUSTED);
      expect(certConfStatus(r.requests)).toEqual({ status: 2, failInfo: INCORRECT_DATA });
    }
  });

  for (const lean of [false, true]) {
    const mod = lean ? "lean" : "full";
    it(`${mod}: under MAC, caPubs are anchors only with caPubsTrusted, and then the certificate must validate to them`, async () => {
      const mac = { mac: pbmAlg({ iterations: 1000 }), secret: "trust-secret", ref: "trust-ref", extra: chainUp };
      const rogueCert = async (m: Parameters<typeof setCaPubs>[0], g: Uint8Array) => {
        setCaPubs(m, [rogue.der]);
        await reissue(rogue, subjectOf(rogue), skiOf(rogue))(m, g);
      };
      // anchors configured, no option: the rogue root in caPubs is not one
      refused(await run(mac, macRequest({ trusted: [root.der] }), "ir", { lean, edit: rogueCert }), E.CERT_UNTRUSTED);
      // option (the Device API sets it for a MAC without anchors): the caPubs are the only anchors
      const genuineWithRogueCaPubs = (m: Parameters<typeof setCaPubs>[0]) => setCaPubs(m, [rogue.der]);
      refused(await run(mac, macRequest(), "ir", { lean, edit: genuineWithRogueCaPubs }), E.CERT_UNTRUSTED);
      refused(await run(mac, macRequest(), "ir", { lean, edit: (m) => setCaPubs(m, undefined) }), E.CERT_UNTRUSTED);
      // control: what the shared secret vouches for (RFC 9483 4.1.1) is accepted
      const ok = await run(mac, macRequest(), "ir", { lean, edit: rogueCert });
      expect(ok.err?.detail).toBeUndefined();
      expect(ok.out!.caPubs.map((c) => Buffer.from(c))).toEqual([Buffer.from(rogue.der)]);
      expect(Buffer.from(ok.out!.chain.at(-1)!)).toEqual(Buffer.from(rogue.der));
    });
  }
});

describe("MAC parameters are bounded both ways", () => {
  const macRun = (alg: AlgorithmIdentifier, lean = false) =>
    run({ mac: alg, secret: "trust-secret", ref: "trust-ref", extra: chainUp }, macRequest(), "ir", { lean });

  it("PBMAC1: keyLength shorter than the HMAC output, too few iterations, short salt: refused; the bounds themselves accepted", async () => {
    for (const [alg, detail] of [
      [pbmac1Alg({ keyLength: 1 }), /key is shorter than the HMAC output/],
      [pbmac1Alg({ keyLength: 31 }), /key is shorter than the HMAC output/],
      [pbmac1Alg({ keyLength: 0 }), /key is shorter than the HMAC output/], // absent
      [pbmac1Alg({ keyLength: 20, mac: OID.hmacWithSHA256 }), /key is shorter than the HMAC output/],
      [pbmac1Alg({ iterations: 999 }), /uses 999 iterations, fewer than the least accepted, 1000$/],
      [pbmac1Alg({ iterations: 1 }), /uses 1 iterations, fewer than the least accepted, 1000$/],
      [pbmac1Alg({ salt: 15 }), /salt has 15 octets, not 16 to 128/],
      [pbmac1Alg({ salt: 129 }), /salt has 129 octets, not 16 to 128/],
    ] as const)
      refused(await macRun(alg), E.PROTECTION, detail);
    for (const alg of [
      pbmac1Alg({ keyLength: 32, iterations: 1000, salt: 16 }),
      pbmac1Alg({ keyLength: 20, mac: OID.hmacWithSHA1, prf: OID.hmacWithSHA1 }),
      pbmac1Alg({ keyLength: 64, salt: 128 }),
    ]) {
      const ok = await macRun(alg);
      expect(ok.err?.detail).toBeUndefined();
    }
  });

  for (const lean of [false, true]) {
    it(`${lean ? "lean" : "full"}: PBM: too few iterations, short salt, an OWF shorter than the HMAC: refused; the bounds accepted`, async () => {
      for (const [alg, detail] of [
        [pbmAlg({ iterations: 499 }), /uses 499 iterations, fewer than the least accepted, 500$/],
        [pbmAlg({ iterations: 1 }), /uses 1 iterations, fewer than the least accepted, 500$/],
        [pbmAlg({ salt: 1 }), /salt has 1 octets, not 16 to 128/],
        [pbmAlg({ owf: OID.sha1, mac: OID.hmacWithSHA256 }), /key is shorter than the HMAC output/],
      ] as const)
        refused(await macRun(alg, lean), E.PROTECTION, lean ? undefined : detail);
      const ok = await macRun(pbmAlg({ iterations: 500, salt: 16 }), lean);
      expect(ok.err?.detail).toBeUndefined();
    });
  }

  it("a man in the middle without the secret tries all 256 one-byte PBMAC1 keys: the one that is right is refused too", async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = transaction(
      [
        [ITEM_REF, enc("trust-ref")],
        [ITEM_SECRET, enc("trust-secret")],
        [ITEM_SUBJECT, cn("mac device")],
      ],
      [[INT_OPTIONS, Options.caPubsTrusted]],
      now,
    );
    const req = t.start();
    const honest = parse(await pki.responder.handle(req));
    const alg = pbmac1Alg({ keyLength: 1, iterations: 1000 });
    const hit = pbkdf2Sync("trust-secret", Buffer.from(parseSalt(alg)), 1000, 1, "sha256")[0];
    let wouldVerify = 0;
    for (let k = 0; k < 256; k++) {
      const rsp = protect(honest, { alg, extra: [], value: (data) => new Uint8Array(createHmac("sha256", Uint8Array.of(k)).update(data).digest()) });
      if (k === hit) wouldVerify++;
      t.start();
      expectAction(t.input(rsp), FAILED);
      expect(t.error()).toBe(E.PROTECTION);
    }
    expect(wouldVerify).toBe(1); // exactly one candidate carried the right MAC: without the bound it would be installed
  });
});

function parseSalt(alg: AlgorithmIdentifier): Uint8Array {
  // PBMAC1-params -> keyDerivationFunc -> PBKDF2-params -> salt OCTET STRING
  const b = new Uint8Array(alg.parameters!);
  const inner = (p: number) => p + 2 + (b[p + 1] & 0x80 ? b[p + 1] & 0x7f : 0);
  let p = inner(0); // PBMAC1-params content
  p = inner(p); // keyDerivationFunc content
  p += 2 + b[p + 1]; // skip the PBKDF2 OID
  p = inner(p); // PBKDF2-params content
  const len = b[p + 1];
  return b.subarray(p + 2, p + 2 + len);
}

describe("verification work is bounded", () => {
  it("RSA signer keys outside 2048..4096 bits or with e >= 2^32: refused before any exponentiation", async () => {
    const req = await idevidRequest("RSA-LIMITS");
    const alg = new AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.11", parameters: null });
    for (const [bits, e] of [
      [4096, new Uint8Array(512).fill(0xff)],
      [4096, Uint8Array.of(1, 0, 0, 0, 1)],
      [8192, Uint8Array.of(1, 0, 1)],
      [1024, Uint8Array.of(1, 0, 1)],
    ] as const) {
      const spki = rsaSpki(bigModulus(bits), e);
      const cert = await forge({ subject: "CN=rsa signer", publicKey: spki, issuer: subjectOf(issuingCa), signer: issuingCa, eku: [OID.cmcRA], ski: false });
      const value = new Uint8Array(bits / 8).fill(0x11);
      const r = await run(null, req, "ir", { custom: (_q, honest) => protect(honest, { alg, value, extra: [cert, issuingCa.der] }) });
      refused(r, E.KEY, /error -24$/);
    }
  });

  it("the costliest response the limits allow stops at the per-response signature budget", async () => {
    const req = await idevidRequest("RSA-COST");
    const few = await run(null, req, "ir", { custom: async (_q, honest) => costliest(honest, issuingCa, 3) });
    expectCode(few.err!.code, E_CERT_SIGNATURE); // 1 + 3 checks: every decoy tried, none verifies
    const many = await run(null, req, "ir", { custom: async (_q, honest) => costliest(honest, issuingCa, 15) });
    expect(many.err!.code, many.err!.detail).toBe(E.CERT_POOL); // the budget (12) ran out before the decoys did
  }, 60_000);
});

describe("nothing of one transaction leaks into the next", () => {
  it("core: tx_start clears PKIStatus, failInfo, error, detail and results; a genp after a rejection carries none of them", async () => {
    const now = Math.floor(Date.now() / 1000);
    pki.configure({ reject: { status: 2, failInfo: [2], statusString: "go away" } });
    try {
      const t = transaction(
        [
          [ITEM_REF, enc("trust-ref")],
          [ITEM_SECRET, enc("trust-secret")],
          [ITEM_SUBJECT, cn("stale")],
          [ITEM_TRUSTED, root.der],
        ],
        [],
        now,
      );
      const x = t.fc.core.exports;
      expectAction(t.input(await pki.responder.handle(t.start())), FAILED);
      expect(x.tx_status()).toBe(2);
      expect(x.tx_failinfo()).not.toBe(0);
      expect(x.tx_result_len(RESULT_STATUS_STRING, 0)).toBeGreaterThan(0); // the statusString
      expect(x.tx_detail_len()).toBeGreaterThan(0);
      pki.configure({ reject: undefined });
      expectCode(x.tx_start(99), E_ARG); // even a refused start leaves nothing of the last transaction
      fresh(x);
      expectAction(x.tx_start(OP_GENM), SEND); // genm, same configuration
      fresh(x);
      t.fc.core.reset();
      const rsp = await pki.responder.handle(t.fc.core.read(x.tx_out(), x.tx_out_len()));
      expectAction(x.tx_input(t.fc.core.put(rsp), rsp.length), DONE);
      expect(x.tx_status()).toBe(-1); // a genp carries no PKIStatus
      expect(x.tx_result_len(RESULT_STATUS_STRING, 0)).toBe(-1);
    } finally {
      pki.configure({ reject: undefined });
    }
  });

  it("Device API: a genm after a rejected ir reports no status, strings or certificates of it", async () => {
    const d = new Device(new Rogue(pki));
    pki.configure({ reject: { status: 2, failInfo: [2], statusString: "go away" } });
    try {
      await expectRefused(d.enroll(macRequest({ trusted: [root.der] })), E_CMP_REJECTED);
    } finally {
      pki.configure({ reject: undefined });
    }
    const o = await d.general(macRequest({ trusted: [root.der] }));
    expect(o.status).toBe(-1);
    expect(o.statusStrings).toEqual([]);
    expect(o.cert).toBeUndefined();
    expect(o.caPubs).toEqual([]);
  });
});

function fresh(x: {
  tx_status(): number;
  tx_failinfo(): number;
  tx_error(): number;
  tx_detail_len(): number;
  tx_result_len(k: number, i: number): number;
}): void {
  expect(x.tx_failinfo()).toBe(0);
  expect(x.tx_error()).toBe(0);
  expect(x.tx_detail_len()).toBe(0);
  for (const k of [1, 2, 3, 5, 6, 7]) expect(x.tx_result_len(k, 0)).toBe(-1);
  expect(x.tx_status()).toBe(-1);
}

describe("the agent stores a credential only after the core validated it", () => {
  class FakeClock implements Clock {
    t = Date.now();
    now(): number {
      return this.t;
    }
    async sleep(ms: number): Promise<void> {
      this.t += ms;
    }
  }

  async function agentDevice(sn: string) {
    const flash = new Flash();
    const dev = await pki.createIdevid(sn);
    new Store(new Core({ flash })).provision(scalar(dev.keyPem), der(dev.certPem), dev.chain.map(der));
    const clock = new FakeClock();
    const t = new Rogue(pki);
    const agent = () =>
      new Agent(
        { url: "http://127.0.0.1:9/unused", subject: `CN=agent ${sn}`, trusted: [root.der], attempts: 1, backoffBase: 0 },
        { flash, clock, transport: t, log: () => {} },
      );
    return { flash, clock, t, agent };
  }
  const credential = (a: Agent) => ({
    cert: a.store.get(KIND.CRED, TAG.CERT),
    chain: a.store.all(KIND.CRED, TAG.CHAIN),
    pub: a.store.publicKey(KIND.CRED),
    trust: a.store.all(KIND.TRUST, TAG.ANCHOR),
  });

  const attacks: [string, () => Rogue["attack"]][] = [
    ["kup by the sibling naming itself as issuer", () => rewriteCertRep({ signer: sibling, chain: chainUp }, reissue(sibling, subjectOf(sibling)))],
    ["kup by the sibling with the CA's certificate", () => rewriteCertRep({ signer: sibling, chain: chainUp })],
    [
      "kup by the RA with a certificate of the sibling",
      () => rewriteCertRep({ signer: ra, chain: chainUp }, reissue(sibling, subjectOf(sibling), skiOf(sibling))),
    ],
    [
      "kup by the RA with caPubs and a certificate of a rogue root",
      () =>
        rewriteCertRep({ signer: ra, chain: chainUp }, async (m, g) => {
          setCaPubs(m, [rogue.der]);
          await reissue(rogue, subjectOf(rogue), skiOf(rogue))(m, g);
        }),
    ],
    ["kup by anyExtendedKeyUsage", () => rewriteCertRep({ signer: anyEku, chain: chainUp })],
    ["the costliest response", () => async (_q, honest) => costliest(honest, issuingCa, 15)],
  ];

  it("an ir answered by the sibling stores nothing", async () => {
    const { agent, t } = await agentDevice("AG-IR");
    t.attack = rewriteCertRep({ signer: sibling, chain: chainUp }, reissue(sibling, subjectOf(sibling)));
    const a = agent();
    await expect(a.step()).rejects.toThrow();
    expect(a.certificate).toBeUndefined();
    expect(a.store.get(KIND.CRED, TAG.CERT)).toBeUndefined();
    t.attack = undefined;
    const c = agent();
    expect(await c.step()).toMatch(/^(enrolled|resumed)$/); // control: the honest ip is taken
    expect(c.certificate).toBeDefined();
  });

  for (const [what, attack] of attacks) {
    it(`renewal: ${what}: refused, the stored credential unchanged byte for byte`, async () => {
      pki.configure({ validitySeconds: 3000 });
      try {
        const { agent, clock, t } = await agentDevice(`AG-${what.replace(/\W/g, "").slice(0, 20)}`);
        const a = agent();
        expect(await a.step()).toBe("enrolled");
        const before = credential(a);
        const certBytes = Buffer.from(a.certificate!);
        clock.t = a.renewalTime()! + 1;
        t.attack = attack();
        await expect(a.step()).rejects.toThrow();
        const b = agent(); // after a restart too
        for (const x of [a, b]) {
          expect(credential(x)).toEqual(before);
          expect(Buffer.from(x.certificate!).equals(certBytes)).toBe(true);
        }
        t.attack = undefined;
        expect(await b.step()).toMatch(/^(renewed|resumed)$/); // control: the honest kup is taken
        expect(Buffer.from(b.certificate!).equals(certBytes)).toBe(false);
      } finally {
        pki.configure({ validitySeconds: 365 * 86_400 });
      }
    }, 60_000);
  }
});
