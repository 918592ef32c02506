// A rogue responder for trust tests: it stands between a device and the built-in test PKI (or
// instead of it) and answers with correctly protected but malicious responses, built from the
// test PKI's own parts. The attackers of docs/SECURITY.md: a man in the middle (no secret, no
// trusted key), a compromised sibling device (a valid end-entity certificate and its key under
// the device's trust anchor), a rogue or misconfigured RA (an authorized signing key).
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate } from "@peculiar/asn1-x509";
import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign as nodeSign, webcrypto } from "node:crypto";
import * as x509 from "../../host/node/testpki/x509";
import { credential, type Credential, type Authority } from "../../host/node/testpki/ca";
import { CMPCertificates, PBKDF2Params, PBMAC1Params, PBMParameter, PKIBody, PKIHeader, PKIMessage, bodyType } from "../../host/node/testpki/asn1";
import { computeMac, protectedPart, tlv, u8 } from "../../host/node/testpki/protection";
import { generateKeyPair, protectionAlgorithm, signData, type KeyType } from "../../host/node/testpki/keys";
import * as oids from "../../host/node/testpki/oids";
import type { TestPki } from "../../host/node/testpki/index";
import type { Transport } from "../../host/node/lib/device";

const ab = (b: Uint8Array): ArrayBuffer => new Uint8Array(b).buffer as ArrayBuffer;
const DAY = 86_400_000;

export const OID = {
  cmcCA: "1.3.6.1.5.5.7.3.27",
  cmcRA: oids.id_kp_cmcRA,
  anyEKU: "2.5.29.37.0",
  hmacSHA1: "1.3.6.1.5.5.8.1.2",
  hmacWithSHA1: "1.2.840.113549.2.7",
  hmacWithSHA256: "1.2.840.113549.2.9",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  pbm: "1.2.840.113533.7.66.13",
  pbmac1: "1.2.840.113549.1.5.14",
  pbkdf2: "1.2.840.113549.1.5.12",
} as const;

export const parse = (der: Uint8Array): PKIMessage => AsnConvert.parse(der, PKIMessage);

/** A certificate with any issuer name, key, extensions, signed by any key (WebCrypto). */
export async function forge(p: {
  subject: string | Uint8Array;
  publicKey: CryptoKey | Uint8Array;
  issuer: string | Uint8Array;
  signer: Credential;
  ca?: boolean;
  keyUsage?: number;
  eku?: string[];
  aki?: Uint8Array;
  ski?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<Uint8Array> {
  const name = (n: string | Uint8Array) => (typeof n === "string" ? n : new x509.Name(ab(n)));
  const publicKey = p.publicKey instanceof Uint8Array ? ab(p.publicKey) : p.publicKey;
  const ext: x509.Extension[] = [new x509.BasicConstraintsExtension(!!p.ca, undefined, true)];
  ext.push(
    new x509.KeyUsagesExtension(p.keyUsage ?? (p.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature), true),
  );
  if (p.eku) ext.push(new x509.ExtendedKeyUsageExtension(p.eku, false));
  if (p.ski !== false) ext.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  if (p.aki) ext.push(new x509.AuthorityKeyIdentifierExtension(Buffer.from(p.aki).toString("hex")));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8)
      .toString("hex")
      .replace(/^[89a-f]/, "1"),
    subject: name(p.subject),
    issuer: name(p.issuer),
    notBefore: p.notBefore ?? new Date(now - 60_000),
    notAfter: p.notAfter ?? new Date(now + 30 * DAY),
    publicKey,
    signingKey: p.signer.key.keys.privateKey,
    signingAlgorithm: {
      ...(p.signer.key.type === "RSA-2048" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA" }),
      hash: p.signer.key.type === "P-384" ? "SHA-384" : "SHA-256",
    },
    extensions: ext,
  });
  return new Uint8Array(cert.rawData);
}

