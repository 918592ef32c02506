// The transaction state machine behind the tx_* exports (docs/ABI.md), as OpenSSL's
// cmp_client.c: tx_start builds and protects the first request (request.ts); every response
// goes through txInput, checked in checks.ts, and the next action is decided here (next).
import {
  E_ARG,
  E_CMP_CONFIG,
  E_CMP_ERROR_MSG,
  E_CMP_POLLS,
  E_CMP_REJECTED,
  E_CMP_STATE,
  E_CMP_STATUS,
  E_CMP_STORE,
  E_CMP_TOO_LARGE,
  E_RANDOM,
} from "../errors";
import { host_random } from "../host";
import { inMemory } from "../mem";
import { wipe } from "../crypto/ct";
import {
  CONFIG,
  CONFIG_SIZE,
  configReset,
  getInt,
  INT_MAX_POLLS,
  item,
  itemLen,
  ITEM_CERT,
  ITEM_CSR,
  ITEM_KEY,
  ITEM_LAST,
  ITEM_NEWKEY,
  ITEM_NEWPUBKEY,
  ITEM_OLDCERT,
  ITEM_SECRET,
  intValid,
  itemRepeatable,
  option,
  OPT_CAPUBS_TRUSTED,
  OPT_IMPLICIT_CONFIRM,
  OPT_UNPROTECTED_REQUESTS,
  setInt,
  ITEM_GENINFO,
  ITEM_REQIN,
  OPT_DISABLE_CONFIRM,
} from "./config";
import { isItav } from "./body";
import { certInfo, ciIssuer, ciIssuerLen, ciSki, ciSkiLen, ciSpki, ciSpkiLen, ciSubject, ciSubjectLen } from "./certinfo";
import { detailClear, detailLen, say, sayInt, sayName } from "./detail";
import {
  T_BODY_NAMES,
  T_BUILD_FAILED,
  T_CERT_REJECTED_KEY,
  T_CERT_UNTRUSTED,
  T_ERROR_MESSAGE,
  T_KEY_WITHOUT_CERT,
  T_NEW_KEY_FAILED,
  T_NO_CREDENTIALS,
  T_NO_ENTROPY,
  T_NO_ROOM,
  T_OLDCERT_MALFORMED,
  T_REJECTED,
  T_RP_REJECTED,
  T_TOO_LARGE,
  T_TOO_LARGE_LIMIT,
  T_TOO_MANY_POLLS,
  T_REQIN_BODY,
} from "./text";
import { setSigner } from "./header";
import { LEAN } from "../features";
import { trustBegin } from "./verify";
import { sigCacheClear } from "../pkix/signature";
import { recAdd } from "./records";
import { ioBase, ioGrow, ioLimit } from "../io";
// the host signer (env.sign, full module)
import { setProtSigner } from "./protection";
import { signAlgFor } from "./signer";
import { INT_KEY_HANDLE } from "./config";
import { E_SIGNER, E_SIGNER_INVALID } from "../errors";
import { T_SIGNER_FAILED, T_SIGNER_INVALID, T_SIGNER_KEY } from "./text";
import {
  CA_PUB_PENDING,
  keepFloor,
  keepRebase,
  keepResults,
  keepTop,
  overlapsKept,
  resAdd,
  resBackToMark,
  resClear,
  resMark,
  resFind,
  resLen,
  resRetag,
  RESULT_CA_PUB,
  RESULT_EXTRA_CERT,
} from "./results";
import { rspBodyType, rspExtraCount, RSP_EXTRA, rspImplicitConfirm, rspSenderNonce, rspSenderNonceLen } from "./response";
import {
  BODY_CERT_CONF,
  BODY_CR,
  BODY_ERROR,
  BODY_GENM,
  BODY_GENP,
  BODY_IR,
  BODY_KUR,
  BODY_P10CR,
  BODY_PKICONF,
  BODY_POLL_REP,
  BODY_POLL_REQ,
  BODY_RP,
  BODY_RR,
  OP_CR,
  OP_GENM,
  OP_IR,
  OP_KUR,
  OP_P10CR,
  OP_RR,
  PROT_MAC,
  PROT_NONE,
  PROT_SIG,
} from "./constants";
import {
  OUT,
  OUT_SIZE,
  outLen,
  outPtr,
  pendingError,
  pendingFailBit,
  RECIP_NONCE,
  SENDER_NONCE,
  setCertHash,
  setNewKey,
  setOp,
  setOut,
  setPending,
  setProtKind,
  setRecipNonceLen,
  setRefusal,
  setReqSpki,
  setState,
  state,
  S_CERT_REP,
  S_DONE,
  S_FAILED,
  S_GENP,
  S_IDLE,
  S_PKICONF,
  S_POLL_REP,
  S_RP,
  S_WAIT,
  TID,
} from "./state";
import {
  clearStatus,
  failInfo,
  FAIL_INCORRECT_DATA,
  refusalBit,
  sayStatus,
  status,
  STATUS_GRANTED_WITH_MODS,
  STATUS_REJECTION,
  STATUS_WAITING,
} from "./status";
import { build, reqinBody, requestKey } from "./request";
import { checkAfter, clearBody, sayError } from "./decode";
import { checkCertificate, checkResponse, checkWaiting, clearChecks, macProtected, parsed } from "./checks";
import { restoreSuspended, suspendedOp, suspendedPolls, suspendedWait, writeSuspended } from "./suspend";

