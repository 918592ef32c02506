// PKIMessage protection (RFC 9810 5.1.3): MAC (PasswordBasedMac, PBMAC1) and signatures,
// computed with node:crypto, and the signer's certificate path (RFC 5280 6, simplified).
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import {
  createHash,
  hash,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
  verify as nodeVerify,
  X509Certificate as NodeX509,
  KeyObject,
} from "node:crypto";
import { PBKDF2Params, PBMAC1Params, PBMParameter, PKIFailureInfo, PKIMessage } from "./asn1.js";
import { fail } from "./failure.js";
import * as oids from "./oids.js";
import { algId, children, pbmParameter, readTlv, whole, type AlgId } from "./reader.js";

/** Upper bound on PBM/PBKDF2 iterations the test PKI spends on one request (above the 262,144
 *  that some CAs use for PBMAC1). */
export const MAX_ITERATIONS = 300_000;
const MAX_DKLEN = 4096;

const OWF: Record<string, string> = {
  [oids.id_sha1]: "sha1",
  [oids.id_sha256]: "sha256",
  [oids.id_sha384]: "sha384",
  [oids.id_sha512]: "sha512",
};
const HMAC: Record<string, string> = {
  [oids.id_hmac_sha1]: "sha1",
  [oids.id_hmacWithSHA1]: "sha1",
  [oids.id_hmacWithSHA256]: "sha256",
  [oids.id_hmacWithSHA384]: "sha384",
  [oids.id_hmacWithSHA512]: "sha512",
};
/** RFC 9481 3: signature algorithm -> digest */
const SIG: Record<string, string> = {
  [oids.ecdsa_with_SHA256]: "sha256",
  [oids.ecdsa_with_SHA384]: "sha384",
  [oids.ecdsa_with_SHA512]: "sha512",
  [oids.sha1WithRSAEncryption]: "sha1",
  [oids.sha256WithRSAEncryption]: "sha256",
  [oids.sha384WithRSAEncryption]: "sha384",
  [oids.sha512WithRSAEncryption]: "sha512",
};

export const u8 = (b: ArrayBuffer | Uint8Array): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

/** DER length octets */
function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>>= 8) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One DER TLV: tag, definite length, the parts as content. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const len = parts.reduce((a, p) => a + p.length, 0);
  return Buffer.concat([Uint8Array.of(tag), derLength(len), ...parts]);
}

/** RFC 9810 5.1.3: ProtectedPart ::= SEQUENCE { header, body } over the DER as received or built. */
export function protectedPart(header: Uint8Array, body: Uint8Array): Buffer {
  return tlv(0x30, header, body);
}

export function hashAlgorithmOfSignature(oid: string): string | undefined {
  return SIG[oid];
}

/** RFC 9810 5.1.3.1: PasswordBasedMac key: owf iterated iterationCount times over secret || salt. */
export function pbmKey(p: PBMParameter, secret: Uint8Array): { key: Buffer; hmac: string } {
  return pbmKeyOf({ salt: u8(p.salt), owf: p.owf.algorithm, iterationCount: p.iterationCount, mac: p.mac.algorithm }, secret);
}

function pbmKeyOf(p: { salt: Uint8Array; owf: string; iterationCount: number; mac: string }, secret: Uint8Array): { key: Buffer; hmac: string } {
  const owf = OWF[p.owf];
  const hmac = HMAC[p.mac];
  if (!owf) fail(PKIFailureInfo.badAlg, `PBM owf ${p.owf} not supported`);
  if (!hmac) fail(PKIFailureInfo.badAlg, `PBM mac ${p.mac} not supported`);
  if (p.iterationCount < 1 || p.iterationCount > MAX_ITERATIONS)
    fail(PKIFailureInfo.badAlg, `PBM iterationCount ${p.iterationCount} outside 1..${MAX_ITERATIONS}`);
  let key = createHash(owf).update(secret).update(p.salt).digest();
  if (owf === "sha256") return { key: sha256Iterate(key, p.iterationCount - 1), hmac };
  // one-shot hash: half the CPU of a Hash object per iteration (this loop is the test PKI's hot spot)
  for (let i = 1; i < p.iterationCount; i++) key = (hash as (alg: string, data: Uint8Array, enc: string) => typeof key)(owf, key, "buffer");
  return { key, hmac };
}

