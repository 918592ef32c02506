// Conformance with strict peers (RFC 9480/9481/9483): certTemplate extensions encoding (RFC 4211
// IMPLICIT TAGS) against `openssl cmp` 3.0 and the strict test PKI, the test PKI's own DER
// strictness (each rule shown to refuse the input that would slip past it), certConf certHash per
// signature algorithm (with `openssl cmp` and node:crypto as oracles), MAC refusals in words.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CmpError, Device, Options, type Transport } from "../host/node/device";
import { HttpTransport, TransportError } from "../host/node/transport";
import { sansDer } from "../host/node/files";
import { PKIMessage } from "../host/node/testpki/asn1.js";
import { TestPki } from "../host/node/testpki/index.js";
import { derViolation } from "../host/node/testpki/strict.js";
import { makeCreds, type Creds, withMockServer } from "./openssl-cmp";

const E = { ERROR_MSG: -92, ALG: -21, ITERATIONS: -23, TOO_LARGE: -99 };
const env = { ...process.env, OPENSSL_CONF: "/dev/null" };

// ---- a small DER tree, to re-encode requests with one rule broken ----
interface Node { tag: number; kids?: Node[]; value?: Uint8Array; longLen?: boolean; indefinite?: boolean }
function parse(b: Uint8Array, at = 0, end = b.length): Node[] {
  const out: Node[] = [];
  while (at < end) {
    const tag = b[at];
    let len = b[at + 1], v = at + 2;
    if (len & 0x80) { const n = len & 0x7f; len = 0; for (let i = 0; i < n; i++) len = len * 256 + b[v + i]; v += n; }
    out.push(tag & 0x20 ? { tag, kids: parse(b, v, v + len) } : { tag, value: b.slice(v, v + len) });
    at = v + len;
  }
  return out;
}
function encode(n: Node): Buffer {
  const content = n.kids ? Buffer.concat(n.kids.map(encode)) : Buffer.from(n.value!);
  if (n.indefinite) return Buffer.concat([Buffer.from([n.tag, 0x80]), content, Buffer.from([0, 0])]);
  const l = content.length;
  const len = l < 0x80 && !n.longLen ? [l] : l < 0x100 ? [0x81, l] : [0x82, l >> 8, l & 0xff];
  return Buffer.concat([Buffer.from([n.tag, ...len]), content]);
}
const tree = (b: Uint8Array) => parse(b)[0];
// PKIMessage > body [n] > CertReqMessages > CertReqMsg > CertRequest > certTemplate
const template = (msg: Node) => msg.kids![1].kids![0].kids![0].kids![0].kids![1];

/** Forwards requests to `url`, the n-th edited by `edit` first. */
function editing(url: string, edit: (req: Uint8Array, n: number) => Uint8Array): Transport & { sent: Uint8Array[] } {
  const inner = new HttpTransport({ url });
  let n = 0;
  const sent: Uint8Array[] = [];
  return {
    sent,
    transfer(r) { const e = edit(r, n++); sent.push(e); return inner.transfer(e); },
    close() { inner.close(); },
  };
}

async function failure(p: Promise<unknown>): Promise<CmpError> {
  try { await p; } catch (e) { if (e instanceof CmpError) return e; throw e; }
  throw new Error("transaction did not fail");
}

const cn = (s: string) => {
  const v = Buffer.from(s);
  const atv = Buffer.concat([Buffer.from([0x30, v.length + 7, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, v.length]), v]);
  const set = Buffer.concat([Buffer.from([0x31, atv.length]), atv]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, set.length]), set]));
};
// keyUsage critical digitalSignature (RFC 5280 4.2.1.3) as a DER Extension
const KEY_USAGE_EXT = Uint8Array.from([0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80]);
const SANS = "device-7.example.com, 192.0.2.7";