export const ACTION_SEND: i32 = 1,
  ACTION_WAIT: i32 = 2,
  ACTION_DONE: i32 = 3,
  ACTION_FAILED: i32 = 4;

export let error: i32 = 0;
export let waitSeconds: i32 = 0;
let polls = 0;

export function txReset(): void {
  if (!LEAN) sigCacheClear();
  configReset();
  resClear();
  wipe(OUT, OUT_SIZE);
  wipe(TID, 16);
  wipe(SENDER_NONCE, 16);
  wipe(RECIP_NONCE, 64);
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
  setState(S_IDLE);
  error = 0;
  waitSeconds = 0;
  polls = 0;
  setPending(0, 0);
  setCertHash(0, 0);
  setRefusal(0);
  clearBody();
  clearChecks();
}

// A transaction is under way (between tx_start and DONE/FAILED).
function busy(): bool {
  return state >= S_CERT_REP && state <= S_WAIT;
}

export function txSet(kind: i32, p: usize, n: i32): i32 {
  if (busy()) return E_CMP_STATE;
  if (kind < 1 || kind > ITEM_LAST || !inMemory(p, n)) return E_ARG;
  if (!itemRepeatable(kind) && item(kind) != 0) return E_CMP_CONFIG;
  if (!LEAN && kind == ITEM_GENINFO && !isItav(p, n)) return E_CMP_CONFIG; // an InfoTypeAndValue (RFC 9810 5.1.1)
  return recAdd(CONFIG, CONFIG_SIZE, kind, p, n) != 0 ? 0 : E_CMP_STORE;
}

function fail(code: i32): i32 {
  error = code;
  setState(S_FAILED);
  setOut(OUT, 0);
  return ACTION_FAILED;
}

function send(bodyType: i32): i32 {
  const r = build(bodyType);
  if (r < 0) {
    if (!LEAN && detailLen == 0 && r == E_SIGNER) say(T_SIGNER_FAILED);
    else if (!LEAN && detailLen == 0 && r == E_SIGNER_INVALID) say(T_SIGNER_INVALID);
    else if (detailLen == 0) {
      say(T_BUILD_FAILED);
      sayInt(r);
    }
    return fail(r);
  }
  return ACTION_SEND;
}

export function txSetInt(kind: i32, v: i32): i32 {
  if (busy()) return E_CMP_STATE;
  if (!intValid(kind) || (LEAN && kind >= INT_KEY_HANDLE)) return E_ARG; // no host signer in the lean module
  setInt(kind, v);
  return 0;
}

export function txStart(o: i32): i32 {
  const r = prepare(o);
  if (r != 0) return r;
  if (!LEAN && reqinBody(o) < 0) {
    say(T_REQIN_BODY);
    return fail(E_CMP_CONFIG);
  } // a prebuilt body (request.ts)
  if (host_random(TID, 16) != 0) {
    say(T_NO_ENTROPY);
    return fail(E_RANDOM);
  }
  setRecipNonceLen(0);
  polls = 0;
  if (o == OP_IR || o == OP_CR || o == OP_KUR || o == OP_P10CR) {
    const k = requestedKey(o); // 0, or the action FAILED
    if (k != 0) return k;
    setState(S_CERT_REP);
    return send(o == OP_IR ? BODY_IR : o == OP_CR ? BODY_CR : o == OP_KUR ? BODY_KUR : BODY_P10CR);
  }
  setState(o == OP_RR ? S_RP : S_GENP);
  return send(o == OP_RR ? BODY_RR : BODY_GENM);
}

// The requested public key (request.ts): 0, or the action FAILED.
function requestedKey(o: i32): i32 {
  const r = requestKey(o);
  if (r < 0) {
    say(T_NEW_KEY_FAILED);
    sayInt(r);
    return fail(r);
  }
  return 0;
}

