// Certificate authorities of the test PKI, built on @peculiar/x509: each Authority has a key, a
// certificate, issues certificates and (for the issuing CA) keeps revocations and a CRL.
import * as x509 from "./x509.js";
import { randomBytes, X509Certificate as NodeX509 } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate } from "@peculiar/asn1-x509";
import { generateKeyPair, KeyPair, KeyType, PURE_OIDS, signData, signingAlgorithm } from "./keys.js";
import * as oids from "./oids.js";

const DAY = 86_400_000;

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

export class Authority {
  readonly revocations = new Map<string, Revocation>();
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
    return this.resign(await x509.X509CertificateGenerator.create({
      serialNumber: newSerial(),
      subject: typeof p.subject === "string" ? p.subject : new x509.Name(new Uint8Array(p.subject).buffer as ArrayBuffer),
      issuer: this.cert.subjectName,
      notBefore: p.notBefore ?? new Date(now - 60_000),
      notAfter: p.notAfter ?? new Date(now + 365 * DAY),
      publicKey,
      signingKey: this.cred.key.keys.privateKey,
      signingAlgorithm: signingAlgorithm(this.cred.key.type),
      extensions: ext,
    }));
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
export async function rootRollover(oldRoot: Authority, newRoot: Authority): Promise<{
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
