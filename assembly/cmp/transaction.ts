// The transaction state machine behind the tx_* exports (docs/ABI.md): tx_start builds and
// protects the first request; every response goes through txInput, where all checks are made in
// one place (RFC 9483 3.5 and 4), and the next action is decided.
import {
  E_ARG, E_CMP_BODY, E_CMP_CERT_REQ_ID, E_CMP_CONFIG, E_CMP_ERROR_MSG, E_CMP_NO_CERT, E_CMP_PARSE,
  E_CMP_POLLS, E_CMP_PROTECTION, E_CMP_PVNO, E_CMP_RECIP_NONCE, E_CMP_REJECTED, E_CMP_STATE, E_CMP_STATUS,
  E_ALG, E_ITERATIONS, E_CMP_TOO_LARGE, E_CMP_STORE, E_CMP_SIGNER, E_CMP_TRANSACTION_ID, E_CMP_UNPROTECTED, E_CMP_WRONG_KEY, E_DER_BUFFER, E_DER_TRUNCATED, E_RANDOM,
} from "../errors";
import { host_random } from "../host";
import { inMemory } from "../mem";
import { wipe } from "../crypto/ct";
import { HASH_SHA1, HASH_SHA256, HASH_SHA512, HASH_SHAKE256, hashOnce } from "../crypto/hash";
import { p256Keygen, p256Public } from "../crypto/p256";
import {
  derDescend, derEnter, derErr, derInit, derLeave, derLen, derNext, derOptional, derPeek, derPtr, derRead,
  derReadUint, derStart, derUint, derFinish,
} from "../der/reader";
import { derMark, derPutBitString, derPutBytes, derWrap, derWriterFinish, derWriterInit, derWriterPtr, derWriterRewind } from "../der/writer";
import { CONSTRUCTED, CONTEXT, TAG_BIT_STRING, TAG_INTEGER, TAG_NULL, TAG_OID, TAG_SEQUENCE } from "../der/tags";
import {
  CONFIG, CONFIG_SIZE, configReset, getInt, INT_MAX_ITERATIONS, INT_MAX_POLLS, item, itemLen, ITEM_CERT, ITEM_CSR, ITEM_EXTRA,
  ITEM_KEY, ITEM_LAST, ITEM_NEWPUBKEY, ITEM_OLDCERT, INT_POPO, POPO_SIGNATURE, OPT_CAPUBS_TRUSTED, intValid, setInt, ITEM_NEWKEY, ITEM_SECRET, itemRepeatable, option, OPT_ACCEPT_UNPROTECTED, OPT_IMPLICIT_CONFIRM, OPT_UNPROTECTED_REQUESTS,
} from "./config";
import { certInfo, ciIssuer, ciIssuerLen, ciSigAlg, ciSigAlgLen, ciSki, ciSkiLen, ciSpki, ciSpkiLen, ciSubject, ciSubjectLen } from "./certinfo";
import { detailClear, detailLen, say, sayInt, sayName, sayOid } from "./detail";
import {
  T_BAD_MAC, T_BODY_NAMES, T_CERT_HASH_ALG, T_UNMATCHED_ERROR, T_MAC_ITERATIONS, T_MAC_ITERATIONS_LIMIT, T_MAC_ITERATIONS_MIN, T_MAC_SHORT_KEY, T_MAC_SALT, T_MAC_SALT_BOUNDS, T_MAC_ALG, T_TOO_LARGE, T_TOO_LARGE_LIMIT, T_TOO_MANY_EXTRA, T_BUILD_FAILED, T_CERT_MALFORMED, T_CERT_REJECTED_KEY, T_CERT_UNTRUSTED, T_COLON_ERROR, T_ERROR_CODE, T_ERROR_DETAILS, T_ERROR_MESSAGE, T_IN_ANSWER, T_KEY_WITHOUT_CERT, T_MAC_FOR_SIGNED, T_MALFORMED, T_NEW_KEY_FAILED, T_NONCE_MISMATCH, T_NOT_PKIMESSAGE, T_NO_CERT, T_NO_CREDENTIALS, T_NO_ENTROPY, T_NO_ROOM, T_OLDCERT_MALFORMED, T_PVNO, T_PVNO_END, T_REJECTED, T_RESPONSE, T_RP_REJECTED, T_SENDER_NONCE_BAD, T_TID_MISMATCH, T_TOO_MANY_POLLS, T_UNEXPECTED, T_UNPROTECTED, T_WAITING_WITH_CERT, T_WRONG_KEY,
} from "./text";
import { putHeader, setHeaderPvno, setSigner } from "./header";
import { putCertConf, putCertReqMessages, putErrorMsg, putGenm, putP10cr, putPollReq, putRr } from "./body";
import { OID_EC_PUBLIC_KEY, OID_ECDSA_SHA256, OID_ED25519, OID_ML_DSA_44, OID_P256, oidIs } from "./oids";
import { signatureHash } from "../pkix/signature";
import { LEAN } from "../features";
import { pathCert, pathCertLen, pathLength } from "../pkix/path";
import { setCertSets, trustBegin, validateNew, verifySigned } from "./verify";
import { computeProtection, isMacAlg, macIterations, macMinIterations, macSaltLen, macShortKey, macUnknownOid, macUnknownOidLen, PROT, verifyMac } from "./protection";
import { putOid, swapLast, wrapExplicit } from "./put";
import { recAdd } from "./records";
import { ioBase, ioGrow, ioLimit } from "../io";
// the host signer (env.sign, full module)
import { protValue, setProtSigner } from "./protection";
import { signAlgFor } from "./signer";
import { INT_KEY_HANDLE, INT_NEWKEY_HANDLE } from "./config";
import { E_SIGNER, E_SIGNER_INVALID } from "../errors";
import { T_SIGNER_FAILED, T_SIGNER_INVALID, T_SIGNER_KEY } from "./text";
import { keepFloor, keepRebase, keepResults, keepTop, NEW_KEY, overlapsKept, resAdd, resClear, resCount, resFind, resLen, resRetag, resTruncate } from "./results";
import {
  parseMessage, protectedPart, rspBody, rspBodyLen, rspBodyType, rspExtraCount, RSP_EXTRA,
  rspImplicitConfirm, rspProt, rspProtAlg, rspProtAlgLen, rspProtLen, rspPvno, rspRecipNonce, rspRecipNonceLen,
  rspSenderKid, rspSenderKidLen, rspSenderNonce, rspSenderNonceLen, rspTid, rspTidLen,
} from "./response";
import {
  BODY_CERT_CONF, BODY_CP, BODY_CR, BODY_ERROR, BODY_GENM, BODY_GENP, BODY_IP, BODY_IR, BODY_KUP, BODY_KUR,
  BODY_P10CR, BODY_PKICONF, BODY_POLL_REP, BODY_POLL_REQ, BODY_RP, BODY_RR, OP_CR, OP_GENM, OP_IR, OP_KUR,
  OP_P10CR, OP_RR, OUT, OUT_SIZE, outLen, outPtr, PROT_MAC, PROT_NONE, PROT_SIG, protKind, RECIP_NONCE, REQ_SPKI,
  reqSpki, reqSpkiLen, SENDER_NONCE, setNewKey, setOp, setOut, setProtKind, setRecipNonceLen, setReqSpki, TID, op, recipNonceLen,
} from "./state";
import {
  clearStatus, clearStrings, failInfo, FAIL_BAD_CERT_TEMPLATE, FAIL_INCORRECT_DATA, readFreeText, readStatusInfo, sayStatus, sayStrings, status,
  STATUS_GRANTED_WITH_MODS, STATUS_REJECTION, STATUS_WAITING, stringCount, STRINGS,
} from "./status";

