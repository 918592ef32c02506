// Certificate authorities of the test PKI, built on @peculiar/x509: each Authority has a key, a
// certificate, issues certificates and (for the issuing CA) keeps revocations and a CRL.
import * as x509 from "./x509.js";
import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign, X509Certificate as NodeX509 } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate } from "@peculiar/asn1-x509";
import { generateKeyPair, KeyPair, KeyType, PURE_OIDS, signData, signingAlgorithm } from "./keys.js";
import * as oids from "./oids.js";
import { children, contents, readTlv, whole } from "./reader.js";

const DAY = 86_400_000;
const protectionDigest = "sha256"; // ecdsa-with-SHA256 (RFC 5758 3.2), the P-256 CA's algorithm

/** Extension DER as the schema classes write it: critical FALSE (the DEFAULT) left out (X.690 11.5). */
function normalExtension(e: Uint8Array): Uint8Array {
  const f = children(e, readTlv(e, 0));
  if (f.length === 3 && f[1].tag === 0x01 && e[f[1].value] === 0) return tlv(0x30, whole(e, f[0]), whole(e, f[2]));
  return e;
}

/** A positive 127-bit serial number in hex (RFC 5280 4.1.2.2: at most 20 octets, positive). */
export function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString("hex");
}

export interface Credential {
  cert: x509.X509Certificate;
  key: KeyPair;
  /** certificate DER */
  der: Uint8Array;
  certPem: string;
}

/** RFC 7468 PEM with the labels OpenSSL expects, newline-terminated. */
export function pem(label: "CERTIFICATE" | "X509 CRL" | "CERTIFICATE REQUEST", der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}

/** The key a certificate carries: the WebCrypto key, or an ML-DSA SubjectPublicKeyInfo. */
function publicKeyOf(key: KeyPair): CryptoKey | Uint8Array<ArrayBuffer> {
  return key.mlDsa ? new Uint8Array(key.mlDsa.spki) : key.keys.publicKey;
}

function credential(cert: x509.X509Certificate, key: KeyPair): Credential {
  return { cert, key, der: new Uint8Array(cert.rawData), certPem: pem("CERTIFICATE", cert.rawData) };
}

export interface Revocation {
  serialNumber: string;
  date: Date;
  reason: number;
}

export interface IssueParams {
  /** DER of the subject Name */
  subject: Uint8Array | string;
  /** DER of the SubjectPublicKeyInfo */
  publicKey: Uint8Array | CryptoKey;
  notBefore?: Date;
  notAfter?: Date;
  /** extra extensions (e.g. the subjectAltName copied from the template) */
  extensions?: x509.Extension[];
  ca?: { pathLength?: number };
  extKeyUsage?: string[];
  keyUsage?: number;
}

/** An issued certificate: its DER and serial number (hex). */
export interface IssuedCert {
  der: Uint8Array;
  serialNumber: string;
}

/** DER TLV with a definite minimal length. */
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((a, p) => a + p.length, 0);
  const head =
    len < 0x80
      ? [tag, len]
      : len < 0x100
        ? [tag, 0x81, len]
        : len < 0x10000
          ? [tag, 0x82, len >> 8, len & 0xff]
          : [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  const out = new Uint8Array(head.length + len);
  out.set(head);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, whole seconds. */
function timeDer(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), "latin1")) : tlv(0x18, Buffer.from(digits, "latin1"));
}

/** The parts of a TBSCertificate (RFC 5280 4.1) that are the same in every end-entity certificate
 *  of a CA, cut from one that @peculiar/x509 issued: version, signature algorithm, issuer, and the
 *  extensions before the subject key identifier (basicConstraints, keyUsage) and after it
 *  (authorityKeyIdentifier, cRLDistributionPoints), verbatim. */
interface TbsTemplate {
  version: Uint8Array;
  signature: Uint8Array;
  issuer: Uint8Array;
  before: Uint8Array[];
  after: Uint8Array[];
}

export class Authority {
  readonly revocations = new Map<string, Revocation>();
  private template?: Promise<TbsTemplate | undefined>;
  private crl?: x509.X509Crl;
  /** the same for every certificate this CA issues: made once */
  private aki?: Promise<x509.AuthorityKeyIdentifierExtension>;
  constructor(
    readonly cred: Credential,
    /** issuer chain above this CA, nearest first, the root last (empty for a root) */
    readonly chain: Credential[],
    /** RFC 5280 4.2.1.13: where the CRL of this CA is served, if anywhere */
    readonly crlUrl?: string,
  ) {}

  get cert(): x509.X509Certificate {
    return this.cred.cert;
  }

