// Certification path validation (RFC 5280 6.1), the subset RFC 9483 needs: a depth-first search
// from the target through untrusted pool certificates to a trust anchor, checking on the way
// every signature, validity at `now`, basicConstraints cA, pathLenConstraint and keyCertSign of
// every issuer (of the anchor too when it has basicConstraints, as OpenSSL does; a v1 anchor
// passes), name chaining and unknown critical extensions. No policies, name constraints or revocation. Uses the DER cursor: callers must not
// be mid-parse.
import { inMemory } from "../mem";
import {
  E_ARG, E_CERT_EXPIRED, E_CERT_NAME, E_CERT_NOT_CA, E_CERT_NOT_YET_VALID, E_CERT_PARSE,
  E_CERT_PATH_LEN, E_CERT_POOL, E_CERT_SIGNATURE, E_CERT_UNSUPPORTED, E_CERT_UNTRUSTED, E_LEGACY,
  E_SIG_ENCODING, E_SIG_INVALID,
} from "../errors";
import { oidEquals } from "../der/reader";
import {
  CERT_UNKNOWN_CRITICAL, CERT_VIEW, KU_KEY_CERT_SIGN, certAki, certAkiLen, certDer, certDerLen, certFlags, certHasBasicConstraints, certIsCa,
  certIssuer, certIssuerLen, certKeyUsage, certNotAfter, certNotBefore, certParse, certPathLen,
  certSig, certSigAlg, certSigAlgLen, certSigLen, certSki, certSkiLen, certSpki, certSpkiLen,
  certSubject, certSubjectLen, certTbs, certTbsLen, nameEquals,
} from "./cert";
import { verifySignature } from "./signature";

export const PATH_MAX: i32 = 6;    // certificates in a path, target and anchor included
export const POOL_MAX: i32 = 16;   // untrusted certificates offered
export const ANCHOR_MAX: i32 = 64; // trust anchors offered
export const SIG_BUDGET: i32 = 24; // signature checks per validation (cert_verify_path): bounds the search

const VIEWS = memory.data(CERT_VIEW * PATH_MAX, 8); // view(d): the certificate at depth d

let pool: usize = 0, poolCount = 0, anchors: usize = 0, anchorCount = 0, now: i64 = 0, flags = 0;
let used: u32 = 0; // pool certificates on the current path
// Signature checks left: validatePath spends from it and never refills it, so a caller bounds the
// work of several validations (one CMP response, RFC 9483 3.5) with one setSigBudget.
let budget = 0;
export function setSigBudget(n: i32): void { budget = n; }
// One signature check spent: false when none was left.
export function spendSig(): bool { return --budget >= 0; }
let failure = 0;   // the last reason a candidate issuer was refused
// After validatePath succeeded: the certificates of the path, target first, anchor last.
export let pathLength = 0;
export function pathCert(d: i32): usize { return certDer(view(d)); }
export function pathCertLen(d: i32): i32 { return certDerLen(view(d)); }

@inline function view(d: i32): usize { return VIEWS + <usize>(d * CERT_VIEW); }

// Validity at `now` (6.1.3 (a)(2)) and extensions (6.1.4 (o)).
function checkCert(v: usize): i32 {
  if (now < certNotBefore(v)) return E_CERT_NOT_YET_VALID;
  if (now > certNotAfter(v)) return E_CERT_EXPIRED;
  return (certFlags(v) & CERT_UNKNOWN_CRITICAL) != 0 ? E_CERT_UNSUPPORTED : 0;
}

// An issuer with k non-self-issued intermediates below it in the path (6.1.4 (k) to (n)).
function checkIssuer(c: usize, k: i32, isAnchor: bool): i32 {
  const ku = certKeyUsage(c);
  const ca = certIsCa(c) || (isAnchor && !certHasBasicConstraints(c));
  if (!ca || (ku >= 0 && (ku & KU_KEY_CERT_SIGN) == 0)) return E_CERT_NOT_CA;
  const len = certPathLen(c);
  if (len >= 0 && k > len) return E_CERT_PATH_LEN;
  return checkCert(c);
}

