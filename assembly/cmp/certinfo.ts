// The few fields of an X.509 certificate (RFC 5280 4.1) the CMP messages copy: issuer,
// serialNumber, subject, subjectPublicKeyInfo, signature algorithm, subjectKeyIdentifier.
import { derDescend, derEnter, derErr, derInit, derLeave, derLen, derNext, derOptional, derPeek, derPtr, derRead, derStart } from "../der/reader";
import { CONSTRUCTED, CONTEXT, TAG_BOOLEAN, TAG_INTEGER, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE } from "../der/tags";

export let ciSerial: usize = 0, ciSerialLen: i32 = 0;   // INTEGER contents
export let ciIssuer: usize = 0, ciIssuerLen: i32 = 0;   // Name elements
export let ciSubject: usize = 0, ciSubjectLen: i32 = 0;
export let ciSpki: usize = 0, ciSpkiLen: i32 = 0;       // SubjectPublicKeyInfo element
export let ciSigAlg: usize = 0, ciSigAlgLen: i32 = 0;   // signatureAlgorithm OID contents
export let ciSki: usize = 0, ciSkiLen: i32 = 0;         // keyIdentifier octets (0 when absent)

function element(): usize { return derStart; }
function elementLen(): i32 { return <i32>(derPtr + derLen - derStart); }

// Parses the certificate [p, p+n) (uses the DER reader): 0 or a DER error.
export function certInfo(p: usize, n: i32): i32 {
  ciSki = 0; ciSkiLen = 0;
  derInit(p, n);
  derEnter(TAG_SEQUENCE);
  derEnter(TAG_SEQUENCE); // tbsCertificate
  if (derPeek() == (CONTEXT | CONSTRUCTED)) derNext(); // version
  derRead(TAG_INTEGER);
  ciSerial = derPtr; ciSerialLen = derLen;
  derRead(TAG_SEQUENCE); // signature
  derRead(TAG_SEQUENCE);
  ciIssuer = element(); ciIssuerLen = elementLen();
  derRead(TAG_SEQUENCE); // validity
  derRead(TAG_SEQUENCE);
  ciSubject = element(); ciSubjectLen = elementLen();
  derRead(TAG_SEQUENCE);
  ciSpki = element(); ciSpkiLen = elementLen();
  while (!derAtEndOr(CONTEXT | CONSTRUCTED | 3)) derNext(); // issuerUniqueID, subjectUniqueID
  if (derOptional(CONTEXT | CONSTRUCTED | 3)) { // extensions
    derDescend();
    derEnter(TAG_SEQUENCE);
    while (derPeek() == TAG_SEQUENCE) {
      derEnter(TAG_SEQUENCE);
      derRead(TAG_OID);
      const ski = derLen == 3 && load<u8>(derPtr) == 0x55 && load<u8>(derPtr + 1) == 0x1d && load<u8>(derPtr + 2) == 0x0e;
      derOptional(TAG_BOOLEAN);
      derRead(TAG_OCTET_STRING);
      if (ski && derLen > 2 && load<u8>(derPtr) == TAG_OCTET_STRING) { // SubjectKeyIdentifier ::= KeyIdentifier
        ciSki = derPtr + 2; ciSkiLen = derLen - 2;
      }
      derLeave();
    }
    derLeave();
    derLeave();
  }
  derLeave();
  derEnter(TAG_SEQUENCE); // signatureAlgorithm
  derRead(TAG_OID);
  ciSigAlg = derPtr; ciSigAlgLen = derLen;
  while (derPeek() >= 0) derNext();
  derLeave();
  derNext(); // signatureValue
  derLeave();
  return derErr;
}

function derAtEndOr(tag: i32): bool {
  const t = derPeek();
  return t < 0 || t == tag;
}
