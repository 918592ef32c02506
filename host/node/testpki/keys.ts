// Key pairs for the test PKI: WebCrypto keys (what @peculiar/x509 signs with) plus the same key
// as a node:crypto KeyObject (what CMP protection is signed with), and the PEM forms.
// ML-DSA (FIPS 204; RFC 9881 in X.509) has neither in Node 20: its keys come from
// @noble/post-quantum, loaded only when an ML-DSA key is made, and ca.ts re-signs what
// @peculiar/x509 made (see mlDsa below).
import { KeyObject, randomBytes, sign as nodeSign, webcrypto } from "node:crypto";
import * as oids from "./oids.js";

export type KeyType = "P-256" | "P-384" | "RSA-2048" | "Ed25519" | "ML-DSA-44" | "ML-DSA-65" | "ML-DSA-87";

/** RFC 8410 3 / RFC 9881 2: id-Ed25519, id-ml-dsa-44/65/87 (signature and key; parameters absent) */
export const PURE_OIDS: Record<string, string> = {
  Ed25519: "1.3.101.112",
  "ML-DSA-44": "2.16.840.1.101.3.4.3.17",
  "ML-DSA-65": "2.16.840.1.101.3.4.3.18",
  "ML-DSA-87": "2.16.840.1.101.3.4.3.19",
};
/** An ML-DSA key: the raw keys, the SubjectPublicKeyInfo (RFC 9881 4), its signing function. */
export interface MlDsaKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  spki: ArrayBuffer;
  sign: (data: Uint8Array) => Uint8Array;
}

export interface KeyPair {
  type: KeyType;
  keys: CryptoKeyPair;
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyPem: string; // PKCS#8
  /** ML-DSA only: the real key. `keys`, `privateKey`, `publicKey` and `keyPem` are then those of a
   * P-256 stand-in that only lets @peculiar/x509 build a certificate, which ca.ts re-signs. */
  mlDsa?: MlDsaKey;
}

/** The WebCrypto algorithm used to generate a key and to sign certificates with it. */
export function signingAlgorithm(type: KeyType): RsaHashedKeyGenParams | (EcKeyGenParams & EcdsaParams) {
  switch (type) {
    case "P-256":
      return { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    case "P-384":
      return { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
    case "RSA-2048":
      return { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
    case "Ed25519":
      return { name: "Ed25519" } as EcKeyGenParams & EcdsaParams;
    default: // ML-DSA: the stand-in
      return { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  }
}

/** RFC 9481 3: the signature algorithm OID and the node:crypto digest name for a key type. */
export function protectionAlgorithm(type: KeyType): { oid: string; digest: string } {
  switch (type) {
    case "P-256":
      return { oid: oids.ecdsa_with_SHA256, digest: "sha256" };
    case "P-384":
      return { oid: oids.ecdsa_with_SHA384, digest: "sha384" };
    case "RSA-2048":
      return { oid: oids.sha256WithRSAEncryption, digest: "sha256" };
    default: // RFC 9481 3.3 (EdDSA), RFC 9881: no separate digest
      return { oid: PURE_OIDS[type], digest: "" };
  }
}

/** Signature with a key pair under protectionAlgorithm(key.type) (CMP protection, certificates). */
export function signData(key: KeyPair, data: Uint8Array): Buffer {
  if (key.mlDsa) return Buffer.from(key.mlDsa.sign(data));
  const { digest } = protectionAlgorithm(key.type);
  return nodeSign(digest || null, data, key.privateKey);
}

/** RFC 9881 4: SubjectPublicKeyInfo { { id-ml-dsa-N }, BIT STRING pk } (lengths above 255: long form). */
function mlDsaSpki(oid: string, pk: Uint8Array): ArrayBuffer {
  const arcs = oid.split(".").map(Number);
  const oidBody = [40 * arcs[0] + arcs[1]];
  for (const a of arcs.slice(2)) {
    const b = [a & 0x7f];
    for (let v = a >> 7; v > 0; v >>= 7) b.unshift(0x80 | (v & 0x7f));
    oidBody.push(...b);
  }
  const len = (n: number) => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
  const algId = [0x30, ...len(oidBody.length + 2), 0x06, oidBody.length, ...oidBody];
  const bits = [0x03, ...len(pk.length + 1), 0, ...pk];
  return new Uint8Array([0x30, ...len(algId.length + bits.length), ...algId, ...bits]).buffer;
}

export async function generateKeyPair(type: KeyType = "P-256"): Promise<KeyPair> {
  const keys = (await webcrypto.subtle.generateKey(signingAlgorithm(type), true, ["sign", "verify"])) as CryptoKeyPair;
  const privateKey = KeyObject.from(keys.privateKey as webcrypto.CryptoKey);
  const publicKey = KeyObject.from(keys.publicKey as webcrypto.CryptoKey);
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  let mlDsa: MlDsaKey | undefined;
  if (type.startsWith("ML-DSA")) {
    const m = await import("@noble/post-quantum/ml-dsa.js");
    const dsa = type === "ML-DSA-44" ? m.ml_dsa44 : type === "ML-DSA-65" ? m.ml_dsa65 : m.ml_dsa87;
    const k = dsa.keygen(randomBytes(32));
    mlDsa = { secretKey: k.secretKey, publicKey: k.publicKey, spki: mlDsaSpki(PURE_OIDS[type], k.publicKey), sign: (data) => dsa.sign(data, k.secretKey) };
  }
  return { type, keys, privateKey, publicKey, keyPem, mlDsa };
}
