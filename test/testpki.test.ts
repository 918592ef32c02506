// The built-in test PKI: its ASN.1 classes on real messages from shared/vectors, and `openssl cmp`
// (Debian 3.0) as an independent CMP client enrolling against it on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AsnConvert } from "@peculiar/asn1-schema";
import { ChildProcess, spawn } from "node:child_process";
import { createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bodyType,
  CertConfirmContent,
  CertReqTemplateContent,
  CMPCertificates,
  CRLsValue,
  CRLStatus,
  CRLStatusListValue,
  InfoTypeAndValue,
  PBMAC1Params,
  PBKDF2Params,
  PKIBody,
  PKIFailureInfo,
  PKIFailureInfoBits,
  PKIMessage,
  PKIStatus,
  RootCaKeyUpdateContent,
} from "../host/node/testpki/asn1.js";
import { TestPki, TestPkiFiles } from "../host/node/testpki/index.js";
import * as oids from "../host/node/testpki/oids.js";
import { protectedPart, verifyMac, verifySignature } from "../host/node/testpki/protection.js";
import { isCmpPath } from "../host/node/testpki/server.js";
import { genm, macRequest, pbmac1Algorithm, post } from "./helpers/cmpmsg.js";
import { VECTORS } from "./helpers/vectors.js";
import { GeneralName, GeneralNames, Name, Time } from "@peculiar/asn1-x509";

// ------------------------------------------------------------------ schema on real messages

const vectorFiles = (): string[] => {
  const out: string[] = [];
  for (const d of ["lwcmpra/CrWithSignatureProtection", "lwcmpra/IrWithMacProtection", "lwcmpra/Kur"])
    for (const f of readdirSync(VECTORS + d)) if (f.endsWith(".der")) out.push(`${d}/${f}`);
  for (const f of readdirSync(VECTORS + "rustcrypto-cmpv2")) if (/_(req|rsp)_01\.bin$/.test(f)) out.push(`rustcrypto-cmpv2/${f}`);
  for (const f of readdirSync(VECTORS + "go-pkicmp")) out.push(`go-pkicmp/${f}`);
  return out;
};
const parse = (f: string) => AsnConvert.parse(readFileSync(VECTORS + f), PKIMessage);
const raw = (m: PKIMessage) => protectedPart(new Uint8Array(m.headerRaw!), new Uint8Array(m.bodyRaw!));

describe("testpki ASN.1 classes on shared/vectors", () => {
  const files = vectorFiles();
  it("finds the vectors", () => expect(files.length).toBeGreaterThanOrEqual(40));

  it.each(files)("%s parses and re-serializes to the same bytes", (f) => {
    const der = readFileSync(VECTORS + f);
    const m = AsnConvert.parse(der, PKIMessage);
    expect(Buffer.from(AsnConvert.serialize(m)).equals(der)).toBe(true);
    expect(bodyType(m.body)).toBeTruthy();
  });

  it("verifies the PBM of every rustcrypto and go-pkicmp message", () => {
    for (const f of files.filter((f) => f.startsWith("rustcrypto") || f.startsWith("go-pkicmp"))) {
      const m = parse(f);
      if (m.header.protectionAlg?.algorithm !== oids.id_PasswordBasedMac) continue;
      const secret = f.startsWith("go") ? "pass" : "1234-5678-1234-5678";
      expect(() => verifyMac(m, Buffer.from(secret)), f).not.toThrow();
      expect(() => verifyMac(m, Buffer.from("wrong")), f).toThrow(/wrong MAC/);
    }
  });

  it("verifies every signature-protected message with extraCerts[0]", () => {
    let n = 0;
    for (const f of files) {
      const m = parse(f);
      const alg = m.header.protectionAlg!.algorithm;
      if (oids.id_PasswordBasedMac === alg || oids.id_PBMAC1 === alg) continue;
      // rustcrypto's responses name their signer only by file (see vectors/README.md)
      const signer = m.extraCerts
        ? new X509Certificate(Buffer.from(AsnConvert.serialize(m.extraCerts[0])))
        : new X509Certificate(readFileSync(VECTORS + "rustcrypto-cmpv2/ec384-server-key.crt"));
      expect(verifySignature(alg, signer.publicKey, raw(m), new Uint8Array(m.protection!)), f).toBe(true);
      n++;
    }
    expect(n).toBeGreaterThan(20);
  });

  it("PBMAC1 (lwcmpra): RFC 8018 keyLength rejects, the producer's keyLength-as-bits quirk verifies", () => {
    const m = parse("lwcmpra/IrWithMacProtection/downstream_INIT_REQ.der");
    expect(() => verifyMac(m, Buffer.from("Password"))).toThrow(/wrong MAC/);
    const p = AsnConvert.parse(m.header.protectionAlg!.parameters!, PBMAC1Params);
    const kdf = AsnConvert.parse(p.keyDerivationFunc.parameters!, PBKDF2Params);
    expect(kdf.keyLength).toBe(4096);
    kdf.keyLength = 512;
    p.keyDerivationFunc.parameters = AsnConvert.serialize(kdf);
    m.header.protectionAlg!.parameters = AsnConvert.serialize(p);
    expect(() => verifyMac(m, Buffer.from("Password"))).not.toThrow();
  });

  it("decodes status, failInfo and certificates of responses", () => {
    const err = parse("rustcrypto-cmpv2/failed_kur_rsp_01.bin").body.error!;
    expect(err.pKIStatusInfo.status).toBe(PKIStatus.rejection);
    const ip = parse("lwcmpra/IrWithMacProtection/downstream_INIT_REP.der").body.ip!;
    expect(ip.response[0].status.status).toBe(PKIStatus.accepted);
    expect(ip.response[0].certifiedKeyPair!.certOrEncCert.certificate).toBeTruthy();
    const kur = parse("lwcmpra/Kur/downstream_KEY_UPDATE_REQ.der").body.kur!;
    expect(kur[0].certReq.controls!.some((c) => c.type === oids.id_regCtrl_oldCertID)).toBe(true);
    expect(PKIFailureInfoBits.of(PKIFailureInfo.badPOP).has(PKIFailureInfo.badPOP)).toBe(true);
    expect(Buffer.from(AsnConvert.serialize(PKIFailureInfoBits.of(PKIFailureInfo.badPOP))).toString("hex")).toBe("0303060040"); // bit 9: 00 40, 6 unused bits
  });
});

