// X.509 v3 certificate view (RFC 5280 4.1): certParse reads a whole Certificate in one pass into
// a caller-owned record of ranges into its DER (no copies) and small integers; everything after
// that works from the record. Uses the DER cursor: callers must not be mid-parse.
import {
  derAtEnd, derDescend, derEnter, derFail, derFinish, derInit, derLeave, derLen,
  derOptional, derPtr, derRead, derReadBitStringOctets, derReadTime, derReadUint, derReadValue,
  derStart, derTime, derUint, oidEquals,
} from "../der/reader";
import {
  CONSTRUCTED, CONTEXT, TAG_BIT_STRING, TAG_BOOLEAN, TAG_INTEGER, TAG_OCTET_STRING, TAG_OID,
  TAG_SEQUENCE,
} from "../der/tags";
import { E_CERT_PARSE, E_DER_VALUE } from "../errors";
import {
  CE_AKI, CE_BASIC_CONSTRAINTS, CE_EKU, CE_KEY_USAGE, CE_SAN, CE_SKI,
  OID_CE_BASIC_CONSTRAINTS, oidArc,
} from "./oids";

// Record layout: (pointer u32, length i32) pairs at 8 * CERT_*, then times and small integers.
export const CERT_TBS = 0, CERT_SERIAL = 1, CERT_ISSUER = 2, CERT_SUBJECT = 3, CERT_SPKI = 4,
  CERT_SKI = 5, CERT_AKI = 6, CERT_SIG_ALG = 7, CERT_SIG = 8, CERT_EKU = 9, CERT_RANGES = 10;
const NOT_BEFORE = 80, NOT_AFTER = 88, IS_CA = 96, PATH_LEN = 100, KEY_USAGE = 104, FLAGS = 108,
  DER = 112;
export const CERT_VIEW: i32 = 120;

// keyUsage bits as certKeyUsage returns them (RFC 5280 4.2.1.3 bit numbers)
export const KU_DIGITAL_SIGNATURE: i32 = 1 << 0, KU_KEY_CERT_SIGN: i32 = 1 << 5;

// FLAGS bits
export const CERT_UNKNOWN_CRITICAL: i32 = 1; // a critical extension this code does not process

// Extensions understood (RFC 5280 4.2: "MUST recognize"), by last arc of id-ce 2.5.29.x; a
// critical subjectAltName is accepted (no name constraints are processed, so nothing depends on it).
const KNOWN_EXTENSIONS: u64 = (<u64>1 << CE_SKI) | (<u64>1 << CE_KEY_USAGE) | (<u64>1 << CE_SAN)
  | (<u64>1 << CE_BASIC_CONSTRAINTS) | (<u64>1 << CE_AKI) | (<u64>1 << CE_EKU);

@inline function range(v: usize, f: i32): usize { return load<u32>(v + (<usize>f << 3)); }
@inline function rangeLen(v: usize, f: i32): i32 { return load<i32>(v + (<usize>f << 3), 4); }

// Records the element just read (value octets) as field f.
function keep(v: usize, f: i32): void {
  store<u32>(v + (<usize>f << 3), derPtr);
  store<i32>(v + (<usize>f << 3), derLen, 4);
}

// Records the whole element just read (tag and length octets included) as field f.
function keepWhole(v: usize, f: i32): void {
  store<u32>(v + (<usize>f << 3), derStart);
  store<i32>(v + (<usize>f << 3), <i32>(derPtr + derLen - derStart), 4);
}

