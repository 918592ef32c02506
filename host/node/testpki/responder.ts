// The CMP server side (RA + CA in one): every check on a received PKIMessage, transaction
// state, and building and protecting the response (RFC 9810 5, RFC 9483 3-4).
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate, GeneralName } from "@peculiar/asn1-x509";
import { randomBytes, X509Certificate as NodeX509, createHash } from "node:crypto";
import {
  bodyType,
  CertifiedKeyPair,
  CertOrEncCert,
  CertRepMessage,
  CertResponse,
  CMPCertificates,
  ErrorMsgContent,
  InfoTypeAndValue,
  InfoTypeAndValues,
  PKIBody,
  PKIBodyType,
  PKIBodyTypes,
  PKIFailureInfo,
  PKIFailureInfoBits,
  PKIFreeText,
  PKIStatus,
  PKIStatusInfo,
  PollRep,
  PollRepContent,
  RevRepContent,
} from "./asn1.js";
import { Behaviour, InjectedStatus } from "./config.js";
import { approveCertReqMsg, approveP10cr, Approved } from "./enroll.js";
import { CmpFailure, fail } from "./failure.js";
import { answerGenm } from "./genm.js";
import { Hierarchy } from "./hierarchy.js";
import { protectionAlgorithm, signData } from "./keys.js";
import * as oids from "./oids.js";
import { freshMacDer, isMacAlgorithm, parseCert, protectedPart, tlv, u8, validatePath, verifyMacDer, verifySignature } from "./protection.js";
import * as x509 from "./x509.js";
import type { IssuedCert } from "./ca.js";
import { algId, children, readTlv, Request, type AlgId } from "./reader.js";
import { derViolation, headerIds } from "./strict.js";

/** The hash a signature algorithm names for certHash (RFC 9810 5.3.18): SHA-2 of ECDSA/RSA (SHA-256
 *  for SHA-1 forms), SHA-512 for Ed25519 and SHAKE256 (64 octets) for Ed448 (RFC 9481 3.3);
 *  undefined when it names none (ML-DSA: certConf needs hashAlg). */
export function certHashName(sigAlg: string): string | undefined {
  const byOid: Record<string, string> = {
    [oids.ecdsa_with_SHA256]: "sha256",
    [oids.ecdsa_with_SHA384]: "sha384",
    [oids.ecdsa_with_SHA512]: "sha512",
    [oids.sha256WithRSAEncryption]: "sha256",
    [oids.sha384WithRSAEncryption]: "sha384",
    [oids.sha512WithRSAEncryption]: "sha512",
    [oids.sha1WithRSAEncryption]: "sha256",
    "1.2.840.10045.4.1": "sha256",
    "1.3.101.112": "sha512",
    "1.3.101.113": "shake256",
  };
  return byOid[sigAlg];
}

// a copy into its own ArrayBuffer (a Buffer may be a view into a shared pool)
const ab = (b: Uint8Array): ArrayBuffer => new Uint8Array(b).buffer as ArrayBuffer;
const hex = (b: ArrayBuffer | Uint8Array | undefined) => (b ? Buffer.from(u8(b)).toString("hex") : "");
const TRANSACTION_LIFETIME_MS = 10 * 60_000;

type RepType = "ip" | "cp" | "kup";
const REP: Partial<Record<PKIBodyType, RepType>> = { ir: "ip", cr: "cp", p10cr: "cp", kur: "kup" };

/** How a request was protected, once verified. */
interface Auth {
  kind: "mac" | "signature" | "none";
  macAlg?: AlgId;
  signer?: NodeX509;
}

/** The CA certificates every request needs, parsed once (node:crypto and ASN.1 views). */
interface Parsed {
  root: NodeX509;
  manufacturerRoot: NodeX509;
  issuingCa: NodeX509;
  manufacturerCa: NodeX509;
  /** DER of the issuing CA's subject (rr: certDetails.issuer) */
  issuingCaName: Buffer;
  rootCert: Certificate;
}

