// The test PKI's own reading of a request's DER, for the fields it answers on every request:
// PKIMessage and PKIHeader (RFC 9810 5.1), ir/cr/kur CertReqMessages (RFC 4211 3-5), certConf
// (RFC 9810 5.3.18) and PasswordBasedMac parameters (RFC 9810 5.1.3.1). It runs after
// derViolation (strict.ts) has accepted the whole message, so every length is definite and
// minimal and every element lies inside its parent; what it finds in the wrong place or with the
// wrong tag it refuses with the same words as a schema mismatch. The other bodies and fields are
// parsed by the @peculiar/asn1-schema classes of asn1.ts from the DER this reader cuts out.
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralName } from "@peculiar/asn1-x509";
import { PKIBody, PKIBodyTypes, type PKIBodyType } from "./asn1.js";

/** One DER element: its tag and where it and its contents lie in `b`. */
export interface Tlv {
  tag: number;
  start: number;
  value: number;
  end: number;
}

export class DerError extends Error {}

/** The element at `at` (definite lengths only; derViolation has checked their form). */
export function readTlv(b: Uint8Array, at: number, limit = b.length): Tlv {
  if (at + 2 > limit) throw new DerError(`element truncated at offset ${at}`);
  const tag = b[at];
  let len = b[at + 1],
    value = at + 2;
  if (len >= 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || value + n > limit) throw new DerError(`bad length at offset ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[value + i];
    value += n;
  }
  if (value + len > limit) throw new DerError(`element at offset ${at} runs past its end`);
  return { tag, start: at, value, end: value + len };
}

/** The elements inside a constructed element. */
export function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.value; p < t.end; ) {
    const c = readTlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

const expect = (t: Tlv | undefined, tag: number, what: string): Tlv => {
  if (!t || t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
};

export const whole = (b: Uint8Array, t: Tlv) => b.subarray(t.start, t.end);
export const contents = (b: Uint8Array, t: Tlv) => b.subarray(t.value, t.end);

/** INTEGER within the safe range (pvno, certReqId, iteration counts). */
export function integer(b: Uint8Array, t: Tlv, what: string, clamp = false): number {
  expect(t, 0x02, what);
  const n = t.end - t.value;
  if (n > 6 && clamp) return b[t.value] & 0x80 ? -Infinity : Infinity; // for a range check to refuse
  if (n < 1 || n > 6) throw new DerError(`${what}: INTEGER out of range`);
  let v = 0;
  for (let i = t.value; i < t.end; i++) v = v * 256 + b[i];
  return b[t.value] & 0x80 ? v - 256 ** n : v; // two's complement (X.690 8.3.3)
}

const oidCache = new Map<string, string>();
/** OBJECT IDENTIFIER contents -> dotted form (X.690 8.19). */
export function oid(b: Uint8Array, t: Tlv, what: string): string {
  expect(t, 0x06, what);
  const key = Buffer.from(b.buffer, b.byteOffset + t.value, t.end - t.value).toString("latin1");
  let s = oidCache.get(key);
  if (s !== undefined) return s;
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.value; i < t.end; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  s = arcs.join(".");
  if (oidCache.size < 1000) oidCache.set(key, s);
  return s;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
export interface AlgId {
  algorithm: string;
  parameters?: Uint8Array;
  der: Uint8Array;
}
export function algId(b: Uint8Array, t: Tlv, what: string): AlgId {
  const [o, p] = children(b, expect(t, 0x30, what));
  return { algorithm: oid(b, o, what), parameters: p && whole(b, p), der: whole(b, t) };
}

/** BIT STRING contents without the unused-bits octet (zero for the values read here). */
export function bitString(b: Uint8Array, t: Tlv, what: string): Uint8Array {
  expect(t, 0x03, what);
  if (b[t.value] !== 0) throw new DerError(`${what}: BIT STRING with unused bits`);
  return b.subarray(t.value + 1, t.end);
}

/** RFC 9810 5.1.1: the PKIHeader fields the responder uses. */
export interface RequestHeader {
  pvno: number;
  /** DER of the sender GeneralName */
  senderDer: Uint8Array;
  protectionAlg?: AlgId;
  senderKID?: Uint8Array;
  transactionID?: Uint8Array;
  senderNonce?: Uint8Array;
  recipNonce?: Uint8Array;
  /** infoType OIDs of generalInfo */
  generalInfo: string[];
}

/** RFC 4211 5: the CertTemplate fields an enrollment uses, as DER. */
export interface Template {
  /** fields the test PKI does not use are present (version, serialNumber, signingAlg, issuer,
   *  issuerUID, subjectUID): the request then goes through the schema classes as well */
  unusual: boolean;
  subject?: Uint8Array; // Name
  publicKey?: Uint8Array; // SubjectPublicKeyInfo (the [6] IMPLICIT tag replaced by SEQUENCE)
  /** Extension elements of extensions [9] */
  extensions: { id: string; der: Uint8Array }[];
  notAfter?: Date;
}

/** RFC 4211 3: one CertReqMsg. */
export interface CertReq {
  certReqId: number;
  template: Template;
  /** DER of certReq, which signature POP covers (RFC 4211 4.1) */
  certReqDer: Uint8Array;
  /** controls: type OID and the DER of the value */
  controls: { type: string; value: Uint8Array }[];
  popo?: { raVerified: true } | { signature: { poposkInput: boolean; algorithm: string; signature: Uint8Array } } | { other: number };
  /** regInfo present */
  regInfo: boolean;
}

/** RFC 9810 5.3.18: one CertStatus. */
export interface CertStatus {
  certHash: Uint8Array;
  certReqId: number;
  status?: number;
  hashAlg?: string;
}

export class Request {
  readonly type: PKIBodyType;
  readonly header: RequestHeader;
  readonly headerRaw: Uint8Array;
  readonly bodyRaw: Uint8Array;
  /** the body alternative's contents (inside its explicit tag) */
  private readonly inner: Tlv;
  readonly protection?: Uint8Array;
  /** DER of each extraCerts certificate */
  readonly extraCerts: Uint8Array[] = [];
  private parsedBody?: PKIBody;

  constructor(readonly der: Uint8Array) {
    const b = der;
    const msg = children(b, expect(readTlv(b, 0), 0x30, "PKIMessage"));
    const hdr = expect(msg[0], 0x30, "PKIHeader");
    const body = msg[1];
    if (!body || (body.tag & 0xe0) !== 0xa0 || (body.tag & 0x1f) >= PKIBodyTypes.length) throw new DerError("PKIBody: no known alternative");
    this.type = PKIBodyTypes[body.tag & 0x1f];
    this.headerRaw = whole(b, hdr);
    this.bodyRaw = whole(b, body);
    const inner = children(b, body);
    if (inner.length !== 1) throw new DerError("PKIBody: explicit tag must hold one element");
    this.inner = inner[0];
    let last = 0;
    for (const f of msg.slice(2)) {
      if (f.tag <= last) throw new DerError("PKIMessage: unexpected element after the body");
      last = f.tag;
      if (f.tag === 0xa0) {
        const [bits] = children(b, f);
        this.protection = bitString(b, expect(bits, 0x03, "protection"), "protection");
      } else if (f.tag === 0xa1) {
        const [seq] = children(b, f);
        for (const c of children(b, expect(seq, 0x30, "extraCerts"))) this.extraCerts.push(whole(b, expect(c, 0x30, "CMPCertificate")));
      } else throw new DerError("PKIMessage: unexpected element after the body");
    }
    this.header = readHeader(b, hdr);
  }

  /** The whole body through the schema classes (bodies other than ir/cr/kur/certConf). */
  get body(): PKIBody {
    return (this.parsedBody ??= AsnConvert.parse(this.bodyRaw, PKIBody, { berOptions: { maxDepth: 40, maxNodes: 5000 } }));
  }

  /** The recipient GeneralName through the schema classes (only checked: the answer names us). */
  checkRecipient(): void {
    const h = this.headerRaw;
    AsnConvert.parse(whole(h, children(h, readTlv(h, 0))[2]), GeneralName);
  }

  /** The sender GeneralName through the schema classes. */
  sender(): GeneralName {
    return (this.parsedSender ??= AsnConvert.parse(this.header.senderDer, GeneralName));
  }
  private parsedSender?: GeneralName;

  /** ir [0], cr [2], kur [7]: CertReqMessages. */
  certReqs(): CertReq[] {
    const b = this.der;
    return children(b, expect(this.inner, 0x30, "CertReqMessages")).map((m) => certReqMsg(b, m));
  }

  /** certConf [24]: CertConfirmContent ::= SEQUENCE OF CertStatus */
  certStatuses(): CertStatus[] {
    const b = this.der;
    return children(b, expect(this.inner, 0x30, "CertConfirmContent")).map((s) => {
      const f = children(b, expect(s, 0x30, "CertStatus"));
      const out: CertStatus = { certHash: contents(b, expect(f[0], 0x04, "certHash")), certReqId: integer(b, f[1], "certReqId") };
      for (const x of f.slice(2)) {
        if (x.tag === 0x30 && out.status === undefined && out.hashAlg === undefined) out.status = integer(b, children(b, x)[0], "PKIStatusInfo status");
        else if (x.tag === 0xa0 && out.hashAlg === undefined) out.hashAlg = algId(b, children(b, x)[0], "hashAlg").algorithm;
        else throw new DerError("CertStatus: unexpected element");
      }
      return out;
    });
  }
}

function readHeader(b: Uint8Array, hdr: Tlv): RequestHeader {
  const f = children(b, hdr);
  if (f.length < 3) throw new DerError("PKIHeader: pvno, sender and recipient are required");
  const h: RequestHeader = { pvno: integer(b, f[0], "pvno"), senderDer: whole(b, f[1]), generalInfo: [] };
  if ((f[1].tag & 0xc0) !== 0x80 || (f[2].tag & 0xc0) !== 0x80) throw new DerError("PKIHeader: sender and recipient are GeneralNames");
  let last = -1;
  for (const x of f.slice(3)) {
    const n = x.tag - 0xa0;
    if (n < 0 || n > 8 || n <= last) throw new DerError("PKIHeader: unexpected element");
    last = n;
    const [v] = children(b, x);
    if (!v) throw new DerError("PKIHeader: empty field");
    switch (n) {
      case 0:
        expect(v, 0x18, "messageTime");
        break;
      case 1:
        h.protectionAlg = algId(b, v, "protectionAlg");
        break;
      case 2:
        h.senderKID = contents(b, expect(v, 0x04, "senderKID"));
        break;
      case 3:
        expect(v, 0x04, "recipKID");
        break;
      case 4:
        h.transactionID = contents(b, expect(v, 0x04, "transactionID"));
        break;
      case 5:
        h.senderNonce = contents(b, expect(v, 0x04, "senderNonce"));
        break;
      case 6:
        h.recipNonce = contents(b, expect(v, 0x04, "recipNonce"));
        break;
      case 7:
        for (const s of children(b, expect(v, 0x30, "freeText"))) expect(s, 0x0c, "freeText");
        break;
      case 8:
        for (const i of children(b, expect(v, 0x30, "generalInfo")))
          h.generalInfo.push(oid(b, children(b, expect(i, 0x30, "InfoTypeAndValue"))[0], "infoType"));
        break;
    }
  }
  return h;
}

/** RFC 4211 3-5 (IMPLICIT TAGS; Name and ProofOfPossession's POPOPrivKey are CHOICEs: explicit). */
function certReqMsg(b: Uint8Array, m: Tlv): CertReq {
  const [req, second, third] = children(b, expect(m, 0x30, "CertReqMsg"));
  const popo = second?.tag === 0x30 ? undefined : second; // a SEQUENCE there is regInfo: no POP
  const f = children(b, expect(req, 0x30, "CertRequest"));
  const out: CertReq = {
    certReqId: integer(b, f[0], "certReqId"),
    template: template(b, expect(f[1], 0x30, "CertTemplate")),
    certReqDer: whole(b, req),
    controls: [],
    regInfo: second?.tag === 0x30 || third !== undefined,
  };
  if (f[2]) {
    for (const c of children(b, expect(f[2], 0x30, "Controls"))) {
      const [t, v] = children(b, expect(c, 0x30, "AttributeTypeAndValue"));
      if (!v) throw new DerError("AttributeTypeAndValue without a value");
      out.controls.push({ type: oid(b, t, "control type"), value: whole(b, v) });
    }
  }
  if (f.length > 3) throw new DerError("CertRequest: unexpected element");
  if (popo) {
    if (popo.tag === 0x80) out.popo = { raVerified: true };
    else if (popo.tag === 0xa1) {
      // POPOSigningKey [1] IMPLICIT: poposkInput [0] OPTIONAL, algorithmIdentifier, signature
      const s = children(b, popo);
      const input = s[0]?.tag === 0xa0;
      const rest = input ? s.slice(1) : s;
      if (rest.length !== 2) throw new DerError("POPOSigningKey: algorithmIdentifier and signature expected");
      out.popo = {
        signature: {
          poposkInput: input,
          algorithm: algId(b, rest[0], "POPOSigningKey algorithmIdentifier").algorithm,
          signature: bitString(b, rest[1], "POPOSigningKey signature"),
        },
      };
    } else if (popo.tag === 0xa2 || popo.tag === 0xa3) out.popo = { other: popo.tag & 0x1f };
    else throw new DerError("ProofOfPossession: unknown alternative");
  }
  return out;
}

function template(b: Uint8Array, t: Tlv): Template {
  const out: Template = { unusual: false, extensions: [] };
  let last = -1;
  for (const f of children(b, t)) {
    const n = f.tag & 0x1f;
    if ((f.tag & 0xc0) !== 0x80 || n > 9 || n <= last) throw new DerError("CertTemplate: unexpected element");
    last = n;
    if (n === 5) {
      // subject [5] Name (a CHOICE: explicit)
      const [name] = children(b, f);
      out.subject = whole(b, checkName(b, name));
    } else if (n === 6) {
      // publicKey [6] IMPLICIT SubjectPublicKeyInfo: the same contents under a SEQUENCE tag
      expect(f, 0xa6, "publicKey");
      const body = contents(b, f);
      const len = body.length;
      const head = len < 0x80 ? [0x30, len] : len < 0x100 ? [0x30, 0x81, len] : [0x30, 0x82, len >> 8, len & 0xff];
      const spki = new Uint8Array(head.length + len);
      spki.set(head);
      spki.set(body, head.length);
      out.publicKey = spki;
      // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
      const [alg, key, more] = children(b, f);
      algId(b, alg, "publicKey algorithm");
      expect(key, 0x03, "subjectPublicKey");
      if (more) throw new DerError("SubjectPublicKeyInfo: unexpected element");
    } else if (n === 4) {
      // validity [4] IMPLICIT OptionalValidity { notBefore [0] Time, notAfter [1] Time } (Time: explicit)
      for (const v of children(b, f)) {
        if (v.tag !== 0xa1) continue;
        const [time] = children(b, v);
        out.notAfter = timeOf(b, time);
      }
    } else if (n === 9) {
      // extensions [9] IMPLICIT Extensions: Extension elements directly (strict.ts refuses others)
      for (const e of children(b, f)) {
        // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
        const [id, x, y, more] = children(b, expect(e, 0x30, "Extension"));
        if (y ? x.tag !== 0x01 || y.tag !== 0x04 || more : x?.tag !== 0x04) throw new DerError("Extension: extnID, critical, extnValue expected");
        out.extensions.push({ id: oid(b, id, "extnID"), der: whole(b, e) });
      }
    } else {
      out.unusual = true;
    }
  }
  return out;
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName, RDN ::= SET OF AttributeTypeAndValue
 *  { type OID, value ANY } (RFC 5280 4.1.2.4). */
function checkName(b: Uint8Array, name: Tlv | undefined): Tlv {
  for (const rdn of children(b, expect(name, 0x30, "Name"))) {
    for (const atv of children(b, expect(rdn, 0x31, "RelativeDistinguishedName"))) {
      const [type, value, more] = children(b, expect(atv, 0x30, "AttributeTypeAndValue"));
      oid(b, type, "AttributeType");
      if (!value || more) throw new DerError("AttributeTypeAndValue: type and value expected");
    }
  }
  return name!;
}

/** UTCTime / GeneralizedTime in their DER forms (RFC 5280 4.1.2.5). */
function timeOf(b: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(contents(b, t)).toString("latin1");
  const m =
    t.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s) : null;
  if (!m) throw new DerError("Time: UTCTime or GeneralizedTime expected");
  let y = Number(m[1]);
  if (t.tag === 0x17) y += y < 50 ? 2000 : 1900;
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** RFC 9810 5.1.3.1: PBMParameter ::= SEQUENCE { salt OCTET STRING, owf AlgorithmIdentifier,
 *  iterationCount INTEGER, mac AlgorithmIdentifier } */
export function pbmParameter(der: Uint8Array): { salt: Uint8Array; owf: string; iterationCount: number; mac: string } {
  const f = children(der, expect(readTlv(der, 0), 0x30, "PBMParameter"));
  if (f.length !== 4) throw new DerError("PBMParameter: four fields expected");
  return {
    salt: contents(der, expect(f[0], 0x04, "salt")),
    owf: algId(der, f[1], "owf").algorithm,
    iterationCount: integer(der, f[2], "iterationCount", true),
    mac: algId(der, f[3], "mac").algorithm,
  };
}