function signatureError(rc: i32): i32 {
  if (rc == 0 || rc == E_LEGACY) return rc;
  return rc == E_SIG_INVALID || rc == E_SIG_ENCODING ? E_CERT_SIGNATURE : E_CERT_UNSUPPORTED;
}

// Finds an issuer of view(d) among the anchors and the pool certificates not yet on the path,
// and recurses until an anchor is reached: 0 when the path is complete. k: non-self-issued
// intermediates among view(1..d).
function extend(d: i32, k: i32): i32 {
  if (d + 1 >= PATH_MAX) return failure = E_CERT_POOL;
  const x = view(d), c = view(d + 1);
  for (let i = 0; i < anchorCount + poolCount; i++) {
    const isAnchor = i < anchorCount;
    const bit: u32 = isAnchor ? 0 : 1 << (i - anchorCount);
    const entry = isAnchor ? anchors + (<usize>i << 3) : pool + (<usize>(i - anchorCount) << 3);
    if ((used & bit) != 0 || certParse(c, load<u32>(entry), load<i32>(entry, 4)) != 0) continue;
    // key identifiers, when both are known, must match (4.2.1.1); then the names (6.1.3 (a)(4))
    const kid = certSkiLen(c) > 0 && certAkiLen(x) > 0;
    if (kid && !oidEquals(certSki(c), certSkiLen(c), certAki(x), certAkiLen(x))) continue;
    if (!nameEquals(certSubject(c), certSubjectLen(c), certIssuer(x), certIssuerLen(x))) {
      if (kid) failure = E_CERT_NAME;
      continue;
    }
    let e = checkIssuer(c, k, isAnchor);
    if (e == 0) {
      e = !spendSig() ? E_CERT_POOL : signatureError(verifySignature(certSigAlg(x), certSigAlgLen(x),
        certSpki(c), certSpkiLen(c), certTbs(x), certTbsLen(x), certSig(x), certSigLen(x), flags));
    }
    if (e == 0) {
      if (isAnchor) { pathLength = d + 2; return 0; }
      const selfIssued = nameEquals(certSubject(c), certSubjectLen(c), certIssuer(c), certIssuerLen(c));
      used |= bit;
      e = extend(d + 1, k + (selfIssued ? 0 : 1));
      used &= ~bit;
      if (e == 0) return 0;
    } else {
      failure = e;
    }
  }
  return E_CERT_UNTRUSTED;
}

// Validates the target certificate [target, target+targetLen) at `now` (seconds since 1970):
// 0, or the reason the last candidate path failed (E_CERT_UNTRUSTED when there was none).
// pool / anchors: tables of (pointer u32, length u32). A target equal to an anchor is trusted
// directly; a self-signed certificate that is no anchor never ends a path. flags bit 0: accept
// SHA-1 signatures. The target's key usage is the caller's to check. Signature checks come out of
// the budget of setSigBudget (E_CERT_POOL when it is spent).
export function validatePath(target: usize, targetLen: i32, poolPtr: usize, poolN: i32,
  anchorPtr: usize, anchorN: i32, time: i64, flagBits: i32): i32 {
  if (<u32>poolN > <u32>POOL_MAX || <u32>anchorN > <u32>ANCHOR_MAX) return E_CERT_POOL;
  if (!inMemory(poolPtr, poolN << 3) || !inMemory(anchorPtr, anchorN << 3)) return E_ARG;
  pool = poolPtr;
  poolCount = poolN;
  anchors = anchorPtr;
  anchorCount = anchorN;
  now = time;
  flags = flagBits;
  used = 0;
  failure = 0;
  const x = view(0);
  if (certParse(x, target, targetLen) != 0) return E_CERT_PARSE;
  const e = checkCert(x);
  if (e != 0) return e;
  for (let i = 0; i < anchorN; i++) {
    const a = load<u32>(anchorPtr + (<usize>i << 3)), n = load<i32>(anchorPtr + (<usize>i << 3), 4);
    if (inMemory(a, n) && oidEquals(a, n, target, targetLen)) { pathLength = 1; return 0; }
  }
  return extend(0, 0) == 0 ? 0 : failure != 0 ? failure : E_CERT_UNTRUSTED;
}