/** An open transaction (RFC 9810 5.1.1 transactionID), until pkiConf or a final error. */
interface Transaction {
  repType: RepType;
  certReqId: number;
  cert: IssuedCert;
  caPubs: boolean;
  implicitConfirm: boolean;
  /** our last senderNonce: the client's next recipNonce must equal it */
  lastNonce: Buffer;
  pollsLeft: number;
  confirmed: boolean;
  expires: number;
}

export interface RequestRecord {
  type: PKIBodyType | "garbage";
  answer: PKIBodyType;
  failInfo?: PKIFailureInfo;
  text?: string;
}

export interface ResponderSecrets {
  ref: string;
  secret: string;
}

export class Responder {
  readonly transactions = new Map<string, Transaction>();
  readonly issued = new Map<string, IssuedCert>();
  readonly log: RequestRecord[] = [];
  private readonly logged = new WeakSet<Request>();
  private readonly ca: Parsed;
  /** DER of the parts of every response header that are the same each time (RFC 9810 5.1.1) */
  private readonly der: { sender: Uint8Array; signatureAlg: Uint8Array; signerKid?: Uint8Array; rootCert: Uint8Array };

  constructor(
    readonly h: Hierarchy,
    readonly behaviour: Behaviour,
    readonly secrets: ResponderSecrets,
  ) {
    const signerName = AsnConvert.parse(h.cmpSigner.der, Certificate).tbsCertificate.subject;
    const sig = protectionAlgorithm(h.cmpSigner.key.type);
    const ski = h.cmpSigner.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    this.der = {
      sender: u8(AsnConvert.serialize(new GeneralName({ directoryName: signerName }))),
      signatureAlg: u8(
        AsnConvert.serialize(new AlgorithmIdentifier({ algorithm: sig.oid, parameters: sig.oid.startsWith("1.2.840.113549") ? null : undefined })),
      ),
      signerKid: ski ? Buffer.from(ski.keyId, "hex") : undefined,
      rootCert: h.root.cred.der,
    };
    const node = (c: { der: Uint8Array }) => new NodeX509(Buffer.from(c.der));
    this.ca = {
      root: node(h.root.cred),
      manufacturerRoot: node(h.manufacturerRoot.cred),
      issuingCa: node(h.issuingCa.cred),
      manufacturerCa: node(h.manufacturerCa.cred),
      issuingCaName: Buffer.from(u8(AsnConvert.serialize(AsnConvert.parse(h.issuingCa.cred.der, Certificate).tbsCertificate.subject))),
      rootCert: AsnConvert.parse(h.root.cred.der, Certificate),
    };
  }

  /** One request in, one response out; never throws. */
  async handle(der: Uint8Array): Promise<Uint8Array> {
    let req: Request;
    // strict DER first (strict.ts); the error copies transactionID and senderNonce where it can
    // read them, so that the client sees this answer and not a transactionID mismatch
    const violation = derViolation(der);
    try {
      if (violation) throw new Error(violation);
      req = new Request(der);
      req.sender(); // echoed as the answer's recipient: a GeneralName
      req.checkRecipient();
      // the body is read now, so that one that does not parse is badDataFormat like the rest;
      // template fields, regInfo and poposkInput that the reader does not read: the schema's check
      if (req.type === "certConf") req.certStatuses();
      else if (req.type !== "ir" && req.type !== "cr" && req.type !== "kur") bodyType(req.body);
      else if (req.certReqs().some((m) => m.template.unusual || m.regInfo || (m.popo && "signature" in m.popo && m.popo.signature.poposkInput)))
        bodyType(req.body);
    } catch (e) {
      const text = violation ?? `request is not a PKIMessage: ${(e as Error).message}`.slice(0, 200);
      this.log.push({ type: "garbage", answer: "error", failInfo: PKIFailureInfo.badDataFormat, text });
      return this.errorResponse(undefined, { kind: "none" }, PKIFailureInfo.badDataFormat, text, undefined, undefined, headerIds(der));
    }
    const type = req.type;
    let auth: Auth = { kind: "none" };
    try {
      this.expire();
      this.checkHeader(req, type);
      auth = this.verifyProtection(req, type);
      const inj = this.behaviour.errorMessage;
      if (inj) return this.errorResponse(req, auth, inj.failInfo?.[0] ?? PKIFailureInfo.systemUnavail, inj.statusString ?? "injected error", inj);
      const { body, generalInfo } = await this.dispatch(req, type, auth);
      // requests answered concurrently may log meanwhile: only what dispatch did for this one counts
      if (!this.logged.delete(req)) this.log.push({ type, answer: body instanceof Uint8Array ? PKIBodyTypes[body[0] & 0x1f] : bodyType(body) });
      return this.respond(req, auth, body, generalInfo);
    } catch (e) {
      const f = e instanceof CmpFailure ? e : new CmpFailure(PKIFailureInfo.systemFailure, `internal error: ${(e as Error).message}`);
      return this.errorResponse(req, auth, f.failInfo, f.message, undefined, type);
    }
  }