// SHA-256 (FIPS 180-4 6.2) of a 32-octet message, n times over: PasswordBasedMac's iteration with
// owf SHA-256. One block with fixed padding, no allocation per round: a third of the CPU of a
// node:crypto call per iteration, whose fixed cost is most of it. test/testpki-der.test.ts holds
// it against node:crypto.
const K256 = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H256 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W256 = new Int32Array(64);

export function sha256Iterate(digest: Buffer, n: number): Buffer {
  if (digest.length !== 32) throw new RangeError("sha256Iterate: a 32-octet digest");
  const h = new Int32Array(8);
  for (let i = 0; i < 8; i++) h[i] = digest.readInt32BE(4 * i);
  const w = W256;
  for (let it = 0; it < n; it++) {
    for (let i = 0; i < 8; i++) w[i] = h[i];
    w[8] = 0x80000000 | 0; // padding: 1 bit, zeros, the length 256 in bits (FIPS 180-4 5.1.1)
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = 256;
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15],
        b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = H256[0],
      b = H256[1],
      c = H256[2],
      d = H256[3],
      e = H256[4],
      f = H256[5],
      g = H256[6],
      hh = H256[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K256[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (H256[0] + a) | 0;
    h[1] = (H256[1] + b) | 0;
    h[2] = (H256[2] + c) | 0;
    h[3] = (H256[3] + d) | 0;
    h[4] = (H256[4] + e) | 0;
    h[5] = (H256[5] + f) | 0;
    h[6] = (H256[6] + g) | 0;
    h[7] = (H256[7] + hh) | 0;
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) out.writeInt32BE(h[i], 4 * i);
  w.fill(0);
  h.fill(0);
  digest.fill(0);
  return out;
}

/** RFC 9481 6.1.1 / RFC 8018 A.5: PBMAC1 with PBKDF2. */
export function pbmac1Key(p: PBMAC1Params, secret: Uint8Array): { key: Buffer; hmac: string } {
  if (p.keyDerivationFunc.algorithm !== oids.id_PBKDF2) fail(PKIFailureInfo.badAlg, "PBMAC1 kdf is not PBKDF2");
  const kdf = AsnConvert.parse(p.keyDerivationFunc.parameters!, PBKDF2Params);
  const prf = HMAC[kdf.prf?.algorithm ?? oids.id_hmacWithSHA1];
  const hmac = HMAC[p.messageAuthScheme.algorithm];
  if (!prf || !hmac) fail(PKIFailureInfo.badAlg, "PBMAC1 prf or MAC not supported");
  if (kdf.iterationCount < 1 || kdf.iterationCount > MAX_ITERATIONS)
    fail(PKIFailureInfo.badAlg, `PBKDF2 iterationCount ${kdf.iterationCount} outside 1..${MAX_ITERATIONS}`);
  const dkLen = kdf.keyLength ?? createHash(hmac).digest().length;
  if (dkLen < 1 || dkLen > MAX_DKLEN) fail(PKIFailureInfo.badAlg, `PBKDF2 keyLength ${dkLen} not supported`);
  return { key: pbkdf2Sync(secret, u8(kdf.salt), kdf.iterationCount, dkLen, prf), hmac };
}

/** The MAC key and HMAC digest named by a MAC protectionAlg. */
export function macKey(alg: AlgorithmIdentifier, secret: Uint8Array): { key: Buffer; hmac: string } {
  if (!alg.parameters) fail(PKIFailureInfo.badAlg, "MAC protectionAlg without parameters");
  if (alg.algorithm === oids.id_PasswordBasedMac) return pbmKey(AsnConvert.parse(alg.parameters, PBMParameter), secret);
  if (alg.algorithm === oids.id_PBMAC1) return pbmac1Key(AsnConvert.parse(alg.parameters, PBMAC1Params), secret);
  return fail(PKIFailureInfo.badAlg, `protectionAlg ${alg.algorithm} not supported`);
}

export function isMacAlgorithm(oid: string): boolean {
  return oid === oids.id_PasswordBasedMac || oid === oids.id_PBMAC1;
}

/** A fresh MAC protectionAlg with the same parameters as `like` but a new salt (RFC 9481 6). */
export function freshMacAlgorithm(like: AlgorithmIdentifier): AlgorithmIdentifier {
  if (like.algorithm === oids.id_PasswordBasedMac) {
    const p = AsnConvert.parse(like.parameters!, PBMParameter);
    p.salt = new Uint8Array(randomBytes(16)).buffer;
    return new AlgorithmIdentifier({ algorithm: like.algorithm, parameters: AsnConvert.serialize(p) });
  }
  const p = AsnConvert.parse(like.parameters!, PBMAC1Params);
  const kdf = AsnConvert.parse(p.keyDerivationFunc.parameters!, PBKDF2Params);
  kdf.salt = new Uint8Array(randomBytes(16)).buffer;
  p.keyDerivationFunc.parameters = AsnConvert.serialize(kdf);
  return new AlgorithmIdentifier({ algorithm: like.algorithm, parameters: AsnConvert.serialize(p) });
}

/** The MAC key of a MAC protectionAlg read by reader.ts (PBMAC1 through the schema classes). */
function macKeyDer(alg: AlgId, secret: Uint8Array): { key: Buffer; hmac: string } {
  if (!alg.parameters) fail(PKIFailureInfo.badAlg, "MAC protectionAlg without parameters");
  if (alg.algorithm === oids.id_PasswordBasedMac) return pbmKeyOf(pbmParameter(alg.parameters!), secret);
  if (alg.algorithm === oids.id_PBMAC1) return pbmac1Key(AsnConvert.parse(alg.parameters!, PBMAC1Params), secret);
  return fail(PKIFailureInfo.badAlg, `protectionAlg ${alg.algorithm} not supported`);
}

/** RFC 9810 5.1.3.1: the MAC of a received message (protectionAlg and protection as read by
 *  reader.ts) over the DER of its header and body as received. */
export function verifyMacDer(alg: AlgId, protection: Uint8Array, headerRaw: Uint8Array, bodyRaw: Uint8Array, secret: Uint8Array): void {
  const { key, hmac } = macKeyDer(alg, secret);
  const expected = createHmac(hmac, key).update(protectedPart(headerRaw, bodyRaw)).digest();
  key.fill(0);
  if (protection.length !== expected.length || !timingSafeEqual(protection, expected)) fail(PKIFailureInfo.badMessageCheck, "wrong MAC value");
}

/** A fresh MAC protectionAlg (its DER) with the parameters of `like` but a new salt (RFC 9481 6),
 *  and the function computing the MAC with it. */
export function freshMacDer(like: AlgId, secret: Uint8Array): { der: Uint8Array; mac: (data: Uint8Array) => Buffer } {
  let der: Uint8Array;
  if (like.algorithm === oids.id_PasswordBasedMac) {
    // PBMParameter: the new salt, then owf, iterationCount and mac as received
    const params = like.parameters!;
    const top = readTlv(params, 0);
    const salt = readTlv(params, top.value);
    const p = tlv(0x30, tlv(0x04, randomBytes(16)), params.subarray(salt.end, top.end));
    der = tlv(0x30, whole(like.der, children(like.der, readTlv(like.der, 0))[0]), p);
  } else {
    der = u8(AsnConvert.serialize(freshMacAlgorithm(AsnConvert.parse(like.der, AlgorithmIdentifier))));
  }
  const alg = algId(der, readTlv(der, 0), "protectionAlg");
  return {
    der,
    mac: (data) => {
      const { key, hmac } = macKeyDer(alg, secret);
      const out = createHmac(hmac, key).update(data).digest();
      key.fill(0);
      return out;
    },
  };
}

export function computeMac(alg: AlgorithmIdentifier, secret: Uint8Array, data: Uint8Array): Buffer {
  const { key, hmac } = macKey(alg, secret);
  const mac = createHmac(hmac, key).update(data).digest();
  key.fill(0);
  return mac;
}

export function verifyMac(msg: PKIMessage, secret: Uint8Array): void {
  const expected = computeMac(msg.header.protectionAlg!, secret, protectedPart(u8(msg.headerRaw!), u8(msg.bodyRaw!)));
  const got = Buffer.from(msg.protection!);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) fail(PKIFailureInfo.badMessageCheck, "wrong MAC value");
}