export const ACTION_SEND: i32 = 1, ACTION_WAIT: i32 = 2, ACTION_DONE: i32 = 3, ACTION_FAILED: i32 = 4;

export const RESULT_CERT: i32 = 1, RESULT_EXTRA_CERT: i32 = 2, RESULT_CA_PUB: i32 = 3, RESULT_NEW_KEY: i32 = 4,
  RESULT_STATUS_STRING: i32 = 5, RESULT_GENP_ITAV: i32 = 6, RESULT_CHAIN: i32 = 7;

const CA_PUB_PENDING: i32 = 103; // caPubs of a response until its protection says whether to keep them


// States: what the transaction waits for.
const S_IDLE = 0, S_CERT_REP = 1, S_POLL_REP = 2, S_PKICONF = 3, S_RP = 4, S_GENP = 5, S_WAIT = 6, S_DONE = 7, S_FAILED = 8;
let state = S_IDLE;
export let error: i32 = 0;
export let waitSeconds: i32 = 0;
let polls = 0;
let pendingError = 0;        // the certificate was rejected by us: FAILED with this after pkiConf
let pendingFailBit = 0;      // PKIFailureInfo bit of that rejection in certConf (RFC 9483 4.1.1)
const CERT_HASH = memory.data(64, 4);
let certHashLen = 0;
let certHashId = 0;                    // hashAlg of certConf, 0 when the signature algorithm names the hash
const PUB = memory.data(65, 4);
let macProtected = false;              // protection of the last response

export function txReset(): void {
  configReset();
  resClear();
  wipe(OUT, OUT_SIZE);
  wipe(TID, 16); wipe(SENDER_NONCE, 16); wipe(RECIP_NONCE, 64);
  setRecipNonceLen(0);
  setOut(OUT, 0);
  setNewKey(0);
  setReqSpki(0, 0);
  detailClear();
  clearTransaction();
}

// What one transaction leaves behind besides configuration and results: tx_start and tx_resume
// begin from none of it (status, failInfo, error, decoded fields, MAC flag, refusal).
function clearTransaction(): void {
  clearStatus();
  state = S_IDLE; error = 0; waitSeconds = 0; polls = 0; pendingError = 0; pendingFailBit = 0; certHashLen = 0;
  certHashId = 0; certPtr = 0; certLen = 0; checkAfter = 0; errorCode = -1; macProtected = false; refusal = 0; parsed = false;
}

// A transaction is under way (between tx_start and DONE/FAILED).
function busy(): bool {
  return state >= S_CERT_REP && state <= S_WAIT;
}

export function txSet(kind: i32, p: usize, n: i32): i32 {
  if (busy()) return E_CMP_STATE;
  if (kind < 1 || kind > ITEM_LAST || !inMemory(p, n)) return E_ARG;
  if (!itemRepeatable(kind) && item(kind) != 0) return E_CMP_CONFIG;
  return recAdd(CONFIG, CONFIG_SIZE, kind, p, n) != 0 ? 0 : E_CMP_STORE;
}

function fail(code: i32): i32 {
  error = code;
  state = S_FAILED;
  setOut(OUT, 0);
  return ACTION_FAILED;
}