  /** Log a request's outcome from inside dispatch (handle then logs nothing more for it). */
  private record(req: Request, r: RequestRecord): void {
    this.log.push(r);
    this.logged.add(req);
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, t] of this.transactions) if (t.expires < now) this.transactions.delete(id);
  }

  /** RFC 9810 5.1.1, RFC 9483 3.1: header fields every request must have. */
  private checkHeader(req: Request, type: PKIBodyType): void {
    const hdr = req.header;
    if (hdr.pvno !== 2 && hdr.pvno !== 3) fail(PKIFailureInfo.unsupportedVersion, `pvno ${hdr.pvno} not supported`);
    if (!hdr.transactionID || hdr.transactionID.length < 1) fail(PKIFailureInfo.badRequest, "transactionID missing");
    if (!hdr.senderNonce || hdr.senderNonce.length < 16) fail(PKIFailureInfo.badSenderNonce, "senderNonce missing or shorter than 128 bits");
    const tx = this.transactions.get(hex(hdr.transactionID));
    const first = ["ir", "cr", "kur", "p10cr", "rr", "genm"].includes(type);
    if (first && tx) fail(PKIFailureInfo.transactionIdInUse, "transactionID is in use by an open transaction");
    if (!first && (type === "certConf" || type === "pollReq")) {
      if (!tx) fail(PKIFailureInfo.badRequest, `${type} for no open transaction`);
      if (!hdr.recipNonce || !tx.lastNonce.equals(hdr.recipNonce)) {
        this.transactions.delete(hex(hdr.transactionID));
        fail(PKIFailureInfo.badRecipientNonce, "recipNonce does not match our last senderNonce");
      }
    }
  }

  /** RFC 9810 5.1.3, RFC 9483 3.2: MAC by senderKID = reference, or signature by extraCerts[0]. */
  private verifyProtection(req: Request, type: PKIBodyType): Auth {
    const alg = req.header.protectionAlg;
    if (!alg || !req.protection) {
      if (this.behaviour.acceptUnprotected) return { kind: "none" };
      return fail(PKIFailureInfo.badMessageCheck, "request is not protected");
    }
    if (isMacAlgorithm(alg.algorithm)) {
      const kid = req.header.senderKID ? Buffer.from(req.header.senderKID).toString("utf8") : undefined;
      if (kid !== this.secrets.ref) fail(PKIFailureInfo.badMessageCheck, "senderKID is not a known reference");
      if (this.behaviour.macSenderIsRef) {
        const cn = req
          .sender()
          .directoryName?.flat()
          .find((a) => a.type === "2.5.4.3")
          ?.value.toString();
        if (cn !== kid) fail(PKIFailureInfo.badMessageCheck, `sender CN "${cn ?? ""}" is not the senderKID "${kid}"`);
      }
      verifyMacDer(alg, req.protection, req.headerRaw, req.bodyRaw, Buffer.from(this.secrets.secret, "utf8"));
      return { kind: "mac", macAlg: alg };
    }
    const certs = req.extraCerts.map(parseCert);
    if (certs.length === 0) fail(PKIFailureInfo.badMessageCheck, "signature protection without the signer certificate in extraCerts");
    const signer = certs[0];
    const data = protectedPart(req.headerRaw, req.bodyRaw);
    if (!verifySignature(alg.algorithm, signer.publicKey, data, req.protection)) fail(PKIFailureInfo.badMessageCheck, "protection signature does not verify");
    // RFC 9483 4.1.1: ir with an IDevID chains to the manufacturer; operational certs to our root
    const { root, manufacturerRoot, issuingCa, manufacturerCa } = this.ca;
    const anchors = ["cr", "kur", "rr"].includes(type) ? [root] : [root, manufacturerRoot];
    validatePath(signer, [...certs.slice(1), issuingCa, manufacturerCa], anchors);
    if (signer.checkIssued(issuingCa) && this.h.issuingCa.isRevoked(signer.serialNumber)) fail(PKIFailureInfo.certRevoked, "the signer certificate is revoked");
    return { kind: "signature", signer };
  }

  private async dispatch(req: Request, type: PKIBodyType, auth: Auth): Promise<Answer> {
    switch (type) {
      case "ir":
      case "cr":
      case "kur":
      case "p10cr":
        return this.enroll(req, type, auth);
      case "certConf":
        return { body: this.certConf(req) };
      case "pollReq":
        return this.pollReq(req);
      case "rr":
        return { body: this.revoke(req, auth) };
      case "genm":
        return { body: new PKIBody({ genp: await answerGenm(this.h, req.body.genm!) }) };
      case "error": {
        // RFC 9810 5.3.21: the client gives up; close its transaction and confirm
        this.transactions.delete(hex(req.header.transactionID));
        return { body: PKICONF };
      }
      default:
        return fail(PKIFailureInfo.badRequest, `${type} is not supported by this server`);
    }
  }

  private statusInfo(status: PKIStatus, failInfo?: PKIFailureInfo[], text?: string): PKIStatusInfo {
    return new PKIStatusInfo({
      status,
      statusString: text ? new PKIFreeText([text]) : undefined,
      failInfo: failInfo?.length ? PKIFailureInfoBits.of(...failInfo) : undefined,
    });
  }

  private certRep(repType: RepType, certReqId: number, status: PKIStatusInfo, cert?: IssuedCert, caPubs = false): PKIBody | Uint8Array {
    if (cert && status.status === PKIStatus.accepted && !status.statusString && !status.failInfo) {
      // RFC 9810 5.3.4 CertRepMessage { caPubs [1] OPTIONAL, response { CertResponse { certReqId,
      // status, certifiedKeyPair { certOrEncCert: certificate [0] } } } }, the certificates as issued
      const response = tlv(0x30, tlv(0x30, intDer(certReqId), ACCEPTED, tlv(0x30, tlv(0xa0, cert.der))));
      // RFC 9483 4.1.1: caPubs may carry the trust anchor when the request was MAC-protected
      const rep = caPubs ? tlv(0x30, tlv(0xa1, tlv(0x30, this.der.rootCert)), response) : tlv(0x30, response);
      return u8(tlv(0xa0 | PKIBodyTypes.indexOf(repType), rep));
    }
    const rep = new CertRepMessage({
      response: [
        new CertResponse({
          certReqId,
          status,
          certifiedKeyPair: cert
            ? new CertifiedKeyPair({ certOrEncCert: new CertOrEncCert({ certificate: AsnConvert.parse(cert.der, Certificate) }) })
            : undefined,
        }),
      ],
    });
    // RFC 9483 4.1.1: caPubs may carry the trust anchor when the request was MAC-protected
    if (cert && caPubs) rep.caPubs = new CMPCertificates([this.ca.rootCert]);
    return new PKIBody({ [repType]: rep });
  }

  /** ir/cr/kur/p10cr -> ip/cp/kup (RFC 9483 4.1), or waiting with polling (RFC 9483 4.4). */
  private async enroll(req: Request, type: "ir" | "cr" | "kur" | "p10cr", auth: Auth): Promise<Answer> {
    const repType = REP[type]!;
    const b = this.behaviour;
    const certReqId0 = type === "p10cr" ? b.p10crCertReqId : (req.certReqs()[0]?.certReqId ?? 0);
    if (b.reject) {
      const r: InjectedStatus = b.reject;
      const st = this.statusInfo(r.status ?? PKIStatus.rejection, r.failInfo ?? [PKIFailureInfo.badRequest], r.statusString);
      this.record(req, { type, answer: repType, failInfo: r.failInfo?.[0], text: r.statusString });
      return { body: this.certRep(repType, certReqId0, st) };
    }
    let approved: Approved;
    try {
      if (type === "kur" && auth.kind !== "signature") fail(PKIFailureInfo.notAuthorized, "kur must be signature-protected (RFC 9483 4.1.3)");
      approved =
        type === "p10cr"
          ? await approveP10cr(req.body.p10crRaw!, b.p10crCertReqId)
          : approveCertReqMsg(req.certReqs(), type, { acceptRaVerified: b.acceptRaVerified, oldCert: type === "kur" ? auth.signer : undefined });
      if (type === "kur") {
        if (!auth.signer!.checkIssued(this.ca.issuingCa)) fail(PKIFailureInfo.badCertId, "kur for a certificate this CA did not issue");
      }
    } catch (e) {
      if (!(e instanceof CmpFailure)) throw e;
      this.record(req, { type, answer: repType, failInfo: e.failInfo, text: e.message });
      return { body: this.certRep(repType, certReqId0, this.statusInfo(PKIStatus.rejection, [e.failInfo], e.message)) };
    }
    const now = Date.now();
    let notAfter = new Date(now + b.validitySeconds * 1000);
    if (approved.notAfter && approved.notAfter < notAfter && approved.notAfter.getTime() > now) notAfter = approved.notAfter;
    const cert = await this.h.issuingCa.issueEndEntity({
      subject: approved.subject,
      publicKey: approved.publicKey,
      notAfter,
      extensions: approved.extensions,
    });
    this.issued.set(cert.serialNumber.toLowerCase().replace(/^(00)+/, ""), cert);
    const wantsImplicit = req.header.generalInfo.includes(oids.id_it_implicitConfirm);
    const tx: Transaction = {
      repType,
      certReqId: approved.certReqId,
      cert,
      caPubs: type === "ir" && auth.kind === "mac",
      implicitConfirm: wantsImplicit && b.grantImplicitConfirm,
      lastNonce: Buffer.alloc(0),
      pollsLeft: b.pollCount,
      confirmed: false,
      expires: now + TRANSACTION_LIFETIME_MS,
    };
    return this.deliver(req, tx);
  }

  /** The answer carrying the certificate, or "waiting" while polls are left. */
  private deliver(req: Request, tx: Transaction): Answer {
    const id = hex(req.header.transactionID);
    if (tx.pollsLeft > 0) {
      this.transactions.set(id, tx);
      // RFC 9483 4.4: the first answer has status waiting and no certificate
      return { body: this.certRep(tx.repType, tx.certReqId, this.statusInfo(PKIStatus.waiting)) };
    }
    const body = this.certRep(tx.repType, tx.certReqId, this.statusInfo(PKIStatus.accepted), tx.cert, tx.caPubs);
    if (tx.implicitConfirm) {
      // RFC 9810 5.1.1.1: implicitConfirm granted: echoed in generalInfo, no certConf expected
      this.transactions.delete(id);
      return {
        body,
        generalInfo: [
          new InfoTypeAndValue({ infoType: oids.id_it_implicitConfirm, infoValue: ab(Uint8Array.of(0x05, 0x00)) /* ImplicitConfirmValue ::= NULL */ }),
        ],
      };
    }
    this.transactions.set(id, tx);
    return { body };
  }

  /** RFC 9810 5.3.22: pollReq -> pollRep (checkAfter) until the certificate is ready. */
  private pollReq(req: Request): Answer {
    const tx = this.transactions.get(hex(req.header.transactionID))!;
    if (tx.pollsLeft <= 0) fail(PKIFailureInfo.badRequest, "pollReq but the answer was already given");
    const ids = req.body.pollReq!.map((p) => p.certReqId);
    if (!ids.includes(tx.certReqId)) fail(PKIFailureInfo.badRequest, "pollReq for an unknown certReqId");
    tx.pollsLeft--;
    if (tx.pollsLeft > 0)
      return { body: new PKIBody({ pollRep: new PollRepContent([new PollRep({ certReqId: tx.certReqId, checkAfter: this.behaviour.checkAfter })]) }) };
    return this.deliver(req, tx);
  }

  /** RFC 9810 5.3.18: certConf -> pkiConf; a rejected certificate is revoked. */
  private certConf(req: Request): Uint8Array {
    const id = hex(req.header.transactionID);
    const tx = this.transactions.get(id)!;
    if (tx.pollsLeft > 0) fail(PKIFailureInfo.badRequest, "certConf before the certificate was delivered");
    this.transactions.delete(id);
    const statuses = req.certStatuses();
    if (statuses.length === 0) {
      // RFC 9810 5.3.18: an empty certConf rejects all certificates
      this.h.issuingCa.revoke(tx.cert.serialNumber, 4 /* superseded */);
      return PKICONF;
    }
    const st = statuses[0];
    if (st.certReqId !== tx.certReqId) fail(PKIFailureInfo.badRequest, "certConf for an unknown certReqId");
    // RFC 9810 5.3.18, RFC 9480 2.10: certHash with the hash the certificate's signature algorithm
    // names, else with hashAlg, which needs pvno 3 (cmp2021)
    const sigAlg = certSignatureAlgorithm(tx.cert.der);
    let hashName = certHashName(sigAlg);
    if (st.hashAlg) {
      if (req.header.pvno !== 3) fail(PKIFailureInfo.unsupportedVersion, "certConf with hashAlg needs pvno 3 (cmp2021)");
      hashName = ({ [oids.id_sha256]: "sha256", [oids.id_sha384]: "sha384", [oids.id_sha512]: "sha512" } as Record<string, string>)[st.hashAlg];
      if (!hashName) fail(PKIFailureInfo.badAlg, `certConf hashAlg ${st.hashAlg} not supported`);
    } else if (!hashName) {
      fail(PKIFailureInfo.badCertId, `certConf without hashAlg for a certificate signed with ${sigAlg}, which names no hash`);
    }
    const expected =
      hashName === "shake256" ? createHash("shake256", { outputLength: 64 }).update(tx.cert.der).digest() : createHash(hashName!).update(tx.cert.der).digest();
    if (!expected.equals(st.certHash)) fail(PKIFailureInfo.badCertId, "certHash does not match the issued certificate");
    if (st.status === PKIStatus.rejection) this.h.issuingCa.revoke(tx.cert.serialNumber, 4);
    else tx.confirmed = true;
    return PKICONF;
  }

  /** RFC 9483 4.2: rr -> rp; records the revocation for the CRL. */
  private revoke(req: Request, auth: Auth): PKIBody {
    const rp = (st: PKIStatusInfo) => new PKIBody({ rp: new RevRepContent({ status: [st] }) });
    try {
      if (this.behaviour.reject) {
        const r = this.behaviour.reject;
        return rp(this.statusInfo(r.status ?? PKIStatus.rejection, r.failInfo ?? [PKIFailureInfo.badRequest], r.statusString));
      }
      const details = req.body.rr!;
      if (details.length !== 1) fail(PKIFailureInfo.badRequest, "rr must carry exactly one RevDetails (RFC 9483 4.2)");
      const t = details[0].certDetails;
      if (!t.issuer || !t.serialNumber) fail(PKIFailureInfo.badCertId, "certDetails needs issuer and serialNumber");
      if (!this.ca.issuingCaName.equals(Buffer.from(u8(AsnConvert.serialize(t.issuer))))) fail(PKIFailureInfo.badCertId, "certificate not issued by this CA");
      const serial = hex(t.serialNumber).replace(/^(00)+/, "");
      const cert = this.issued.get(serial);
      if (!cert) fail(PKIFailureInfo.badCertId, "no certificate with this serialNumber was issued here");
      if (auth.kind === "signature" && auth.signer!.serialNumber.toLowerCase().replace(/^(00)+/, "") !== serial)
        fail(PKIFailureInfo.notAuthorized, "rr must be signed with the certificate to be revoked");
      if (this.h.issuingCa.isRevoked(serial)) fail(PKIFailureInfo.certRevoked, "certificate already revoked");
      // RFC 5280 5.3.1: reasonCode from crlEntryDetails
      let reason = 0;
      const rc = details[0].crlEntryDetails?.find((e) => e.extnID === "2.5.29.21");
      if (rc) {
        const v = u8(rc.extnValue.buffer);
        if (v.length === 3 && v[0] === 0x0a && v[1] === 1) reason = v[2];
      }
      this.h.issuingCa.revoke(serial, reason);
      return rp(this.statusInfo(PKIStatus.accepted));
    } catch (e) {
      if (!(e instanceof CmpFailure)) throw e;
      this.record(req, { type: "rr", answer: "rp", failInfo: e.failInfo, text: e.message });
      return rp(this.statusInfo(PKIStatus.rejection, [e.failInfo], e.message));
    }
  }

  private errorResponse(
    req: Request | undefined,
    auth: Auth,
    failInfo: PKIFailureInfo,
    text: string,
    inj?: InjectedStatus & { errorCode?: number },
    type?: PKIBodyType,
    ids?: { transactionID?: Uint8Array; senderNonce?: Uint8Array },
  ): Uint8Array {
    // RFC 9810 5.3.21; an error ends the transaction
    if (req?.header.transactionID && failInfo !== PKIFailureInfo.transactionIdInUse) this.transactions.delete(hex(req.header.transactionID));
    if (type) this.log.push({ type, answer: "error", failInfo, text });
    const body = new PKIBody({
      error: new ErrorMsgContent({
        pKIStatusInfo: this.statusInfo(inj?.status ?? PKIStatus.rejection, inj?.failInfo ?? [failInfo], text),
        errorCode: inj?.errorCode,
      }),
    });
    // the MAC could not be verified: never answer with a MAC then
    const safeAuth: Auth = failInfo === PKIFailureInfo.badMessageCheck ? { kind: "none" } : auth;
    return this.respond(req, safeAuth, body, undefined, ids);
  }

  /** RFC 9810 5.1.1 header for a response, then protection (RFC 9810 5.1.3) and extraCerts. */
  private respond(
    req: Request | undefined,
    auth: Auth,
    body: PKIBody | Uint8Array,
    generalInfo?: InfoTypeAndValue[],
    ids?: { transactionID?: Uint8Array; senderNonce?: Uint8Array },
  ): Uint8Array {
    const b = this.behaviour;
    const senderNonce = randomBytes(16);
    const useMac = b.responseProtection === "mac" && auth.kind === "mac" && auth.macAlg;
    const secret = Buffer.from(this.secrets.secret, "utf8");
    const fresh = useMac && !b.unprotected ? freshMacDer(auth.macAlg!, secret) : undefined;
    const octets = (tag: number, v: Uint8Array | undefined) => (v ? [tlv(tag, tlv(0x04, v))] : []);
    const kid = b.unprotected ? undefined : useMac ? Buffer.from(this.secrets.ref, "utf8") : this.der.signerKid;
    // PKIHeader (RFC 9810 5.1.1; EXPLICIT TAGS), DER built field by field
    const headerDer = tlv(
      0x30,
      intDer(req?.header.pvno === 3 ? 3 : 2),
      this.der.sender,
      req?.header.senderDer ?? EMPTY_DIRECTORY_NAME,
      tlv(0xa0, generalizedTime(new Date())),
      ...(b.unprotected ? [] : [tlv(0xa1, fresh ? fresh.der : this.der.signatureAlg)]),
      ...octets(0xa2, kid),
      ...octets(0xa4, b.wrongTransactionID ? randomBytes(16) : (req?.header.transactionID ?? ids?.transactionID)),
      ...octets(0xa5, senderNonce),
      ...octets(0xa6, b.wrongRecipNonce ? randomBytes(16) : (req?.header.senderNonce ?? ids?.senderNonce)),
      ...(generalInfo?.length ? [tlv(0xa8, u8(AsnConvert.serialize(new InfoTypeAndValues(generalInfo))))] : []),
    );
    // remember our nonce for the next message of the transaction (recipNonce check)
    const tx = req?.header.transactionID ? this.transactions.get(hex(req.header.transactionID)) : undefined;
    if (tx) tx.lastNonce = senderNonce;

    const bodyDer = body instanceof Uint8Array ? body : u8(AsnConvert.serialize(body));
    // RFC 9810 5.1 (explicit tags): PKIMessage ::= SEQUENCE { header, body, [0] protection BIT STRING,
    // [1] extraCerts }, assembled from the DER of its parts; the certificates are copied as they are
    let protection: Uint8Array[] = [];
    if (!b.unprotected) {
      const data = protectedPart(headerDer, bodyDer);
      const value = fresh ? fresh.mac(data) : signData(this.h.cmpSigner.key, data);
      protection = [tlv(0xa0, tlv(0x03, Uint8Array.of(0), value))];
    }
    // RFC 9483 3.3: the CMP signer certificate first, then its chain (the issuing CA)
    const extra = useMac || b.unprotected ? [this.h.issuingCa.cred.der] : [this.h.cmpSigner.der, this.h.issuingCa.cred.der];
    return u8(tlv(0x30, headerDer, bodyDer, ...protection, tlv(0xa1, tlv(0x30, ...extra))));
  }
}

