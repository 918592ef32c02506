// The CMP server side (RA + CA in one): every check on a received PKIMessage, transaction
// state, and building and protecting the response (RFC 9810 5, RFC 9483 3-4).
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate, GeneralName, Name } from "@peculiar/asn1-x509";
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
  PKIFailureInfo,
  PKIFailureInfoBits,
  PKIFreeText,
  PKIHeader,
  PKIMessage,
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
import {
  computeMac,
  freshMacAlgorithm,
  isMacAlgorithm,
  protectedPart,
  tlv,
  u8,
  validatePath,
  verifyMac,
  verifySignature,
} from "./protection.js";
import * as x509 from "./x509.js";
import { derViolation, headerIds } from "./strict.js";

/** The hash a signature algorithm names for certHash (RFC 9810 5.3.18): SHA-2 of ECDSA/RSA (SHA-256
 *  for SHA-1 forms), SHA-512 for Ed25519 and SHAKE256 (64 octets) for Ed448 (RFC 9481 3.3);
 *  undefined when it names none (ML-DSA: certConf needs hashAlg). */
export function certHashName(sigAlg: string): string | undefined {
  const byOid: Record<string, string> = {
    [oids.ecdsa_with_SHA256]: "sha256", [oids.ecdsa_with_SHA384]: "sha384", [oids.ecdsa_with_SHA512]: "sha512",
    [oids.sha256WithRSAEncryption]: "sha256", [oids.sha384WithRSAEncryption]: "sha384", [oids.sha512WithRSAEncryption]: "sha512",
    [oids.sha1WithRSAEncryption]: "sha256", "1.2.840.10045.4.1": "sha256",
    "1.3.101.112": "sha512", "1.3.101.113": "shake256",
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
  macAlg?: AlgorithmIdentifier;
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
  cert: x509.X509Certificate;
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
  readonly issued = new Map<string, x509.X509Certificate>();
  readonly log: RequestRecord[] = [];
  private readonly logged = new WeakSet<PKIMessage>();
  private readonly signerName: Name;
  private readonly ca: Parsed;

  constructor(
    readonly h: Hierarchy,
    readonly behaviour: Behaviour,
    readonly secrets: ResponderSecrets,
  ) {
    this.signerName = AsnConvert.parse(h.cmpSigner.der, Certificate).tbsCertificate.subject;
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
    let req: PKIMessage;
    // strict DER first (strict.ts); the error copies transactionID and senderNonce where it can
    // read them, so that the client sees this answer and not a transactionID mismatch
    const violation = derViolation(der);
    try {
      if (violation) throw new Error(violation);
      req = AsnConvert.parse(der, PKIMessage, { berOptions: { maxDepth: 40, maxNodes: 5000 } });
      bodyType(req.body);
    } catch (e) {
      const text = violation ?? `request is not a PKIMessage: ${(e as Error).message}`.slice(0, 200);
      this.log.push({ type: "garbage", answer: "error", failInfo: PKIFailureInfo.badDataFormat, text });
      return this.errorResponse(undefined, { kind: "none" }, PKIFailureInfo.badDataFormat, text, undefined, undefined, headerIds(der));
    }
    const type = bodyType(req.body);
    let auth: Auth = { kind: "none" };
    try {
      this.expire();
      this.checkHeader(req, type);
      auth = this.verifyProtection(req, type);
      const inj = this.behaviour.errorMessage;
      if (inj) return this.errorResponse(req, auth, inj.failInfo?.[0] ?? PKIFailureInfo.systemUnavail, inj.statusString ?? "injected error", inj);
      const { body, generalInfo } = await this.dispatch(req, type, auth);
      // requests answered concurrently may log meanwhile: only what dispatch did for this one counts
      if (!this.logged.delete(req)) this.log.push({ type, answer: bodyType(body) });
      return this.respond(req, auth, body, generalInfo);
    } catch (e) {
      const f = e instanceof CmpFailure ? e : new CmpFailure(PKIFailureInfo.systemFailure, `internal error: ${(e as Error).message}`);
      return this.errorResponse(req, auth, f.failInfo, f.message, undefined, type);
    }
  }

  /** Log a request's outcome from inside dispatch (handle then logs nothing more for it). */
  private record(req: PKIMessage, r: RequestRecord): void {
    this.log.push(r);
    this.logged.add(req);
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, t] of this.transactions) if (t.expires < now) this.transactions.delete(id);
  }

  /** RFC 9810 5.1.1, RFC 9483 3.1: header fields every request must have. */
  private checkHeader(req: PKIMessage, type: PKIBodyType): void {
    const hdr = req.header;
    if (hdr.pvno !== 2 && hdr.pvno !== 3) fail(PKIFailureInfo.unsupportedVersion, `pvno ${hdr.pvno} not supported`);
    if (!hdr.transactionID || hdr.transactionID.byteLength < 1) fail(PKIFailureInfo.badRequest, "transactionID missing");
    if (!hdr.senderNonce || hdr.senderNonce.byteLength < 16) fail(PKIFailureInfo.badSenderNonce, "senderNonce missing or shorter than 128 bits");
    const tx = this.transactions.get(hex(hdr.transactionID));
    const first = ["ir", "cr", "kur", "p10cr", "rr", "genm"].includes(type);
    if (first && tx) fail(PKIFailureInfo.transactionIdInUse, "transactionID is in use by an open transaction");
    if (!first && (type === "certConf" || type === "pollReq")) {
      if (!tx) fail(PKIFailureInfo.badRequest, `${type} for no open transaction`);
      if (!hdr.recipNonce || !tx.lastNonce.equals(Buffer.from(u8(hdr.recipNonce)))) {
        this.transactions.delete(hex(hdr.transactionID));
        fail(PKIFailureInfo.badRecipientNonce, "recipNonce does not match our last senderNonce");
      }
    }
  }

  /** RFC 9810 5.1.3, RFC 9483 3.2: MAC by senderKID = reference, or signature by extraCerts[0]. */
  private verifyProtection(req: PKIMessage, type: PKIBodyType): Auth {
    const alg = req.header.protectionAlg;
    if (!alg || !req.protection) {
      if (this.behaviour.acceptUnprotected) return { kind: "none" };
      return fail(PKIFailureInfo.badMessageCheck, "request is not protected");
    }
    if (isMacAlgorithm(alg.algorithm)) {
      const kid = req.header.senderKID ? Buffer.from(u8(req.header.senderKID)).toString("utf8") : undefined;
      if (kid !== this.secrets.ref) fail(PKIFailureInfo.badMessageCheck, "senderKID is not a known reference");
      if (this.behaviour.macSenderIsRef) {
        const cn = req.header.sender.directoryName?.flat().find((a) => a.type === "2.5.4.3")?.value.toString();
        if (cn !== kid) fail(PKIFailureInfo.badMessageCheck, `sender CN "${cn ?? ""}" is not the senderKID "${kid}"`);
      }
      verifyMac(req, Buffer.from(this.secrets.secret, "utf8"));
      return { kind: "mac", macAlg: alg };
    }
    const certs = (req.extraCerts ?? []).map((c) => new NodeX509(Buffer.from(AsnConvert.serialize(c))));
    if (certs.length === 0) fail(PKIFailureInfo.badMessageCheck, "signature protection without the signer certificate in extraCerts");
    const signer = certs[0];
    const data = protectedPart(u8(req.headerRaw!), u8(req.bodyRaw!));
    if (!verifySignature(alg.algorithm, signer.publicKey, data, u8(req.protection)))
      fail(PKIFailureInfo.badMessageCheck, "protection signature does not verify");
    // RFC 9483 4.1.1: ir with an IDevID chains to the manufacturer; operational certs to our root
    const { root, manufacturerRoot, issuingCa, manufacturerCa } = this.ca;
    const anchors = ["cr", "kur", "rr"].includes(type) ? [root] : [root, manufacturerRoot];
    validatePath(signer, [...certs.slice(1), issuingCa, manufacturerCa], anchors);
    if (signer.checkIssued(issuingCa) && this.h.issuingCa.isRevoked(signer.serialNumber))
      fail(PKIFailureInfo.certRevoked, "the signer certificate is revoked");
    return { kind: "signature", signer };
  }

  private async dispatch(req: PKIMessage, type: PKIBodyType, auth: Auth): Promise<{ body: PKIBody; generalInfo?: InfoTypeAndValue[] }> {
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
        return { body: new PKIBody({ pkiconf: null }) };
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

  private certRep(repType: RepType, certReqId: number, status: PKIStatusInfo, cert?: x509.X509Certificate, caPubs = false): PKIBody {
    const rep = new CertRepMessage({
      response: [
        new CertResponse({
          certReqId,
          status,
          certifiedKeyPair: cert
            ? new CertifiedKeyPair({ certOrEncCert: new CertOrEncCert({ certificate: AsnConvert.parse(cert.rawData, Certificate) }) })
            : undefined,
        }),
      ],
    });
    // RFC 9483 4.1.1: caPubs may carry the trust anchor when the request was MAC-protected
    if (cert && caPubs) rep.caPubs = new CMPCertificates([this.ca.rootCert]);
    return new PKIBody({ [repType]: rep });
  }

  /** ir/cr/kur/p10cr -> ip/cp/kup (RFC 9483 4.1), or waiting with polling (RFC 9483 4.4). */
  private async enroll(req: PKIMessage, type: "ir" | "cr" | "kur" | "p10cr", auth: Auth) {
    const repType = REP[type]!;
    const b = this.behaviour;
    const certReqId0 = type === "p10cr" ? b.p10crCertReqId : (req.body[type]![0]?.certReq.certReqId ?? 0);
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
          : approveCertReqMsg(req.body[type]!, type, { acceptRaVerified: b.acceptRaVerified, oldCert: type === "kur" ? auth.signer : undefined });
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
    const cert = await this.h.issuingCa.issue({
      subject: approved.subject,
      publicKey: approved.publicKey,
      notAfter,
      extensions: approved.extensions,
    });
    this.issued.set(cert.serialNumber.toLowerCase().replace(/^(00)+/, ""), cert);
    const wantsImplicit = !!req.header.generalInfo?.some((i) => i.infoType === oids.id_it_implicitConfirm);
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
  private deliver(req: PKIMessage, tx: Transaction): { body: PKIBody; generalInfo?: InfoTypeAndValue[] } {
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
      return { body, generalInfo: [new InfoTypeAndValue({ infoType: oids.id_it_implicitConfirm, infoValue: ab(Uint8Array.of(0x05, 0x00)) /* ImplicitConfirmValue ::= NULL */ })] };
    }
    this.transactions.set(id, tx);
    return { body };
  }

  /** RFC 9810 5.3.22: pollReq -> pollRep (checkAfter) until the certificate is ready. */
  private pollReq(req: PKIMessage): { body: PKIBody; generalInfo?: InfoTypeAndValue[] } {
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
  private certConf(req: PKIMessage): PKIBody {
    const id = hex(req.header.transactionID);
    const tx = this.transactions.get(id)!;
    if (tx.pollsLeft > 0) fail(PKIFailureInfo.badRequest, "certConf before the certificate was delivered");
    this.transactions.delete(id);
    const statuses = req.body.certConf!;
    if (statuses.length === 0) {
      // RFC 9810 5.3.18: an empty certConf rejects all certificates
      this.h.issuingCa.revoke(tx.cert.serialNumber, 4 /* superseded */);
      return new PKIBody({ pkiconf: null });
    }
    const st = statuses[0];
    if (st.certReqId !== tx.certReqId) fail(PKIFailureInfo.badRequest, "certConf for an unknown certReqId");
    // RFC 9810 5.3.18, RFC 9480 2.10: certHash with the hash the certificate's signature algorithm
    // names, else with hashAlg, which needs pvno 3 (cmp2021)
    const sigAlg = AsnConvert.parse(tx.cert.rawData, Certificate).signatureAlgorithm.algorithm;
    let hashName = certHashName(sigAlg);
    if (st.hashAlg) {
      if (req.header.pvno !== 3) fail(PKIFailureInfo.unsupportedVersion, "certConf with hashAlg needs pvno 3 (cmp2021)");
      hashName = ({ [oids.id_sha256]: "sha256", [oids.id_sha384]: "sha384", [oids.id_sha512]: "sha512" } as Record<string, string>)[st.hashAlg.algorithm];
      if (!hashName) fail(PKIFailureInfo.badAlg, `certConf hashAlg ${st.hashAlg.algorithm} not supported`);
    } else if (!hashName) {
      fail(PKIFailureInfo.badCertId, `certConf without hashAlg for a certificate signed with ${sigAlg}, which names no hash`);
    }
    const expected = hashName === "shake256"
      ? createHash("shake256", { outputLength: 64 }).update(new Uint8Array(tx.cert.rawData)).digest()
      : createHash(hashName!).update(new Uint8Array(tx.cert.rawData)).digest();
    if (!expected.equals(Buffer.from(u8(st.certHash)))) fail(PKIFailureInfo.badCertId, "certHash does not match the issued certificate");
    if (st.statusInfo && st.statusInfo.status === PKIStatus.rejection) this.h.issuingCa.revoke(tx.cert.serialNumber, 4);
    else tx.confirmed = true;
    return new PKIBody({ pkiconf: null });
  }

  /** RFC 9483 4.2: rr -> rp; records the revocation for the CRL. */
  private revoke(req: PKIMessage, auth: Auth): PKIBody {
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
    req: PKIMessage | undefined,
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
  private respond(req: PKIMessage | undefined, auth: Auth, body: PKIBody, generalInfo?: InfoTypeAndValue[],
    ids?: { transactionID?: Uint8Array; senderNonce?: Uint8Array }): Uint8Array {
    const b = this.behaviour;
    const senderNonce = randomBytes(16);
    const useMac = b.responseProtection === "mac" && auth.kind === "mac" && auth.macAlg;
    const signer = this.h.cmpSigner;
    const sig = protectionAlgorithm(signer.key.type);
    const header = new PKIHeader({
      pvno: req?.header.pvno === 3 ? 3 : 2,
      sender: new GeneralName({ directoryName: this.signerName }),
      recipient: req?.header.sender ?? new GeneralName({ directoryName: new Name() }),
      messageTime: new Date(Math.floor(Date.now() / 1000) * 1000),
      transactionID: b.wrongTransactionID ? ab(randomBytes(16)) : req?.header.transactionID ?? (ids?.transactionID && ab(ids.transactionID)),
      senderNonce: ab(senderNonce),
      recipNonce: b.wrongRecipNonce ? ab(randomBytes(16)) : req?.header.senderNonce ?? (ids?.senderNonce && ab(ids.senderNonce)),
      generalInfo: generalInfo?.length ? new InfoTypeAndValues(generalInfo) : undefined,
    });
    if (!b.unprotected) {
      if (useMac) {
        header.protectionAlg = freshMacAlgorithm(auth.macAlg!);
        header.senderKID = ab(Buffer.from(this.secrets.ref, "utf8"));
      } else {
        header.protectionAlg = new AlgorithmIdentifier({ algorithm: sig.oid, parameters: sig.oid.startsWith("1.2.840.113549") ? null : undefined });
        const ski = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
        if (ski) header.senderKID = ab(Buffer.from(ski.keyId, "hex"));
      }
    }
    // remember our nonce for the next message of the transaction (recipNonce check)
    const tx = req?.header.transactionID ? this.transactions.get(hex(req.header.transactionID)) : undefined;
    if (tx) tx.lastNonce = senderNonce;

    const headerDer = u8(AsnConvert.serialize(header));
    const bodyDer = u8(AsnConvert.serialize(body));
    // RFC 9810 5.1 (explicit tags): PKIMessage ::= SEQUENCE { header, body, [0] protection BIT STRING,
    // [1] extraCerts }, assembled from the DER of its parts; the certificates are copied as they are
    let protection: Uint8Array[] = [];
    if (!b.unprotected) {
      const data = protectedPart(headerDer, bodyDer);
      const value = useMac ? computeMac(header.protectionAlg!, Buffer.from(this.secrets.secret, "utf8"), data) : signData(signer.key, data);
      protection = [tlv(0xa0, tlv(0x03, Uint8Array.of(0), value))];
    }
    // RFC 9483 3.3: the CMP signer certificate first, then its chain (the issuing CA)
    const extra = useMac || b.unprotected ? [this.h.issuingCa.cred.der] : [signer.der, this.h.issuingCa.cred.der];
    return u8(tlv(0x30, headerDer, bodyDer, ...protection, tlv(0xa1, tlv(0x30, ...extra))));
  }
}
