// Every check on a received PKIMessage, in one place (as OpenSSL's cmp_vfy.c), in the order of
// the table in docs/SECURITY.md. checkResponse is the entry for each response: the generic
// validation of RFC 9483 3.5 (form, pvno, transactionID, nonces), the body type, the body's own
// form, then the protection (RFC 9483 3.2, 3.5), which comes last because whether an unprotected
// answer is acceptable depends on its PKIStatus. checkWaiting and checkCertificate check the
// certificate of a CertRepMessage once its PKIStatus is known (RFC 9483 4.1.1, 4.4). The trust
// model of signers: verify.ts.
import {
  E_ALG,
  E_CMP_BODY,
  E_CMP_NO_CERT,
  E_CMP_PARSE,
  E_CMP_PROTECTION,
  E_CMP_PVNO,
  E_CMP_RECIP_NONCE,
  E_CMP_STATUS,
  E_CMP_STORE,
  E_CMP_TRANSACTION_ID,
  E_CMP_UNPROTECTED,
  E_CMP_WRONG_KEY,
  E_ITERATIONS,
} from "../errors";
import { bytesEqual } from "../mem";
import { hashOnce } from "../crypto/hash";
import { derEnter, derErr, derInit, derLen, derPtr, derRead } from "../der/reader";
import { TAG_OID, TAG_SEQUENCE } from "../der/tags";
import { pathCert, pathCertLen, pathLength } from "../pkix/path";
import { getInt, INT_MAX_ITERATIONS, option, OPT_ACCEPT_UNPROTECTED, OPT_CAPUBS_TRUSTED } from "./config";
import { certInfo, ciSigAlg, ciSigAlgLen, ciSpki, ciSpkiLen } from "./certinfo";
import { say, sayInt, sayName, sayOid } from "./detail";
import {
  T_BAD_MAC,
  T_BODY_NAMES,
  T_CERT_HASH_ALG,
  T_CERT_MALFORMED,
  T_CERT_UNTRUSTED,
  T_COLON_ERROR,
  T_IN_ANSWER,
  T_MAC_ALG,
  T_MAC_FOR_SIGNED,
  T_MAC_ITERATIONS,
  T_MAC_ITERATIONS_LIMIT,
  T_MAC_ITERATIONS_MIN,
  T_MAC_SALT,
  T_MAC_SALT_BOUNDS,
  T_MAC_SHORT_KEY,
  T_MALFORMED,
  T_NO_CERT,
  T_NONCE_MISMATCH,
  T_NOT_PKIMESSAGE,
  T_PVNO,
  T_PVNO_END,
  T_RESPONSE,
  T_SENDER_NONCE_BAD,
  T_TID_MISMATCH,
  T_TOO_MANY_EXTRA,
  T_UNEXPECTED,
  T_UNMATCHED_ERROR,
  T_UNPROTECTED,
  T_WAITING_WITH_CERT,
  T_WRONG_KEY,
} from "./text";
import { isMacAlg, macIterations, macMinIterations, macSaltLen, macShortKey, macUnknownOid, macUnknownOidLen, verifyMac } from "./protection";
import { setCertSets, validateNew, verifySigned } from "./verify";
import { CA_PUB_PENDING, resAdd, resCount, RESULT_CERT, RESULT_CHAIN, resTruncate } from "./results";
import {
  parseMessage,
  protectedPart,
  rspBody,
  rspBodyLen,
  rspBodyType,
  rspExtraCount,
  RSP_EXTRA,
  rspProt,
  rspProtAlg,
  rspProtAlgLen,
  rspProtLen,
  rspPvno,
  rspRecipNonce,
  rspRecipNonceLen,
  rspSenderKid,
  rspSenderKidLen,
  rspSenderNonceLen,
  rspTid,
  rspTidLen,
} from "./response";
import { certLen, certPtr, decodeBody, sayError } from "./decode";
import { certHashAlg, certHashExplicit } from "./request";
import { LEAN } from "../features";
import { BODY_CP, BODY_ERROR, BODY_GENP, BODY_IP, BODY_KUP, BODY_PKICONF, BODY_POLL_REP, BODY_RP, OP_IR, OP_KUR, PROT_MAC } from "./constants";
import {
  CERT_HASH,
  op,
  protKind,
  reqSpki,
  reqSpkiLen,
  SENDER_NONCE,
  setCertHash,
  setPending,
  state,
  S_CERT_REP,
  S_GENP,
  S_PKICONF,
  S_POLL_REP,
  S_RP,
  TID,
} from "./state";
import { FAIL_BAD_CERT_TEMPLATE, FAIL_INCORRECT_DATA, status, STATUS_REJECTION } from "./status";

export let parsed = false; // the last response is a well-formed PKIMessage
export let macProtected = false; // ... with a MAC that verified

