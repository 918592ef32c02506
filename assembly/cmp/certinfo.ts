// The fields of one certificate the CMP messages copy or check (issuer, serialNumber, subject,
// subjectPublicKeyInfo, signature algorithm, SKI), read with the pkix certificate view.
import {
  CERT_VIEW,
  certIssuer,
  certIssuerLen,
  certParse,
  certSerial,
  certSerialLen,
  certSigAlg,
  certSigAlgLen,
  certSki,
  certSkiLen,
  certSpki,
  certSpkiLen,
  certSubject,
  certSubjectLen,
} from "../pkix/cert";

export const CI = memory.data(CERT_VIEW, 8);
export let ciSerial: usize = 0,
  ciSerialLen: i32 = 0; // INTEGER contents
export let ciIssuer: usize = 0,
  ciIssuerLen: i32 = 0; // Name elements
export let ciSubject: usize = 0,
  ciSubjectLen: i32 = 0;
export let ciSpki: usize = 0,
  ciSpkiLen: i32 = 0; // SubjectPublicKeyInfo element
export let ciSigAlg: usize = 0,
  ciSigAlgLen: i32 = 0; // signatureAlgorithm element
export let ciSki: usize = 0,
  ciSkiLen: i32 = 0; // keyIdentifier octets (length 0 when absent)

// Parses the certificate [p, p+n) into CI (uses the DER reader): 0 or E_CERT_PARSE.
export function certInfo(p: usize, n: i32): i32 {
  const r = certParse(CI, p, n);
  ciSerial = certSerial(CI);
  ciSerialLen = certSerialLen(CI);
  ciIssuer = certIssuer(CI);
  ciIssuerLen = certIssuerLen(CI);
  ciSubject = certSubject(CI);
  ciSubjectLen = certSubjectLen(CI);
  ciSpki = certSpki(CI);
  ciSpkiLen = certSpkiLen(CI);
  ciSigAlg = certSigAlg(CI);
  ciSigAlgLen = certSigAlgLen(CI);
  ciSki = certSki(CI);
  ciSkiLen = certSkiLen(CI);
  return r;
}