// Builds the PKIMessage with this body into OUT: header, body, protection, extraCerts.
function build(bodyType: i32): i32 {
  derWriterInit(OUT, OUT_SIZE);
  const end = derMark();
  let r = 0;
  if (bodyType == BODY_IR || bodyType == BODY_CR || bodyType == BODY_KUR) r = putCertReqMessages(bodyType);
  else if (!LEAN && bodyType == BODY_P10CR) r = putP10cr();
  else if (!LEAN && bodyType == BODY_RR) r = putRr();
  else if (!LEAN && bodyType == BODY_GENM) r = putGenm();
  else if (bodyType == BODY_CERT_CONF) r = putCertConf(CERT_HASH, certHashLen, pendingError != 0, pendingFailBit, certHashId);
  else if (bodyType == BODY_ERROR) r = putErrorMsg(refusal);
  else if (!LEAN) r = putPollReq();
  // hashAlg in certConf needs cmp2021 (RFC 9480 2.10); every other request says cmp2000
  setHeaderPvno(bodyType == BODY_CERT_CONF && certHashId != 0 ? 3 : 2);
  if (r == 0) r = putHeader(bodyType <= BODY_KUR);
  if (r < 0) return r;
  const hs = derWriterPtr();
  derWrap(TAG_SEQUENCE, end); // ProtectedPart (RFC 9810 5.1.3)
  const pp = derWriterPtr();
  r = derWriterFinish();
  if (r < 0) return r;
  const n = protKind == PROT_NONE ? 0 : computeProtection(pp, <i32>(end - pp));
  if (n < 0) return n;
  derWriterRewind(hs);
  if (protKind == PROT_SIG) { // extraCerts: the protection certificate first, then EXTRA (RFC 9483 3.3)
    const me = derMark();
    let k = 0;
    while (item(ITEM_EXTRA, k) != 0) k++;
    for (let i = k - 1; i >= 0; i--) { const c = item(ITEM_EXTRA, i); derPutBytes(c, itemLen); }
    const c = item(ITEM_CERT);
    derPutBytes(c, itemLen);
    derWrap(TAG_SEQUENCE, me);
    wrapExplicit(1, me);
  }
  if (protKind != PROT_NONE) {
    const mp = derMark();
    derPutBitString(protValue, n);
    wrapExplicit(0, mp);
  }
  swapLast(hs, end);
  derWrap(TAG_SEQUENCE, end);
  r = derWriterFinish();
  if (r < 0) return r;
  setOut(derWriterPtr(), r);
  return 0;
}

function send(bodyType: i32): i32 {
  const r = build(bodyType);
  if (r < 0) {
    if (!LEAN && detailLen == 0 && r == E_SIGNER) say(T_SIGNER_FAILED);
    else if (!LEAN && detailLen == 0 && r == E_SIGNER_INVALID) say(T_SIGNER_INVALID);
    else if (detailLen == 0) { say(T_BUILD_FAILED); sayInt(r); }
    return fail(r);
  }
  return ACTION_SEND;
}

// SubjectPublicKeyInfo of the new P-256 key (RFC 5480 2) into REQ_SPKI.
function newKeySpki(): i32 {
  let key = item(ITEM_NEWKEY);
  let r = 0;
  if (!LEAN && key == 0 && item(ITEM_NEWPUBKEY) != 0) return givenSpki();
  if (!LEAN && getInt(INT_NEWKEY_HANDLE) != 0) return E_CMP_CONFIG; // a host-held new key needs NEWPUBKEY
  if (key != 0) {
    if (itemLen != 32) return E_CMP_CONFIG;
    r = p256Public(key, PUB);
  } else {
    key = NEW_KEY;
    if (!resAdd(RESULT_NEW_KEY, key, 32)) return E_CMP_STORE;
    r = p256Keygen(key, PUB);
  }
  if (r < 0) return r;
  setNewKey(key);
  derWriterInit(REQ_SPKI, 96);
  const m = derMark();
  derPutBitString(PUB, 65);
  const ma = derMark();
  putOid(OID_P256, 8);
  putOid(OID_EC_PUBLIC_KEY, 7);
  derWrap(TAG_SEQUENCE, ma);
  derWrap(TAG_SEQUENCE, m);
  setReqSpki(derWriterPtr(), derWriterFinish());
  return 0;
}

// NEWPUBKEY: a SubjectPublicKeyInfo whose private key the host does not hold (an RA requesting
// for another entity). Only its outer SEQUENCE is checked here; the CA judges the key.
// Without the private key no signature POPO can be given (RFC 4211 4).
function givenSpki(): i32 {
  const p = item(ITEM_NEWPUBKEY);
  const n = itemLen;
  // the host signer (NEWKEY_HANDLE) gives the POP signature or signs the PKCS#10 request
  if ((getInt(INT_POPO) == POPO_SIGNATURE || op == OP_P10CR) && getInt(INT_NEWKEY_HANDLE) == 0) return E_CMP_CONFIG;
  derInit(p, n);
  derEnter(TAG_SEQUENCE);        // SubjectPublicKeyInfo (RFC 5280 4.1)
  derRead(TAG_SEQUENCE);         //   algorithm
  derRead(TAG_BIT_STRING);       //   subjectPublicKey
  derLeave();
  if (derFinish() != 0) return E_CMP_CONFIG;
  setNewKey(0);
  setReqSpki(p, n);
  return 0;
}

// The subjectPKInfo element of a configured PKCS#10 request (RFC 2986 4.1).
function csrSpki(csr: usize, n: i32): i32 {
  derInit(csr, n);
  derEnter(TAG_SEQUENCE);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_INTEGER);
  derRead(TAG_SEQUENCE);
  derRead(TAG_SEQUENCE);
  if (derErr != 0) return E_CMP_CONFIG;
  setReqSpki(derStart, <i32>(derPtr + derLen - derStart));
  return 0;
}

export function txSetInt(kind: i32, v: i32): i32 {
  if (busy()) return E_CMP_STATE;
  if (!intValid(kind) || LEAN && kind >= INT_KEY_HANDLE) return E_ARG; // no host signer in the lean module
  setInt(kind, v);
  return 0;
}