// ------------------------------------------------------------------ openssl cmp as the client

const children = new Set<ChildProcess>();

/** Run openssl with OPENSSL_CONF=/dev/null, stopped after timeoutMs whatever happens. */
function openssl(args: string[], cwd: string, timeoutMs = 20_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("openssl", args, { cwd, env: { ...process.env, OPENSSL_CONF: "/dev/null" }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, out });
    });
  });
}

const spki = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" });

describe("testpki with openssl cmp as the client", () => {
  let pki: TestPki;
  let files: TestPkiFiles;
  let dir: string;
  let n = 0;

  /** a fresh P-256 key file */
  const newKey = () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const path = join(dir, `k${++n}.pem`);
    writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }));
    return path;
  };
  const cmp = (cmd: string, ...args: string[]) =>
    openssl(["cmp", "-cmd", cmd, "-server", `${pki.url}/pkix/`, "-msg_timeout", "5", "-total_timeout", "20", "-trusted", files.root, ...args], dir);
  const mac = () => ["-ref", pki.ref, "-secret", `pass:${pki.secret}`];
  /** the issued certificate verifies to the root through the issuing CA and holds subject and key */
  const checkIssued = async (certPath: string, keyPath: string, subject?: string) => {
    const v = await openssl(["verify", "-CAfile", files.root, "-untrusted", files.issuing_ca, certPath], dir);
    expect(v.out).toContain(": OK");
    const cert = new X509Certificate(readFileSync(certPath));
    expect(cert.publicKey.export({ type: "spki", format: "der" }).equals(spki(readFileSync(keyPath, "utf8")))).toBe(true);
    if (subject) expect(cert.subject).toBe(subject);
    return cert;
  };
  const enrolled = async (subject: string) => {
    const key = newKey();
    const out = join(dir, `c${++n}.pem`);
    const r = await cmp("ir", ...mac(), "-newkey", key, "-subject", `/CN=${subject}`, "-certout", out);
    expect(r.code, r.out).toBe(0);
    return { key, cert: out };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "testpki-test-"));
    pki = await TestPki.start();
    files = (await pki.writeFiles(dir)).files;
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await pki?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1 with an ephemeral port and wrote testpki.json", () => {
    expect(pki.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const j = JSON.parse(readFileSync(join(dir, "testpki.json"), "utf8"));
    expect(Object.keys(j).sort()).toEqual(["idevid_cert", "idevid_key", "issuing_ca", "manufacturer_root", "ref", "root", "secret", "url"].sort());
    expect(new X509Certificate(readFileSync(j.idevid_cert)).checkIssued(new X509Certificate(pki.manufacturerCa.certPem))).toBe(true);
  });

  it("ir with PBM: certificate verifies, caPubs carries the root", async () => {
    const key = newKey();
    const cacerts = join(dir, "capubs.pem");
    const r = await cmp("ir", ...mac(), "-newkey", key, "-subject", "/CN=ir-pbm/O=tinycmp", "-certout", join(dir, "ir.pem"), "-cacertsout", cacerts);
    expect(r.code, r.out).toBe(0);
    await checkIssued(join(dir, "ir.pem"), key, "CN=ir-pbm\nO=tinycmp");
    expect(new X509Certificate(readFileSync(cacerts)).fingerprint256).toBe(new X509Certificate(pki.root.certPem).fingerprint256);
  });

  it("ir with signature by an IDevID chained to the manufacturer root, SANs kept", async () => {
    const key = newKey();
    const r = await cmp(
      "ir",
      "-cert",
      files.idevid_cert,
      "-key",
      files.idevid_key!,
      "-newkey",
      key,
      "-subject",
      "/CN=ir-sig",
      "-sans",
      "dev1.example 192.0.2.7",
      "-certout",
      join(dir, "ir-sig.pem"),
    );
    expect(r.code, r.out).toBe(0);
    const cert = await checkIssued(join(dir, "ir-sig.pem"), key, "CN=ir-sig");
    expect(cert.subjectAltName).toContain("DNS:dev1.example");
    expect(cert.subjectAltName).toContain("IP Address:192.0.2.7");
  });

  it("ir signed by a certificate of an unknown CA is refused", async () => {
    const stranger = await TestPki.start();
    try {
      const d = await stranger.createIdevid();
      writeFileSync(join(dir, "stranger.pem"), d.certPem + d.chain[0]);
      writeFileSync(join(dir, "stranger.key"), d.keyPem);
      const r = await cmp("ir", "-cert", "stranger.pem", "-key", "stranger.key", "-newkey", newKey(), "-subject", "/CN=x", "-certout", "x.pem");
      expect(r.code).not.toBe(0);
      expect(pki.requests.at(-1)).toMatchObject({ type: "ir", answer: "error", failInfo: PKIFailureInfo.signerNotTrusted });
    } finally {
      await stranger.close();
    }
  });

  it("cr signed with an operational certificate", async () => {
    const op = await enrolled("op-cr");
    const key = newKey();
    const r = await cmp("cr", "-cert", op.cert, "-key", op.key, "-newkey", key, "-subject", "/CN=cr-new", "-certout", join(dir, "cr.pem"));
    expect(r.code, r.out).toBe(0);
    await checkIssued(join(dir, "cr.pem"), key, "CN=cr-new");
  });

  it("cr signed with an IDevID is refused: cr needs an operational certificate of this PKI", async () => {
    const r = await cmp("cr", "-cert", files.idevid_cert, "-key", files.idevid_key!, "-newkey", newKey(), "-subject", "/CN=x", "-certout", join(dir, "x.pem"));
    expect(r.code).not.toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ type: "cr", answer: "error", failInfo: PKIFailureInfo.signerNotTrusted });
  });

  it("kur with -oldcert keeps the subject and certifies the new key", async () => {
    const op = await enrolled("op-kur");
    const key = newKey();
    const r = await cmp("kur", "-cert", op.cert, "-key", op.key, "-oldcert", op.cert, "-newkey", key, "-certout", join(dir, "kur.pem"));
    expect(r.code, r.out).toBe(0);
    const cert = await checkIssued(join(dir, "kur.pem"), key, "CN=op-kur");
    expect(cert.serialNumber).not.toBe(new X509Certificate(readFileSync(op.cert)).serialNumber);
  });

  it("kur under MAC protection is refused (RFC 9483 4.1.3)", async () => {
    const op = await enrolled("op-kur-mac");
    const r = await cmp("kur", ...mac(), "-oldcert", op.cert, "-newkey", newKey(), "-certout", join(dir, "x.pem"));
    expect(r.code).not.toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ type: "kur", answer: "kup", failInfo: PKIFailureInfo.notAuthorized });
  });

  it("p10cr with a CSR", async () => {
    const key = newKey();
    const csr = join(dir, "p10.csr");
    expect((await openssl(["req", "-new", "-key", key, "-subj", "/CN=p10cr-dev", "-out", csr], dir)).code).toBe(0);
    const r = await cmp("p10cr", ...mac(), "-csr", csr, "-certout", join(dir, "p10.pem"));
    expect(r.code, r.out).toBe(0);
    await checkIssued(join(dir, "p10.pem"), key, "CN=p10cr-dev");
  });

  it("rr revokes, the CRL lists it, a second rr is rejected", async () => {
    const op = await enrolled("op-rr");
    const serial = new X509Certificate(readFileSync(op.cert)).serialNumber.toLowerCase();
    const r = await cmp("rr", "-cert", op.cert, "-key", op.key, "-oldcert", op.cert, "-revreason", "1");
    expect(r.code, r.out).toBe(0);
    expect(pki.revoked().find((x) => x.serialNumber === serial.replace(/^(00)+/, ""))).toMatchObject({ reason: 1 });
    const crl = Buffer.from(await (await fetch(`${pki.url}/crl`)).arrayBuffer());
    writeFileSync(join(dir, "crl.der"), crl);
    const t = await openssl(["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", files.issuing_ca, "-noout", "-text"], dir);
    expect(t.out).toContain("verify OK");
    expect(t.out.toLowerCase()).toContain(serial.replace(/^(00)+/, ""));
    const again = await cmp("rr", ...mac(), "-oldcert", op.cert, "-revreason", "0");
    expect(again.code).not.toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ type: "rr", answer: "rp", failInfo: PKIFailureInfo.certRevoked });
    // the signature of a revoked certificate no longer authenticates requests
    const cr = await cmp("cr", "-cert", op.cert, "-key", op.key, "-newkey", newKey(), "-subject", "/CN=x", "-certout", "x.pem");
    expect(cr.code).not.toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ failInfo: PKIFailureInfo.certRevoked });
  });

  it("genm with an infoType openssl 3.0 knows is echoed", async () => {
    const r = await cmp("genm", ...mac(), "-infotype", "signKeyPairTypes");
    expect(r.code, r.out).toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ type: "genm", answer: "genp" });
  });

  it("polling: waiting, pollRep with checkAfter, then the certificate (RFC 9483 4.4)", async () => {
    pki.configure({ pollCount: 2, checkAfter: 1 });
    try {
      const key = newKey();
      const r = await cmp("ir", ...mac(), "-newkey", key, "-subject", "/CN=polled", "-certout", join(dir, "poll.pem"));
      expect(r.code, r.out).toBe(0);
      await checkIssued(join(dir, "poll.pem"), key, "CN=polled");
      expect(pki.requests.slice(-4).map((x) => `${x.type}>${x.answer}`)).toEqual(["ir>ip", "pollReq>pollRep", "pollReq>ip", "certConf>pkiconf"]);
    } finally {
      pki.reset();
    }
  });

  it("implicit confirm is granted: no certConf", async () => {
    const key = newKey();
    const r = await cmp(
      "ir",
      ...mac(),
      "-implicit_confirm",
      "-newkey",
      key,
      "-subject",
      "/CN=implicit",
      "-certout",
      join(dir, "ic.pem"),
      "-rspout",
      join(dir, "ic-ip.der"),
    );
    expect(r.code, r.out).toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ type: "ir", answer: "ip" });
    // RFC 9810 5.1.1.1: granted by echoing id-it-implicitConfirm in the ip's generalInfo
    const ip = AsnConvert.parse(readFileSync(join(dir, "ic-ip.der")), PKIMessage);
    expect(ip.header.generalInfo?.map((i) => i.infoType)).toEqual([oids.id_it_implicitConfirm]);
    await checkIssued(join(dir, "ic.pem"), key);
  });

  it("a certConf that rejects the certificate gets it revoked", async () => {
    // -out_trusted with a root the new certificate does not chain to: openssl rejects it in certConf
    const r = await cmp(
      "ir",
      ...mac(),
      "-newkey",
      newKey(),
      "-subject",
      "/CN=unwanted",
      "-certout",
      join(dir, "unw.pem"),
      "-out_trusted",
      files.manufacturer_root,
    );
    expect(r.code).not.toBe(0);
    expect(pki.requests.slice(-2).map((x) => `${x.type}>${x.answer}`)).toEqual(["ir>ip", "certConf>pkiconf"]);
    expect(pki.revoked().at(-1)).toMatchObject({ reason: 4 });
  });

  it("injected rejection reaches the client with its failInfo and text", async () => {
    pki.configure({ reject: { failInfo: [PKIFailureInfo.badCertTemplate], statusString: "rejected for the test" } });
    try {
      const r = await cmp("ir", ...mac(), "-newkey", newKey(), "-subject", "/CN=rejected", "-certout", join(dir, "rej.pem"));
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/rejection/i);
      expect(r.out).toContain("rejected for the test");
      expect(r.out).toContain("badCertTemplate"); // failInfo bit order as openssl reads it
    } finally {
      pki.reset();
    }
  });

  it("injected error message and unprotected response are refused by the client", async () => {
    pki.configure({ errorMessage: { failInfo: [PKIFailureInfo.systemUnavail], statusString: "down for the test" } });
    let r = await cmp("ir", ...mac(), "-newkey", newKey(), "-subject", "/CN=e", "-certout", join(dir, "e.pem"));
    pki.reset();
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("down for the test");
    pki.configure({ unprotected: true });
    r = await cmp("ir", ...mac(), "-newkey", newKey(), "-subject", "/CN=u", "-certout", join(dir, "u.pem"));
    pki.reset();
    expect(r.code).not.toBe(0);
    pki.configure({ wrongRecipNonce: true });
    r = await cmp("ir", ...mac(), "-newkey", newKey(), "-subject", "/CN=n", "-certout", join(dir, "n.pem"));
    pki.reset();
    expect(r.code).not.toBe(0);
  });

  it("wrong secret and unknown reference are refused", async () => {
    let r = await cmp("ir", "-ref", pki.ref, "-secret", "pass:wrong", "-newkey", newKey(), "-subject", "/CN=w", "-certout", join(dir, "w.pem"));
    expect(r.code).not.toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ type: "ir", answer: "error", failInfo: PKIFailureInfo.badMessageCheck });
    r = await cmp("ir", "-ref", "nobody", "-secret", `pass:${pki.secret}`, "-newkey", newKey(), "-subject", "/CN=w", "-certout", join(dir, "w.pem"));
    expect(r.code).not.toBe(0);
    expect(pki.requests.at(-1)).toMatchObject({ failInfo: PKIFailureInfo.badMessageCheck });
  });

  it("MAC-protected responses when configured", async () => {
    pki.configure({ responseProtection: "mac" });
    try {
      const key = newKey();
      const r = await cmp("ir", ...mac(), "-newkey", key, "-subject", "/CN=macrsp", "-certout", join(dir, "macrsp.pem"));
      expect(r.code, r.out).toBe(0);
    } finally {
      pki.reset();
    }
  });

  it("short validity for renewal tests", async () => {
    pki.configure({ validitySeconds: 120 });
    try {
      const { cert } = await enrolled("short");
      const c = new X509Certificate(readFileSync(cert));
      expect(new Date(c.validTo).getTime() - Date.now()).toBeLessThan(130_000);
    } finally {
      pki.reset();
    }
  });

  it("RFC 9483 well-known path with a label", async () => {
    const key = newKey();
    const r = await openssl(
      [
        "cmp",
        "-cmd",
        "ir",
        "-server",
        pki.url,
        "-path",
        ".well-known/cmp/p/arbitrary-label/initialization",
        "-msg_timeout",
        "5",
        "-trusted",
        files.root,
        ...mac(),
        "-newkey",
        key,
        "-subject",
        "/CN=wk",
        "-certout",
        join(dir, "wk.pem"),
      ],
      dir,
    );
    expect(r.code, r.out).toBe(0);
    expect(isCmpPath("/.well-known/cmp/getcacerts")).toBe(true);
    expect(isCmpPath("/.well-known/cmp/p/x/bogus")).toBe(false);
  });

  it.each(["P-384", "RSA-2048"] as const)("CMP signer with a %s key", async (signerKeyType) => {
    const other = await TestPki.start({ signerKeyType });
    try {
      const d = mkdtempSync(join(dir, "s"));
      const f = (await other.writeFiles(d)).files;
      const key = newKey();
      const r = await openssl(
        [
          "cmp",
          "-cmd",
          "ir",
          "-server",
          `${other.url}/pkix/`,
          "-msg_timeout",
          "5",
          "-trusted",
          f.root,
          "-ref",
          other.ref,
          "-secret",
          `pass:${other.secret}`,
          "-newkey",
          key,
          "-subject",
          "/CN=s",
          "-certout",
          join(d, "s.pem"),
        ],
        dir,
      );
      expect(r.code, r.out).toBe(0);
    } finally {
      await other.close();
    }
  });
});

