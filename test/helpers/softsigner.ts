// A software Signer (Device API) over node:crypto / @noble/curves keys, for tests: the same
// contract a token honours (ECDSA r || s over a digest, RSA PKCS#1 v1.5 / PSS over a SHA-256
// digest, Ed25519 over the message), and lying variants of it.
import { constants, createHash, createPrivateKey, createPublicKey, privateEncrypt, randomBytes, sign, type KeyObject } from "node:crypto";
import { p256, p384 } from "@noble/curves/nist.js";
import type { Signer } from "../../host/node/lib/device";
import { SIGN_ECDSA_P256, SIGN_ECDSA_P384, SIGN_ED25519, SIGN_RSA_PKCS1, SIGN_RSA_PSS } from "../../host/node/lib/core";

const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex"); // RFC 8017 9.2 note 1

function mgf1(seed: Buffer, len: number): Buffer {
  const out: Buffer[] = [];
  for (let c = 0; out.length * 32 < len; c++)
    out.push(
      createHash("sha256")
        .update(seed)
        .update(Buffer.from([c >>> 24, c >>> 16, c >>> 8, c]))
        .digest(),
    );
  return Buffer.concat(out).subarray(0, len);
}

// EMSA-PSS-ENCODE (RFC 8017 9.1.1) of a SHA-256 mHash, salt 32, then the raw RSA private operation.
function pssSign(key: KeyObject, mHash: Uint8Array): Uint8Array {
  const modBits = key.asymmetricKeyDetails!.modulusLength as number;
  const emBits = modBits - 1,
    emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(32);
  const h = createHash("sha256").update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - 32 - 32 - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - 33);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([db, h, Buffer.from([0xbc])]);
  const padded = emLen < modBits / 8 ? Buffer.concat([Buffer.alloc(1), em]) : em;
  return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, padded));
}

export interface SoftSigner extends Signer {
  key: KeyObject;
  calls: { alg: number; input: Uint8Array }[];
}

/** A signer for a PEM private key (P-256, P-384, RSA, Ed25519). */
export function softSigner(pem: string | Buffer): SoftSigner {
  const key = createPrivateKey(pem);
  const spki = new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" }));
  const calls: { alg: number; input: Uint8Array }[] = [];
  return {
    key,
    calls,
    publicKey: () => spki,
    sign: (alg, input) => {
      calls.push({ alg, input: input.slice() });
      switch (alg) {
        case SIGN_ECDSA_P256:
        case SIGN_ECDSA_P384: {
          const d = Buffer.from(key.export({ format: "jwk" }).d as string, "base64url");
          return (alg === SIGN_ECDSA_P256 ? p256 : p384).sign(input, d, { prehash: false });
        }
        case SIGN_RSA_PKCS1:
          return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, input])));
        case SIGN_RSA_PSS:
          return pssSign(key, input);
        case SIGN_ED25519:
          return new Uint8Array(sign(null, input, key));
        default:
          return undefined;
      }
    },
  };
}