// Parses the Certificate [der, der+len) into the view v (CERT_VIEW bytes): 0 or E_CERT_PARSE.
// Extensions read: basicConstraints, keyUsage, extKeyUsage, subjectKeyIdentifier,
// authorityKeyIdentifier (keyIdentifier); any other critical one sets CERT_UNKNOWN_CRITICAL.
export function certParse(v: usize, der: usize, len: i32): i32 {
  for (let i = 0; i < CERT_VIEW; i += 4) store<i32>(v + i, 0);
  store<i32>(v, -1, IS_CA);
  store<i32>(v, -1, PATH_LEN);
  store<i32>(v, -1, KEY_USAGE);
  store<u32>(v, der, DER);
  store<i32>(v, len, DER + 4);
  derInit(der, len);
  derEnter(TAG_SEQUENCE); // Certificate
  derEnter(TAG_SEQUENCE); // tbsCertificate
  keepWhole(v, CERT_TBS);
  let version: i64 = 0; // [0] EXPLICIT Version DEFAULT v1
  if (derOptional(CONTEXT | CONSTRUCTED | 0) && derDescend()) {
    version = derReadUint(2);
    derLeave();
  }
  derReadValue(TAG_INTEGER); // serialNumber
  keep(v, CERT_SERIAL);
  derRead(TAG_SEQUENCE); // signature: must equal signatureAlgorithm (4.1.1.2)
  const alg = derStart;
  const algLen = <i32>(derPtr + derLen - derStart);
  derRead(TAG_SEQUENCE);
  keepWhole(v, CERT_ISSUER);
  derEnter(TAG_SEQUENCE); // validity
  derReadTime();
  store<i64>(v, derTime, NOT_BEFORE);
  derReadTime();
  store<i64>(v, derTime, NOT_AFTER);
  derLeave();
  derRead(TAG_SEQUENCE);
  keepWhole(v, CERT_SUBJECT);
  derRead(TAG_SEQUENCE);
  keepWhole(v, CERT_SPKI);
  derOptional(CONTEXT | 1, TAG_BIT_STRING); // issuerUniqueID
  derOptional(CONTEXT | 2, TAG_BIT_STRING); // subjectUniqueID
  if (derOptional(CONTEXT | CONSTRUCTED | 3) && derDescend()) { // extensions, v3 only (4.1.2.9)
    if (version != 2) derFail(E_DER_VALUE);
    derEnter(TAG_SEQUENCE);
    let seen: u64 = 0;
    do {
      derEnter(TAG_SEQUENCE); // Extension
      derReadValue(TAG_OID);
      const ce = oidArc(derPtr, derLen, OID_CE_BASIC_CONSTRAINTS, 3);
      // critical BOOLEAN DEFAULT FALSE
      const critical = derOptional(TAG_BOOLEAN) && load<u8>(derPtr) != 0;
      derRead(TAG_OCTET_STRING);
      if (ce >= 0 && ce < 64 && ((KNOWN_EXTENSIONS >> ce) & 1) != 0) {
        if ((seen >> ce) & 1) derFail(E_DER_VALUE); // at most once (4.2)
        seen |= <u64>1 << ce;
        derDescend();
        parseExtension(v, ce);
        derLeave();
      } else if (critical) {
        store<i32>(v, load<i32>(v, FLAGS) | CERT_UNKNOWN_CRITICAL, FLAGS);
      }
      derLeave();
    } while (!derAtEnd()); // SIZE (1..MAX)
    derLeave();
    derLeave();
  }
  derLeave();
  derRead(TAG_SEQUENCE); // signatureAlgorithm
  keepWhole(v, CERT_SIG_ALG);
  if (!oidEquals(range(v, CERT_SIG_ALG), rangeLen(v, CERT_SIG_ALG), alg, algLen)) derFail(E_DER_VALUE);
  derReadBitStringOctets(); // signatureValue
  keep(v, CERT_SIG);
  derLeave();
  return derFinish() == 0 ? 0 : E_CERT_PARSE;
}

// The value of the extension with id-ce arc ce, at the cursor (inside extnValue).
function parseExtension(v: usize, ce: i32): void {
  if (ce == CE_BASIC_CONSTRAINTS) {
    // 4.2.1.9: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
    derEnter(TAG_SEQUENCE);
    store<i32>(v, derOptional(TAG_BOOLEAN) ? load<u8>(derPtr) & 1 : 0, IS_CA);
    if (derOptional(TAG_INTEGER)) store<i32>(v, <i32>derUint(0x7fffffff), PATH_LEN);
    derLeave();
  } else if (ce == CE_KEY_USAGE) {
    // 4.2.1.3: BIT STRING, bit 0 (digitalSignature) is the first (most significant) bit
    derReadValue(TAG_BIT_STRING);
    let ku = 0;
    for (let i = 0; i < 9 && (i >> 3) < derLen - 1; i++) {
      ku |= ((load<u8>(derPtr + 1 + (i >> 3)) >> (7 - (i & 7))) & 1) << i;
    }
    store<i32>(v, ku, KEY_USAGE);
  } else if (ce == CE_EKU) {
    // 4.2.1.12: SEQUENCE SIZE (1..MAX) OF KeyPurposeId; certHasEku walks it (short OIDs only)
    derEnter(TAG_SEQUENCE);
    keep(v, CERT_EKU);
    do {
      derReadValue(TAG_OID);
      if (derLen > 127) derFail(E_DER_VALUE);
    } while (!derAtEnd());
    derLeave();
  } else if (ce == CE_SKI) {
    derRead(TAG_OCTET_STRING); // 4.2.1.2: KeyIdentifier
    keep(v, CERT_SKI);
  } else if (ce == CE_AKI) {
    // 4.2.1.1: SEQUENCE { keyIdentifier [0], authorityCertIssuer [1], authorityCertSerialNumber [2] }
    derEnter(TAG_SEQUENCE);
    if (derOptional(CONTEXT | 0)) keep(v, CERT_AKI);
    derOptional(CONTEXT | CONSTRUCTED | 1);
    derOptional(CONTEXT | 2, TAG_INTEGER);
    derLeave();
  } else {
    derRead(TAG_SEQUENCE); // subjectAltName: GeneralNames, not interpreted
  }
}

