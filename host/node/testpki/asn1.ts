// CMP (RFC 9810, formerly RFC 4210) and CRMF (RFC 4211) structures as @peculiar/asn1-schema
// classes. There is no maintained npm package for CMP; asn1-schema is what @peculiar/x509 is
// built on, so certificates, names and extensions come from @peculiar/asn1-x509 unchanged.
//
// Tagging: the CMP module (RFC 9810 Appendix F) is EXPLICIT TAGS, the CRMF module (RFC 4211
// Appendix B) is IMPLICIT TAGS — except that an implicit tag on a CHOICE (Name, Time,
// ProofOfPossession, POPOPrivKey) is explicit by X.680 31.2.7.
import "reflect-metadata";
import { AsnArray, AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, BitString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  Certificate,
  CertificateList,
  DistributionPointName,
  Extensions,
  GeneralName,
  GeneralNames,
  Name,
  SubjectPublicKeyInfo,
  Time,
} from "@peculiar/asn1-x509";
import { CertificationRequest } from "@peculiar/asn1-csr";

// ---------------------------------------------------------------- CRMF (RFC 4211)

/** RFC 4211 5: AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY } */
export class AttributeTypeAndValue {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) type = "";
  @AsnProp({ type: AsnPropTypes.Any }) value: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<AttributeTypeAndValue> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 4211 6: Controls ::= SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: AttributeTypeAndValue })
export class Controls extends AsnArray<AttributeTypeAndValue> {
  constructor(items?: AttributeTypeAndValue[]) {
    super(items);
    Object.setPrototypeOf(this, Controls.prototype);
  }
}

