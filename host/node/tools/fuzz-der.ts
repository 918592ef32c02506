// Test-side DER tools for the fuzzer and the forgery tests: a tolerant element tree that can be
// edited and written again with consistent lengths, and PKIMessage surgery (transactionID,
// recipNonce, PBM/PBMAC1 protection recomputed with node:crypto). Never used by the core.
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

export interface Node {
  tag: Uint8Array; // identifier octets
  kids?: Node[]; // constructed (or an encapsulating OCTET/BIT STRING)
  val?: Uint8Array; // primitive contents
  prefix?: Uint8Array; // BIT STRING unused-bits octet before encapsulated kids
  len?: Uint8Array; // length octets written as given (a deliberate fault)
}

interface Head {
  tagLen: number;
  hl: number;
  len: number;
}

function head(b: Uint8Array, p: number, end: number): Head | null {
  if (p >= end) return null;
  let q = p + 1;
  if ((b[p] & 0x1f) === 0x1f) {
    while (q < end && b[q] & 0x80) q++;
    q++;
    if (q - p > 5) return null;
  }
  if (q >= end) return null;
  const tagLen = q - p;
  let n = b[q++];
  if (n & 0x80) {
    const k = n & 0x7f;
    if (k === 0 || k > 3 || q + k > end) return null;
    n = 0;
    for (let i = 0; i < k; i++) n = n * 256 + b[q++];
  }
  if (q + n > end) return null;
  return { tagLen, hl: q - p, len: n };
}

/** The element at p (null when it is not well-formed enough). Depth-bounded. */
export function parseAt(b: Uint8Array, p: number, end: number, depth = 0): { node: Node; next: number } | null {
  const h = head(b, p, end);
  if (!h || depth > 64) return null;
  const tag = b.subarray(p, p + h.tagLen);
  const s = p + h.hl,
    e = s + h.len;
  if (b[p] & 0x20) {
    const kids = parseAll(b, s, e, depth + 1);
    if (!kids) return null;
    return { node: { tag, kids }, next: e };
  }
  const val = b.subarray(s, e);
  // OCTET STRING / BIT STRING holding exactly one DER element: open it (extensions, keys)
  if (depth < 64 && h.len >= 2) {
    if (b[p] === 0x04 && (b[s] === 0x30 || b[s] === 0x04 || b[s] === 0x03)) {
      const kids = parseAll(b, s, e, depth + 1);
      if (kids && kids.length === 1) return { node: { tag, kids }, next: e };
    }
    if (b[p] === 0x03 && b[s] === 0x00 && b[s + 1] === 0x30) {
      const kids = parseAll(b, s + 1, e, depth + 1);
      if (kids && kids.length === 1) return { node: { tag, kids, prefix: b.subarray(s, s + 1) }, next: e };
    }
  }
  return { node: { tag, val }, next: e };
}

function parseAll(b: Uint8Array, s: number, e: number, depth: number): Node[] | null {
  const out: Node[] = [];
  for (let p = s; p < e; ) {
    const r = parseAt(b, p, e, depth);
    if (!r) return null;
    out.push(r.node);
    p = r.next;
  }
  return out;
}

export function parse(b: Uint8Array): Node | null {
  const r = parseAt(b, 0, b.length);
  return r && r.next === b.length ? r.node : null;
}

export function lenBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 255);
  return [0x80 | out.length, ...out];
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

export function write(n: Node): Uint8Array {
  const content = n.kids ? concat([...(n.prefix ? [n.prefix] : []), ...n.kids.map(write)]) : n.val!;
  return concat([n.tag, n.len ?? new Uint8Array(lenBytes(content.length)), content]);
}

export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const c = concat(parts);
  return concat([new Uint8Array([tag, ...lenBytes(c.length)]), c]);
}

/** The contents octets of a node (an opened OCTET/BIT STRING written back). */
export function contents(n: Node): Uint8Array {
  return n.kids ? concat([...(n.prefix ? [n.prefix] : []), ...n.kids.map(write)]) : n.val!;
}

/** Every node of the tree, with its parent (for structural mutations). */
export function nodes(root: Node): { node: Node; parent: Node | null; depth: number }[] {
  const out: { node: Node; parent: Node | null; depth: number }[] = [];
  const walk = (n: Node, parent: Node | null, depth: number) => {
    out.push({ node: n, parent, depth });
    for (const k of n.kids ?? []) walk(k, n, depth + 1);
  };
  walk(root, null, 0);
  return out;
}

