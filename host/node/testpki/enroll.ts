// From a certificate request (ir/cr/kur: RFC 4211 CertReqMsg; p10cr: PKCS#10) to what the CA
// should certify: subject, public key, SANs, validity. Checks proof-of-possession and, for kur,
// that the request is about the certificate that protects it (RFC 9483 4.1.3).
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { createPublicKey, X509Certificate as NodeX509 } from "node:crypto";
import { CertId, PKIFailureInfo } from "./asn1.js";
import { fail } from "./failure.js";
import * as oids from "./oids.js";
import { u8, verifySignature } from "./protection.js";
import type { CertReq } from "./reader.js";
import * as x509 from "./x509.js";

const id_ce_subjectAltName = "2.5.29.17";

export interface Approved {
  certReqId: number;
  subject: Uint8Array;
  publicKey: Uint8Array;
  /** DER Extension elements for the certificate (the subjectAltName) */
  extensions: Uint8Array[];
  notAfter?: Date;
}

export interface EnrollOptions {
  acceptRaVerified: boolean;
  /** for kur: the certificate that signed the request (RFC 9483 4.1.3) */
  oldCert?: NodeX509;
}

const equal = (a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array) => Buffer.from(u8(a)).equals(Buffer.from(u8(b)));
const EMPTY_NAME = Uint8Array.of(0x30, 0x00);

/** SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } BIT STRING 04 || x || y (RFC 5480 2): the
 *  27 octets before x */
const P256_SPKI = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d03010703420004", "hex");

/** A node:crypto key from a SubjectPublicKeyInfo. An uncompressed P-256 key goes in as its JWK
 *  (RFC 7518 6.2.1), which node:crypto imports in half the time of the DER; OpenSSL checks the
 *  point is on the curve either way. */
export function publicKeyOf(spki: Uint8Array) {
  if (spki.length === 91 && P256_SPKI.equals(spki.subarray(0, 27))) {
    const b = Buffer.from(spki.buffer, spki.byteOffset, spki.length);
    return createPublicKey({ key: { kty: "EC", crv: "P-256", x: b.toString("base64url", 27, 59), y: b.toString("base64url", 59, 91) }, format: "jwk" });
  }
  return createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
}

/** RFC 4211 / RFC 9483 4.1.1-4.1.3: one CertReqMsg with a public key and signature POP. */
export function approveCertReqMsg(msgs: CertReq[], kind: "ir" | "cr" | "kur", o: EnrollOptions): Approved {
  if (msgs.length !== 1) fail(PKIFailureInfo.badRequest, `${kind} must carry exactly one CertReqMsg (RFC 9483 4.1.1)`);
  const m = msgs[0];
  const t = m.template;
  if (!t.publicKey) fail(PKIFailureInfo.badCertTemplate, "certTemplate has no publicKey (central key generation is not offered)");
  const publicKey = t.publicKey!;

  // RFC 4211 4: proof-of-possession
  const popo = m.popo;
  if (!popo) fail(PKIFailureInfo.badPOP, "proof-of-possession missing");
  if ("raVerified" in popo!) {
    if (!o.acceptRaVerified) fail(PKIFailureInfo.badPOP, "raVerified POP not accepted from an end entity");
  } else if ("signature" in popo!) {
    // RFC 4211 4.1: with subject and publicKey in the template, poposkInput is omitted and the
    // signature is computed over the DER of certReq
    if (popo.signature.poposkInput) fail(PKIFailureInfo.badPOP, "poposkInput not supported");
    let key;
    try {
      key = publicKeyOf(publicKey);
    } catch {
      fail(PKIFailureInfo.badCertTemplate, "publicKey cannot be parsed");
    }
    const ok = verifySignature(popo.signature.algorithm, key!, m.certReqDer, popo.signature.signature);
    if (!ok) fail(PKIFailureInfo.badPOP, "POP signature does not verify");
  } else {
    fail(PKIFailureInfo.badPOP, "only signature POP is supported");
  }

  const extensions: Uint8Array[] = [];
  const san = t.extensions.find((e) => e.id === id_ce_subjectAltName);
  if (san) extensions.push(san.der);

  let subject = t.subject;
  if (kind === "kur") {
    if (!o.oldCert) fail(PKIFailureInfo.notAuthorized, "kur must be signature-protected with the certificate to update");
    const old = AsnConvert.parse(o.oldCert!.raw, Certificate);
    // RFC 4211 6.5 / RFC 9483 4.1.3: id-regCtrl-oldCertID names the certificate to be updated
    const ctrl = m.controls.find((c) => c.type === oids.id_regCtrl_oldCertID);
    if (ctrl) {
      const id = AsnConvert.parse(ctrl.value, CertId);
      const issuer = id.issuer.directoryName ? AsnConvert.serialize(id.issuer.directoryName) : new ArrayBuffer(0);
      const sameSerial =
        Buffer.from(u8(id.serialNumber))
          .toString("hex")
          .replace(/^(00)+/, "") === o.oldCert!.serialNumber.toLowerCase().replace(/^(00)+/, "");
      if (!sameSerial || !equal(issuer, AsnConvert.serialize(old.tbsCertificate.issuer)))
        fail(PKIFailureInfo.badCertId, "oldCertID is not the certificate that protects the kur");
    }
    subject ??= u8(AsnConvert.serialize(old.tbsCertificate.subject));
    if (!san) {
      const oldSan = old.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
      if (oldSan) extensions.push(u8(AsnConvert.serialize(oldSan)));
    }
  }
  if (!subject) {
    if (!san) fail(PKIFailureInfo.badCertTemplate, "certTemplate has neither subject nor subjectAltName");
    subject = EMPTY_NAME;
  }
  return { certReqId: m.certReqId, subject: subject!, publicKey, extensions, notAfter: t.notAfter };
}

/** RFC 9483 4.1.4: p10cr carries a PKCS#10 request whose own signature is the POP. */
export async function approveP10cr(raw: ArrayBuffer, certReqId: number): Promise<Approved> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(raw);
  } catch {
    return fail(PKIFailureInfo.badDataFormat, "PKCS#10 request cannot be parsed");
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) fail(PKIFailureInfo.badPOP, "PKCS#10 signature does not verify");
  const extensions = csr.extensions.filter((e) => e.type === id_ce_subjectAltName).map((e) => new Uint8Array(e.rawData));
  return {
    certReqId,
    subject: u8(csr.subjectName.toArrayBuffer()),
    publicKey: u8(csr.publicKey.rawData),
    extensions,
  };
}
