// General messages of RFC 9483 4.3 on the host side: the genm InfoTypeAndValue each request
// needs (with the values 4.3.2 and 4.3.4 require) and the decoded, checked genp answers.
// The core sends and protects them (INFOTYPE items) and keeps each genp InfoTypeAndValue as a
// result; the values are checked here, as untrusted input (RFC 9483 4.3: a genp is only as good
// as its protection, which the core has verified).
import { X509Certificate } from "node:crypto";
import { children, der, parseItav, tlv, type Tlv } from "./der.js";
import { rootUpdateRefusal } from "./agent.js";

/** id-it-x (1.3.6.1.5.5.7.4.x, RFC 9810 5.3.19) as contents octets. */
export const itOid = (x: number) => Uint8Array.of(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, x);
export const IT = {
  caCerts: 17,
  rootCaKeyUpdate: 18,
  certReqTemplate: 19,
  rootCaCert: 20,
  certProfile: 21,
  crlStatusList: 22,
  crls: 23,
} as const;
/** The infoType that answers each request (RFC 9483 4.3.1-4.3.4, RFC 9810 5.3.19.16). */
const ANSWER: Record<number, number> = {
  [IT.caCerts]: IT.caCerts,
  [IT.rootCaCert]: IT.rootCaKeyUpdate,
  [IT.certReqTemplate]: IT.certReqTemplate,
  [IT.crlStatusList]: IT.crls,
  [IT.certProfile]: IT.certProfile,
};

const oid = (contents: Uint8Array) => der(0x06, contents);

/** genm rootCaCert (RFC 9483 4.3.2): InfoTypeAndValue { id-it-rootCaCert, the current root certificate }. */
export function rootCaCertItav(oldRoot: Uint8Array): Uint8Array {
  new X509Certificate(oldRoot); // a certificate, or this throws
  return der(0x30, oid(itOid(IT.rootCaCert)), oldRoot);
}

/** genm crlStatusList (RFC 9483 4.3.4): CRLStatusListValue with one CRLStatus whose source is the
 *  issuer [1] GeneralNames { directoryName } of the CRL we hold (and its thisUpdate), or of a
 *  certificate whose CRL is wanted. The CMP module has EXPLICIT TAGS (RFC 9810 Appendix A). */
export function crlStatusListItav(from: { crl?: Uint8Array; cert?: Uint8Array }): Uint8Array {
  let issuer: Uint8Array, thisUpdate: Uint8Array | undefined;
  if (from.crl) {
    const crl = from.crl;
    const tbs = children(crl, tlv(crl, 0))[0];
    const f = children(crl, tbs);
    const i = f[0].tag === 0x02 ? 1 : 0; // version
    issuer = crl.slice(f[i + 1].start, f[i + 1].end);
    thisUpdate = crl.slice(f[i + 2].start, f[i + 2].end);
  } else if (from.cert) {
    const c = from.cert;
    const f = children(c, children(c, tlv(c, 0))[0]);
    const i = f[0].tag === 0xa0 ? 3 : 2; // issuer after [0] version?, serialNumber, signature
    issuer = c.slice(f[i].start, f[i].end);
  } else {
    throw new Error("crlStatusList needs the CRL to update or a certificate whose CRL is wanted");
  }
  const source = der(0xa1, der(0x30, der(0xa4, issuer))); // issuer [1] GeneralNames { directoryName [4] Name }
  const status = der(0x30, source, ...(thisUpdate ? [thisUpdate] : []));
  return der(0x30, oid(itOid(IT.crlStatusList)), der(0x30, status));
}

export interface GenpResult {
  caCerts?: Uint8Array[];
  rootCaKeyUpdate?: { newWithNew: Uint8Array; newWithOld?: Uint8Array; oldWithNew?: Uint8Array };
  certReqTemplate?: Uint8Array; // CertReqTemplateValue element
  crls?: Uint8Array[];
  certProfiles?: string[];
  /** infoTypes answered without a value: nothing offered (e.g. no root update, CRL current) */
  empty: string[];
}

const whole = (b: Uint8Array, t: Tlv) => b.slice(t.start, t.end);
const last = (o: Uint8Array) => (o.length === 8 && Buffer.from(o.subarray(0, 7)).equals(Buffer.from(itOid(0).subarray(0, 7))) ? o[7] : -1);
const name = (x: number) => Object.entries(IT).find(([, v]) => v === x)?.[0] ?? `id-it-${x}`;