  /** RFC 5280 4.1: issue a certificate signed by this CA. */
  async issue(p: IssueParams): Promise<x509.X509Certificate> {
    const now = Date.now();
    const ext: x509.Extension[] = [];
    if (p.ca) {
      ext.push(new x509.BasicConstraintsExtension(true, p.ca.pathLength, true));
      ext.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
    } else {
      ext.push(new x509.BasicConstraintsExtension(false, undefined, true));
      ext.push(new x509.KeyUsagesExtension(p.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true));
    }
    if (p.extKeyUsage) ext.push(new x509.ExtendedKeyUsageExtension(p.extKeyUsage, false));
    const publicKey: x509.PublicKeyType = p.publicKey instanceof Uint8Array ? (new Uint8Array(p.publicKey).buffer as ArrayBuffer) : p.publicKey;
    ext.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
    ext.push(await (this.aki ??= x509.AuthorityKeyIdentifierExtension.create(publicKeyOf(this.cred.key))));
    if (this.crlUrl && !p.ca) ext.push(new x509.CRLDistributionPointsExtension([this.crlUrl]));
    ext.push(...(p.extensions ?? []));
    return this.resign(
      await x509.X509CertificateGenerator.create({
        serialNumber: newSerial(),
        subject: typeof p.subject === "string" ? p.subject : new x509.Name(new Uint8Array(p.subject).buffer as ArrayBuffer),
        issuer: this.cert.subjectName,
        notBefore: p.notBefore ?? new Date(now - 60_000),
        notAfter: p.notAfter ?? new Date(now + 365 * DAY),
        publicKey,
        signingKey: this.cred.key.keys.privateKey,
        signingAlgorithm: signingAlgorithm(this.cred.key.type),
        extensions: ext,
      }),
    );
  }

  /** An end-entity certificate as issue() makes it (same extensions, same order, same encoding),
   *  built from a TBSCertificate template and signed with node:crypto: the test PKI's path for
   *  enrollments. CAs with other keys than P-256 go through issue(). */
  async issueEndEntity(p: { subject: Uint8Array; publicKey: Uint8Array; notAfter: Date; extensions: Uint8Array[] }): Promise<IssuedCert> {
    const t = await (this.template ??= this.makeTemplate());
    if (!t) {
      const cert = await this.issue({ ...p, extensions: p.extensions.map((e) => new x509.Extension(new Uint8Array(e).buffer as ArrayBuffer)) });
      return { der: new Uint8Array(cert.rawData), serialNumber: cert.serialNumber };
    }
    const serial = newSerial();
    const spki = children(p.publicKey, readTlv(p.publicKey, 0));
    // RFC 5280 4.2.1.2 method (1), as @peculiar/x509 computes it: SHA-1 of the subjectPublicKey bits
    const bits = contents(p.publicKey, spki[1]).subarray(1);
    const ski = tlv(0x30, Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x0e), tlv(0x04, tlv(0x04, createHash("sha1").update(bits).digest())));
    const now = Date.now();
    const tbs = tlv(
      0x30,
      t.version,
      tlv(0x02, Buffer.from(serial, "hex")),
      t.signature,
      t.issuer,
      tlv(0x30, timeDer(new Date(now - 60_000)), timeDer(p.notAfter)),
      p.subject,
      p.publicKey,
      tlv(0xa3, tlv(0x30, ...t.before, ski, ...t.after, ...p.extensions.map(normalExtension))),
    );
    const sig = nodeSign(protectionDigest, tbs, this.cred.key.privateKey);
    return { der: tlv(0x30, tbs, t.signature, tlv(0x03, Uint8Array.of(0), sig)), serialNumber: serial };
  }

  /** The template from a certificate issue() made for a throwaway key (P-256 CAs only). */
  private async makeTemplate(): Promise<TbsTemplate | undefined> {
    if (this.cred.key.type !== "P-256") return undefined;
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });
    const proto = await this.issue({ subject: "CN=template", publicKey: new Uint8Array(key) });
    const der = new Uint8Array(proto.rawData);
    const [tbs] = children(der, readTlv(der, 0));
    const f = children(der, tbs);
    const exts = children(der, children(der, f[7])[0]).map((e) => whole(der, e));
    const skiAt = exts.findIndex((e) => e[4] === 0x55 && e[5] === 0x1d && e[6] === 0x0e);
    return {
      version: whole(der, f[0]).slice(),
      signature: whole(der, f[2]).slice(),
      issuer: whole(der, f[3]).slice(),
      before: exts.slice(0, skiAt).map((e) => e.slice()),
      after: exts.slice(skiAt + 1).map((e) => e.slice()),
    };
  }

  /** An ML-DSA CA (RFC 9881 3): the certificate @peculiar/x509 signed with the stand-in key,
   * signed again with ML-DSA (signature and tbsCertificate.signature: id-ml-dsa-N, no parameters). */
  private resign(cert: x509.X509Certificate): x509.X509Certificate {
    if (!this.cred.key.mlDsa) return cert;
    const c = AsnConvert.parse(cert.rawData, Certificate);
    const alg = new AlgorithmIdentifier({ algorithm: PURE_OIDS[this.cred.key.type] });
    c.tbsCertificate.signature = alg;
    c.signatureAlgorithm = alg;
    const tbs = new Uint8Array(AsnConvert.serialize(c.tbsCertificate));
    c.signatureValue = new Uint8Array(signData(this.cred.key, tbs)).buffer;
    return new x509.X509Certificate(AsnConvert.serialize(c));
  }

  /** Create a subordinate CA with a fresh key. */
  async subordinate(subject: string, keyType: KeyType, years: number, crlUrl?: string): Promise<Authority> {
    const key = await generateKeyPair(keyType);
    const cert = await this.issue({
      subject,
      publicKey: publicKeyOf(key),
      notAfter: new Date(Date.now() + years * 365 * DAY),
      ca: { pathLength: 0 },
    });
    return new Authority(credential(cert, key), [this.cred, ...this.chain], crlUrl);
  }

  /** Issue an end-entity certificate with a fresh key (for IDevIDs and the CMP signer). */
  async endEntity(subject: string, keyType: KeyType, extKeyUsage?: string[]): Promise<Credential> {
    const key = await generateKeyPair(keyType);
    const cert = await this.issue({ subject, publicKey: publicKeyOf(key), extKeyUsage, notAfter: new Date(Date.now() + 5 * 365 * DAY) });
    return credential(cert, key);
  }

  /** RFC 5280 5.3.1 reason codes; the CRL is regenerated on next use. */
  revoke(serialNumber: string, reason = 0): void {
    const s = serialNumber.toLowerCase().replace(/^(00)+/, "");
    if (!this.revocations.has(s)) this.revocations.set(s, { serialNumber: s, date: new Date(), reason });
    this.crl = undefined;
  }

  isRevoked(serialNumber: string): boolean {
    return this.revocations.has(serialNumber.toLowerCase().replace(/^(00)+/, ""));
  }

  /** RFC 5280 5: the current CRL of this CA (valid one day). */
  async currentCrl(): Promise<x509.X509Crl> {
    if (this.crl) return this.crl;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    this.crl = await x509.X509CrlGenerator.create({
      issuer: this.cert.subjectName,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + DAY),
      entries: [...this.revocations.values()].map((r) => ({
        serialNumber: r.serialNumber,
        revocationDate: r.date,
        reason: r.reason as x509.X509CrlReason,
      })),
      extensions: [await (this.aki ??= x509.AuthorityKeyIdentifierExtension.create(this.cred.key.keys.publicKey))],
      signingKey: this.cred.key.keys.privateKey,
      signingAlgorithm: signingAlgorithm(this.cred.key.type),
    });
    return this.crl;
  }
}

