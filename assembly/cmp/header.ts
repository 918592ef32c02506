// PKIHeader of our requests (RFC 9810 5.1.1, profiled by RFC 9483 3.1), written back to front.
import { E_RANDOM } from "../errors";
import { host_random, host_time } from "../host";
import { derMark, derPutBytes, derPutNull, derPutPrimitive, derPutTime, derPutUint, derWrap } from "../der/writer";
import { TAG_GENERALIZED_TIME, TAG_SEQUENCE, TAG_UTF8_STRING } from "../der/tags";
import { item, itemLen, ITEM_GENINFO, ITEM_PROFILE, ITEM_RECIPIENT, ITEM_REF, ITEM_SENDER, ITEM_SUBJECT, option, OPT_IMPLICIT_CONFIRM } from "./config";
import { LEAN } from "../features";
import { IT_CERT_PROFILE, IT_IMPLICIT_CONFIRM, OID_IT } from "./oids";
import { putOctets, putOid, wrapExplicit } from "./put";
import { PROT_NONE, PROT_SIG } from "./constants";
import { protKind, RECIP_NONCE, recipNonceLen, SENDER_NONCE, TID } from "./state";
import { putProtectionAlg } from "./protection";

// Signer of signature-protected requests (set from CERT): subject, issuer and SKI ranges.
export let signerSubject: usize = 0,
  signerSubjectLen: i32 = 0;
export let signerIssuer: usize = 0,
  signerIssuerLen: i32 = 0;
export let signerSki: usize = 0,
  signerSkiLen: i32 = 0;
export function setSigner(s: usize, sn: i32, i: usize, iN: i32, k: usize, kn: i32): void {
  signerSubject = s;
  signerSubjectLen = sn;
  signerIssuer = i;
  signerIssuerLen = iN;
  signerSki = k;
  signerSkiLen = kn;
}

// pvno of the next request: cmp2000 (2), or cmp2021 (3) where a field needs it (RFC 9810 7).
export let headerPvno: i32 = 2;
export function setHeaderPvno(v: i32): void {
  headerPvno = v;
}

// GeneralName directoryName [4] (EXPLICIT: Name is a CHOICE) of a Name element; NULL-DN when absent.
export function putDirectoryName(name: usize, n: i32): void {
  const m = derMark();
  if (name != 0 && n > 0) derPutBytes(name, n);
  else derWrap(TAG_SEQUENCE, derMark());
  wrapExplicit(4, m);
}

// InfoTypeAndValue { id-it-<it>, value } with the value already written since m.
function wrapItav(it: u8, m: usize): void {
  putOid(OID_IT, 8, it);
  derWrap(TAG_SEQUENCE, m);
}

// Writes the header; firstCertRequest adds implicitConfirm (when asked) and certProfile.
// A fresh senderNonce each time. 0 or an error.
export function putHeader(firstCertRequest: bool): i32 {
  if (host_random(SENDER_NONCE, 16) != 0) return E_RANDOM;
  const m = derMark();
  // generalInfo [8] (RFC 9483 3.1: implicitConfirm, certProfile)
  const profile = item(ITEM_PROFILE),
    profileLen = itemLen;
  const implicit = firstCertRequest && option(OPT_IMPLICIT_CONFIRM);
  const geninfo = !LEAN && item(ITEM_GENINFO) != 0;
  if (implicit || (firstCertRequest && profile != 0) || geninfo) {
    const mg = derMark();
    if (geninfo) {
      // the GENINFO InfoTypeAndValues, last, in every request (RFC 9810 5.1.1)
      let n = 0;
      while (item(ITEM_GENINFO, n) != 0) n++;
      for (let i = n - 1; i >= 0; i--) {
        const g = item(ITEM_GENINFO, i);
        derPutBytes(g, itemLen);
      }
    }
    if (firstCertRequest && profile != 0) {
      const mi = derMark();
      const ms = derMark();
      derPutPrimitive(TAG_UTF8_STRING, profile, profileLen);
      derWrap(TAG_SEQUENCE, ms); // CertProfileValue ::= SEQUENCE SIZE (1..MAX) OF UTF8String
      wrapItav(IT_CERT_PROFILE, mi);
    }
    if (implicit) {
      const mi = derMark();
      derPutNull();
      wrapItav(IT_IMPLICIT_CONFIRM, mi);
    }
    derWrap(TAG_SEQUENCE, mg);
    wrapExplicit(8, mg);
  }
  let mt = derMark();
  if (recipNonceLen > 0) {
    putOctets(RECIP_NONCE, recipNonceLen);
    wrapExplicit(6, mt);
  }
  mt = derMark();
  putOctets(SENDER_NONCE, 16);
  wrapExplicit(5, mt);
  mt = derMark();
  putOctets(TID, 16);
  wrapExplicit(4, mt);
  // senderKID [2]: the reference under MAC, the SKI of the protection certificate otherwise
  const ref = item(ITEM_REF),
    refLen = itemLen;
  mt = derMark();
  if (protKind == PROT_SIG) {
    if (signerSkiLen > 0) {
      putOctets(signerSki, signerSkiLen);
      wrapExplicit(2, mt);
    }
  } else if (ref != 0 && protKind != PROT_NONE) {
    putOctets(ref, refLen);
    wrapExplicit(2, mt);
  }
  if (protKind != PROT_NONE) {
    mt = derMark();
    const r = putProtectionAlg();
    if (r < 0) return r;
    wrapExplicit(1, mt);
  }
  mt = derMark();
  derPutTime(TAG_GENERALIZED_TIME, host_time());
  wrapExplicit(0, mt);
  // recipient: RECIPIENT, else the issuer of CERT, else NULL-DN
  const rcpt = item(ITEM_RECIPIENT);
  if (rcpt != 0) putDirectoryName(rcpt, itemLen);
  else putDirectoryName(signerIssuer, signerIssuerLen);
  // sender: the subject of CERT under signature; SENDER, else SUBJECT, else NULL-DN under MAC
  if (protKind == PROT_SIG) putDirectoryName(signerSubject, signerSubjectLen);
  else {
    let s = item(ITEM_SENDER);
    if (s == 0) s = item(ITEM_SUBJECT);
    putDirectoryName(s, itemLen);
  }
  derPutUint(headerPvno); // pvno cmp2000, 3 only when needed (RFC 9483 3.1)
  derWrap(TAG_SEQUENCE, m);
  return 0;
}