// What tx_start and tx_resume share: nothing left of the last transaction, then the operation
// and our protection from the configuration. 0, or the action FAILED / an error code.
function prepare(o: i32): i32 {
  if (busy()) return E_CMP_STATE;
  if (!LEAN) sigCacheClear();
  clearTransaction();
  detailClear();
  resClear();
  if (o < OP_IR || o > OP_GENM || (LEAN && o != OP_IR && o != OP_KUR)) return E_ARG;
  setOp(o);
  // protection: none by option (RFC 9483 3.2 allows unprotected requests where the PKI does),
  // signature with KEY + CERT, else MAC with SECRET (RFC 9483 3.2)
  if (!LEAN && option(OPT_UNPROTECTED_REQUESTS)) {
    setSigner(0, 0, 0, 0, 0, 0);
    setProtKind(PROT_NONE);
  } else if (item(ITEM_KEY) != 0 || (!LEAN && getInt(INT_KEY_HANDLE) != 0)) {
    const c = item(ITEM_CERT);
    if (c == 0 || certInfo(c, itemLen) != 0) {
      say(T_KEY_WITHOUT_CERT);
      return fail(E_CMP_CONFIG);
    }
    setSigner(ciSubject, ciSubjectLen, ciIssuer, ciIssuerLen, ciSki, ciSkiLen);
    setProtKind(PROT_SIG);
    if (!LEAN) {
      // a host signer (KEY_HANDLE) signs for CERT's key: the algorithm follows that key; KEY and
      // KEY_HANDLE together are ambiguous
      const alg = getInt(INT_KEY_HANDLE) == 0 ? 0 : item(ITEM_KEY) != 0 ? E_CMP_CONFIG : signAlgFor(ciSpki, ciSpkiLen);
      if (alg < 0) {
        say(T_SIGNER_KEY);
        sayInt(alg);
        return fail(alg);
      }
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
  if (old != 0 && certInfo(old, itemLen) != 0) {
    say(T_OLDCERT_MALFORMED);
    return fail(E_CMP_CONFIG);
  }
  return 0;
}

// A transaction waiting to poll can be suspended and resumed after a reboot (suspend.ts).
export function txSuspend(out: usize, cap: i32): i32 {
  if (LEAN) return E_CMP_STATE; // no polling in the lean module
  if (state != S_WAIT) return E_CMP_STATE;
  return writeSuspended(out, cap, polls, waitSeconds);
}

// Resumes a suspended enrollment: the host has configured the same items again, the new key
// (NEWKEY) or CSR included; returns WAIT (then tx_wait, tx_poll) or an error.
export function txResume(p: usize, n: i32): i32 {
  if (LEAN) return E_CMP_STATE;
  const o = suspendedOp(p, n);
  if (o < 0) return o;
  // the key must be the one requested before: a generated one would not match
  if (item(ITEM_NEWKEY) == 0 && item(ITEM_NEWPUBKEY) == 0 && item(ITEM_REQIN) == 0 && (o != OP_P10CR || item(ITEM_CSR) == 0)) return E_CMP_CONFIG;
  const r = prepare(o);
  if (r != 0) return r;
  if (reqinBody(o) < 0) return E_CMP_CONFIG;
  const k = requestedKey(o);
  if (k != 0) return k;
  restoreSuspended(p);
  resMark();
  polls = suspendedPolls(p);
  waitSeconds = suspendedWait(p);
  setState(S_WAIT);
  return ACTION_WAIT;
}

export function txPoll(): i32 {
  if (LEAN) return E_CMP_STATE; // no polling in the lean module
  if (state != S_WAIT) return E_CMP_STATE;
  if (++polls > getInt(INT_MAX_POLLS)) {
    say(T_TOO_MANY_POLLS);
    return fail(E_CMP_POLLS);
  }
  setState(S_POLL_REP);
  return send(BODY_POLL_REQ);
}

// FAILED because of a bad response: tx_out then holds a protected error message the host MAY
// send (RFC 9483 3.6.4), its recipNonce the response's senderNonce when there is one.
function refuse(code: i32): i32 {
  fail(code);
  setRefusal(refusalBit(code));
  const n = parsed && rspSenderNonceLen > 0 && rspSenderNonceLen <= 64 ? rspSenderNonceLen : 0;
  for (let i = 0; i < n; i++) store<u8>(RECIP_NONCE + i, load<u8>(rspSenderNonce + i));
  setRecipNonceLen(n);
  if (build(BODY_ERROR) < 0) setOut(OUT, 0);
  return ACTION_FAILED;
}

export function txInput(p: usize, n: i32): i32 {
  if (state < S_CERT_REP || state > S_GENP) return E_CMP_STATE;
  if (!inMemory(p, n)) return E_ARG;
  detailClear();
  trustBegin();
  const polling = !LEAN && state == S_POLL_REP;
  if (polling) resBackToMark();
  if (overlapsKept(p, n)) {
    say(T_NO_ROOM);
    return fail(E_CMP_STORE);
  }
  const r = checkResponse(p, n);
  if (r > 0) return fail(-r);
  if (r < 0) return refuse(r);
  for (let i = 0; i < rspExtraCount; i++) {
    const e = RSP_EXTRA + ((<usize>i) << 3);
    if (!resAdd(RESULT_EXTRA_CERT, load<u32>(e), load<i32>(e, 4))) return fail(E_CMP_STORE);
  }
  for (let i = 0; i < rspSenderNonceLen; i++) store<u8>(RECIP_NONCE + i, load<u8>(rspSenderNonce + i));
  setRecipNonceLen(rspSenderNonceLen);
  const a = next();
  // caPubs as results: of a MAC-protected response, or by option of an accepted signed one
  // (RFC 9483 4.1.1); trust anchors only as next() decides
  resRetag(CA_PUB_PENDING, macProtected || option(OPT_CAPUBS_TRUSTED) ? RESULT_CA_PUB : 0);
  // another response follows: keep what results point into out of its way
  if ((a == ACTION_SEND || a == ACTION_WAIT) && !keepResults(p, n)) {
    say(T_NO_ROOM);
    return fail(E_CMP_STORE);
  }
  if (!LEAN && !polling && state == S_POLL_REP) resMark(); // polling begins
  return a;
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
      if (pendingFailBit == FAIL_INCORRECT_DATA) {
        say(T_CERT_UNTRUSTED);
        sayInt(pendingError);
      } else say(T_CERT_REJECTED_KEY);
      return fail(pendingError);
    }
    return done();
  }
  if (!LEAN && t == BODY_POLL_REP) {
    waitSeconds = checkAfter;
    setState(S_WAIT);
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
    const w = checkWaiting();
    if (w < 0) return refuse(w);
    if (++polls > getInt(INT_MAX_POLLS)) {
      say(T_TOO_MANY_POLLS);
      return fail(E_CMP_POLLS);
    }
    setState(S_POLL_REP);
    return send(BODY_POLL_REQ);
  }
  if (status != 0 && status != STATUS_GRANTED_WITH_MODS) {
    sayName(T_BODY_NAMES, t);
    say(T_REJECTED);
    sayStatus();
    return fail(status == STATUS_REJECTION ? E_CMP_REJECTED : E_CMP_STATUS);
  }
  // the certificate: refused, rejected in certConf (pendingError) or accepted
  const c = checkCertificate();
  if (c < 0) return refuse(c);
  if (c > 0) return fail(-c);
  // no certConf when implicitConfirm was granted (RFC 9483 4.1.1), or by option (full module),
  // against RFC 9810 5.3.18; the certificate was checked all the same
  if ((option(OPT_IMPLICIT_CONFIRM) && rspImplicitConfirm) || (!LEAN && option(OPT_DISABLE_CONFIRM))) {
    return pendingError != 0 ? fail(pendingError) : done();
  }
  setState(S_PKICONF);
  return send(BODY_CERT_CONF);
}

// Room for a response of n bytes at io_ptr() (io.ts): its size, or E_CMP_TOO_LARGE with the
// limit in words (a transaction under way then FAILED; memory stays as it was).
export function txReserve(n: i32): i32 {
  if (n < 0) return E_ARG;
  const keptBytes = <i32>(keepTop - keepFloor);
  if (n > ioLimit() || !ioGrow(n + keptBytes)) {
    detailClear();
    say(T_TOO_LARGE);
    sayInt(n);
    say(T_TOO_LARGE_LIMIT);
    sayInt(n > ioLimit() ? ioLimit() : <i32>(keepFloor - ioBase));
    if (busy()) fail(E_CMP_TOO_LARGE);
    return E_CMP_TOO_LARGE;
  }
  if (!LEAN) keepRebase(); // the lean module's buffer never moves
  return <i32>(keepFloor - ioBase);
}

function done(): i32 {
  setState(S_DONE);
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
export function txOut(): usize {
  return outPtr;
}
export function txOutLen(): i32 {
  return outLen;
}
export function txStatus(): i32 {
  return status;
}
export function txFailInfo(): i32 {
  return failInfo;
}