// ---- PKIMessage surgery ----

const OID = {
  pbm: "2a864886f67d07420d", // 1.2.840.113533.7.66.13 PasswordBasedMac
  pbmac1: "2a864886f70d01050e", // 1.2.840.113549.1.5.14
  pbkdf2: "2a864886f70d01050c",
  hmacSha1: "2b06010505080102", // 1.3.6.1.5.5.8.1.2
  hmacWithSha1: "2a864886f70d0207",
  hmacWithSha224: "2a864886f70d0208",
  hmacWithSha256: "2a864886f70d0209",
  hmacWithSha384: "2a864886f70d020a",
  hmacWithSha512: "2a864886f70d020b",
  sha1: "2b0e03021a",
  sha256: "608648016503040201",
  sha384: "608648016503040202",
  sha512: "608648016503040203",
};
const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString("hex") : "");
const HASH: Record<string, string> = { [OID.sha1]: "sha1", [OID.sha256]: "sha256", [OID.sha384]: "sha384", [OID.sha512]: "sha512" };
const HMAC: Record<string, string> = {
  [OID.hmacSha1]: "sha1",
  [OID.hmacWithSha1]: "sha1",
  [OID.hmacWithSha224]: "sha224",
  [OID.hmacWithSha256]: "sha256",
  [OID.hmacWithSha384]: "sha384",
  [OID.hmacWithSha512]: "sha512",
};
const intOf = (v: Uint8Array | undefined) => {
  let n = 0;
  for (const x of v ?? []) n = n * 256 + x;
  return n;
};

/** The header field [n] of a parsed PKIMessage, or undefined. */
export function headerField(msg: Node, n: number): Node | undefined {
  return msg.kids?.[0]?.kids?.slice(3).find((f) => f.tag.length === 1 && f.tag[0] === (0xa0 | n));
}

// index of the optional field [n] among the header's fields (after pvno, sender, recipient), or where it goes
function fieldIndex(hdr: Node, n: number): { at: number; present: boolean } {
  const k = hdr.kids!;
  for (let i = 3; i < k.length; i++) {
    const t = k[i].tag[0];
    if (t === (0xa0 | n)) return { at: i, present: true };
    if ((t & 0xe0) === 0xa0 && (t & 0x1f) > n) return { at: i, present: false };
  }
  return { at: Math.max(k.length, 3), present: false };
}

/** Contents of an OCTET STRING inside header field [n] (transactionID 4, senderNonce 5, recipNonce 6). */
export function headerOctets(der: Uint8Array, n: number): Uint8Array | undefined {
  const m = parse(der);
  const v = m && headerField(m, n)?.kids?.[0];
  return v ? contents(v) : undefined;
}

/** Sets header field [n] to an OCTET STRING (inserted in tag order when absent). */
export function setHeaderOctets(msg: Node, n: number, value: Uint8Array): void {
  const hdr = msg.kids![0];
  const field: Node = { tag: new Uint8Array([0xa0 | n]), kids: [{ tag: new Uint8Array([0x04]), val: value }] };
  const f = fieldIndex(hdr, n);
  hdr.kids!.splice(f.at, f.present ? 1 : 0, field);
}

/** MAC key and HMAC hash for a protectionAlg AlgorithmIdentifier, or null when not a (supported) MAC. */
function macKey(alg: Node, secret: Uint8Array, maxIterations: number): { key: Buffer; hmac: string } | null {
  const [oid, params] = alg.kids ?? [];
  if (!oid?.val || !params?.kids) return null;
  if (hex(oid.val) === OID.pbm) {
    const [salt, owf, iter, mac] = params.kids;
    const h = HASH[hex(owf?.kids?.[0]?.val)],
      m = HMAC[hex(mac?.kids?.[0]?.val)];
    const it = intOf(iter?.val);
    if (!salt?.val || !h || !m || it < 1 || it > maxIterations) return null;
    let key = createHash(h)
      .update(Buffer.concat([secret, salt.val]))
      .digest();
    for (let i = 1; i < it; i++) key = createHash(h).update(key).digest();
    return { key, hmac: m };
  }
  if (hex(oid.val) === OID.pbmac1) {
    const [kdf, scheme] = params.kids;
    const kp = kdf?.kids?.[1]?.kids;
    const m = HMAC[hex(scheme?.kids?.[0]?.val)];
    if (!kp || !m || hex(kdf.kids![0].val) !== OID.pbkdf2) return null;
    const salt = kp[0]?.val,
      it = intOf(kp[1]?.val);
    const hasLen = kp[2]?.tag[0] === 0x02;
    const keyLen = hasLen ? intOf(kp[2].val) : 32;
    const prf = HMAC[hex(kp[hasLen ? 3 : 2]?.kids?.[0]?.val)] ?? "sha1";
    if (!salt || it < 1 || it > maxIterations || keyLen < 1 || keyLen > 256) return null;
    return { key: pbkdf2Sync(secret, salt, it, keyLen, prf), hmac: m };
  }
  return null;
}

