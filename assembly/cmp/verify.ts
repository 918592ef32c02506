// Signature-protected responses (RFC 9483 3.5, RFC 9810 5.1.3.3): the signer is extraCerts[0],
// its signature over the ProtectedPart verifies, its path validates to TRUSTED (pool: the other
// extraCerts and UNTRUSTED), it may sign (keyUsage digitalSignature), it is the issuing CA or an
// RA (id-kp-cmcRA) unless allowed otherwise, and senderKID names its key when both are present.
// Also the chain of an issued certificate (result 7).
import { E_ALG, E_CMP_SENDER_KID, E_CMP_SIGNER, E_CERT_KEY_USAGE } from "../errors";
import { host_time } from "../host";
import { oidEquals } from "../der/reader";
import {
  CERT_VIEW, certHasEku, certKeyUsage, certParse, certSki, certSkiLen, certSpki, certSpkiLen, certSubject,
  certSubjectLen, KU_DIGITAL_SIGNATURE, nameEquals,
} from "../pkix/cert";
import { OID_KP_CMC_RA } from "../pkix/oids";
import { verifySignature, SIG_LEGACY } from "../pkix/signature";
import { validatePath } from "../pkix/path";
import { item, itemLen, ITEM_TRUSTED, ITEM_UNTRUSTED, option, OPT_ANY_SIGNER, OPT_LEGACY } from "./config";
import { say, sayAlgOid, sayInt } from "./detail";
import {
  T_BAD_SIGNATURE, T_NO_SIGNER, T_SIG_ALG_UNSUPPORTED, T_SIG_KEY, T_SENDER_KID, T_SIGNER_KEY_USAGE, T_SIGNER_MALFORMED, T_SIGNER_NOT_AUTHORIZED, T_SIGNER_UNTRUSTED,
} from "./text";
import { resFind, resLen } from "./results";
import { LEAN } from "../features";

const MAX_CERTS: i32 = 24;
const POOL = memory.data(MAX_CERTS * 8, 4);
const ANCHORS = memory.data(MAX_CERTS * 8, 4);
const SIGNER = memory.data(CERT_VIEW, 8);
let poolN = 0, anchorN = 0;

function add(table: usize, n: i32, p: usize, len: i32): i32 {
  if (n >= MAX_CERTS || p == 0) return n;
  store<u32>(table + (<usize>n << 3), p);
  store<i32>(table + (<usize>n << 3), len, 4);
  return n + 1;
}

// Pool: a table of (ptr, len) extra certificates; anchors: TRUSTED, plus records of kind
// `anchorKind` from the result store when given (caPubs accepted as trust anchors).
export function setCertSets(extra: usize, extraN: i32, first: i32, anchorKind: i32): void {
  poolN = 0; anchorN = 0;
  for (let i = first; i < extraN; i++) poolN = add(POOL, poolN, load<u32>(extra + (<usize>i << 3)), load<i32>(extra + (<usize>i << 3), 4));
  for (let i = 0; item(ITEM_UNTRUSTED, i) != 0; i++) poolN = add(POOL, poolN, item(ITEM_UNTRUSTED, i), itemLen);
  for (let i = 0; item(ITEM_TRUSTED, i) != 0; i++) anchorN = add(ANCHORS, anchorN, item(ITEM_TRUSTED, i), itemLen);
  if (anchorKind > 0) {
    for (let i = 0; resFind(anchorKind, i) != 0; i++) anchorN = add(ANCHORS, anchorN, resFind(anchorKind, i), resLen);
  }
}

function flags(): i32 { return !LEAN && option(OPT_LEGACY) ? SIG_LEGACY : 0; }

// Checks the signer extraCerts[0] and the signature. issuer: Name of the issuing CA when known
// (the issued or the old certificate's issuer), else 0. 0 or an error (detail written).
export function verifySigned(extra: usize, extraN: i32, alg: usize, algLen: i32, data: usize, dataLen: i32,
  sig: usize, sigLen: i32, kid: usize, kidLen: i32, issuer: usize, issuerLen: i32): i32 {
  if (extraN == 0) { say(T_NO_SIGNER); return E_CMP_SIGNER; }
  const s = load<u32>(extra), sLen = load<i32>(extra, 4);
  if (certParse(SIGNER, s, sLen) != 0) { say(T_SIGNER_MALFORMED); return E_CMP_SIGNER; }
  if (kidLen >= 0 && certSkiLen(SIGNER) > 0 && !oidEquals(kid, kidLen, certSki(SIGNER), certSkiLen(SIGNER))) {
    say(T_SENDER_KID);
    return E_CMP_SENDER_KID;
  }
  let r = verifySignature(alg, algLen, certSpki(SIGNER), certSpkiLen(SIGNER), data, dataLen, sig, sigLen, flags());
  if (r == E_ALG) { // say which: the OIDs of the signature algorithm and of the signer's key
    say(T_SIG_ALG_UNSUPPORTED); sayAlgOid(alg, algLen);
    say(T_SIG_KEY); sayAlgOid(certSpki(SIGNER), certSpkiLen(SIGNER));
    return r;
  }
  if (r < 0) { say(T_BAD_SIGNATURE); sayInt(r); return r; }
  const ku = certKeyUsage(SIGNER);
  if (ku >= 0 && (ku & KU_DIGITAL_SIGNATURE) == 0) { say(T_SIGNER_KEY_USAGE); return E_CERT_KEY_USAGE; }
  r = validatePath(s, sLen, POOL, poolN, ANCHORS, anchorN, host_time(), flags());
  if (r < 0) { say(T_SIGNER_UNTRUSTED); sayInt(r); return r; }
  const isCa = issuer != 0 && nameEquals(certSubject(SIGNER), certSubjectLen(SIGNER), issuer, issuerLen);
  if (!isCa && !certHasEku(SIGNER, OID_KP_CMC_RA, 8) && !option(OPT_ANY_SIGNER)) {
    say(T_SIGNER_NOT_AUTHORIZED);
    return E_CMP_SIGNER;
  }
  return 0;
}

// Validates a certificate against the sets of setCertSets: 0 or an error (pkix codes).
export function validate(p: usize, n: i32): i32 {
  return validatePath(p, n, POOL, poolN, ANCHORS, anchorN, host_time(), flags());
}