// RFC 5280 7.1 name matching, done as binary equality of the two Name encodings (4.1.2.4 has
// CAs copy the issuer's subject octets; no case folding or whitespace rules are applied).
export function nameEquals(a: usize, aLen: i32, b: usize, bLen: i32): bool {
  return oidEquals(a, aLen, b, bLen);
}

// ---- accessors (ranges into the certificate's DER; length 0 when absent) ----
@inline export function certDer(v: usize): usize { return load<u32>(v, DER); }
@inline export function certDerLen(v: usize): i32 { return load<i32>(v, DER + 4); }
@inline export function certTbs(v: usize): usize { return range(v, CERT_TBS); }
@inline export function certTbsLen(v: usize): i32 { return rangeLen(v, CERT_TBS); }
@inline export function certSigAlg(v: usize): usize { return range(v, CERT_SIG_ALG); }
@inline export function certSigAlgLen(v: usize): i32 { return rangeLen(v, CERT_SIG_ALG); }
@inline export function certSig(v: usize): usize { return range(v, CERT_SIG); }
@inline export function certSigLen(v: usize): i32 { return rangeLen(v, CERT_SIG); }
@inline export function certSerial(v: usize): usize { return range(v, CERT_SERIAL); }
@inline export function certSerialLen(v: usize): i32 { return rangeLen(v, CERT_SERIAL); }
@inline export function certIssuer(v: usize): usize { return range(v, CERT_ISSUER); }
@inline export function certIssuerLen(v: usize): i32 { return rangeLen(v, CERT_ISSUER); }
@inline export function certSubject(v: usize): usize { return range(v, CERT_SUBJECT); }
@inline export function certSubjectLen(v: usize): i32 { return rangeLen(v, CERT_SUBJECT); }
@inline export function certSpki(v: usize): usize { return range(v, CERT_SPKI); }
@inline export function certSpkiLen(v: usize): i32 { return rangeLen(v, CERT_SPKI); }
@inline export function certSki(v: usize): usize { return range(v, CERT_SKI); }
@inline export function certSkiLen(v: usize): i32 { return rangeLen(v, CERT_SKI); }
@inline export function certAki(v: usize): usize { return range(v, CERT_AKI); }
@inline export function certAkiLen(v: usize): i32 { return rangeLen(v, CERT_AKI); }
@inline export function certNotBefore(v: usize): i64 { return load<i64>(v, NOT_BEFORE); }
@inline export function certNotAfter(v: usize): i64 { return load<i64>(v, NOT_AFTER); }
@inline export function certIsCa(v: usize): bool { return load<i32>(v, IS_CA) > 0; }
// basicConstraints present (cA true or false)
@inline export function certHasBasicConstraints(v: usize): bool { return load<i32>(v, IS_CA) >= 0; }
// pathLenConstraint, -1 when absent
@inline export function certPathLen(v: usize): i32 { return load<i32>(v, PATH_LEN); }
// keyUsage bits (digitalSignature 1 << 0 ... keyCertSign 1 << 5 ... decipherOnly 1 << 8), -1 absent
@inline export function certKeyUsage(v: usize): i32 { return load<i32>(v, KEY_USAGE); }
@inline export function certFlags(v: usize): i32 { return load<i32>(v, FLAGS); }
@inline export function certEkuPresent(v: usize): bool { return rangeLen(v, CERT_EKU) != 0; }

// extKeyUsage is present and lists the OID [oid, oid+oidLen) itself (4.2.1.12): anyExtendedKeyUsage
// does not stand for a purpose asked for here (id-kp-cmcRA / id-kp-cmcCA, RFC 6402 2.10).
// Walks the KeyPurposeIds checked by certParse without the DER cursor.
export function certHasEku(v: usize, oid: usize, oidLen: i32): bool {
  let p = range(v, CERT_EKU);
  const end = p + rangeLen(v, CERT_EKU);
  while (p + 2 <= end) {
    const n = <i32>load<u8>(p + 1);
    if (p + 2 + n > end) break;
    if (oidEquals(p + 2, n, oid, oidLen)) return true;
    p += 2 + n;
  }
  return false;
}
