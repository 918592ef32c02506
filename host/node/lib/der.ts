// A small DER walker and writer for the host's own needs (inspect, certificate fields and names
// on the command line, genm items); the core has its own bounded reader. Throws on malformed input.
export interface Tlv {
  tag: number;
  start: number;
  value: number;
  end: number;
}

/** One TLV at `at` inside [.., limit); throws on malformed input (inspect is a host tool). */
export function tlv(b: Uint8Array, at: number, limit = b.length): Tlv {
  if (at + 2 > limit) throw new Error("truncated DER");
  const tag = b[at];
  let len = b[at + 1];
  let value = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || value + n > limit) throw new Error("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[value + i];
    value += n;
  }
  if (value + len > limit) throw new Error("DER element runs past its end");
  return { tag, start: at, value, end: value + len };
}

export function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.value; p < t.end; p = out[out.length - 1].end) out.push(tlv(b, p, t.end));
  return out;
}

/** The subject Name element of a certificate (RFC 5280 4.1: tbsCertificate field after validity). */
export function certSubject(cert: Uint8Array): Uint8Array {
  const tbs = children(cert, tlv(cert, 0))[0];
  const fields = children(cert, tbs);
  const i = fields[0].tag === 0xa0 ? 5 : 4; // [0] version is optional
  return cert.slice(fields[i].start, fields[i].end);
}

/** The subjectPublicKeyInfo element of a certificate, its bytes as the certificate has them. */
export function certSpki(cert: Uint8Array): Uint8Array {
  const tbs = children(cert, tlv(cert, 0))[0];
  const fields = children(cert, tbs);
  const i = fields[0].tag === 0xa0 ? 6 : 5;
  return cert.slice(fields[i].start, fields[i].end);
}

/** An InfoTypeAndValue (RFC 9810 5.3.19): its infoType OID contents and infoValue element, if any. */
export function parseItav(itav: Uint8Array): { type: Uint8Array; value?: Uint8Array } {
  const [oid, value] = children(itav, tlv(itav, 0));
  return { type: itav.subarray(oid.value, oid.end), value: value ? itav.subarray(value.start, value.end) : undefined };
}

const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** A DER TLV (X.690 8.1) with the concatenated contents, definite length up to 2^24 - 1. */
export function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const c = cat(...content);
  const n = c.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return cat(Uint8Array.of(tag, ...len), c);
}

/** DER OBJECT IDENTIFIER of a dotted OID (X.690 8.19). */
export function oidDer(dotted: string): Uint8Array {
  if (!/^[0-2]\.\d+(\.\d+)*$/.test(dotted)) throw new Error(`"${dotted}" is not a dotted OID`);
  const arcs = dotted.split(".").map(BigInt);
  const out: number[] = [];
  for (let v of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const b = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) b.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...b);
  }
  return der(0x06, new Uint8Array(out));
}
