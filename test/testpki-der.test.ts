// The test PKI's hot path without the schema classes: its own DER reader of requests
// (testpki/reader.ts), the responses it writes by hand and the certificates it issues from a
// template, each held against @peculiar/asn1-schema and @peculiar/x509 on the same input.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate as NodeX509 } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { bodyType, PBMParameter, PKIBody, PKIMessage } from "../host/node/testpki/asn1.js";
import { TestPki } from "../host/node/testpki/index.js";
import { pbmParameter, Request } from "../host/node/testpki/reader.js";
import { sha256Iterate } from "../host/node/testpki/protection.js";
import { publicKeyOf } from "../host/node/testpki/enroll.js";
import { Device } from "../host/node/lib/device.js";
import { nameDer } from "../host/node/lib/files.js";
import * as x509 from "../host/node/testpki/x509.js";
import { VECTORS } from "./helpers/vectors.js";

const hex = (b: ArrayBuffer | Uint8Array | undefined) => (b ? Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString("hex") : undefined);
const ser = (v: object) => hex(AsnConvert.serialize(v));

describe("testpki reader against the schema classes on shared/vectors", () => {
  const files: string[] = [];
  for (const d of ["lwcmpra/CrWithSignatureProtection", "lwcmpra/IrWithMacProtection", "lwcmpra/Kur"])
    for (const f of readdirSync(VECTORS + d)) if (f.endsWith(".der")) files.push(`${d}/${f}`);
  for (const f of readdirSync(VECTORS + "rustcrypto-cmpv2")) if (/_(req|rsp)_01\.bin$/.test(f)) files.push(`rustcrypto-cmpv2/${f}`);

  it("finds the vectors", () => expect(files.length).toBeGreaterThanOrEqual(20));

  it.each(files)("%s: header, body and extraCerts read as the schema reads them", (f) => {
    const der = new Uint8Array(readFileSync(VECTORS + f));
    const m = AsnConvert.parse(der, PKIMessage);
    const r = new Request(der);
    const type = bodyType(m.body);
    expect(r.type).toBe(type);
    expect(hex(r.headerRaw)).toBe(hex(m.headerRaw));
    expect(hex(r.bodyRaw)).toBe(hex(m.bodyRaw));
    expect(hex(r.protection)).toBe(hex(m.protection));
    expect(r.extraCerts.map(hex)).toEqual((m.extraCerts ?? []).map(ser));
    const h = m.header;
    expect(r.header.pvno).toBe(h.pvno);
    expect(hex(r.header.senderDer)).toBe(ser(h.sender));
    expect(hex(r.header.transactionID)).toBe(hex(h.transactionID));
    expect(hex(r.header.senderNonce)).toBe(hex(h.senderNonce));
    expect(hex(r.header.recipNonce)).toBe(hex(h.recipNonce));
    expect(hex(r.header.senderKID)).toBe(hex(h.senderKID));
    expect(r.header.protectionAlg?.algorithm).toBe(h.protectionAlg?.algorithm);
    // parameters as their DER (the schema gives NULL as null)
    expect(hex(r.header.protectionAlg?.parameters)).toBe(h.protectionAlg?.parameters === null ? "0500" : hex(h.protectionAlg?.parameters));
    expect(r.header.generalInfo).toEqual((h.generalInfo ?? []).map((i) => i.infoType));
    if (h.protectionAlg?.algorithm === "1.2.840.113533.7.66.13") {
      const p = pbmParameter(new Uint8Array(h.protectionAlg.parameters!));
      const q = AsnConvert.parse(h.protectionAlg.parameters!, PBMParameter);
      expect([hex(p.salt), p.owf, p.iterationCount, p.mac]).toEqual([hex(q.salt), q.owf.algorithm, q.iterationCount, q.mac.algorithm]);
    }
    if (type === "ir" || type === "cr" || type === "kur") {
      const want = m.body[type]!;
      const got = r.certReqs();
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => {
        const w = want[i];
        const t = w.certReq.certTemplate;
        expect(g.certReqId).toBe(w.certReq.certReqId);
        expect(hex(g.certReqDer)).toBe(hex(w.certReqRaw));
        expect(hex(g.template.subject)).toBe(t.subject && ser(t.subject));
        expect(hex(g.template.publicKey)).toBe(t.publicKey && ser(t.publicKey));
        expect(g.template.extensions.map((e) => e.id)).toEqual((t.extensions ?? []).map((e) => e.extnID));
        expect(g.template.notAfter?.getTime()).toBe((t.validity?.notAfter?.utcTime ?? t.validity?.notAfter?.generalTime)?.getTime());
        expect(g.controls.map((c) => [c.type, hex(c.value)])).toEqual((w.certReq.controls ?? []).map((c) => [c.type, hex(c.value)]));
        if (w.popo?.signature) {
          expect(g.popo).toEqual({
            signature: {
              poposkInput: !!w.popo.signature.poposkInput,
              algorithm: w.popo.signature.algorithmIdentifier.algorithm,
              signature: new Uint8Array(w.popo.signature.signature),
            },
          });
        } else expect(g.popo === undefined).toBe(w.popo === undefined);
      });
    }
    if (type === "certConf") {
      expect(r.certStatuses().map((s) => [hex(s.certHash), s.certReqId, s.status, s.hashAlg])).toEqual(
        m.body.certConf!.map((s) => [hex(s.certHash), s.certReqId, s.statusInfo?.status, s.hashAlg?.algorithm]),
      );
    }
  });
});