/** A fresh key and a certificate for it issued by `by` (an end entity unless ca), with these EKUs. */
export async function issueTo(
  by: Authority | Credential,
  subject: string,
  opts: { ca?: boolean; keyUsage?: number; eku?: string[]; keyType?: KeyType } = {},
): Promise<Credential> {
  const issuer = "cred" in by ? by.cred : by;
  const key = await generateKeyPair(opts.keyType ?? "P-256");
  const ski = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const der = await forge({
    subject,
    publicKey: key.keys.publicKey,
    issuer: u8(issuer.cert.subjectName.toArrayBuffer()),
    signer: issuer,
    ca: opts.ca,
    keyUsage: opts.keyUsage,
    eku: opts.eku,
    aki: ski ? Buffer.from(ski.keyId, "hex") : undefined,
  });
  return credential(new x509.X509Certificate(ab(der)), key);
}

/** A self-signed root that is nobody's trust anchor. */
export async function rogueRoot(subject = "CN=rogue root,O=attacker"): Promise<Credential> {
  const key = await generateKeyPair("P-256");
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys: key.keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey),
    ],
  });
  return credential(cert, key);
}

/** How a rebuilt response is protected: a signer (extraCerts: its certificate, then `chain`), a MAC, or raw bytes. */
export type Protect =
  | { signer: Credential; chain?: Uint8Array[] }
  | { mac: AlgorithmIdentifier; secret: string; ref: string; extra?: Uint8Array[] }
  | { alg: AlgorithmIdentifier; value: Uint8Array | ((protectedPart: Uint8Array) => Uint8Array); extra: Uint8Array[] };

/** The response message with its header and body (as edited) protected anew. */
export function protect(m: PKIMessage, p: Protect): Uint8Array {
  const h = m.header;
  let extra: Uint8Array[];
  if ("signer" in p) {
    const sig = protectionAlgorithm(p.signer.key.type);
    h.protectionAlg = new AlgorithmIdentifier({ algorithm: sig.oid, parameters: sig.oid.startsWith("1.2.840.113549") ? null : undefined });
    const ski = p.signer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    h.senderKID = ski ? ab(Buffer.from(ski.keyId, "hex")) : undefined;
    extra = [p.signer.der, ...(p.chain ?? [])];
  } else if ("mac" in p) {
    h.protectionAlg = p.mac;
    h.senderKID = ab(Buffer.from(p.ref));
    extra = p.extra ?? [];
  } else {
    h.protectionAlg = p.alg;
    h.senderKID = undefined;
    extra = p.extra;
  }
  const headerDer = u8(AsnConvert.serialize(h));
  const bodyDer = u8(AsnConvert.serialize(m.body));
  const data = protectedPart(headerDer, bodyDer);
  const value =
    "signer" in p
      ? signData(p.signer.key, data)
      : "mac" in p
        ? computeMac(p.mac, Buffer.from(p.secret), data)
        : typeof p.value === "function"
          ? p.value(data)
          : p.value;
  return u8(tlv(0x30, headerDer, bodyDer, tlv(0xa0, tlv(0x03, Uint8Array.of(0), value)), ...(extra.length ? [tlv(0xa1, tlv(0x30, ...extra))] : [])));
}

/** A pkiConf answering a certConf (RFC 9810 5.3.17), in the header style of `like`. */
export function pkiConfFor(req: PKIMessage, like: PKIMessage): PKIMessage {
  return new PKIMessage({
    header: new PKIHeader({
      pvno: like.header.pvno,
      sender: like.header.sender,
      recipient: req.header.sender,
      messageTime: new Date(Math.floor(Date.now() / 1000) * 1000),
      transactionID: req.header.transactionID,
      senderNonce: ab(randomBytes(16)),
      recipNonce: req.header.senderNonce,
    }),
    body: new PKIBody({ pkiconf: null }),
  });
}

/** The ip/cp/kup CertRepMessage of a message, if any. */
export function certRep(m: PKIMessage) {
  return m.body.ip ?? m.body.cp ?? m.body.kup;
}

/** The certificate an ip/cp/kup returns (DER). */
export function returnedCert(m: PKIMessage): Uint8Array | undefined {
  const c = certRep(m)?.response[0]?.certifiedKeyPair?.certOrEncCert.certificate;
  return c ? u8(AsnConvert.serialize(c)) : undefined;
}