/** Recomputes the MAC of a parsed PKIMessage in place; false when its protectionAlg is not a usable MAC. */
export function remacNode(msg: Node, secret: Uint8Array, maxIterations = 10_000): boolean {
  if (!msg.kids || msg.kids.length < 2 || !msg.kids[0].kids) return false;
  const alg = headerField(msg, 1)?.kids?.[0];
  if (!alg) return false;
  const k = macKey(alg, secret, maxIterations);
  if (!k) return false;
  const pp = tlv(0x30, write(msg.kids[0]), write(msg.kids[1]));
  const mac = createHmac(k.hmac, k.key).update(pp).digest();
  const prot: Node = { tag: new Uint8Array([0xa0]), kids: [{ tag: new Uint8Array([0x03]), val: concat([new Uint8Array([0]), mac]) }] };
  if (msg.kids[2]?.tag[0] === 0xa0) msg.kids[2] = prot;
  else msg.kids.splice(2, 0, prot);
  return true;
}

/** A PasswordBasedMac AlgorithmIdentifier (owf SHA-256, HMAC-SHA256) for re-protecting signed messages. */
export function pbmAlg(salt: Uint8Array, iterations: number): Node {
  const der = tlv(
    0x30,
    tlv(0x06, Buffer.from(OID.pbm, "hex")),
    tlv(
      0x30,
      tlv(0x04, salt),
      tlv(0x30, tlv(0x06, Buffer.from(OID.sha256, "hex"))),
      tlv(0x02, new Uint8Array(iterations < 128 ? [iterations] : [iterations >> 8, iterations & 255])),
      tlv(0x30, tlv(0x06, Buffer.from(OID.hmacWithSha256, "hex"))),
    ),
  );
  return parse(der)!;
}

/** Replaces the protectionAlg of a parsed PKIMessage (a signature turned into a MAC). */
export function setProtectionAlg(msg: Node, alg: Node): void {
  const hdr = msg.kids![0];
  const field: Node = { tag: new Uint8Array([0xa1]), kids: [alg] };
  const f = fieldIndex(hdr, 1);
  hdr.kids!.splice(f.at, f.present ? 1 : 0, field);
}

export function isMacProtected(msg: Node): boolean {
  const oid = headerField(msg, 1)?.kids?.[0]?.kids?.[0]?.val;
  return hex(oid) === OID.pbm || hex(oid) === OID.pbmac1;
}

/** transactionID and senderNonce of a request (DER), for answers that must match it. */
export function requestIds(req: Uint8Array): { tid: Uint8Array; nonce: Uint8Array } | null {
  const tid = headerOctets(req, 4),
    nonce = headerOctets(req, 5);
  return tid && nonce ? { tid: tid.slice(), nonce: nonce.slice() } : null;
}

/** A response made to answer `req`: its transactionID and recipNonce set to the request's, MAC recomputed
 *  with `secret` when MAC-protected (or when `toMac`, re-protected under PBM). Null when it does not parse. */
export function answerTo(rsp: Uint8Array, ids: { tid: Uint8Array; nonce: Uint8Array }, secret: Uint8Array, toMac = false): Uint8Array | null {
  const m = parse(rsp);
  if (!m?.kids || m.kids.length < 2 || !m.kids[0].kids) return null;
  setHeaderOctets(m, 4, ids.tid);
  setHeaderOctets(m, 6, ids.nonce);
  if (toMac && !isMacProtected(m)) setProtectionAlg(m, pbmAlg(new Uint8Array(16).fill(0x5a), 2));
  if (isMacProtected(m)) remacNode(m, secret);
  return write(m);
}