/** RFC 4211 5: OptionalValidity ::= SEQUENCE { notBefore [0] Time OPTIONAL, notAfter [1] Time OPTIONAL } */
export class OptionalValidity {
  @AsnProp({ type: Time, context: 0, optional: true }) notBefore?: Time;
  @AsnProp({ type: Time, context: 1, optional: true }) notAfter?: Time;
  constructor(params: Partial<OptionalValidity> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 4211 5: CertTemplate */
export class CertTemplate {
  @AsnProp({ type: AsnPropTypes.Integer, context: 0, implicit: true, optional: true }) version?: number;
  @AsnProp({ type: AsnPropTypes.Integer, context: 1, implicit: true, optional: true, converter: AsnIntegerArrayBufferConverter })
  serialNumber?: ArrayBuffer;
  @AsnProp({ type: AlgorithmIdentifier, context: 2, implicit: true, optional: true }) signingAlg?: AlgorithmIdentifier;
  @AsnProp({ type: Name, context: 3, optional: true }) issuer?: Name; // CHOICE: explicit
  @AsnProp({ type: OptionalValidity, context: 4, implicit: true, optional: true }) validity?: OptionalValidity;
  @AsnProp({ type: Name, context: 5, optional: true }) subject?: Name; // CHOICE: explicit
  @AsnProp({ type: SubjectPublicKeyInfo, context: 6, implicit: true, optional: true }) publicKey?: SubjectPublicKeyInfo;
  @AsnProp({ type: AsnPropTypes.BitString, context: 7, implicit: true, optional: true }) issuerUID?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.BitString, context: 8, implicit: true, optional: true }) subjectUID?: ArrayBuffer;
  @AsnProp({ type: Extensions, context: 9, implicit: true, optional: true }) extensions?: Extensions;
  constructor(params: Partial<CertTemplate> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 4211 4: CertRequest ::= SEQUENCE { certReqId INTEGER, certTemplate CertTemplate, controls Controls OPTIONAL } */
export class CertRequest {
  @AsnProp({ type: AsnPropTypes.Integer }) certReqId = 0;
  @AsnProp({ type: CertTemplate }) certTemplate = new CertTemplate();
  @AsnProp({ type: Controls, optional: true }) controls?: Controls;
  constructor(params: Partial<CertRequest> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 4211 4.1: PKMACValue ::= SEQUENCE { algId AlgorithmIdentifier, value BIT STRING } */
export class PKMACValue {
  @AsnProp({ type: AlgorithmIdentifier }) algId = new AlgorithmIdentifier();
  @AsnProp({ type: AsnPropTypes.BitString }) value: ArrayBuffer = new ArrayBuffer(0);
}

/** RFC 4211 4.1: POPOSigningKeyInput ::= SEQUENCE { authInfo CHOICE { sender [0] GeneralName, publicKeyMAC PKMACValue }, publicKey } */
@AsnType({ type: AsnTypeTypes.Choice })
export class POPOSigningKeyInputAuthInfo {
  @AsnProp({ type: GeneralName, context: 0 }) sender?: GeneralName; // CHOICE: explicit
  @AsnProp({ type: PKMACValue }) publicKeyMAC?: PKMACValue;
}
export class POPOSigningKeyInput {
  @AsnProp({ type: POPOSigningKeyInputAuthInfo }) authInfo = new POPOSigningKeyInputAuthInfo();
  @AsnProp({ type: SubjectPublicKeyInfo }) publicKey = new SubjectPublicKeyInfo();
}

/** RFC 4211 4.1: POPOSigningKey ::= SEQUENCE { poposkInput [0] POPOSigningKeyInput OPTIONAL, algorithmIdentifier, signature BIT STRING } */
export class POPOSigningKey {
  @AsnProp({ type: POPOSigningKeyInput, context: 0, implicit: true, optional: true }) poposkInput?: POPOSigningKeyInput;
  @AsnProp({ type: AlgorithmIdentifier }) algorithmIdentifier = new AlgorithmIdentifier();
  @AsnProp({ type: AsnPropTypes.BitString }) signature: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<POPOSigningKey> = {}) {
    Object.assign(this, params);
  }
}

/**
 * RFC 4211 4: ProofOfPossession ::= CHOICE { raVerified [0] NULL, signature [1] POPOSigningKey,
 * keyEncipherment [2] POPOPrivKey, keyAgreement [3] POPOPrivKey }. POPOPrivKey is a CHOICE, so
 * [2]/[3] are explicit; the test PKI keeps their content opaque (it supports signature POP only).
 */
@AsnType({ type: AsnTypeTypes.Choice })
export class ProofOfPossession {
  @AsnProp({ type: AsnPropTypes.Null, context: 0, implicit: true }) raVerified?: null;
  @AsnProp({ type: POPOSigningKey, context: 1, implicit: true }) signature?: POPOSigningKey;
  @AsnProp({ type: AsnPropTypes.Any, context: 2 }) keyEncipherment?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 3 }) keyAgreement?: ArrayBuffer;
  constructor(params: Partial<ProofOfPossession> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 4211 3: CertReqMsg ::= SEQUENCE { certReq CertRequest, popo ProofOfPossession OPTIONAL, regInfo OPTIONAL } */
export class CertReqMsg {
  @AsnProp({ type: CertRequest, raw: true }) certReq = new CertRequest();
  certReqRaw?: ArrayBuffer; // the DER that signature POP covers (RFC 4211 4.1)
  @AsnProp({ type: ProofOfPossession, optional: true }) popo?: ProofOfPossession;
  @AsnProp({ type: AttributeTypeAndValue, repeated: "sequence", optional: true }) regInfo?: AttributeTypeAndValue[];
  constructor(params: Partial<CertReqMsg> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 4211 3: CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: CertReqMsg })
export class CertReqMessages extends AsnArray<CertReqMsg> {
  constructor(items?: CertReqMsg[]) {
    super(items);
    Object.setPrototypeOf(this, CertReqMessages.prototype);
  }
}

/** RFC 4211 6.5: CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER } (OldCertId) */
export class CertId {
  @AsnProp({ type: GeneralName }) issuer = new GeneralName();
  @AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter }) serialNumber: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<CertId> = {}) {
    Object.assign(this, params);
  }
}

// ---------------------------------------------------------------- CMP (RFC 9810)

/** RFC 9810 5.1.1: PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: AsnPropTypes.Utf8String })
export class PKIFreeText extends AsnArray<string> {
  constructor(items?: string[]) {
    super(items);
    Object.setPrototypeOf(this, PKIFreeText.prototype);
  }
}

/** RFC 9810 5.2.3: PKIStatus */
export enum PKIStatus {
  accepted = 0,
  grantedWithMods = 1,
  rejection = 2,
  waiting = 3,
  revocationWarning = 4,
  revocationNotification = 5,
  keyUpdateWarning = 6,
}

/** RFC 9810 5.2.3: PKIFailureInfo bit numbers */
export enum PKIFailureInfo {
  badAlg = 0,
  badMessageCheck = 1,
  badRequest = 2,
  badTime = 3,
  badCertId = 4,
  badDataFormat = 5,
  wrongAuthority = 6,
  incorrectData = 7,
  missingTimeStamp = 8,
  badPOP = 9,
  certRevoked = 10,
  certConfirmed = 11,
  wrongIntegrity = 12,
  badRecipientNonce = 13,
  timeNotAvailable = 14,
  unacceptedPolicy = 15,
  unacceptedExtension = 16,
  addInfoNotAvailable = 17,
  badSenderNonce = 18,
  badCertTemplate = 19,
  signerNotTrusted = 20,
  transactionIdInUse = 21,
  unsupportedVersion = 22,
  notAuthorized = 23,
  systemUnavail = 24,
  systemFailure = 25,
  duplicateCertReq = 26,
}

