// Key pairs for the test PKI: WebCrypto keys (what @peculiar/x509 signs with) plus the same key
// as a node:crypto KeyObject (what CMP protection is signed with), and the PEM forms.
import { KeyObject, webcrypto } from "node:crypto";
import * as oids from "./oids.js";

export type KeyType = "P-256" | "P-384" | "RSA-2048";

export interface KeyPair {
  type: KeyType;
  keys: CryptoKeyPair;
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyPem: string; // PKCS#8
}

/** The WebCrypto algorithm used to generate a key and to sign certificates with it. */
export function signingAlgorithm(type: KeyType): RsaHashedKeyGenParams | EcKeyGenParams & EcdsaParams {
  switch (type) {
    case "P-256":
      return { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    case "P-384":
      return { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
    case "RSA-2048":
      return { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
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
  }
}

export async function generateKeyPair(type: KeyType = "P-256"): Promise<KeyPair> {
  const keys = (await webcrypto.subtle.generateKey(signingAlgorithm(type), true, ["sign", "verify"])) as CryptoKeyPair;
  const privateKey = KeyObject.from(keys.privateKey as webcrypto.CryptoKey);
  const publicKey = KeyObject.from(keys.publicKey as webcrypto.CryptoKey);
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  return { type, keys, privateKey, publicKey, keyPem };
}