describe("testpki responses and certificates", () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await TestPki.start({ grantImplicitConfirm: false });
  });
  afterAll(() => pki?.close());

  const enroll = async () => {
    const device = Device.http({ url: pki.url });
    try {
      return await device.enroll({ ref: pki.ref, secret: pki.secret, subject: nameDer("/CN=der test/O=tinycmp"), trusted: [pki.root.der] });
    } finally {
      device.close();
    }
  };

  it.each(["signature", "mac"] as const)("responses written by hand (%s-protected) are DER exactly as the schema classes write them", async (protection) => {
    pki.configure({ responseProtection: protection });
    try {
      const out = await enroll();
      expect(out.messages.response.length).toBe(2); // ip, pkiConf
      for (const rsp of out.messages.response) {
        const m = AsnConvert.parse(rsp, PKIMessage);
        expect(hex(AsnConvert.serialize(m))).toBe(hex(rsp));
      }
      const ip = AsnConvert.parse(out.messages.response[0], PKIMessage);
      expect(bodyType(ip.body)).toBe("ip");
      expect(ip.body.ip!.caPubs?.length).toBe(1); // MAC-protected ir: the root in caPubs (RFC 9483 4.1.1)
      expect(hex(AsnConvert.parse(out.messages.response[1], PKIMessage).bodyRaw)).toBe(ser(new PKIBody({ pkiconf: null })));
    } finally {
      pki.reset();
    }
  });

  it("a certificate from the template has the content @peculiar/x509 gives it, and verifies", async () => {
    const ca = pki.hierarchy.issuingCa;
    const key = new Uint8Array(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" }));
    const subject = nameDer("/CN=template test/O=tinycmp");
    const san = new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "device.example" }]);
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
    const fast = await ca.issueEndEntity({ subject, publicKey: key, notAfter, extensions: [new Uint8Array(san.rawData)] });
    const slow = await ca.issue({ subject, publicKey: key, notAfter, extensions: [san] });
    const a = AsnConvert.parse(fast.der, Certificate),
      b = AsnConvert.parse(slow.rawData, Certificate);
    const t = (v: { getTime(): number }) => v.getTime();
    expect(Math.abs(t(a.tbsCertificate.validity.notBefore.getTime()) - t(b.tbsCertificate.validity.notBefore.getTime()))).toBeLessThan(5000);
    expect(hex(a.tbsCertificate.serialNumber)).toBe(fast.serialNumber);
    // the same certificate but for serial number, notBefore and signature value
    a.tbsCertificate.serialNumber = b.tbsCertificate.serialNumber;
    a.tbsCertificate.validity.notBefore = b.tbsCertificate.validity.notBefore;
    a.signatureValue = b.signatureValue;
    expect(ser(a)).toBe(hex(slow.rawData));
    // and it is DER as the schema classes write it, signed by the issuing CA
    expect(ser(AsnConvert.parse(fast.der, Certificate))).toBe(hex(fast.der));
    const node = new NodeX509(Buffer.from(fast.der));
    expect(node.verify(createPublicKey(ca.cred.key.keyPem))).toBe(true);
  });
});