/** Verify a signature with a signature algorithm OID (RFC 9481 3) and a certificate's key. */
export function verifySignature(oid: string, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const digest = SIG[oid];
  if (!digest) fail(PKIFailureInfo.badAlg, `signature algorithm ${oid} not supported`);
  try {
    return nodeVerify(digest, data, key, signature);
  } catch {
    return false;
  }
}

// Parsed certificates by their DER, and the issuer certificates whose key verified a certificate's
// signature: both depend on the bytes alone, so a certificate seen again (the manufacturer CA in
// every IDevID-signed request, an IDevID in its ir and its certConf) is not parsed and verified
// again. Validity, revocation and everything else about a path is checked every time.
const parsedCerts = new Map<string, NodeX509>();
const verifiedBy = new WeakMap<NodeX509, WeakSet<NodeX509>>();

/** node:crypto's view of a certificate's DER, parsed once for the last 1,024 seen. */
export function parseCert(der: Uint8Array): NodeX509 {
  const key = Buffer.from(der.buffer, der.byteOffset, der.length).toString("base64");
  let cert = parsedCerts.get(key);
  if (!cert) {
    cert = new NodeX509(Buffer.from(der));
    if (parsedCerts.size >= 1024) parsedCerts.delete(parsedCerts.keys().next().value!);
    parsedCerts.set(key, cert);
  }
  return cert;
}