export function setReturnedCert(m: PKIMessage, der: Uint8Array): void {
  certRep(m)!.response[0].certifiedKeyPair!.certOrEncCert.certificate = AsnConvert.parse(der, Certificate);
}

export function setCaPubs(m: PKIMessage, certs: Uint8Array[] | undefined): void {
  certRep(m)!.caPubs = certs ? new CMPCertificates(certs.map((c) => AsnConvert.parse(c, Certificate))) : undefined;
}

/** The subject Name and SubjectPublicKeyInfo DER of a certificate. */
export function subjectAndKey(der: Uint8Array): { subject: Uint8Array; spki: Uint8Array } {
  const c = AsnConvert.parse(der, Certificate);
  return { subject: u8(AsnConvert.serialize(c.tbsCertificate.subject)), spki: u8(AsnConvert.serialize(c.tbsCertificate.subjectPublicKeyInfo)) };
}

/** A rogue answer: the request and the honest response (both parsed), or undefined to pass it on. */
export type Attack = (req: PKIMessage, honest: PKIMessage, honestDer: Uint8Array) => Promise<Uint8Array | undefined> | Uint8Array | undefined;

/** A transport to the test PKI's responder (in process) that lets `attack` rewrite the answers. */
export class Rogue implements Transport {
  attack?: Attack;
  /** the requests seen, DER */
  readonly requests: Uint8Array[] = [];
  constructor(readonly pki: TestPki) {}
  async transfer(request: Uint8Array): Promise<Uint8Array> {
    this.requests.push(request);
    const honest = await this.pki.responder.handle(request);
    if (!this.attack) return honest;
    return (await this.attack(parse(request), parse(honest), honest)) ?? honest;
  }
}

/**
 * The usual attack on an enrollment: the returned certificate replaced by `cert(genuine)` (or
 * kept), caPubs set, the whole response protected by `p`; a certConf that follows is answered by
 * a pkiConf under the same protection.
 */
export function rewriteCertRep(p: Protect, edit: (m: PKIMessage, genuine: Uint8Array) => Promise<void> | void = () => {}): Attack {
  return async (req, honest) => {
    const t = bodyType(req.body);
    if (t === "certConf") return protect(pkiConfFor(req, honest), p);
    if (!certRep(honest)) return protect(honest, p);
    await edit(honest, returnedCert(honest)!);
    return protect(honest, p);
  };
}

/** A PasswordBasedMac protectionAlg (RFC 9810 5.1.3.1) with these parameters. */
export function pbmAlg(o: { salt?: number; iterations?: number; owf?: string; mac?: string } = {}): AlgorithmIdentifier {
  const p = new PBMParameter({
    salt: ab(randomBytes(o.salt ?? 16)),
    owf: new AlgorithmIdentifier({ algorithm: o.owf ?? OID.sha256, parameters: null }),
    iterationCount: o.iterations ?? 1000,
    mac: new AlgorithmIdentifier({ algorithm: o.mac ?? OID.hmacWithSHA256, parameters: null }),
  });
  return new AlgorithmIdentifier({ algorithm: OID.pbm, parameters: AsnConvert.serialize(p) });
}

/** A PBMAC1 protectionAlg (RFC 9481 6.1, RFC 8018 A.5) with PBKDF2 of these parameters. */
export function pbmac1Alg(o: { salt?: number; iterations?: number; keyLength?: number; prf?: string; mac?: string } = {}): AlgorithmIdentifier {
  const kdf = new PBKDF2Params({
    salt: ab(randomBytes(o.salt ?? 16)),
    iterationCount: o.iterations ?? 1000,
    keyLength: o.keyLength === 0 ? undefined : (o.keyLength ?? 32),
    prf: new AlgorithmIdentifier({ algorithm: o.prf ?? OID.hmacWithSHA256, parameters: null }),
  });
  const p = new PBMAC1Params({
    keyDerivationFunc: new AlgorithmIdentifier({ algorithm: OID.pbkdf2, parameters: AsnConvert.serialize(kdf) }),
    messageAuthScheme: new AlgorithmIdentifier({ algorithm: o.mac ?? OID.hmacWithSHA256, parameters: null }),
  });
  return new AlgorithmIdentifier({ algorithm: OID.pbmac1, parameters: AsnConvert.serialize(p) });
}

