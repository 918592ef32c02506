// Signatures made by the host (env.sign, full module only): a key held by a token, TPM or secure
// element signs for the core, which never sees it. The core picks the algorithm from the key's
// SubjectPublicKeyInfo, hands the host the digest (ECDSA, RSA) or the message (Ed25519), and
// verifies what comes back with its own verifiers before using it, so a failing or lying signer
// ends in E_SIGNER / E_SIGNER_INVALID, never in a request with a bad signature. docs/ABI.md.
import { E_ALG, E_SIGNER, E_SIGNER_INVALID } from "../errors";
import { host_sign } from "../host";
import { hashOnce, HASH_SHA256, HASH_SHA384 } from "../crypto/hash";
import { ecdsaSigEncode } from "../crypto/ecdsa";
import { verifySignature } from "../pkix/signature";
import { derEnter, derErr, derInit, derLen, derPtr, derRead, oidEquals } from "../der/reader";
import { TAG_OID, TAG_SEQUENCE } from "../der/tags";
import { OID_EC_PUBLIC_KEY, OID_ED25519, OID_RSA_ENCRYPTION, OID_SECP256R1, OID_SECP384R1 } from "../pkix/oids";
import { option, OPT_RSA_PSS } from "./config";

// Algorithms of env.sign (docs/ABI.md "Host signer").
export const SIGN_ECDSA_P256: i32 = 1,
  SIGN_ECDSA_P384: i32 = 2,
  SIGN_RSA_PKCS1: i32 = 3,
  SIGN_RSA_PSS: i32 = 4,
  SIGN_ED25519: i32 = 5;

const SIG_CAP: i32 = 512; // RSA-4096
// Buffers in functions: only a module that signs through the host carries them.
export function signed(): usize {
  return memory.data(SIG_CAP + 8, 8);
} // the signature as it goes into the message
function raw(): usize {
  return memory.data(SIG_CAP, 8);
} // what the host wrote
function digest(): usize {
  return memory.data(48, 8);
}

// AlgorithmIdentifiers of the signatures (RFC 5758 3.2, RFC 4055 5 and 3.1 with SHA-256, MGF1
// with SHA-256 and a 32-octet salt as RFC 9481 3.2 profiles it, RFC 8410 3): length byte first.
function algIds(): usize {
  return memory.data<u8>([
    12, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 12, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03, 15,
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00, 67, 0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
    0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa2, 0x03, 0x02, 0x01, 0x20, 7, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
  ]);
}

// AlgorithmIdentifier of a signing algorithm: signAlgIdLen bytes at the returned address.
export let signAlgIdLen: i32 = 0;
export function signAlgId(alg: i32): usize {
  let p = algIds();
  for (let i = 1; i < alg; i++) p += 1 + <usize>load<u8>(p);
  signAlgIdLen = <i32>load<u8>(p);
  return p + 1;
}

// The signing algorithm for a SubjectPublicKeyInfo (RFC 5480 2.1.1, RFC 3279 2.3.1, RFC 8410 4):
// P-256 / P-384 ECDSA, RSA with PKCS#1 v1.5 (or PSS with option OPT_RSA_PSS), Ed25519; or E_ALG.
export function signAlgFor(spki: usize, spkiLen: i32): i32 {
  derInit(spki, spkiLen);
  derEnter(TAG_SEQUENCE);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_OID);
  if (derErr != 0) return E_ALG;
  if (oidEquals(derPtr, derLen, OID_ED25519, 3)) return SIGN_ED25519;
  if (oidEquals(derPtr, derLen, OID_RSA_ENCRYPTION, 9)) return option(OPT_RSA_PSS) ? SIGN_RSA_PSS : SIGN_RSA_PKCS1;
  if (!oidEquals(derPtr, derLen, OID_EC_PUBLIC_KEY, 7) || !derRead(TAG_OID)) return E_ALG;
  if (oidEquals(derPtr, derLen, OID_SECP256R1, 8)) return SIGN_ECDSA_P256;
  if (oidEquals(derPtr, derLen, OID_SECP384R1, 5)) return SIGN_ECDSA_P384;
  return E_ALG;
}

// Has the host sign [data, data+len) with the key behind handle, whose public key is spki,
// under alg (signAlgFor); the signature, checked against spki, lands in signed(). Its length, or
// E_SIGNER (the host reported a failure) / E_SIGNER_INVALID (what it returned does not verify).
export function hostSign(handle: i32, alg: i32, spki: usize, spkiLen: i32, data: usize, len: i32): i32 {
  const RAW = raw(),
    SIGNED = signed();
  let input = data,
    inLen = len;
  if (alg != SIGN_ED25519) {
    input = digest();
    inLen = hashOnce(alg == SIGN_ECDSA_P384 ? HASH_SHA384 : HASH_SHA256, data, len, input);
  }
  const n = host_sign(handle, alg, input, inLen, RAW, SIG_CAP);
  if (n < 0) return E_SIGNER;
  if (n == 0 || n > SIG_CAP) return E_SIGNER_INVALID;
  let sigLen = n;
  if (alg == SIGN_ECDSA_P256 || alg == SIGN_ECDSA_P384) {
    // r || s of the curve's size each (IEEE P1363, what PKCS#11 and TPMs give): DER ECDSA-Sig-Value
    const size = alg == SIGN_ECDSA_P256 ? 32 : 48;
    if (n != 2 * size) return E_SIGNER_INVALID;
    sigLen = ecdsaSigEncode(RAW, RAW + size, size, SIGNED);
  } else {
    for (let i = 0; i < n; i++) store<u8>(SIGNED + i, load<u8>(RAW + i));
  }
  const id = signAlgId(alg);
  return verifySignature(id, signAlgIdLen, spki, spkiLen, data, len, SIGNED, sigLen, 0) == 0 ? sigLen : E_SIGNER_INVALID;
}
