// DER strictness of a received request, checked before it is parsed, as a strict CA does (X.690
// 10-11): a request that is BER but not DER, or that tags a field wrongly, is refused with
// badDataFormat and a statusString naming what and where, so that an encoding bug shows in our
// own tests instead of passing a lenient parser. One function for the whole check: derViolation.

/** Why `der` is not one DER element as a strict CA reads it, or undefined when it is. */
export function derViolation(der: Uint8Array): string | undefined {
  try {
    const end = element(der, 0, der.length, 0);
    if (end !== der.length) return `${der.length - end} bytes after the PKIMessage`;
    return certTemplateViolation(der);
  } catch (e) {
    if (e instanceof NotDer) return e.message;
    throw e;
  }
}

class NotDer extends Error {}
const bad = (at: number, what: string): never => {
  throw new NotDer(`not DER at offset ${at}: ${what}`);
};

const MAX_DEPTH = 40;
const UNIVERSAL_CONSTRUCTED = new Set([0x10, 0x11]); // SEQUENCE, SET
const STRING_TAGS = new Set([0x0c, 0x12, 0x13, 0x16, 0x1a, 0x1e]); // UTF8, Numeric, Printable, IA5, Visible, BMP

interface Header {
  tag: number;
  value: number;
  end: number;
}

function header(b: Uint8Array, at: number, limit: number): Header {
  if (at + 2 > limit) bad(at, "element truncated");
  const tag = b[at];
  if ((tag & 0x1f) === 0x1f) bad(at, "high tag number form");
  const first = b[at + 1];
  let value = at + 2,
    len = first;
  if (first === 0x80) bad(at, "indefinite length");
  if (first > 0x80) {
    const n = first & 0x7f;
    if (n > 4 || value + n > limit) bad(at, "length field truncated or too long");
    if (b[value] === 0) bad(at, "length with a leading zero octet (X.690 10.1)");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[value + i];
    if (len < 0x80) bad(at, `length ${len} in long form (X.690 10.1)`);
    value += n;
  }
  if (value + len > limit) bad(at, "element runs past its end");
  return { tag, value, end: value + len };
}

/** Checks the element at `at` and everything inside it; returns its end. */
function element(b: Uint8Array, at: number, limit: number, depth: number): number {
  if (depth > MAX_DEPTH) bad(at, "nested too deep");
  const { tag, value, end } = header(b, at, limit);
  const constructed = (tag & 0x20) !== 0,
    cls = tag & 0xc0,
    num = tag & 0x1f;
  if (cls === 0) {
    // universal: the form is fixed by the type (X.690 8.x, 10.2)
    if (UNIVERSAL_CONSTRUCTED.has(num) !== constructed) bad(at, `tag 0x${tag.toString(16)} in the wrong form`);
    universalValue(b, at, num, value, end);
  }
  if (!constructed) return end;
  const children: [number, number][] = [];
  for (let p = value; p < end; ) {
    const q = element(b, p, end, depth + 1);
    children.push([p, q]);
    p = q;
  }
  // DER 11.6: the elements of a SET OF in ascending order of their encodings
  if (tag === 0x31) {
    for (let i = 1; i < children.length; i++) {
      if (compare(b, children[i - 1], children[i]) > 0) bad(children[i][0], "SET OF elements not sorted (X.690 11.6)");
    }
  }
  return end;
}

function compare(b: Uint8Array, [a0, a1]: [number, number], [b0, b1]: [number, number]): number {
  for (let i = 0; i < Math.min(a1 - a0, b1 - b0); i++) if (b[a0 + i] !== b[b0 + i]) return b[a0 + i] - b[b0 + i];
  return a1 - a0 - (b1 - b0);
}