/** PKIFailureInfo ::= BIT STRING, named bits, DER drops trailing zero bits (X.690 11.2.2). */
export class PKIFailureInfoBits extends BitString {
  static of(...bits: PKIFailureInfo[]): PKIFailureInfoBits {
    const b = new PKIFailureInfoBits();
    b.fromNumber(bits.reduce((n, bit) => n | (1 << bit), 0));
    return b;
  }
  has(bit: PKIFailureInfo): boolean {
    return (this.toNumber() & (1 << bit)) !== 0;
  }
}

/** RFC 9810 5.2.3: PKIStatusInfo ::= SEQUENCE { status, statusString PKIFreeText OPTIONAL, failInfo OPTIONAL } */
export class PKIStatusInfo {
  @AsnProp({ type: AsnPropTypes.Integer }) status: number = PKIStatus.accepted;
  @AsnProp({ type: PKIFreeText, optional: true }) statusString?: PKIFreeText;
  @AsnProp({ type: PKIFailureInfoBits, optional: true }) failInfo?: PKIFailureInfoBits;
  constructor(params: Partial<PKIStatusInfo> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.19: InfoTypeAndValue ::= SEQUENCE { infoType OID, infoValue ANY OPTIONAL } */
export class InfoTypeAndValue {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) infoType = "";
  @AsnProp({ type: AsnPropTypes.Any, optional: true }) infoValue?: ArrayBuffer;
  constructor(params: Partial<InfoTypeAndValue> = {}) {
    Object.assign(this, params);
  }
}

/** GenMsgContent / GenRepContent / generalInfo: SEQUENCE OF InfoTypeAndValue (RFC 9810 5.3.19, 5.3.20) */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: InfoTypeAndValue })
export class InfoTypeAndValues extends AsnArray<InfoTypeAndValue> {
  constructor(items?: InfoTypeAndValue[]) {
    super(items);
    Object.setPrototypeOf(this, InfoTypeAndValues.prototype);
  }
}

/** SEQUENCE OF CMPCertificate (CMPCertificate ::= CHOICE { x509v3PKCert Certificate }) */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: Certificate })
export class CMPCertificates extends AsnArray<Certificate> {
  constructor(items?: Certificate[]) {
    super(items);
    Object.setPrototypeOf(this, CMPCertificates.prototype);
  }
}

