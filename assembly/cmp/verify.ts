// The trust model of responses (docs/SECURITY.md), in one place. A signature-protected response
// (RFC 9483 3.5, RFC 9810 5.1.3.3) is believed only when its signer extraCerts[0] is well formed,
// senderKID names its key, its signature over the ProtectedPart verifies, it may sign (keyUsage
// digitalSignature), its path validates to TRUSTED (pool: the other extraCerts and UNTRUSTED,
// never the response's caPubs) and it is authorized (authorized below). A certificate the
// response returns is installed only when it validates to a trust anchor (validateNew). The
// signature checks of one response are bounded by RESPONSE_SIG_MAX.
import { E_ALG, E_CERT_POOL, E_CMP_SENDER_KID, E_CMP_SIGNER, E_CERT_KEY_USAGE } from "../errors";
import { host_time } from "../host";
import { oidEquals } from "../der/reader";
import {
  CERT_VIEW,
  certHasEku,
  certIsCa,
  certKeyUsage,
  certParse,
  certSig,
  certSigAlg,
  certSigAlgLen,
  certSigLen,
  certSki,
  certSkiLen,
  certSpki,
  certSpkiLen,
  certTbs,
  certTbsLen,
  KU_DIGITAL_SIGNATURE,
} from "../pkix/cert";
import { OID_KP_CMC_CA, OID_KP_CMC_RA } from "../pkix/oids";
import { verifySignature, SIG_LEGACY } from "../pkix/signature";
import { setSigBudget, spendSig, validatePath } from "../pkix/path";
import { item, itemLen, ITEM_TRUSTED, ITEM_UNTRUSTED, option, OPT_IGNORE_KEYUSAGE, OPT_LEGACY } from "./config";
import { say, sayAlgOid, sayInt } from "./detail";
import {
  T_BAD_SIGNATURE,
  T_NO_SIGNER,
  T_SIG_ALG_UNSUPPORTED,
  T_SIG_KEY,
  T_SENDER_KID,
  T_SIGNER_KEY_USAGE,
  T_SIGNER_MALFORMED,
  T_SIGNER_NOT_AUTHORIZED,
  T_SIGNER_UNTRUSTED,
} from "./text";
import { resFind, resLen } from "./results";
import { LEAN } from "../features";

// Signature checks for one response, all validations included: the signer's signature, its path,
// the authorization check and the returned certificate's path. A signed ip of an RA under an
// issuing CA under the anchor needs 5 (the message, RA to CA to anchor, certificate to CA to
// anchor); the rest is room for a wrong candidate issuer or two.
export const RESPONSE_SIG_MAX: i32 = 12;

const MAX_CERTS: i32 = 24;
const POOL = memory.data(MAX_CERTS * 8, 4);
const ANCHORS = memory.data(MAX_CERTS * 8, 4);
const SIGNER = memory.data(CERT_VIEW, 8);
const ISSUED = memory.data(CERT_VIEW, 8);
let poolN = 0,
  anchorN = 0;

function add(table: usize, n: i32, p: usize, len: i32): i32 {
  if (n >= MAX_CERTS || p == 0) return n;
  store<u32>(table + ((<usize>n) << 3), p);
  store<i32>(table + ((<usize>n) << 3), len, 4);
  return n + 1;
}

// A new response: its signature checks start from RESPONSE_SIG_MAX.
export function trustBegin(): void {
  setSigBudget(RESPONSE_SIG_MAX);
}

// The certificate sets of a validation. Pool (untrusted candidates): extraCerts from index
// `first`, UNTRUSTED, and the result records of kind `caPubKind` (caPubs) unless they are the
// anchors. Anchors: TRUSTED, or, when caPubsAnchors, those caPubs alone (RFC 9483 4.1.1: a
// MAC-protected response's caPubs with the option to accept them).
export function setCertSets(extra: usize, extraN: i32, first: i32, caPubKind: i32, caPubsAnchors: bool): void {
  poolN = 0;
  anchorN = 0;
  for (let i = first; i < extraN; i++) poolN = add(POOL, poolN, load<u32>(extra + ((<usize>i) << 3)), load<i32>(extra + ((<usize>i) << 3), 4));
  for (let i = 0; item(ITEM_UNTRUSTED, i) != 0; i++) poolN = add(POOL, poolN, item(ITEM_UNTRUSTED, i), itemLen);
  for (let i = 0; caPubKind > 0 && resFind(caPubKind, i) != 0; i++) {
    if (caPubsAnchors) anchorN = add(ANCHORS, anchorN, resFind(caPubKind, i), resLen);
    else poolN = add(POOL, poolN, resFind(caPubKind, i), resLen);
  }
  for (let i = 0; !caPubsAnchors && item(ITEM_TRUSTED, i) != 0; i++) anchorN = add(ANCHORS, anchorN, item(ITEM_TRUSTED, i), itemLen);
}