// ---- RSA keys chosen for cost: a modulus and exponent of the attacker's choice ----

function derInt(b: Uint8Array): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, ...(v[0] & 0x80 ? [Uint8Array.of(0), v] : [v]));
}

/** An RSA SubjectPublicKeyInfo (RFC 3279 2.3.1) with modulus `n` and exponent `e` as given. */
export function rsaSpki(n: Uint8Array, e: Uint8Array): Uint8Array {
  const alg = tlv(0x30, tlv(0x06, Buffer.from("2a864886f70d010101", "hex")), Uint8Array.of(0x05, 0x00));
  return u8(tlv(0x30, alg, tlv(0x03, Uint8Array.of(0), tlv(0x30, derInt(n), derInt(e)))));
}

/** An odd modulus of `bits` bits with its top octets all ones (so any signature of its length is below it). */
export function bigModulus(bits: number): Uint8Array {
  const n = new Uint8Array(randomBytes(bits / 8));
  n.fill(0xff, 0, 8);
  n[n.length - 1] |= 1;
  return n;
}

let rsa4096: Promise<Credential> | undefined;
/** A real RSA-4096 key and a certificate for it (WebCrypto signs with it). */
export function rsa4096Signer(issuer: Credential): Promise<Credential> {
  return (rsa4096 ??= (async () => {
    const keys = (await webcrypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const privateKey = KeyObject.from(keys.privateKey as webcrypto.CryptoKey);
    const key = { type: "RSA-2048" as KeyType, keys, privateKey, publicKey: KeyObject.from(keys.publicKey as webcrypto.CryptoKey), keyPem: "" };
    const der = await forge({
      subject: "CN=rsa4096,O=attacker",
      publicKey: keys.publicKey,
      issuer: u8(issuer.cert.subjectName.toArrayBuffer()),
      signer: issuer,
      ca: true,
    });
    return credential(new x509.X509Certificate(ab(der)), key);
  })());
}

let maxExponentKey: KeyObject | undefined;
/** A real RSA-4096 key with the largest public exponent the core takes, 2^32 - 1. */
export function maxExponentKey4096(): KeyObject {
  return (maxExponentKey ??= generateKeyPairSync("rsa", { modulusLength: 4096, publicExponent: 0xffffffff }).privateKey);
}

/**
 * The costliest response the limits allow, for a signed transaction (it is refused): the signer
 * extraCerts[0] has a real RSA-4096 key with e = 2^32 - 1 that signs the message, and is an
 * RSA-4096-signed certificate whose issuer name `decoys` CA certificates in extraCerts all claim,
 * each with a 4096-bit modulus and e = 2^32 - 1: every candidate issuer costs a full verification
 * until the response's signature budget is spent.
 */
export async function costliest(honest: PKIMessage, anyCa: Credential, decoys = 15): Promise<Uint8Array> {
  const rsa = await rsa4096Signer(anyCa);
  const key = maxExponentKey4096();
  const e = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
  const issuerName = "CN=decoy issuer,O=attacker";
  const spki = new Uint8Array(createPublicKey(key).export({ type: "spki", format: "der" }));
  const signer = await forge({ subject: "CN=costly signer,O=attacker", publicKey: spki, issuer: issuerName, signer: rsa, ski: false, eku: [OID.cmcRA] });
  const extra = [signer];
  for (let i = 0; i < decoys; i++) {
    extra.push(await forge({ subject: issuerName, publicKey: rsaSpki(bigModulus(4096), e), issuer: `CN=decoy ${i}`, signer: anyCa, ca: true, ski: false }));
  }
  const alg = new AlgorithmIdentifier({ algorithm: oids.sha256WithRSAEncryption, parameters: null });
  return protect(honest, { alg, value: (data) => new Uint8Array(nodeSign("sha256", data, key)), extra });
}