/** The certTemplate extensions of a request, as the test PKI's RFC 4211 schema reads them. */
function templateExtensions(req: Uint8Array): string[] {
  const m = AsnConvert.parse(req, PKIMessage);
  const body = m.body.ir ?? m.body.cr ?? m.body.kur;
  return body![0].certReq.certTemplate.extensions!.map((e) => e.extnID);
}

describe("certTemplate extensions [9] against openssl cmp (RFC 4211 IMPLICIT TAGS)", () => {
  let creds: Creds;
  beforeAll(() => { creds = makeCreds(); }, 30_000);
  const mac = () => ({ secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt") });
  const signed = (extra: Record<string, unknown> = {}) => ({
    key: creds.scalar("dev.key"), cert: creds.der("dev.crt"), trusted: [creds.der("root.crt")],
    newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt"), ...extra,
  });

  for (const op of ["ir", "cr", "kur"] as const) {
    it(`${op} with SANs and keyUsage: [9] holds the Extensions directly and openssl accepts it`, async () => {
      await withMockServer(creds, [], async (s) => {
        const t = editing(s.url, (r) => r);
        const d = new Device(t);
        const base = op === "ir" ? mac() : op === "cr" ? signed()
          : signed({ key: creds.scalar("rsp.key"), cert: creds.der("rsp.crt"), oldCert: creds.der("rsp.crt") });
        const o = await d.enroll({ ...base, op, sans: sansDer(SANS), extensions: [KEY_USAGE_EXT] });
        d.close();
        expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
        expect(templateExtensions(t.sent[0])).toEqual(["2.5.29.17", "2.5.29.15"]);
        const ext = template(tree(t.sent[0])).kids!.find((k) => k.tag === 0xa9)!;
        expect(ext.kids!.map((k) => k.kids![0].tag)).toEqual([0x06, 0x06]); // Extension { extnID, ... }
      });
    });
  }

  it("the old form [9] { SEQUENCE { Extension } } gets HTTP 400 from openssl, reported as such", async () => {
    await withMockServer(creds, [], async (s) => {
      const t = editing(s.url, (r) => {
        const m = tree(r);
        const ext = template(m).kids!.find((k) => k.tag === 0xa9)!;
        ext.kids = [{ tag: 0x30, kids: ext.kids }];
        return encode(m);
      });
      const d = new Device(t);
      const err = await d.enroll({ ...mac(), sans: sansDer(SANS) }).catch((e) => e);
      d.close();
      expect(err).toBeInstanceOf(TransportError);
      expect(err.message).toMatch(/^HTTP 400\b.*the server could not process the request/);
    });
  });
});

describe("the strict test PKI", () => {
  let pki: TestPki;
  beforeAll(async () => { pki = await TestPki.start({}); }, 60_000);
  afterAll(async () => { await pki?.close(); });
  const pemDer = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
  const macReq = (extra: Record<string, unknown> = {}) => ({
    secret: pki.secret, ref: pki.ref, subject: cn("tinycmp strict device"), trusted: [pemDer(pki.root.certPem)], ...extra,
  });
  const url = () => pki.url + "/pkix/";

  it("ir with SANs: the issued certificate carries them", async () => {
    pki.reset();
    const d = Device.http({ url: url() });
    const o = await d.enroll(macReq({ sans: sansDer(SANS) }));
    d.close();
    expect(new X509Certificate(o.cert!).subjectAltName).toBe("DNS:device-7.example.com, IP Address:192.0.2.7");
  });

  it("ir with an IDevID, then cr and kur with SANs", async () => {
    pki.reset();
    const idev = await pki.createIdevid("SN-strict");
    const { createPrivateKey } = await import("node:crypto");
    const scalar = (pem: string) => new Uint8Array(Buffer.from(createPrivateKey(pem).export({ format: "jwk" }).d as string, "base64url"));
    const d = Device.http({ url: url() });
    const ir = await d.enroll({ key: scalar(idev.keyPem), cert: pemDer(idev.certPem), extraCerts: idev.chain.slice(0, 1).map(pemDer),
      trusted: [pemDer(pki.root.certPem)], subject: cn("tinycmp strict ir"), sans: sansDer("a.example") });
    expect(new X509Certificate(ir.cert!).subjectAltName).toBe("DNS:a.example");
    const cr = await d.enroll({ op: "cr", key: ir.newKey!, cert: ir.cert!, trusted: [pemDer(pki.root.certPem)],
      subject: cn("tinycmp strict cr"), sans: sansDer("b.example") });
    expect(new X509Certificate(cr.cert!).subjectAltName).toBe("DNS:b.example");
    const kur = await d.enroll({ op: "kur", key: ir.newKey!, cert: ir.cert!, oldCert: ir.cert!, trusted: [pemDer(pki.root.certPem)],
      subject: cn("tinycmp strict ir"), sans: sansDer("c.example, 198.51.100.1") });
    d.close();
    expect(new X509Certificate(kur.cert!).subjectAltName).toBe("DNS:c.example, IP Address:198.51.100.1");
  });

  // Each edit breaks one DER rule in a request the test PKI otherwise accepts (control first).
  const edits: [string, (m: Node) => void, RegExp][] = [
    ["control: re-encoded unchanged", () => {}, /^$/],
    ["[9] { SEQUENCE { Extension } } (IMPLICIT tag kept the SEQUENCE)", (m) => {
      const ext = template(m).kids!.find((k) => k.tag === 0xa9)!;
      ext.kids = [{ tag: 0x30, kids: ext.kids }];
    }, /certTemplate extensions \[9\] at offset \d+ must hold Extension elements directly/],
    ["non-minimal length (0x81 for a short one)", (m) => { m.kids![0].kids![0].longLen = true; }, /not DER at offset \d+: length \d+ in long form/],
    ["indefinite length", (m) => { m.kids![1].indefinite = true; }, /indefinite length/],
    ["unsorted SET OF (a two-valued RDN in the subject)", (m) => {
      const subject = template(m).kids!.find((k) => k.tag === 0xa5)!.kids![0];
      const rdn = subject.kids![0];
      const o = { tag: 0x30, kids: [{ tag: 0x06, value: Uint8Array.of(0x55, 0x04, 0x0a) }, { tag: 0x0c, value: Buffer.from("O") }] };
      rdn.kids = [...rdn.kids!, o]; // DER order compares whole encodings: O (30 0a ...) before CN (30 1b ...)
    }, /SET OF elements not sorted/],
    ["BOOLEAN TRUE as 0x01", (m) => {
      const ext = template(m).kids!.find((k) => k.tag === 0xa9)!;
      ext.kids![1].kids![1].value = Uint8Array.of(0x01);
    }, /BOOLEAN not 0x00 or 0xFF/],
    ["INTEGER with a leading zero (certReqId)", (m) => {
      m.kids![1].kids![0].kids![0].kids![0].kids![0].value = Uint8Array.of(0, 0);
    }, /INTEGER not minimal/],
  ];
  for (const [name, edit, why] of edits) {
    it(`refuses non-DER with badDataFormat and says why: ${name}`, async () => {
      pki.reset();
      const t = editing(url(), (r, n) => {
        if (n > 0) return r;
        const m = tree(r);
        edit(m);
        return encode(m);
      });
      const d = new Device(t);
      const p = d.enroll(macReq({ sans: sansDer("x.example"), extensions: [KEY_USAGE_EXT] }));
      if (why.source === "^$") {
        await expect(p).resolves.toBeDefined();
        expect(derViolation(t.sent[0])).toBeUndefined();
        d.close();
        return;
      }
      const err = await failure(p);
      d.close();
      // the error copies transactionID and senderNonce: the client reports it, not a mismatch
      expect(err.code).toBe(E.ERROR_MSG);
      expect(err.detail).toMatch(/^error message received: status rejection, failInfo badDataFormat, statusString "/);
      expect(err.detail).toMatch(why);
      expect(err.detail).not.toMatch(/errorDetails|transactionID/);
      expect(derViolation(t.sent[0])).toMatch(why);
    });
  }

  it("trailing bytes after the PKIMessage are refused", async () => {
    pki.reset();
    const t = editing(url(), (r, n) => (n > 0 ? r : Buffer.concat([r, Buffer.from([0])])));
    const d = new Device(t);
    const err = await failure(d.enroll(macReq()));
    d.close();
    expect(err.detail).toMatch(/badDataFormat, statusString "1 bytes after the PKIMessage"/);
  });

  it("a strict CA's MAC sender rule: sender CN must be the senderKID (SENDER sets it)", async () => {
    pki.reset();
    pki.configure({ macSenderIsRef: true });
    try {
      const d = Device.http({ url: url() });
      const err = await failure(d.enroll(macReq()));
      expect(err.detail).toMatch(/sender CN "tinycmp strict device" is not the senderKID/);
      const o = await d.enroll(macReq({ sender: cn(pki.ref) }));
      expect(o.cert).toBeDefined();
      // genm (no subject): the sender is what SENDER says too
      const g = await d.general({ secret: pki.secret, ref: pki.ref, sender: cn(pki.ref), trusted: [pemDer(pki.root.certPem)],
        infoTypes: [Uint8Array.of(0x2b, 6, 1, 5, 5, 7, 4, 17)] });
      expect(g.genp.length).toBe(1);
      d.close();
    } finally { pki.reset(); }
  });

  it("an error message without errorDetails: statusString said once, no errorDetails label", async () => {
    pki.reset();
    pki.configure({ errorMessage: { statusString: "maintenance window", errorCode: 7 } });
    try {
      const d = Device.http({ url: url() });
      const err = await failure(d.enroll(macReq()));
      d.close();
      expect(err.detail).toBe('error message received: status rejection, failInfo systemUnavail, statusString "maintenance window", errorCode 7');
    } finally { pki.reset(); }
  });

  it("PBMAC1 with HMAC-SHA512 and 262,144 iterations: refused in words under the default limit, accepted with a higher one", async () => {
    pki.reset();
    pki.configure({ responseProtection: "mac" });
    try {
      const d = Device.http({ url: url() });
      const req = macReq({ options: Options.pbmac1, pbmMac: 4, pbmOwf: 4, pbmIterations: 262144 });
      const err = await failure(d.enroll(req));
      expect(err.code).toBe(E.ITERATIONS);
      expect(err.detail).toBe("response MAC uses 262144 iterations, more than the limit of 100000");
      const o = await d.enroll({ ...req, maxIterations: 262144 });
      d.close();
      expect(o.cert).toBeDefined();
      // the request's PBMAC1 parameters: PBKDF2 with hmacWithSHA512, messageAuthScheme hmacWithSHA512
      const alg = AsnConvert.parse(o.messages.request[0], PKIMessage).header.protectionAlg!;
      expect(Buffer.from(alg.parameters!).toString("hex")).toMatch(/06082a864886f70d020b/);
    } finally { pki.reset(); }
  }, 60_000);
});

describe("an error message that does not answer the request", () => {
  it("is refused, and what it says is reported rather than a bare transactionID mismatch", async () => {
    const pki = await TestPki.start({ wrongTransactionID: true, errorMessage: { statusString: "cannot parse", failInfo: [5] } });
    try {
      const d = Device.http({ url: pki.url + "/pkix/" });
      const err = await failure(d.enroll({ secret: pki.secret, ref: pki.ref, subject: cn("x") }));
      d.close();
      expect(err.code).toBe(-85); // E_CMP_TRANSACTION_ID: still refused
      expect(err.detail).toBe('error message not answering this request (the server could not read it?): status rejection, failInfo badDataFormat, statusString "cannot parse"');
    } finally { await pki.close(); }
  }, 60_000);
});
