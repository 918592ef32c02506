// OID contents octets (X.690 8.19) used by the CMP messages, with their lengths; those the
// pkix layer has too are its own.
export { OID_EC_PUBLIC_KEY, OID_ECDSA_SHA256, OID_SECP256R1 as OID_P256, OID_SHA1 } from "../pkix/oids";

export const OID_PBM = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf6, 0x7d, 0x07, 0x42, 0x0d]); // 1.2.840.113533.7.66.13
export const OID_PBMAC1 = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0e]); // 1.2.840.113549.1.5.14
export const OID_PBKDF2 = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c]); // 1.2.840.113549.1.5.12
export const OID_SHA2 = memory.data<u8>([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]); // 2.16.840.1.101.3.4.2.(1 + hash - 2)
export const OID_HMAC_SHA1 = memory.data<u8>([0x2b, 0x06, 0x01, 0x05, 0x05, 0x08, 0x01, 0x02]); // 1.3.6.1.5.5.8.1.2 (RFC 9481 6.2.1)
export const OID_HMAC_WITH = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07]); // 1.2.840.113549.2.(7 + hash - 1)
export const OID_SAN = memory.data<u8>([0x55, 0x1d, 0x11]); // 2.5.29.17
export const OID_REASON_CODE = memory.data<u8>([0x55, 0x1d, 0x15]); // 2.5.29.21
export const OID_IT = memory.data<u8>([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, 0x0d]); // 1.3.6.1.5.5.7.4.x (13 implicitConfirm)
export const IT_IMPLICIT_CONFIRM: u8 = 13,
  IT_CERT_PROFILE: u8 = 21,
  IT_CRL_STATUS_LIST: u8 = 22;
export const OID_OLD_CERT_ID = memory.data<u8>([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x05, 0x01, 0x05]); // 1.3.6.1.5.5.7.5.1.5
export const OID_EXT_REQ = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e]); // 1.2.840.113549.1.9.14
// Signature algorithms naming no SHA-2 in their OID: id-Ed25519 1.3.101.112, id-Ed448 1.3.101.113
// (RFC 8410 3); id-ml-dsa-44/65/87 2.16.840.1.101.3.4.3.17/18/19 (RFC 9881 2)
export const OID_ED25519 = memory.data<u8>([0x2b, 0x65, 0x70]);
export const OID_ML_DSA_44 = memory.data<u8>([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11]);

// The OID [p, p+n) is base (baseLen octets) with its last octet replaced by last.
export function oidIs(p: usize, n: i32, base: usize, baseLen: i32, last: i32): bool {
  if (n != baseLen) return false;
  for (let i = 0; i < n - 1; i++) if (load<u8>(p + i) != load<u8>(base + i)) return false;
  return <i32>load<u8>(p + n - 1) == last;
}