export function txStart(o: i32): i32 {
  const r = prepare(o);
  if (r != 0) return r;
  if (host_random(TID, 16) != 0) { say(T_NO_ENTROPY); return fail(E_RANDOM); }
  setRecipNonceLen(0);
  polls = 0;
  if (o == OP_IR || o == OP_CR || o == OP_KUR || o == OP_P10CR) {
    const k = requestedKey(o); // 0, or the action FAILED
    if (k != 0) return k;
    state = S_CERT_REP;
    return send(o == OP_IR ? BODY_IR : o == OP_CR ? BODY_CR : o == OP_KUR ? BODY_KUR : BODY_P10CR);
  }
  state = o == OP_RR ? S_RP : S_GENP;
  return send(o == OP_RR ? BODY_RR : BODY_GENM);
}

// The requested public key (REQ_SPKI): from the CSR of a p10cr, else of NEWKEY (generated if absent).
function requestedKey(o: i32): i32 {
  const csr = item(ITEM_CSR);
  const r = !LEAN && o == OP_P10CR && csr != 0 ? csrSpki(csr, itemLen) : newKeySpki();
  if (r < 0) { say(T_NEW_KEY_FAILED); sayInt(r); return fail(r); }
  return 0;
}

// What tx_start and tx_resume share: nothing left of the last transaction, then the operation
// and our protection from the configuration. 0, or the action FAILED / an error code.
function prepare(o: i32): i32 {
  if (busy()) return E_CMP_STATE;
  clearTransaction();
  detailClear();
  resClear();
  if (o < OP_IR || o > OP_GENM || LEAN && o != OP_IR && o != OP_KUR) return E_ARG;
  setOp(o);
  // protection: none by option (RFC 9483 3.2 allows unprotected requests where the PKI does),
  // signature with KEY + CERT, else MAC with SECRET (RFC 9483 3.2)
  if (!LEAN && option(OPT_UNPROTECTED_REQUESTS)) {
    setSigner(0, 0, 0, 0, 0, 0);
    setProtKind(PROT_NONE);
  } else if (item(ITEM_KEY) != 0 || !LEAN && getInt(INT_KEY_HANDLE) != 0) {
    const c = item(ITEM_CERT);
    if (c == 0 || certInfo(c, itemLen) != 0) { say(T_KEY_WITHOUT_CERT); return fail(E_CMP_CONFIG); }
    setSigner(ciSubject, ciSubjectLen, ciIssuer, ciIssuerLen, ciSki, ciSkiLen);
    setProtKind(PROT_SIG);
    if (!LEAN) {
      // a host signer (KEY_HANDLE) signs for CERT's key: the algorithm follows that key; KEY and
      // KEY_HANDLE together are ambiguous
      const alg = getInt(INT_KEY_HANDLE) == 0 ? 0 : item(ITEM_KEY) != 0 ? E_CMP_CONFIG : signAlgFor(ciSpki, ciSpkiLen);
      if (alg < 0) { say(T_SIGNER_KEY); sayInt(alg); return fail(alg); }
      setProtSigner(alg, ciSpki, ciSpkiLen);
    }
  } else if (item(ITEM_SECRET) != 0) {
    setSigner(0, 0, 0, 0, 0, 0);
    setProtKind(PROT_MAC);
  } else {
    say(T_NO_CREDENTIALS);
    return fail(E_CMP_CONFIG);
  }
  const old = item(ITEM_OLDCERT);
  if (old != 0 && certInfo(old, itemLen) != 0) { say(T_OLDCERT_MALFORMED); return fail(E_CMP_CONFIG); }
  return 0;
}

// A transaction waiting to poll can be suspended (its state saved by the host, e.g. in the
// credential store) and resumed after a reboot with the same transactionID (RFC 9483 4.4).
// The state holds no secret: "TX", version 1, op, polls, recipNonce length, 2 zero octets,
// checkAfter (i32 LE), transactionID (16), recipNonce.
const SUSPENDED: i32 = 28;

export function txSuspend(out: usize, cap: i32): i32 {
  if (LEAN) return E_CMP_STATE; // no polling in the lean module
  if (state != S_WAIT) return E_CMP_STATE;
  const n = SUSPENDED + recipNonceLen;
  if (!inMemory(out, cap) || cap < n) return E_ARG;
  store<u8>(out, 0x54); store<u8>(out, 0x58, 1); store<u8>(out, 1, 2); store<u8>(out, <u8>op, 3);
  store<u8>(out, <u8>polls, 4); store<u8>(out, <u8>recipNonceLen, 5); store<u16>(out, 0, 6);
  store<i32>(out, waitSeconds, 8);
  for (let i = 0; i < 16; i++) store<u8>(out + 12 + i, load<u8>(TID + i));
  for (let i = 0; i < recipNonceLen; i++) store<u8>(out + SUSPENDED + i, load<u8>(RECIP_NONCE + i));
  return n;
}

// Resumes a suspended enrollment: the host has configured the same items again, the new key
// (NEWKEY) or CSR included; returns WAIT (then tx_wait, tx_poll) or an error.
export function txResume(p: usize, n: i32): i32 {
  if (LEAN) return E_CMP_STATE;
  if (!inMemory(p, n) || n < SUSPENDED || load<u8>(p) != 0x54 || load<u8>(p, 1) != 0x58 || load<u8>(p, 2) != 1) return E_ARG;
  const o = <i32>load<u8>(p, 3), rn = <i32>load<u8>(p, 5);
  if (o == OP_RR || o == OP_GENM || rn > 64 || n != SUSPENDED + rn) return E_ARG;
  // the key must be the one requested before: a generated one would not match
  if (item(ITEM_NEWKEY) == 0 && item(ITEM_NEWPUBKEY) == 0 && (o != OP_P10CR || item(ITEM_CSR) == 0)) return E_CMP_CONFIG;
  const r = prepare(o);
  if (r != 0) return r;
  const k = requestedKey(o);
  if (k != 0) return k;
  for (let i = 0; i < 16; i++) store<u8>(TID + i, load<u8>(p + 12 + i));
  for (let i = 0; i < rn; i++) store<u8>(RECIP_NONCE + i, load<u8>(p + SUSPENDED + i));
  setRecipNonceLen(rn);
  polls = <i32>load<u8>(p, 4);
  waitSeconds = load<i32>(p, 8);
  state = S_WAIT;
  return ACTION_WAIT;
}