describe("testpki hot-path crypto against node:crypto", () => {
  it("sha256Iterate is SHA-256 applied n times (PasswordBasedMac owf, RFC 9810 5.1.3.1)", () => {
    for (const n of [0, 1, 2, 499, 1000]) {
      const start = randomBytes(32);
      let want = Buffer.from(start);
      for (let i = 0; i < n; i++) want = createHash("sha256").update(want).digest();
      expect(sha256Iterate(Buffer.from(start), n).toString("hex")).toBe(want.toString("hex"));
    }
    expect(() => sha256Iterate(Buffer.alloc(31), 1)).toThrow();
  });

  it("a P-256 key imported through its JWK is the key of the SPKI; a point off the curve is refused", () => {
    const spki = new Uint8Array(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" }));
    expect(publicKeyOf(spki).export({ type: "spki", format: "der" }).toString("hex")).toBe(hex(spki));
    const off = spki.slice();
    off[90] ^= 1; // y changed: not on the curve
    expect(() => publicKeyOf(off)).toThrow();
    expect(() => createPublicKey({ key: Buffer.from(off), format: "der", type: "spki" })).toThrow(); // as the DER path refuses it
    const p384 = new Uint8Array(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({ type: "spki", format: "der" }));
    expect(publicKeyOf(p384).asymmetricKeyDetails?.namedCurve).toBe("secp384r1"); // other keys: through the DER
  });
});

describe("testpki reader refuses messages out of their SEQUENCE order (X.680 25) and unknown bodies", () => {
  const tlv = (tag: number, ...parts: Uint8Array[]) => {
    const body = Buffer.concat(parts);
    const n = body.length;
    const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
    return new Uint8Array(Buffer.concat([Uint8Array.of(tag, ...len), body]));
  };
  const der = new Uint8Array(
    readFileSync(VECTORS + "lwcmpra/CrWithSignatureProtection/" + readdirSync(VECTORS + "lwcmpra/CrWithSignatureProtection").find((f) => f.endsWith(".der"))!),
  );
  const m = AsnConvert.parse(der, PKIMessage);
  const [header, body] = [new Uint8Array(m.headerRaw!), new Uint8Array(m.bodyRaw!)];
  const protection = tlv(0xa0, tlv(0x03, Uint8Array.of(0), new Uint8Array(m.protection!)));
  const extra = tlv(0xa1, new Uint8Array(AsnConvert.serialize(m.extraCerts!)));

  it("takes the message as given, in order", () => {
    expect(() => new Request(tlv(0x30, header, body, protection, extra))).not.toThrow();
  });
  it("refuses extraCerts before protection, a field twice, a body tag no PKIBody has, a primitive body", () => {
    expect(() => new Request(tlv(0x30, header, body, extra, protection))).toThrow(/unexpected element/);
    expect(() => new Request(tlv(0x30, header, body, protection, protection))).toThrow(/unexpected element/);
    expect(() => new Request(tlv(0x30, header, tlv(0xbb, Uint8Array.of(0x05, 0x00))))).toThrow(/no known alternative/);
    expect(() => new Request(tlv(0x30, header, Uint8Array.of(0x85, 0x00)))).toThrow(/no known alternative/);
  });
});

describe("testpki certificate cache", () => {
  it("parses a DER once, and a path is refused again after it was accepted when its anchor changes", async () => {
    const pki = await TestPki.start();
    try {
      const { parseCert, validatePath } = await import("../host/node/testpki/protection.js");
      const idevid = await pki.createIdevid("CACHE-1");
      const der = (pem: string) => new Uint8Array(new NodeX509(pem).raw);
      const leaf = parseCert(der(idevid.certPem));
      expect(parseCert(der(idevid.certPem))).toBe(leaf); // the same object: parsed once
      const ca = parseCert(der(idevid.chain[0])),
        root = parseCert(der(idevid.chain[1]));
      expect(validatePath(leaf, [ca], [root]).length).toBe(3);
      expect(validatePath(leaf, [ca], [root]).length).toBe(3); // from the cache of verified signatures
      // the other hierarchy's root is no anchor for it, cached or not
      expect(() => validatePath(leaf, [ca], [parseCert(pki.root.der)])).toThrow(/no path/);
      // a certificate with a changed signature is another DER: parsed and verified anew, refused
      const bad = der(idevid.certPem);
      bad[bad.length - 1] ^= 1;
      expect(() => validatePath(parseCert(bad), [ca], [root])).toThrow(/no path/);
    } finally {
      await pki.close();
    }
  });
});

describe("testpki reader checks the template fields it reads", () => {
  const tlv = (tag: number, ...parts: Uint8Array[]) => {
    const body = Buffer.concat(parts);
    const n = body.length;
    return new Uint8Array(Buffer.concat([Uint8Array.of(tag, ...(n < 0x80 ? [n] : [0x81, n])), body]));
  };
  const oidCN = Uint8Array.of(0x06, 0x03, 0x55, 0x04, 0x03);
  const spki = new Uint8Array(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" }));
  const header = tlv(0x30, Uint8Array.of(0x02, 0x01, 0x02), Uint8Array.of(0xa4, 0x02, 0x30, 0x00), Uint8Array.of(0xa4, 0x02, 0x30, 0x00));
  /** an ir with one CertReqMsg whose template holds `fields`, raVerified POP */
  const ir = (...fields: Uint8Array[]) =>
    new Request(
      tlv(0x30, header, tlv(0xa0, tlv(0x30, tlv(0x30, tlv(0x30, Uint8Array.of(0x02, 0x01, 0x00), tlv(0x30, ...fields)), Uint8Array.of(0x80, 0x00))))),
    );
  const name = (...atvs: Uint8Array[]) => tlv(0xa5, tlv(0x30, tlv(0x31, ...atvs)));
  const pub = tlv(0xa6, spki.subarray(2)); // [6] IMPLICIT: the SPKI's contents

  it("reads a well-formed template", () => {
    const [m] = ir(name(tlv(0x30, oidCN, tlv(0x0c, Buffer.from("x")))), pub).certReqs();
    expect(hex(m.template.publicKey)).toBe(hex(spki));
    expect(m.popo).toEqual({ raVerified: true });
    expect(m.template.unusual).toBe(false);
  });
  it("refuses a Name whose attribute is no AttributeTypeAndValue, an SPKI without its key, an Extension without extnValue", () => {
    expect(() => ir(name(Uint8Array.of(0x02, 0x01, 0x05)), pub).certReqs()).toThrow(/AttributeTypeAndValue/);
    expect(() => ir(name(tlv(0x30, oidCN)), pub).certReqs()).toThrow(/type and value/);
    expect(() => ir(tlv(0xa6, tlv(0x30, Uint8Array.of(0x06, 0x01, 0x2a)))).certReqs()).toThrow(/subjectPublicKey/);
    expect(() => ir(pub, tlv(0xa9, tlv(0x30, Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x11)))).certReqs()).toThrow(/Extension/);
  });
  it("marks fields it does not read, so the schema classes check them", () => {
    expect(ir(Uint8Array.of(0x80, 0x01, 0x02), pub).certReqs()[0].template.unusual).toBe(true); // version [0]
  });
});
