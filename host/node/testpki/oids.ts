// Object identifiers used by the test PKI, named as in the RFCs that define them.

// RFC 9810 (RFC 4210) Appendix F and RFC 9481: protection algorithms.
export const id_PasswordBasedMac = "1.2.840.113533.7.66.13"; // RFC 4210 5.1.3.1
export const id_PBMAC1 = "1.2.840.113549.1.5.14"; // RFC 8018 A.5, RFC 9481 6.1.1
export const id_PBKDF2 = "1.2.840.113549.1.5.12"; // RFC 8018 A.2

// One-way functions (RFC 9481 2) and MACs (RFC 9481 6).
export const id_sha1 = "1.3.14.3.2.26";
export const id_sha256 = "2.16.840.1.101.3.4.2.1";
export const id_sha384 = "2.16.840.1.101.3.4.2.2";
export const id_sha512 = "2.16.840.1.101.3.4.2.3";
export const id_hmacWithSHA1 = "1.2.840.113549.2.7"; // RFC 8018
export const id_hmacWithSHA256 = "1.2.840.113549.2.9";
export const id_hmacWithSHA384 = "1.2.840.113549.2.10";
export const id_hmacWithSHA512 = "1.2.840.113549.2.11";
export const id_hmac_sha1 = "1.3.6.1.5.5.8.1.2"; // RFC 2104 / IANA, used by PBM

// Signatures (RFC 9481 3).
export const ecdsa_with_SHA256 = "1.2.840.10045.4.3.2";
export const ecdsa_with_SHA384 = "1.2.840.10045.4.3.3";
export const ecdsa_with_SHA512 = "1.2.840.10045.4.3.4";
export const sha1WithRSAEncryption = "1.2.840.113549.1.1.5";
export const sha256WithRSAEncryption = "1.2.840.113549.1.1.11";
export const sha384WithRSAEncryption = "1.2.840.113549.1.1.12";
export const sha512WithRSAEncryption = "1.2.840.113549.1.1.13";

// id-it: InfoTypeAndValue types (RFC 9810 5.3.19, RFC 9483 4.3).
const id_it = "1.3.6.1.5.5.7.4";
export const id_it_signKeyPairTypes = `${id_it}.3`;
export const id_it_implicitConfirm = `${id_it}.13`;
export const id_it_confirmWaitTime = `${id_it}.14`;
export const id_it_caCerts = `${id_it}.17`;
export const id_it_rootCaKeyUpdate = `${id_it}.18`;
export const id_it_certReqTemplate = `${id_it}.19`;
export const id_it_rootCaCert = `${id_it}.20`;
export const id_it_certProfile = `${id_it}.21`;
export const id_it_crlStatusList = `${id_it}.22`;
export const id_it_crls = `${id_it}.23`;

// RFC 4211 6: registration controls.
export const id_regCtrl_oldCertID = "1.3.6.1.5.5.7.5.1.5";

// RFC 5280 / RFC 6402: extended key usage for CMP RAs (RFC 9483 3.1).
export const id_kp_cmcRA = "1.3.6.1.5.5.7.3.28";
export const id_kp_cmKGA = "1.3.6.1.5.5.7.3.32";