// ------------------------------------------------------------------ what openssl 3.0 cannot send

describe("testpki genm, transactions and HTTP (test-side client)", () => {
  let pki: TestPki;
  const itav = (infoType: string, infoValue?: ArrayBuffer) => new InfoTypeAndValue({ infoType, infoValue });
  const req = (body: PKIBody, extra: Partial<Parameters<typeof macRequest>[0]> = {}) => macRequest({ ref: pki.ref, secret: pki.secret, body, ...extra });

  beforeAll(async () => {
    pki = await TestPki.start({ rootRollover: true });
  });
  afterAll(async () => pki?.close());

  it("caCerts, rootCaCert -> rootCaKeyUpdate, certReqTemplate, crlStatusList -> crls", async () => {
    const rootDer = new Uint8Array(pki.root.der).buffer as ArrayBuffer;
    const list = new CRLStatusListValue([new CRLStatus()]);
    list[0].source.issuer = new GeneralNames([new GeneralName({ directoryName: new Name() })]);
    const rsp = await post(
      pki.url,
      req(
        genm(
          itav(oids.id_it_caCerts),
          itav(oids.id_it_rootCaCert, rootDer),
          itav(oids.id_it_certReqTemplate),
          itav(oids.id_it_crlStatusList, AsnConvert.serialize(list)),
        ),
      ),
      "/.well-known/cmp/getcacerts",
    );
    const genp = rsp.body.genp!;
    expect(genp.map((i) => i.infoType)).toEqual([oids.id_it_caCerts, oids.id_it_rootCaKeyUpdate, oids.id_it_certReqTemplate, oids.id_it_crls]);
    const ca = AsnConvert.parse(genp[0].infoValue!, CMPCertificates);
    expect(ca.length).toBe(2);
    const upd = AsnConvert.parse(genp[1].infoValue!, RootCaKeyUpdateContent);
    const newWithNew = new X509Certificate(Buffer.from(AsnConvert.serialize(upd.newWithNew)));
    const newWithOld = new X509Certificate(Buffer.from(AsnConvert.serialize(upd.newWithOld!)));
    const oldWithNew = new X509Certificate(Buffer.from(AsnConvert.serialize(upd.oldWithNew!)));
    const oldRoot = new X509Certificate(pki.root.certPem);
    expect(newWithOld.verify(oldRoot.publicKey)).toBe(true);
    expect(newWithOld.publicKey.equals(newWithNew.publicKey)).toBe(true);
    expect(oldWithNew.verify(newWithNew.publicKey)).toBe(true);
    expect(oldWithNew.publicKey.equals(oldRoot.publicKey)).toBe(true);
    const tpl = AsnConvert.parse(genp[2].infoValue!, CertReqTemplateContent);
    expect(tpl.keySpec?.length).toBe(1);
    const crls = AsnConvert.parse(genp[3].infoValue!, CRLsValue);
    expect(crls.length).toBe(1);
    // a CRL as new as the current one: id-it-crls without a value (RFC 9483 4.3.4)
    const thisUpdate = crls[0].tbsCertList.thisUpdate;
    const current = new CRLStatusListValue([new CRLStatus()]);
    current[0].source.issuer = list[0].source.issuer;
    current[0].thisUpdate = new Time(thisUpdate.getTime());
    const again = await post(pki.url, req(genm(itav(oids.id_it_crlStatusList, AsnConvert.serialize(current)))));
    expect(again.body.genp![0]).toMatchObject({ infoType: oids.id_it_crls, infoValue: undefined });
  });

  it("PBMAC1-protected request is accepted, MAC-protected answer when configured", async () => {
    pki.configure({ responseProtection: "mac" });
    try {
      const rsp = await post(pki.url, req(genm(itav(oids.id_it_caCerts)), { alg: pbmac1Algorithm() }));
      expect(bodyType(rsp.body)).toBe("genp");
      expect(rsp.header.protectionAlg!.algorithm).toBe(oids.id_PBMAC1);
      expect(() => verifyMac(rsp, Buffer.from(pki.secret))).not.toThrow();
    } finally {
      pki.reset();
    }
  });

  it("signed responses: signer first in extraCerts, signature verifies, recipNonce = senderNonce", async () => {
    const der = req(genm());
    const sent = AsnConvert.parse(der, PKIMessage);
    const rsp = await post(pki.url, der);
    const signer = new X509Certificate(Buffer.from(AsnConvert.serialize(rsp.extraCerts![0])));
    expect(signer.fingerprint256).toBe(new X509Certificate(pki.cmpSigner.certPem).fingerprint256);
    expect(verifySignature(rsp.header.protectionAlg!.algorithm, signer.publicKey, raw(rsp), new Uint8Array(rsp.protection!))).toBe(true);
    expect(Buffer.from(rsp.header.recipNonce!).equals(Buffer.from(sent.header.senderNonce!))).toBe(true);
    expect(Buffer.from(rsp.header.transactionID!).equals(Buffer.from(sent.header.transactionID!))).toBe(true);
  });

  it("transactionID of an open transaction: transactionIdInUse; certConf with a wrong recipNonce: badRecipientNonce", async () => {
    // -disable_confirm: openssl sends no certConf, so the transaction stays open
    const dir = mkdtempSync(join(tmpdir(), "testpki-tx-"));
    try {
      const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" });
      writeFileSync(join(dir, "k.pem"), key);
      writeFileSync(join(dir, "root.pem"), pki.root.certPem);
      const r = await openssl(
        [
          "cmp",
          "-cmd",
          "ir",
          "-server",
          `${pki.url}/pkix/`,
          "-ref",
          pki.ref,
          "-secret",
          `pass:${pki.secret}`,
          "-newkey",
          "k.pem",
          "-subject",
          "/CN=tx",
          "-certout",
          "tx.pem",
          "-reqout",
          "ir.der",
          "-disable_confirm",
          "-trusted",
          "root.pem",
          "-msg_timeout",
          "5",
        ],
        dir,
      );
      expect(r.code, r.out).not.toBeNull();
      const irDer = new Uint8Array(readFileSync(join(dir, "ir.der")));
      const ir = AsnConvert.parse(irDer, PKIMessage);
      const reuse = await post(pki.url, irDer);
      expect(reuse.body.error?.pKIStatusInfo.failInfo?.has(PKIFailureInfo.transactionIdInUse)).toBe(true);
      const conf = await post(
        pki.url,
        req(new PKIBody({ certConf: new CertConfirmContent([]) }), { transactionID: new Uint8Array(ir.header.transactionID!), recipNonce: new Uint8Array(16) }),
      );
      expect(conf.body.error?.pKIStatusInfo.failInfo?.has(PKIFailureInfo.badRecipientNonce)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mutated requests always get a PKIMessage back (300 bit flips and truncations)", async () => {
    const base = req(genm(itav(oids.id_it_caCerts)));
    let seed = 1;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let i = 0; i < 300; i++) {
      const m = Uint8Array.from(base);
      if (i % 3 === 2) {
        const cut = rnd(m.length);
        const out = await pki.responder.handle(m.subarray(0, cut));
        expect(() => AsnConvert.parse(out, PKIMessage)).not.toThrow();
        continue;
      }
      m[rnd(m.length)] ^= 1 << rnd(8);
      const out = await pki.responder.handle(m);
      expect(bodyType(AsnConvert.parse(out, PKIMessage).body)).toMatch(/^(genp|error)$/);
    }
  });

  it("never crashes on garbage: error PKIMessage badDataFormat; HTTP errors for the rest", async () => {
    for (const body of [new Uint8Array(0), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), new Uint8Array(1000).fill(0x30), Buffer.from("hello")]) {
      const rsp = await post(pki.url, body);
      expect(rsp.body.error!.pKIStatusInfo.failInfo!.has(PKIFailureInfo.badDataFormat)).toBe(true);
    }
    expect((await fetch(`${pki.url}/pkix/`)).status).toBe(405);
    expect((await fetch(`${pki.url}/nope`, { method: "POST", body: "x" })).status).toBe(404);
    expect((await fetch(`${pki.url}/pkix/`, { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x" })).status).toBe(415);
    expect((await fetch(`${pki.url}/pkix/`, { method: "POST", headers: { "Content-Type": "application/pkixcmp" }, body: new Uint8Array(70_000) })).status).toBe(
      413,
    );
    // still serving
    expect(bodyType((await post(pki.url, req(genm()))).body)).toBe("genp");
  });
});
