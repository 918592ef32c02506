// Object identifiers of the PKIX layer, as DER contents octets (X.690 8.19). Families that differ
// only in the last arc are matched with oidArc(p, n, member, len) against any one member.
import { oidEquals } from "../der/reader";

// RFC 5480 2.1.1: id-ecPublicKey 1.2.840.10045.2.1; namedCurve secp256r1 1.2.840.10045.3.1.7,
// secp384r1 1.3.132.0.34, secp521r1 1.3.132.0.35 (last arc 0x22, 0x23)
export const OID_EC_PUBLIC_KEY = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
export const OID_SECP256R1 = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
export const OID_SECP384R1 = memory.data<u8>([0x2b, 0x81, 0x04, 0x00, 0x22]);

// RFC 5758 3.2: ecdsa-with-SHA256/384/512 1.2.840.10045.4.3.2/3/4 (8 octets);
// ecdsa-with-SHA1 1.2.840.10045.4.1 (RFC 3279 2.2.3, 7 octets: the same first 6)
export const OID_ECDSA_SHA256 = memory.data<u8>([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);

// PKCS #1 (RFC 8017 A.1, RFC 4055): 1.2.840.113549.1.1.x, 9 octets; x = 1 rsaEncryption,
// 5 sha1WithRSAEncryption, 8 id-mgf1, 10 id-RSASSA-PSS, 11/12/13 sha256/384/512WithRSAEncryption
export const OID_RSA_ENCRYPTION = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
export const PKCS1_RSA: i32 = 1,
  PKCS1_SHA1_RSA: i32 = 5,
  PKCS1_MGF1: i32 = 8,
  PKCS1_PSS: i32 = 10;

// RFC 8410 3: id-Ed25519 1.3.101.112, id-Ed448 1.3.101.113 (3 octets, last 0x70 / 0x71), for
// both the signature and the key, parameters absent
export const OID_ED25519 = memory.data<u8>([0x2b, 0x65, 0x70]);
// RFC 9881 2: id-ml-dsa-44/65/87 2.16.840.1.101.3.4.3.17/18/19 (9 octets, last 0x11..0x13),
// signature and key, parameters absent
export const OID_ML_DSA_44 = memory.data<u8>([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11]);

// Hashes: id-sha1 1.3.14.3.2.26 (RFC 3279 2.2.1); id-sha256/384/512 2.16.840.1.101.3.4.2.1/2/3
// (RFC 5754 2, 9 octets)
export const OID_SHA1 = memory.data<u8>([0x2b, 0x0e, 0x03, 0x02, 0x1a]);
export const OID_SHA256 = memory.data<u8>([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]);

// RFC 5280 4.2.1: certificate extensions id-ce 2.5.29.x (3 octets, last = x)
export const OID_CE_BASIC_CONSTRAINTS = memory.data<u8>([0x55, 0x1d, 0x13]);
export const CE_SKI: i32 = 14,
  CE_KEY_USAGE: i32 = 15,
  CE_SAN: i32 = 17,
  CE_BASIC_CONSTRAINTS: i32 = 19,
  CE_AKI: i32 = 35,
  CE_EKU: i32 = 37;
// RFC 6402 2.10: id-kp-cmcCA 1.3.6.1.5.5.7.3.27, id-kp-cmcRA 1.3.6.1.5.5.7.3.28 (8 octets, last 0x1b / 0x1c)
export const OID_KP_CMC_CA = memory.data<u8>([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x1b]);
export const OID_KP_CMC_RA = memory.data<u8>([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x1c]);

// [p, p+n) is `member` (len octets) up to its last octet: that last octet of p, else -1.
export function oidArc(p: usize, n: i32, member: usize, len: i32): i32 {
  return n == len && oidEquals(p, n - 1, member, len - 1) ? <i32>load<u8>(p + n - 1) : -1;
}