export function clearChecks(): void {
  parsed = false;
  macProtected = false;
}

// "response <what>", and the code to refuse the response with.
function refused(code: i32, what: i32): i32 {
  say(T_RESPONSE);
  say(what);
  return code;
}

// The body type answering a request of this operation (ip, cp, kup).
function certRepType(): i32 {
  return op == OP_IR ? BODY_IP : op == OP_KUR ? BODY_KUP : BODY_CP;
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

// Checks the response [p, p+n) to our last request, its words in tx_detail: 0 when it may be
// acted on; < 0 the code to refuse it with (RFC 9483 3.6.4); > 0 an error message that answers
// no request of ours, its content said unverified, not to be answered: FAILED with minus that.
// The results its body added are dropped again when the body or its protection is refused.
export function checkResponse(p: usize, n: i32): i32 {
  const committed = resCount;
  // one well-formed DER PKIMessage (RFC 9810 5.1, X.690 10), at most MAX_EXTRA_CERTS extraCerts
  let r = parseMessage(p, n);
  parsed = r == 0;
  if (r == E_CMP_STORE) {
    say(T_TOO_MANY_EXTRA);
    return r;
  }
  if (r < 0) {
    say(T_NOT_PKIMESSAGE);
    sayInt(derErr);
    return r;
  }
  // pvno cmp2000 or cmp2021 (RFC 9810 5.1.1, RFC 9483 3.1)
  if (rspPvno != 2 && rspPvno != 3) {
    say(T_PVNO);
    sayInt(rspPvno);
    say(T_PVNO_END);
    return E_CMP_PVNO;
  }
  // transactionID of our request, recipNonce our senderNonce (RFC 9483 3.5, RFC 9810 5.1.1)
  const tidOk = rspTidLen == 16 && bytesEqual(rspTid, TID, 16);
  const nonceOk = rspRecipNonceLen == 16 && bytesEqual(rspRecipNonce, SENDER_NONCE, 16);
  // an error message that does not answer this request (a server that could not parse it copies
  // neither field): refused all the same, but its content said, unverified
  if ((!tidOk || !nonceOk) && rspBodyType == BODY_ERROR && decodeBody() == 0) {
    resTruncate(committed);
    say(T_UNMATCHED_ERROR);
    sayError();
    return tidOk ? -E_CMP_RECIP_NONCE : -E_CMP_TRANSACTION_ID;
  }
  if (!tidOk) return refused(E_CMP_TRANSACTION_ID, T_TID_MISMATCH);
  if (!nonceOk) return refused(E_CMP_RECIP_NONCE, T_NONCE_MISMATCH);
  // a senderNonce for our next recipNonce (RFC 9483 3.1: at least 128 bits; 64 octets here at most)
  if (rspSenderNonceLen < 1 || rspSenderNonceLen > 64) return refused(E_CMP_PARSE, T_SENDER_NONCE_BAD);
  // a body type that answers our request, or an error message (RFC 9483 3.5, 4)
  if (!expected(rspBodyType)) {
    say(T_UNEXPECTED);
    sayName(T_BODY_NAMES, rspBodyType);
    say(T_IN_ANSWER);
    return E_CMP_BODY;
  }
  // the body well-formed, with one CertResponse of our certReqId (RFC 9483 4.1.1, 4.1.4)
  r = decodeBody();
  if (r < 0) {
    resTruncate(committed);
    say(T_MALFORMED);
    sayName(T_BODY_NAMES, rspBodyType);
    say(T_COLON_ERROR);
    sayInt(r);
    return r;
  }
  // protection (RFC 9483 3.2, 3.5): unprotected only for errors/negative answers, by option
  r = checkProtection();
  if (r < 0) resTruncate(committed);
  return r;
}

function checkProtection(): i32 {
  if (rspProtAlgLen == 0 || rspProtLen < 0) {
    macProtected = false;
    const negative = rspBodyType == BODY_ERROR || status == STATUS_REJECTION;
    if (option(OPT_ACCEPT_UNPROTECTED) && negative) return 0;
    say(T_UNPROTECTED);
    return E_CMP_UNPROTECTED;
  }
  if (isMacAlg(rspProtAlg, rspProtAlgLen)) {
    // a MAC only where we sent one: the shared secret is ours and the server's (RFC 9483 3.2)
    if (protKind != PROT_MAC) {
      say(T_MAC_FOR_SIGNED);
      return E_CMP_UNPROTECTED;
    }
    const pp = protectedPart();
    const r = verifyMac(rspProtAlg, rspProtAlgLen, pp, <i32>(rspBody + rspBodyLen - pp), rspProt, rspProtLen);
    // the protection cannot be verified (E_CMP_PROTECTION); the words say why
    if (r == E_ITERATIONS) {
      // RFC 9481 6.1: the count is the sender's; the bounds are ours
      say(T_MAC_ITERATIONS);
      sayInt(macIterations);
      if (macIterations < macMinIterations) {
        say(T_MAC_ITERATIONS_MIN);
        sayInt(macMinIterations);
      } else {
        say(T_MAC_ITERATIONS_LIMIT);
        sayInt(getInt(INT_MAX_ITERATIONS));
      }
      return E_CMP_PROTECTION;
    }
    if (macShortKey) {
      say(T_MAC_SHORT_KEY);
      return E_CMP_PROTECTION;
    }
    if (macSaltLen >= 0) {
      say(T_MAC_SALT);
      sayInt(macSaltLen);
      say(T_MAC_SALT_BOUNDS);
      return E_CMP_PROTECTION;
    }
    if (r == E_ALG) {
      say(T_MAC_ALG);
      sayOid(macUnknownOid, macUnknownOidLen);
      return E_CMP_PROTECTION;
    }
    if (r < 0) {
      say(T_BAD_MAC);
      sayInt(r);
      return E_CMP_PROTECTION;
    }
    macProtected = true;
    return 0;
  }
  macProtected = false;
  // signature (RFC 9483 3.5, verify.ts): the signer validates to TRUSTED only: caPubs of this
  // response never vouch for the response itself
  setCertSets(RSP_EXTRA, rspExtraCount, 1, 0, false);
  const pp = protectedPart();
  return verifySigned(
    RSP_EXTRA,
    rspExtraCount,
    rspProtAlg,
    rspProtAlgLen,
    pp,
    <i32>(rspBody + rspBodyLen - pp),
    rspProt,
    rspProtLen,
    rspSenderKid,
    rspSenderKidLen,
    certPtr,
    certLen,
  );
}

// A CertRepMessage saying waiting carries no certificate (RFC 9483 4.1.1, 4.4): 0 or the code
// to refuse it with.
export function checkWaiting(): i32 {
  return certPtr != 0 ? refused(E_CMP_STATUS, T_WAITING_WITH_CERT) : 0;
}

// The certificate of a CertRepMessage that grants it (RFC 9483 4.1.1), as checkResponse answers:
// < 0 refused when absent or malformed (E_CMP_NO_CERT, E_CMP_PARSE); > 0 FAILED with E_ALG when
// no certHash can be given for it (RFC 9480 2.10), or E_CMP_STORE when the results are full.
// Otherwise 0: its certHash is made, and it is rejected in certConf (setPending) unless its path
// validates to a trust anchor (RFC 5280 6.1; incorrectData, as OpenSSL) and it carries the
// requested key (badCertTemplate); accepted, it and its path are results.
export function checkCertificate(): i32 {
  if (certPtr == 0) return refused(E_CMP_NO_CERT, T_NO_CERT);
  const cert = certPtr;
  if (certInfo(cert, certLen) != 0) return refused(E_CMP_PARSE, T_CERT_MALFORMED);
  // the tag aside (full module): a REQIN template's publicKey is [6] IMPLICIT SubjectPublicKeyInfo
  const t: i32 = LEAN ? 0 : 1;
  const sameKey = ciSpkiLen == reqSpkiLen && bytesEqual(ciSpki + t, reqSpki + t, reqSpkiLen - t);
  const ha = certHashAlg();
  if (ha < 0) {
    // a certificate we cannot confirm: say so rather than send a wrong certHash
    derInit(ciSigAlg, ciSigAlgLen);
    derEnter(TAG_SEQUENCE);
    derRead(TAG_OID);
    say(T_CERT_HASH_ALG);
    sayOid(derPtr, derLen);
    return -E_ALG;
  }
  setCertHash(hashOnce(ha, cert, certLen, CERT_HASH), certHashExplicit ? ha : 0);
  // RFC 5280 6.1 path validation to TRUSTED, or to the caPubs alone when a MAC-protected response
  // carries them and the option says so (RFC 9483 4.1.1); extraCerts, UNTRUSTED and other
  // caPubs are only untrusted intermediates
  setCertSets(RSP_EXTRA, rspExtraCount, 0, CA_PUB_PENDING, macProtected && option(OPT_CAPUBS_TRUSTED));
  const v = validateNew(cert, certLen);
  if (v < 0) {
    say(T_CERT_UNTRUSTED);
    sayInt(v);
    setPending(v, FAIL_INCORRECT_DATA);
  } else if (!sameKey) {
    say(T_WRONG_KEY);
    setPending(E_CMP_WRONG_KEY, FAIL_BAD_CERT_TEMPLATE);
  } else {
    if (!resAdd(RESULT_CERT, cert, certLen)) return -E_CMP_STORE;
    for (let d = 0; d < pathLength; d++) {
      if (!resAdd(RESULT_CHAIN, pathCert(d), pathCertLen(d))) return -E_CMP_STORE;
    }
  }
  return 0;
}