/** RFC 9810 5.1.1: PKIHeader */
export class PKIHeader {
  @AsnProp({ type: AsnPropTypes.Integer }) pvno = 2;
  @AsnProp({ type: GeneralName }) sender = new GeneralName();
  @AsnProp({ type: GeneralName }) recipient = new GeneralName();
  @AsnProp({ type: AsnPropTypes.GeneralizedTime, context: 0, optional: true }) messageTime?: Date;
  @AsnProp({ type: AlgorithmIdentifier, context: 1, optional: true }) protectionAlg?: AlgorithmIdentifier;
  @AsnProp({ type: AsnPropTypes.OctetString, context: 2, optional: true }) senderKID?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.OctetString, context: 3, optional: true }) recipKID?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.OctetString, context: 4, optional: true }) transactionID?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.OctetString, context: 5, optional: true }) senderNonce?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.OctetString, context: 6, optional: true }) recipNonce?: ArrayBuffer;
  @AsnProp({ type: PKIFreeText, context: 7, optional: true }) freeText?: PKIFreeText;
  @AsnProp({ type: InfoTypeAndValues, context: 8, optional: true }) generalInfo?: InfoTypeAndValues;
  constructor(params: Partial<PKIHeader> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.4: CertOrEncCert ::= CHOICE { certificate [0] CMPCertificate, encryptedCert [1] EncryptedKey } */
@AsnType({ type: AsnTypeTypes.Choice })
export class CertOrEncCert {
  @AsnProp({ type: Certificate, context: 0 }) certificate?: Certificate;
  @AsnProp({ type: AsnPropTypes.Any, context: 1 }) encryptedCert?: ArrayBuffer;
  constructor(params: Partial<CertOrEncCert> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.4: CertifiedKeyPair */
export class CertifiedKeyPair {
  @AsnProp({ type: CertOrEncCert }) certOrEncCert = new CertOrEncCert();
  @AsnProp({ type: AsnPropTypes.Any, context: 0, optional: true }) privateKey?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 1, optional: true }) publicationInfo?: ArrayBuffer;
  constructor(params: Partial<CertifiedKeyPair> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.4: CertResponse */
export class CertResponse {
  @AsnProp({ type: AsnPropTypes.Integer }) certReqId = 0;
  @AsnProp({ type: PKIStatusInfo }) status = new PKIStatusInfo();
  @AsnProp({ type: CertifiedKeyPair, optional: true }) certifiedKeyPair?: CertifiedKeyPair;
  @AsnProp({ type: AsnPropTypes.OctetString, optional: true }) rspInfo?: ArrayBuffer;
  constructor(params: Partial<CertResponse> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.4: CertRepMessage ::= SEQUENCE { caPubs [1] ... OPTIONAL, response SEQUENCE OF CertResponse } */
export class CertRepMessage {
  @AsnProp({ type: CMPCertificates, context: 1, optional: true }) caPubs?: CMPCertificates;
  @AsnProp({ type: CertResponse, repeated: "sequence" }) response: CertResponse[] = [];
  constructor(params: Partial<CertRepMessage> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.9: RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL } */
export class RevDetails {
  @AsnProp({ type: CertTemplate }) certDetails = new CertTemplate();
  @AsnProp({ type: Extensions, optional: true }) crlEntryDetails?: Extensions;
}

/** RFC 9810 5.3.9: RevReqContent ::= SEQUENCE OF RevDetails */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: RevDetails })
export class RevReqContent extends AsnArray<RevDetails> {
  constructor(items?: RevDetails[]) {
    super(items);
    Object.setPrototypeOf(this, RevReqContent.prototype);
  }
}

/** SEQUENCE SIZE (1..MAX) OF CertId */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: CertId })
export class CertIds extends AsnArray<CertId> {
  constructor(items?: CertId[]) {
    super(items);
    Object.setPrototypeOf(this, CertIds.prototype);
  }
}

/** SEQUENCE SIZE (1..MAX) OF CertificateList */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: CertificateList })
export class CertificateLists extends AsnArray<CertificateList> {
  constructor(items?: CertificateList[]) {
    super(items);
    Object.setPrototypeOf(this, CertificateLists.prototype);
  }
}

/** RFC 9810 5.3.10: RevRepContent */
export class RevRepContent {
  @AsnProp({ type: PKIStatusInfo, repeated: "sequence" }) status: PKIStatusInfo[] = [];
  @AsnProp({ type: CertIds, context: 0, optional: true }) revCerts?: CertIds;
  @AsnProp({ type: CertificateLists, context: 1, optional: true }) crls?: CertificateLists;
  constructor(params: Partial<RevRepContent> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.18: CertStatus ::= SEQUENCE { certHash, certReqId, statusInfo OPTIONAL, hashAlg [0] OPTIONAL } */
export class CertStatus {
  @AsnProp({ type: AsnPropTypes.OctetString }) certHash: ArrayBuffer = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Integer }) certReqId = 0;
  @AsnProp({ type: PKIStatusInfo, optional: true }) statusInfo?: PKIStatusInfo;
  @AsnProp({ type: AlgorithmIdentifier, context: 0, optional: true }) hashAlg?: AlgorithmIdentifier;
  constructor(params: Partial<CertStatus> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.18: CertConfirmContent ::= SEQUENCE OF CertStatus */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: CertStatus })
export class CertConfirmContent extends AsnArray<CertStatus> {
  constructor(items?: CertStatus[]) {
    super(items);
    Object.setPrototypeOf(this, CertConfirmContent.prototype);
  }
}