function flags(): i32 {
  return !LEAN && option(OPT_LEGACY) ? SIG_LEGACY : 0;
}

// One signature check out of the response's budget.
function checkSignature(alg: usize, algLen: i32, spki: usize, spkiLen: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32): i32 {
  if (!spendSig()) return E_CERT_POOL;
  return verifySignature(alg, algLen, spki, spkiLen, data, dataLen, sig, sigLen, flags());
}

// Who may speak for the CA (RFC 9483 3.5, RFC 6402 2.10), the signer having validated to TRUSTED:
// - an RA or CA by extendedKeyUsage: id-kp-cmcRA or id-kp-cmcCA listed (anyExtendedKeyUsage is
//   neither);
// - a response returning a certificate: else only the CA that issued it, i.e. a CA certificate
//   (basicConstraints cA) whose key verifies that certificate's signature. Names prove nothing:
//   any certificate may name any issuer;
// - a response without a certificate (genp, rp, pkiConf, error, pollRep, a rejection): else any
//   CA certificate (cA) of the trusted hierarchy, as when a CA signs with its own key.
// An end-entity certificate without those purposes (another device's) never is.
function authorized(issued: usize, issuedLen: i32): bool {
  if (certHasEku(SIGNER, OID_KP_CMC_RA, 8) || certHasEku(SIGNER, OID_KP_CMC_CA, 8)) return true;
  if (!certIsCa(SIGNER)) return false;
  if (issued == 0) return true;
  if (certParse(ISSUED, issued, issuedLen) != 0) return false;
  return (
    checkSignature(
      certSigAlg(ISSUED),
      certSigAlgLen(ISSUED),
      certSpki(SIGNER),
      certSpkiLen(SIGNER),
      certTbs(ISSUED),
      certTbsLen(ISSUED),
      certSig(ISSUED),
      certSigLen(ISSUED),
    ) == 0
  );
}

// Checks the signer extraCerts[0] and the signature; issued: the certificate the response
// returns, else 0. The sets must be those of setCertSets(extra, extraN, 1, 0, false).
// 0 or an error (detail written).
export function verifySigned(
  extra: usize,
  extraN: i32,
  alg: usize,
  algLen: i32,
  data: usize,
  dataLen: i32,
  sig: usize,
  sigLen: i32,
  kid: usize,
  kidLen: i32,
  issued: usize,
  issuedLen: i32,
): i32 {
  if (extraN == 0) {
    say(T_NO_SIGNER);
    return E_CMP_SIGNER;
  }
  const s = load<u32>(extra),
    sLen = load<i32>(extra, 4);
  if (certParse(SIGNER, s, sLen) != 0) {
    say(T_SIGNER_MALFORMED);
    return E_CMP_SIGNER;
  }
  if (kidLen >= 0 && certSkiLen(SIGNER) > 0 && !oidEquals(kid, kidLen, certSki(SIGNER), certSkiLen(SIGNER))) {
    say(T_SENDER_KID);
    return E_CMP_SENDER_KID;
  }
  // keyUsage digitalSignature (RFC 5280 4.2.1.3), unless the option relaxes this one check
  const ku = certKeyUsage(SIGNER);
  if (ku >= 0 && (ku & KU_DIGITAL_SIGNATURE) == 0 && (LEAN || !option(OPT_IGNORE_KEYUSAGE))) {
    say(T_SIGNER_KEY_USAGE);
    return E_CERT_KEY_USAGE;
  }
  let r = checkSignature(alg, algLen, certSpki(SIGNER), certSpkiLen(SIGNER), data, dataLen, sig, sigLen);
  if (r == E_ALG) {
    // say which: the OIDs of the signature algorithm and of the signer's key
    say(T_SIG_ALG_UNSUPPORTED);
    sayAlgOid(alg, algLen);
    say(T_SIG_KEY);
    sayAlgOid(certSpki(SIGNER), certSpkiLen(SIGNER));
    return r;
  }
  if (r < 0) {
    say(T_BAD_SIGNATURE);
    sayInt(r);
    return r;
  }
  r = validatePath(s, sLen, POOL, poolN, ANCHORS, anchorN, host_time(), flags());
  if (r < 0) {
    say(T_SIGNER_UNTRUSTED);
    sayInt(r);
    return r;
  }
  if (!authorized(issued, issuedLen)) {
    say(T_SIGNER_NOT_AUTHORIZED);
    return E_CMP_SIGNER;
  }
  return 0;
}

// RFC 5280 6.1 validation of a returned certificate against the sets of setCertSets, at the
// current time: 0 or an error (pkix codes).
export function validateNew(p: usize, n: i32): i32 {
  return validatePath(p, n, POOL, poolN, ANCHORS, anchorN, host_time(), flags());
}