/**
 * Decodes and checks the genp InfoTypeAndValues answering the genm infoTypes `asked` (their last
 * arcs): each answers one that was asked, with the value RFC 9483 4.3 gives it. A root CA update
 * is accepted only through newWithOld signed by one of `anchors` (RFC 9483 4.3.2). Throws an
 * Error saying what is wrong.
 */
export function decodeGenp(asked: number[], itavs: Uint8Array[], anchors: Uint8Array[] = []): GenpResult {
  const out: GenpResult = { empty: [] };
  const expected = new Set(asked.map((a) => ANSWER[a] ?? a));
  for (const itav of itavs) {
    const { type, value } = parseItav(itav);
    const t = last(type);
    // openssl cmp 3.0 echoes what it was asked (rootCaCert, crlStatusList with their values):
    // no answer, nothing offered
    if (asked.includes(t) && (!value || !expected.has(t))) {
      out.empty.push(name(t));
      continue;
    }
    if (!expected.has(t)) throw new Error(`genp answers an infoType that was not asked for: ${name(t)}`);
    if (!value) {
      out.empty.push(name(t));
      continue;
    }
    const items = value[0] === 0x30 ? children(value, tlv(value, 0)) : [];
    switch (t) {
      case IT.caCerts: // SEQUENCE SIZE (1..MAX) OF CMPCertificate (RFC 9483 4.3.1)
        if (items.length === 0) throw new Error("genp caCerts: empty or not a SEQUENCE OF certificates");
        out.caCerts = items.map((e) => certOrThrow(whole(value, e), "caCerts"));
        break;
      case IT.rootCaKeyUpdate: {
        // RootCaKeyUpdateContent (RFC 9810 5.3.19.16)
        const nwn = items[0];
        if (nwn?.tag !== 0x30) throw new Error("genp rootCaKeyUpdate: newWithNew missing");
        const tagged = (n: number) => {
          const p = items.find((e) => e.tag === (0xa0 | n));
          if (!p) return undefined;
          const inner = children(value, p);
          if (inner.length !== 1 || inner[0].tag !== 0x30) throw new Error(`genp rootCaKeyUpdate: [${n}] is not one certificate`);
          return certOrThrow(whole(value, inner[0]), "rootCaKeyUpdate");
        };
        const u = { newWithNew: certOrThrow(whole(value, nwn), "rootCaKeyUpdate"), newWithOld: tagged(0), oldWithNew: tagged(1) };
        const refusal = rootUpdateRefusal(anchors, u.newWithNew, u.newWithOld);
        if (refusal) throw new Error(`genp rootCaKeyUpdate refused: ${refusal}`);
        out.rootCaKeyUpdate = u;
        break;
      }
      case IT.certReqTemplate: // CertReqTemplateValue ::= CertReqTemplateContent { certTemplate, keySpec OPTIONAL }
        if (items[0]?.tag !== 0x30 || items.length > 2) throw new Error("genp certReqTemplate: not a CertReqTemplateContent");
        out.certReqTemplate = value;
        break;
      case IT.crls: // CRLsValue ::= SEQUENCE SIZE (1..MAX) OF CertificateList
        if (items.length === 0) throw new Error("genp crls: empty or not a SEQUENCE OF CRLs");
        out.crls = items.map((e) => {
          const c = whole(value, e);
          if (!isCertificateList(c)) throw new Error("genp crls: a CRL is malformed");
          return c;
        });
        break;
      case IT.certProfile: // CertProfileValue ::= SEQUENCE SIZE (1..MAX) OF UTF8String
        if (items.length === 0 || items.some((e) => e.tag !== 0x0c)) throw new Error("genp certProfile: not a SEQUENCE OF UTF8String");
        out.certProfiles = items.map((e) => Buffer.from(value.subarray(e.value, e.end)).toString("utf8"));
        break;
    }
  }
  return out;
}

function certOrThrow(c: Uint8Array, what: string): Uint8Array {
  try {
    new X509Certificate(c);
  } catch {
    throw new Error(`genp ${what}: a certificate is malformed`);
  }
  return c;
}

/** CertificateList ::= SEQUENCE { tbsCertList SEQUENCE, signatureAlgorithm SEQUENCE, signatureValue
 *  BIT STRING } (RFC 5280 5.1), whole; the host only hands it on, so its shape is what is checked. */
function isCertificateList(c: Uint8Array): boolean {
  try {
    const top = tlv(c, 0);
    const parts = children(c, top);
    return top.tag === 0x30 && top.end === c.length && parts.length === 3 && parts[0].tag === 0x30 && parts[1].tag === 0x30 && parts[2].tag === 0x03;
  } catch {
    return false;
  }
}