/** What dispatch answers: the body (DER when built by hand) and generalInfo for the header. */
type Answer = { body: PKIBody | Uint8Array; generalInfo?: InfoTypeAndValue[] };

/** pkiconf [19] PKIConfirmContent ::= NULL (RFC 9810 5.3.17) */
const PKICONF = Uint8Array.of(0xb3, 0x02, 0x05, 0x00);
/** PKIStatusInfo { status accepted } */
const ACCEPTED = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00);
/** GeneralName directoryName [4] of an empty Name: the recipient when none is known */
const EMPTY_DIRECTORY_NAME = Uint8Array.of(0xa4, 0x02, 0x30, 0x00);

/** INTEGER, minimal two's complement (X.690 8.3.2), for safe integers. */
function intDer(n: number): Uint8Array {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (!((v === 0n && (out[0] & 0x80) === 0) || (v === -1n && (out[0] & 0x80) !== 0)));
  return tlv(0x02, Uint8Array.from(out));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ, whole seconds (X.690 11.7). */
function generalizedTime(d: Date): Uint8Array {
  return tlv(0x18, Buffer.from(d.toISOString().slice(0, 19).replace(/[-T:]/g, "") + "Z", "latin1"));
}

/** The signatureAlgorithm OID of a certificate's DER (RFC 5280 4.1.1.2). */
function certSignatureAlgorithm(der: Uint8Array): string {
  return algId(der, children(der, readTlv(der, 0))[1], "signatureAlgorithm").algorithm;
}