/** `cert` names `issuer` as its issuer (names, key identifiers) and issuer's key verifies it. */
function issuedBy(cert: NodeX509, issuer: NodeX509): boolean {
  if (verifiedBy.get(cert)?.has(issuer)) return true;
  if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return false;
  let set = verifiedBy.get(cert);
  if (!set) verifiedBy.set(cert, (set = new WeakSet()));
  set.add(issuer);
  return true;
}

/**
 * Build and check the path from `leaf` to one of `anchors` through `pool` (RFC 5280 6.1, the
 * parts a test PKI needs: names and key identifiers via checkIssued, signatures, validity, CA flag).
 * Returns the path, leaf first, anchor last.
 */
export function validatePath(leaf: NodeX509, pool: NodeX509[], anchors: NodeX509[], now = new Date()): NodeX509[] {
  const path = [leaf];
  const valid = (c: NodeX509) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  for (let cur = leaf, depth = 0; depth < 6; depth++) {
    if (!valid(cur)) fail(PKIFailureInfo.signerNotTrusted, `certificate ${cur.subject} is not valid now`);
    const anchor = anchors.find((a) => a.fingerprint256 === cur.fingerprint256 || issuedBy(cur, a));
    if (anchor) {
      if (anchor.fingerprint256 !== cur.fingerprint256) path.push(anchor);
      return path;
    }
    const next = pool.find((c) => c.ca && c !== cur && issuedBy(cur, c));
    if (!next) break;
    path.push(next);
    cur = next;
  }
  return fail(PKIFailureInfo.signerNotTrusted, `no path from ${leaf.subject} to a trusted root`);
}