function universalValue(b: Uint8Array, at: number, num: number, v: number, end: number): void {
  const n = end - v;
  switch (num) {
    case 0x01: // BOOLEAN: one octet, TRUE as 0xFF (X.690 11.1)
      if (n !== 1 || (b[v] !== 0 && b[v] !== 0xff)) bad(at, "BOOLEAN not 0x00 or 0xFF");
      return;
    case 0x02:
    case 0x0a: // INTEGER, ENUMERATED: minimal two's complement (X.690 8.3.2)
      if (n === 0) bad(at, "empty INTEGER");
      if (n > 1 && ((b[v] === 0 && b[v + 1] < 0x80) || (b[v] === 0xff && b[v + 1] >= 0x80))) bad(at, "INTEGER not minimal");
      return;
    case 0x03: {
      // BIT STRING: unused bits 0..7, 0 when empty, and zero (X.690 11.2)
      if (n === 0 || b[v] > 7 || (n === 1 && b[v] !== 0)) bad(at, "BIT STRING unused-bits octet invalid");
      if (n > 1 && (b[end - 1] & ((1 << b[v]) - 1)) !== 0) bad(at, "BIT STRING unused bits not zero (X.690 11.2.1)");
      return;
    }
    case 0x05: // NULL
      if (n !== 0) bad(at, "NULL with contents");
      return;
    case 0x06: // OBJECT IDENTIFIER: subidentifiers minimal, the last one complete (X.690 8.19.2)
      if (n === 0 || (b[end - 1] & 0x80) !== 0) bad(at, "OBJECT IDENTIFIER truncated");
      for (let i = v; i < end; i++) if (b[i] === 0x80 && (i === v || (b[i - 1] & 0x80) === 0)) bad(at, "OBJECT IDENTIFIER subidentifier not minimal");
      return;
    case 0x17: // UTCTime YYMMDDHHMMSSZ (X.690 11.8, RFC 5280 4.1.2.5.1)
      if (!/^\d{12}Z$/.test(Buffer.from(b.subarray(v, end)).toString("latin1"))) bad(at, "UTCTime not YYMMDDHHMMSSZ");
      return;
    case 0x18: // GeneralizedTime YYYYMMDDHHMMSS[.f]Z, no trailing zero in the fraction (X.690 11.7)
      if (!/^\d{14}(\.\d*[1-9])?Z$/.test(Buffer.from(b.subarray(v, end)).toString("latin1"))) bad(at, "GeneralizedTime not YYYYMMDDHHMMSS[.f]Z");
      return;
    default:
      if (STRING_TAGS.has(num) && num === 0x0c && !isUtf8(b.subarray(v, end))) bad(at, "UTF8String not UTF-8");
  }
}

function isUtf8(s: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(s);
    return true;
  } catch {
    return false;
  }
}

// ---- tagging of the fields a strict CA reads: PKIMessage > body > CertReqMessages ----

interface Tlv {
  tag: number;
  start: number;
  value: number;
  end: number;
}
function tlv(b: Uint8Array, at: number): Tlv {
  const h = header(b, at, b.length);
  return { tag: h.tag, start: at, value: h.value, end: h.end };
}
function kids(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.value; p < t.end; p = out[out.length - 1].end) out.push(tlv(b, p));
  return out;
}

/** ir [0] / cr [2] / kur [7]: each certTemplate's extensions [9] holds Extension elements
 *  (RFC 4211 5 and Appendix B: IMPLICIT TAGS, so [9] replaces the SEQUENCE OF tag). */
function certTemplateViolation(b: Uint8Array): string | undefined {
  const [, body] = kids(b, tlv(b, 0));
  if (!body || ![0xa0, 0xa2, 0xa7].includes(body.tag)) return undefined;
  const [msgs] = kids(b, body);
  for (const msg of msgs ? kids(b, msgs) : []) {
    const [certReq] = kids(b, msg);
    const fields = certReq ? kids(b, certReq) : [];
    const template = fields[1];
    if (template?.tag !== 0x30) return "certTemplate is not a SEQUENCE (RFC 4211 5)";
    const ext = kids(b, template).find((f) => f.tag === 0xa9);
    if (!ext) continue;
    for (const e of kids(b, ext)) {
      const parts = e.tag === 0x30 ? kids(b, e) : [];
      if (parts[0]?.tag !== 0x06) {
        return (
          `certTemplate extensions [9] at offset ${ext.start} must hold Extension elements directly ` +
          "(RFC 4211 IMPLICIT TAGS: [9] replaces the SEQUENCE tag), found an element that is not an Extension"
        );
      }
    }
  }
  return undefined;
}

/** transactionID and senderNonce of a request whatever else is wrong with it, read leniently
 *  (any definite length form), so that an error response that copies them reaches the client's
 *  checks (RFC 9810 5.1.1); what cannot be read is left out. */
export function headerIds(b: Uint8Array): { transactionID?: Uint8Array; senderNonce?: Uint8Array } {
  const out: { transactionID?: Uint8Array; senderNonce?: Uint8Array } = {};
  const lenient = (at: number, limit: number): Tlv | undefined => {
    if (at + 2 > limit) return undefined;
    let len = b[at + 1],
      v = at + 2;
    if (len === 0x80) return undefined;
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 4 || v + n > limit) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[v + i];
      v += n;
    }
    return v + len > limit ? undefined : { tag: b[at], start: at, value: v, end: v + len };
  };
  const msg = lenient(0, b.length);
  const hdr = msg && lenient(msg.value, msg.end);
  if (hdr?.tag !== 0x30) return out;
  for (let p = hdr.value; p < hdr.end; ) {
    const f = lenient(p, hdr.end);
    if (!f) break;
    const os = f.tag === 0xa4 || f.tag === 0xa5 ? lenient(f.value, f.end) : undefined;
    if (os?.tag === 0x04) {
      if (f.tag === 0xa4) out.transactionID = b.slice(os.value, os.end);
      else out.senderNonce = b.slice(os.value, os.end);
    }
    p = f.end;
  }
  return out;
}