/** RFC 9810 5.3.21: ErrorMsgContent */
export class ErrorMsgContent {
  @AsnProp({ type: PKIStatusInfo }) pKIStatusInfo = new PKIStatusInfo();
  @AsnProp({ type: AsnPropTypes.Integer, optional: true }) errorCode?: number;
  @AsnProp({ type: PKIFreeText, optional: true }) errorDetails?: PKIFreeText;
  constructor(params: Partial<ErrorMsgContent> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.22: PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER } */
export class PollReq {
  @AsnProp({ type: AsnPropTypes.Integer }) certReqId = 0;
  constructor(params: Partial<PollReq> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.22: PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId, checkAfter, reason OPTIONAL } */
export class PollRep {
  @AsnProp({ type: AsnPropTypes.Integer }) certReqId = 0;
  @AsnProp({ type: AsnPropTypes.Integer }) checkAfter = 0;
  @AsnProp({ type: PKIFreeText, optional: true }) reason?: PKIFreeText;
  constructor(params: Partial<PollRep> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.22: PollReqContent */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: PollReq })
export class PollReqContent extends AsnArray<PollReq> {
  constructor(items?: PollReq[]) {
    super(items);
    Object.setPrototypeOf(this, PollReqContent.prototype);
  }
}

/** RFC 9810 5.3.22: PollRepContent */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: PollRep })
export class PollRepContent extends AsnArray<PollRep> {
  constructor(items?: PollRep[]) {
    super(items);
    Object.setPrototypeOf(this, PollRepContent.prototype);
  }
}

/** RFC 9810 5.1.2: PKIBody (EXPLICIT tags; bodies the test PKI does not handle stay opaque) */
@AsnType({ type: AsnTypeTypes.Choice })
export class PKIBody {
  @AsnProp({ type: CertReqMessages, context: 0 }) ir?: CertReqMessages;
  @AsnProp({ type: CertRepMessage, context: 1 }) ip?: CertRepMessage;
  @AsnProp({ type: CertReqMessages, context: 2 }) cr?: CertReqMessages;
  @AsnProp({ type: CertRepMessage, context: 3 }) cp?: CertRepMessage;
  @AsnProp({ type: CertificationRequest, context: 4, raw: true }) p10cr?: CertificationRequest;
  p10crRaw?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 5 }) popdecc?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 6 }) popdecr?: ArrayBuffer;
  @AsnProp({ type: CertReqMessages, context: 7 }) kur?: CertReqMessages;
  @AsnProp({ type: CertRepMessage, context: 8 }) kup?: CertRepMessage;
  @AsnProp({ type: AsnPropTypes.Any, context: 9 }) krr?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 10 }) krp?: ArrayBuffer;
  @AsnProp({ type: RevReqContent, context: 11 }) rr?: RevReqContent;
  @AsnProp({ type: RevRepContent, context: 12 }) rp?: RevRepContent;
  @AsnProp({ type: AsnPropTypes.Any, context: 13 }) ccr?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 14 }) ccp?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 15 }) ckuann?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 16 }) cann?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 17 }) rann?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Any, context: 18 }) crlann?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.Null, context: 19 }) pkiconf?: null;
  @AsnProp({ type: AsnPropTypes.Any, context: 20 }) nested?: ArrayBuffer;
  @AsnProp({ type: InfoTypeAndValues, context: 21 }) genm?: InfoTypeAndValues;
  @AsnProp({ type: InfoTypeAndValues, context: 22 }) genp?: InfoTypeAndValues;
  @AsnProp({ type: ErrorMsgContent, context: 23 }) error?: ErrorMsgContent;
  @AsnProp({ type: CertConfirmContent, context: 24 }) certConf?: CertConfirmContent;
  @AsnProp({ type: PollReqContent, context: 25 }) pollReq?: PollReqContent;
  @AsnProp({ type: PollRepContent, context: 26 }) pollRep?: PollRepContent;
  constructor(params: Partial<PKIBody> = {}) {
    Object.assign(this, params);
  }
}

/** The names of the PKIBody alternatives, in tag order (RFC 9810 5.1.2). */
export const PKIBodyTypes = [
  "ir",
  "ip",
  "cr",
  "cp",
  "p10cr",
  "popdecc",
  "popdecr",
  "kur",
  "kup",
  "krr",
  "krp",
  "rr",
  "rp",
  "ccr",
  "ccp",
  "ckuann",
  "cann",
  "rann",
  "crlann",
  "pkiconf",
  "nested",
  "genm",
  "genp",
  "error",
  "certConf",
  "pollReq",
  "pollRep",
] as const;
export type PKIBodyType = (typeof PKIBodyTypes)[number];

export function bodyType(body: PKIBody): PKIBodyType {
  const t = PKIBodyTypes.find((k) => body[k] !== undefined);
  if (!t) throw new Error("empty PKIBody");
  return t;
}

/**
 * RFC 9810 5.1: PKIMessage ::= SEQUENCE { header, body, protection [0] PKIProtection OPTIONAL,
 * extraCerts [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }. headerRaw/bodyRaw keep the
 * received DER, over which protection is computed (ProtectedPart, RFC 9810 5.1.3).
 */