export function txPoll(): i32 {
  if (LEAN) return E_CMP_STATE; // no polling in the lean module
  if (state != S_WAIT) return E_CMP_STATE;
  if (++polls > getInt(INT_MAX_POLLS)) { say(T_TOO_MANY_POLLS); return fail(E_CMP_POLLS); }
  state = S_POLL_REP;
  return send(BODY_POLL_REQ);
}

function bytesEqual(a: usize, b: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

// The body type answering a request of this operation (ip, cp, kup).
function certRepType(): i32 {
  return op == OP_IR ? BODY_IP : op == OP_KUR ? BODY_KUP : BODY_CP;
}

// Hash of the certificate for certConf (RFC 9810 5.3.18, RFC 9480 2.10): the hash its signature
// algorithm names (SHA-256 for MD5/SHA-1); SHA-512 for Ed25519 (RFC 9481 3.3); for ML-DSA, which
// names none, SHA-512 given in hashAlg (then pvno 3); an unknown algorithm likewise with SHA-256;
// SHAKE256 (64 octets) for Ed448 (RFC 9481 3.3), not in the lean module: E_ALG. Sets certHashExplicit.
let certHashExplicit = false;
function certHashAlg(): i32 {
  certHashExplicit = false;
  const h = LEAN ? 0 : signatureHash(ciSigAlg, ciSigAlgLen);
  if (h >= HASH_SHA256 && h <= HASH_SHA512) return h;
  if (h == HASH_SHA1) return HASH_SHA256;
  if (LEAN && isEcdsaSha256(ciSigAlg, ciSigAlgLen)) return HASH_SHA256;
  // the OID of the AlgorithmIdentifier { algorithm, ... }
  derInit(ciSigAlg, ciSigAlgLen);
  derEnter(TAG_SEQUENCE);
  derRead(TAG_OID);
  if (derErr == 0 && oidIs(derPtr, derLen, OID_ED25519, 3, 0x70)) return LEAN ? E_ALG : HASH_SHA512;
  if (derErr == 0 && oidIs(derPtr, derLen, OID_ED25519, 3, 0x71)) return LEAN ? E_ALG : HASH_SHAKE256;
  certHashExplicit = true;
  const mlDsa = derErr == 0 && derLen == 9 && load<u8>(derPtr + 8) >= 0x11 && load<u8>(derPtr + 8) <= 0x13
    && oidIs(derPtr, derLen, OID_ML_DSA_44, 9, load<u8>(derPtr + 8));
  return LEAN ? HASH_SHA256 : mlDsa ? HASH_SHA512 : HASH_SHA256;
}

// The signature AlgorithmIdentifier is ecdsa-with-SHA256 without parameters (RFC 5758 3.2).
function isEcdsaSha256(alg: usize, n: i32): bool {
  return n == 12 && load<u8>(alg) == 0x30 && load<u8>(alg + 1) == 10 && load<u8>(alg + 2) == 0x06
    && load<u8>(alg + 3) == 8 && bytesEqual(alg + 4, OID_ECDSA_SHA256, 8);
}

// Records the results of the accepted response (stored with the transaction's other results).
function keepStrings(): bool {
  for (let i = 0; i < stringCount; i++) {
    const e = STRINGS + (<usize>i << 3);
    if (!resAdd(RESULT_STATUS_STRING, load<u32>(e), load<i32>(e, 4))) return false;
  }
  return true;
}

// certReqId of our requests: 0, and -1 for p10cr (RFC 9810 5.3.4 / RFC 9483 4.1.4).
function certReqId(): i32 {
  return !LEAN && op == OP_P10CR ? -1 : 0;
}

// Reads a certReqId INTEGER: -1, or 0..2^31-1; other values as -2.
function readCertReqId(): i64 {
  if (!derRead(TAG_INTEGER)) return -2;
  if (derLen == 1 && load<u8>(derPtr) == 0xff) return -1;
  return derUint(0x7fffffff);
}

// Decodes the body for the current state; sets the certificate range for ip/cp/kup.
let certPtr: usize = 0, certLen: i32 = 0, checkAfter: i32 = 0, errorCode: i64 = -1;
let errorDetails: usize = 0, errorDetailsLen = 0;
function decodeBody(): i32 {
  certPtr = 0; certLen = 0; checkAfter = 0; errorCode = -1; errorDetails = 0; errorDetailsLen = 0;
  const t = rspBodyType;
  if (t != BODY_PKICONF && t != BODY_GENP) clearStatus(); // tx_status: the last PKIStatus received
  else clearStrings(); // statusStrings: of this response only
  derInit(rspBody, rspBodyLen);
  if (t == BODY_IP || t == BODY_CP || t == BODY_KUP) {
    derEnter(TAG_SEQUENCE); // CertRepMessage
    if (derOptional(CONTEXT | CONSTRUCTED | 1)) { // caPubs
      derDescend();
      derEnter(TAG_SEQUENCE);
      while (derPeek() >= 0) {
        derRead(TAG_SEQUENCE);
        if (!resAdd(CA_PUB_PENDING, derStart, <i32>(derPtr + derLen - derStart))) return E_CMP_STORE;
      }
      derLeave();
      derLeave();
    }
    derEnter(TAG_SEQUENCE); // response: exactly one CertResponse (RFC 9483 4.1.1)
    derEnter(TAG_SEQUENCE);
    const id = readCertReqId();
    readStatusInfo();
    if (derPeek() == TAG_SEQUENCE) { // certifiedKeyPair
      derEnter(TAG_SEQUENCE);
      if (derPeek() != (CONTEXT | CONSTRUCTED | 0)) return E_CMP_PARSE; // encryptedCert: not supported
      derEnter(CONTEXT | CONSTRUCTED | 0);
      derRead(TAG_SEQUENCE);
      certPtr = derStart; certLen = <i32>(derPtr + derLen - derStart);
      derLeave();
      while (derPeek() >= 0) derNext(); // privateKey, publicationInfo
      derLeave();
    }
    while (derPeek() >= 0) derNext(); // rspInfo
    derLeave();
    derLeave();
    derLeave();
    if (derErr == 0 && id != certReqId()) return E_CMP_CERT_REQ_ID;
  } else if (!LEAN && t == BODY_POLL_REP) {
    derEnter(TAG_SEQUENCE);
    derEnter(TAG_SEQUENCE);
    const id = readCertReqId();
    checkAfter = <i32>derReadUint(0x7fffffff);
    if (derPeek() == TAG_SEQUENCE) readFreeText();
    derLeave();
    derLeave();
    if (derErr == 0 && id != certReqId()) return E_CMP_CERT_REQ_ID;
  } else if (!LEAN && t == BODY_RP) {
    derEnter(TAG_SEQUENCE);
    derEnter(TAG_SEQUENCE);
    readStatusInfo();
    derLeave();
    while (derPeek() >= 0) derNext(); // revCerts, crls
    derLeave();
  } else if (!LEAN && t == BODY_GENP) {
    derEnter(TAG_SEQUENCE);
    while (derPeek() >= 0) {
      derRead(TAG_SEQUENCE);
      if (!resAdd(RESULT_GENP_ITAV, derStart, <i32>(derPtr + derLen - derStart))) return E_CMP_STORE;
    }
    derLeave();
  } else if (t == BODY_PKICONF) {
    derRead(TAG_NULL);
  } else if (t == BODY_ERROR) {
    derEnter(TAG_SEQUENCE); // ErrorMsgContent
    readStatusInfo();
    if (!keepStrings()) return E_CMP_STORE;
    if (derPeek() == TAG_INTEGER) errorCode = derReadUint(0x7fffffff);
    if (derPeek() == TAG_SEQUENCE) { // errorDetails: read after the statusString is said
      derRead(TAG_SEQUENCE);
      errorDetails = derStart; errorDetailsLen = <i32>(derPtr + derLen - derStart);
    }
    derLeave();
    return derErr != 0 ? E_CMP_PARSE : 0;
  } else {
    return E_CMP_BODY;
  }
  if (derErr != 0) return E_CMP_PARSE;
  return keepStrings() ? 0 : E_CMP_STORE;
}

// The body types accepted in the current state (besides error).
function expected(t: i32): bool {
  if (t == BODY_ERROR) return true;
  if (state == S_CERT_REP) return t == certRepType();
  if (!LEAN && state == S_POLL_REP) return t == certRepType() || t == BODY_POLL_REP;
  if (state == S_PKICONF) return t == BODY_PKICONF;
  if (state == S_RP) return t == BODY_RP;
  return state == S_GENP && t == BODY_GENP;
}

function failResponse(code: i32, what: i32): i32 {
  say(T_RESPONSE);
  say(what);
  return refuse(code);
}

// PKIFailureInfo bit for an error message refusing a response with this check's code.
function refusalBit(code: i32): i32 {
  if (code == E_CMP_RECIP_NONCE) return 13;     // badRecipientNonce
  if (code == E_CMP_PVNO) return 22;            // unsupportedVersion
  if (code == E_CMP_PARSE || code <= E_DER_TRUNCATED && code >= E_DER_BUFFER) return 5; // badDataFormat
  if (code == E_CMP_CERT_REQ_ID) return 4;      // badCertId
  if (code == E_ALG) return 0;                  // badAlg
  if (code == E_CMP_TRANSACTION_ID || code == E_CMP_BODY || code == E_CMP_STATUS || code == E_CMP_NO_CERT) return 2; // badRequest
  return code == E_CMP_SIGNER || (code <= -50 && code >= -60) ? 20 : 1; // signerNotTrusted, badMessageCheck
}

// FAILED because of a bad response: tx_out then holds a protected error message the host MAY
// send (RFC 9483 3.6.4), its recipNonce the response's senderNonce when there is one.
let refusal = 0; // PKIFailureInfo bit number of the refusal
function refuse(code: i32): i32 {
  fail(code);
  refusal = refusalBit(code);
  const n = parsed && rspSenderNonceLen > 0 && rspSenderNonceLen <= 64 ? rspSenderNonceLen : 0;
  for (let i = 0; i < n; i++) store<u8>(RECIP_NONCE + i, load<u8>(rspSenderNonce + i));
  setRecipNonceLen(n);
  if (build(BODY_ERROR) < 0) setOut(OUT, 0);
  return ACTION_FAILED;
}
let parsed = false;

export function txInput(p: usize, n: i32): i32 {
  if (state < S_CERT_REP || state > S_GENP) return E_CMP_STATE;
  if (!inMemory(p, n)) return E_ARG;
  detailClear();
  trustBegin();
  if (overlapsKept(p, n)) { say(T_NO_ROOM); return fail(E_CMP_STORE); }
  const committed = resCount;
  let r = parseMessage(p, n);
  parsed = r == 0;
  if (r == E_CMP_STORE) { say(T_TOO_MANY_EXTRA); return refuse(r); }
  if (r < 0) { say(T_NOT_PKIMESSAGE); sayInt(derErr); return refuse(r); }
  // header (RFC 9483 3.5)
  if (rspPvno != 2 && rspPvno != 3) { say(T_PVNO); sayInt(rspPvno); say(T_PVNO_END); return refuse(E_CMP_PVNO); }
  const tidOk = rspTidLen == 16 && bytesEqual(rspTid, TID, 16);
  const nonceOk = rspRecipNonceLen == 16 && bytesEqual(rspRecipNonce, SENDER_NONCE, 16);
  // an error message that does not answer this request (a server that could not parse it copies
  // neither field): refused all the same, but its content said, unverified
  if ((!tidOk || !nonceOk) && rspBodyType == BODY_ERROR && decodeBody() == 0) {
    resTruncate(committed);
    say(T_UNMATCHED_ERROR);
    sayError();
    return fail(tidOk ? E_CMP_RECIP_NONCE : E_CMP_TRANSACTION_ID);
  }
  if (!tidOk) return failResponse(E_CMP_TRANSACTION_ID, T_TID_MISMATCH);
  if (!nonceOk) return failResponse(E_CMP_RECIP_NONCE, T_NONCE_MISMATCH);
  if (rspSenderNonceLen < 1 || rspSenderNonceLen > 64) return failResponse(E_CMP_PARSE, T_SENDER_NONCE_BAD);
  if (!expected(rspBodyType)) {
    say(T_UNEXPECTED);
    sayName(T_BODY_NAMES, rspBodyType);
    say(T_IN_ANSWER);
    return refuse(E_CMP_BODY);
  }
  r = decodeBody();
  if (r < 0) {
    resTruncate(committed);
    say(T_MALFORMED);
    sayName(T_BODY_NAMES, rspBodyType);
    say(T_COLON_ERROR);
    sayInt(r);
    return refuse(r);
  }
  // protection (RFC 9483 3.2, 3.5): unprotected only for errors/negative answers, by option
  r = verifyProtection();
  if (r < 0) {
    resTruncate(committed);
    return refuse(r);
  }
  for (let i = 0; i < rspExtraCount; i++) {
    const e = RSP_EXTRA + (<usize>i << 3);
    if (!resAdd(RESULT_EXTRA_CERT, load<u32>(e), load<i32>(e, 4))) return fail(E_CMP_STORE);
  }
  for (let i = 0; i < rspSenderNonceLen; i++) store<u8>(RECIP_NONCE + i, load<u8>(rspSenderNonce + i));
  setRecipNonceLen(rspSenderNonceLen);
  const a = next();
  // caPubs as results: of a MAC-protected response, or by option of an accepted signed one
  // (RFC 9483 4.1.1); trust anchors only as next() decides
  resRetag(CA_PUB_PENDING, macProtected || option(OPT_CAPUBS_TRUSTED) ? RESULT_CA_PUB : 0);
  // another response follows: keep what results point into out of its way
  if ((a == ACTION_SEND || a == ACTION_WAIT) && !keepResults(p, n)) { say(T_NO_ROOM); return fail(E_CMP_STORE); }
  return a;
}

function verifyProtection(): i32 {
  if (rspProtAlgLen == 0 || rspProtLen < 0) {
    macProtected = false;
    const negative = rspBodyType == BODY_ERROR || status == STATUS_REJECTION;
    if (option(OPT_ACCEPT_UNPROTECTED) && negative) return 0;
    say(T_UNPROTECTED);
    return E_CMP_UNPROTECTED;
  }
  if (isMacAlg(rspProtAlg, rspProtAlgLen)) {
    if (protKind != PROT_MAC) { say(T_MAC_FOR_SIGNED); return E_CMP_UNPROTECTED; }
    const pp = protectedPart();
    const r = verifyMac(rspProtAlg, rspProtAlgLen, pp, <i32>(rspBody + rspBodyLen - pp), rspProt, rspProtLen);
    // the protection cannot be verified (E_CMP_PROTECTION); the words say why
    if (r == E_ITERATIONS) { // RFC 9481 6.1: the count is the sender's; the bounds are ours
      say(T_MAC_ITERATIONS); sayInt(macIterations);
      if (macIterations < macMinIterations) { say(T_MAC_ITERATIONS_MIN); sayInt(macMinIterations); }
      else { say(T_MAC_ITERATIONS_LIMIT); sayInt(getInt(INT_MAX_ITERATIONS)); }
      return E_CMP_PROTECTION;
    }
    if (macShortKey) { say(T_MAC_SHORT_KEY); return E_CMP_PROTECTION; }
    if (macSaltLen >= 0) { say(T_MAC_SALT); sayInt(macSaltLen); say(T_MAC_SALT_BOUNDS); return E_CMP_PROTECTION; }
    if (r == E_ALG) { say(T_MAC_ALG); sayOid(macUnknownOid, macUnknownOidLen); return E_CMP_PROTECTION; }
    if (r < 0) { say(T_BAD_MAC); sayInt(r); return E_CMP_PROTECTION; }
    macProtected = true;
    return 0;
  }
  macProtected = false;
  // the signer validates to TRUSTED only: caPubs of this response never vouch for the response itself
  setCertSets(RSP_EXTRA, rspExtraCount, 1, 0, false);
  const pp = protectedPart();
  return verifySigned(RSP_EXTRA, rspExtraCount, rspProtAlg, rspProtAlgLen, pp, <i32>(rspBody + rspBodyLen - pp),
    rspProt, rspProtLen, rspSenderKid, rspSenderKidLen, certPtr, certLen);
}

// After a checked response: the next action.
function next(): i32 {
  const t = rspBodyType;
  if (t == BODY_ERROR) {
    say(T_ERROR_MESSAGE);
    sayError();
    return fail(E_CMP_ERROR_MSG);
  }
  if (t == BODY_PKICONF) {
    if (pendingError != 0) {
      if (pendingFailBit == FAIL_INCORRECT_DATA) { say(T_CERT_UNTRUSTED); sayInt(pendingError); }
      else say(T_CERT_REJECTED_KEY);
      return fail(pendingError);
    }
    return done();
  }
  if (!LEAN && t == BODY_POLL_REP) {
    waitSeconds = checkAfter;
    state = S_WAIT;
    return ACTION_WAIT;
  }
  if (!LEAN && (t == BODY_RP || t == BODY_GENP)) {
    if (t == BODY_RP && status != 0 && status != STATUS_GRANTED_WITH_MODS) {
      say(T_RP_REJECTED);
      sayStatus();
      return fail(E_CMP_REJECTED);
    }
    return done();
  }
  // ip / cp / kup (RFC 9483 4.1.1)
  if (!LEAN && status == STATUS_WAITING) {
    if (certPtr != 0) return failResponse(E_CMP_STATUS, T_WAITING_WITH_CERT);
    if (++polls > getInt(INT_MAX_POLLS)) { say(T_TOO_MANY_POLLS); return fail(E_CMP_POLLS); }
    state = S_POLL_REP;
    return send(BODY_POLL_REQ);
  }
  if (status != 0 && status != STATUS_GRANTED_WITH_MODS) {
    sayName(T_BODY_NAMES, t);
    say(T_REJECTED);
    sayStatus();
    return fail(status == STATUS_REJECTION ? E_CMP_REJECTED : E_CMP_STATUS);
  }
  if (certPtr == 0) return failResponse(E_CMP_NO_CERT, T_NO_CERT);
  const cert = certPtr;
  if (certInfo(cert, certLen) != 0) return failResponse(E_CMP_PARSE, T_CERT_MALFORMED);
  const sameKey = ciSpkiLen == reqSpkiLen && bytesEqual(ciSpki, reqSpki, reqSpkiLen);
  const ha = certHashAlg();
  if (ha < 0) { // a certificate we cannot confirm: say so rather than send a wrong certHash
    derInit(ciSigAlg, ciSigAlgLen);
    derEnter(TAG_SEQUENCE);
    derRead(TAG_OID);
    say(T_CERT_HASH_ALG);
    sayOid(derPtr, derLen);
    return fail(E_ALG);
  }
  certHashLen = hashOnce(ha, cert, certLen, CERT_HASH);
  certHashId = certHashExplicit ? ha : 0;
  // RFC 5280 6.1 path validation to TRUSTED, or to the caPubs alone when a MAC-protected response
  // carries them and the option says so (RFC 9483 4.1.1); extraCerts, UNTRUSTED and other
  // caPubs are only untrusted intermediates
  setCertSets(RSP_EXTRA, rspExtraCount, 0, CA_PUB_PENDING, macProtected && option(OPT_CAPUBS_TRUSTED));
  const v = validateNew(cert, certLen);
  if (v < 0) { // refused: certConf rejection with incorrectData (as OpenSSL), then FAILED
    say(T_CERT_UNTRUSTED);
    sayInt(v);
    pendingError = v;
    pendingFailBit = FAIL_INCORRECT_DATA;
  } else if (!sameKey) {
    say(T_WRONG_KEY);
    pendingError = E_CMP_WRONG_KEY;
    pendingFailBit = FAIL_BAD_CERT_TEMPLATE;
  } else {
    if (!resAdd(RESULT_CERT, cert, certLen)) return fail(E_CMP_STORE);
    for (let d = 0; d < pathLength; d++) {
      if (!resAdd(RESULT_CHAIN, pathCert(d), pathCertLen(d))) return fail(E_CMP_STORE);
    }
  }
  if (option(OPT_IMPLICIT_CONFIRM) && rspImplicitConfirm) { // granted: no certConf (RFC 9483 4.1.1)
    return pendingError != 0 ? fail(pendingError) : done();
  }
  state = S_PKICONF;
  return send(BODY_CERT_CONF);
}

// The content of a decoded error message: status, failInfo, statusString, errorCode, and
// errorDetails only when the message has them (RFC 9810 5.3.21).
function sayError(): void {
  sayStatus();
  if (errorCode >= 0) { say(T_ERROR_CODE); sayInt(<i32>errorCode); }
  if (errorDetails != 0) {
    derInit(errorDetails, errorDetailsLen);
    readFreeText();
    sayStrings(T_ERROR_DETAILS);
  }
}

// Room for a response of n bytes at io_ptr() (io.ts): its size, or E_CMP_TOO_LARGE with the
// limit in words (a transaction under way then FAILED; memory stays as it was).
export function txReserve(n: i32): i32 {
  if (n < 0) return E_ARG;
  const keptBytes = <i32>(keepTop - keepFloor);
  if (n > ioLimit() || !ioGrow(n + keptBytes)) {
    detailClear();
    say(T_TOO_LARGE); sayInt(n); say(T_TOO_LARGE_LIMIT);
    sayInt(n > ioLimit() ? ioLimit() : <i32>(keepFloor - ioBase));
    if (busy()) fail(E_CMP_TOO_LARGE);
    return E_CMP_TOO_LARGE;
  }
  if (!LEAN) keepRebase(); // the lean module's buffer never moves
  return <i32>(keepFloor - ioBase);
}

function done(): i32 {
  state = S_DONE;
  setOut(OUT, 0);
  return ACTION_DONE;
}

export function txResult(kind: i32, index: i32): usize {
  return resFind(kind, index);
}
export function txResultLen(kind: i32, index: i32): i32 {
  resFind(kind, index);
  return resLen;
}
export function txOut(): usize { return outPtr; }
export function txOutLen(): i32 { return outLen; }
export function txStatus(): i32 { return status; }
export function txFailInfo(): i32 { return failInfo; }