/** A self-signed root CA (RFC 5280 6.1: trust anchor). */
export async function createRoot(subject: string, keyType: KeyType = "P-256", years = 20): Promise<Authority> {
  const key = await generateKeyPair(keyType);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + years * 365 * DAY),
    keys: key.keys,
    signingAlgorithm: signingAlgorithm(keyType),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey),
    ],
  });
  return new Authority(credential(cert, key), []);
}

/**
 * RFC 9810 4.4: root CA key update. Given the old root and a new root, certify each root key with
 * the other: newWithOld (new public key signed by the old private key) and oldWithNew.
 */
export async function rootRollover(
  oldRoot: Authority,
  newRoot: Authority,
): Promise<{
  newWithNew: x509.X509Certificate;
  newWithOld: x509.X509Certificate;
  oldWithNew: x509.X509Certificate;
}> {
  const link = async (subject: Authority, signer: Authority) =>
    x509.X509CertificateGenerator.create({
      serialNumber: newSerial(),
      subject: subject.cert.subjectName,
      issuer: signer.cert.subjectName,
      notBefore: subject.cert.notBefore,
      notAfter: oldRoot.cert.notAfter,
      publicKey: subject.cred.key.keys.publicKey,
      signingKey: signer.cred.key.keys.privateKey,
      signingAlgorithm: signingAlgorithm(signer.cred.key.type),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(subject.cred.key.keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(signer.cred.key.keys.publicKey),
      ],
    });
  return {
    newWithNew: newRoot.cert,
    newWithOld: await link(newRoot, oldRoot),
    oldWithNew: await link(oldRoot, newRoot),
  };
}

/** node:crypto's view of a certificate, used for verification independent of the generator. */
export function nodeCert(der: Uint8Array | ArrayBuffer): NodeX509 {
  return new NodeX509(Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)));
}

export { credential, oids };