export class PKIMessage {
  @AsnProp({ type: PKIHeader, raw: true }) header = new PKIHeader();
  headerRaw?: ArrayBuffer;
  @AsnProp({ type: PKIBody, raw: true }) body = new PKIBody();
  bodyRaw?: ArrayBuffer;
  @AsnProp({ type: AsnPropTypes.BitString, context: 0, optional: true }) protection?: ArrayBuffer;
  @AsnProp({ type: CMPCertificates, context: 1, optional: true }) extraCerts?: CMPCertificates;
  constructor(params: Partial<PKIMessage> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.1.3: ProtectedPart ::= SEQUENCE { header PKIHeader, body PKIBody } */
export class ProtectedPart {
  @AsnProp({ type: PKIHeader }) header = new PKIHeader();
  @AsnProp({ type: PKIBody }) body = new PKIBody();
  constructor(params: Partial<ProtectedPart> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.1.3.1: PBMParameter */
export class PBMParameter {
  @AsnProp({ type: AsnPropTypes.OctetString }) salt: ArrayBuffer = new ArrayBuffer(0);
  @AsnProp({ type: AlgorithmIdentifier }) owf = new AlgorithmIdentifier();
  @AsnProp({ type: AsnPropTypes.Integer }) iterationCount = 0;
  @AsnProp({ type: AlgorithmIdentifier }) mac = new AlgorithmIdentifier();
  constructor(params: Partial<PBMParameter> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 8018 A.2: PBKDF2-params (salt as specified OCTET STRING only) */
export class PBKDF2Params {
  @AsnProp({ type: AsnPropTypes.OctetString }) salt: ArrayBuffer = new ArrayBuffer(0);
  @AsnProp({ type: AsnPropTypes.Integer }) iterationCount = 0;
  @AsnProp({ type: AsnPropTypes.Integer, optional: true }) keyLength?: number;
  @AsnProp({ type: AlgorithmIdentifier, optional: true }) prf?: AlgorithmIdentifier;
  constructor(params: Partial<PBKDF2Params> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 8018 A.5: PBMAC1-params ::= SEQUENCE { keyDerivationFunc, messageAuthScheme } */
export class PBMAC1Params {
  @AsnProp({ type: AlgorithmIdentifier }) keyDerivationFunc = new AlgorithmIdentifier();
  @AsnProp({ type: AlgorithmIdentifier }) messageAuthScheme = new AlgorithmIdentifier();
  constructor(params: Partial<PBMAC1Params> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.19.16: RootCaKeyUpdateContent */
export class RootCaKeyUpdateContent {
  @AsnProp({ type: Certificate }) newWithNew = new Certificate();
  @AsnProp({ type: Certificate, context: 0, optional: true }) newWithOld?: Certificate;
  @AsnProp({ type: Certificate, context: 1, optional: true }) oldWithNew?: Certificate;
  constructor(params: Partial<RootCaKeyUpdateContent> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.19.16: CertReqTemplateContent ::= SEQUENCE { certTemplate, keySpec Controls OPTIONAL } */
export class CertReqTemplateContent {
  @AsnProp({ type: CertTemplate }) certTemplate = new CertTemplate();
  @AsnProp({ type: Controls, optional: true }) keySpec?: Controls;
  constructor(params: Partial<CertReqTemplateContent> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 9810 5.3.19.18: CRLSource ::= CHOICE { dpn [0] DistributionPointName, issuer [1] GeneralNames } */
@AsnType({ type: AsnTypeTypes.Choice })
export class CRLSource {
  @AsnProp({ type: DistributionPointName, context: 0 }) dpn?: DistributionPointName;
  @AsnProp({ type: GeneralNames, context: 1 }) issuer?: GeneralNames;
}

/** RFC 9810 5.3.19.18: CRLStatus ::= SEQUENCE { source CRLSource, thisUpdate Time OPTIONAL } */
export class CRLStatus {
  @AsnProp({ type: CRLSource }) source = new CRLSource();
  @AsnProp({ type: Time, optional: true }) thisUpdate?: Time;
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: CRLStatus })
export class CRLStatusListValue extends AsnArray<CRLStatus> {
  constructor(items?: CRLStatus[]) {
    super(items);
    Object.setPrototypeOf(this, CRLStatusListValue.prototype);
  }
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: CertificateList })
export class CRLsValue extends AsnArray<CertificateList> {
  constructor(items?: CertificateList[]) {
    super(items);
    Object.setPrototypeOf(this, CRLsValue.prototype);
  }
}
