// What a test PKI can be told to do; most of it can be changed while it runs (TestPki.configure).
import type { PKIFailureInfo, PKIStatus } from "./asn1.js";
import type { KeyType } from "./keys.js";

export interface InjectedStatus {
  status?: PKIStatus;
  failInfo?: PKIFailureInfo[];
  statusString?: string;
}

export interface Behaviour {
  /** RFC 9483 4.1.1: grant implicitConfirm when the request asks for it */
  grantImplicitConfirm: boolean;
  /** validity of issued certificates in seconds (a template's earlier notAfter wins) */
  validitySeconds: number;
  /** how responses are protected: "signature" always, or "mac" when the request was MAC-protected */
  responseProtection: "signature" | "mac";
  /** RFC 9810 5.3.22 / RFC 9483 4.4: answer enrollments with "waiting", then this many pollReps */
  pollCount: number;
  /** checkAfter in pollRep, seconds */
  checkAfter: number;
  /** accept raVerified POP (RFC 4211 4); off by default as for an end entity it is never valid */
  acceptRaVerified: boolean;
  /** certReqId in the answer to p10cr: -1 per RFC 9810 5.3.4 / RFC 9483 4.1.4; OpenSSL 3.0 expects 0 */
  p10crCertReqId: number;
  /** accept requests without protection */
  acceptUnprotected: boolean;
  /** answer ir/cr/kur/p10cr/rr with this status instead of issuing (negative client tests) */
  reject?: InjectedStatus;
  /** answer every request with an error message (RFC 9810 5.3.21) */
  errorMessage?: InjectedStatus & { errorCode?: number };
  /** send responses without protection */
  unprotected: boolean;
  /** send a transactionID other than the request's */
  wrongTransactionID: boolean;
  /** send a recipNonce other than the request's senderNonce */
  wrongRecipNonce: boolean;
  /** as a strict CA: a MAC-protected request's sender must be a directoryName whose CN is the
   *  senderKID (RFC 9483 3.1: sender names the entity the shared secret belongs to) */
  macSenderIsRef: boolean;
}

export interface TestPkiOptions extends Partial<Behaviour> {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one */
  port?: number;
  /** where to write PEM files and testpki.json (TestPki.writeFiles) */
  dir?: string;
  /** senderKID reference and shared secret for MAC protection (RFC 9483 4.1.5) */
  ref?: string;
  secret?: string;
  /** key type of the CMP signer (default P-256) */
  signerKeyType?: KeyType;
  /** key type of the issuing CA, which signs the issued certificates (default P-256; the roots are P-256) */
  caKeyType?: KeyType;
  /** prepare a new root and answer id-it-rootCaCert with RootCaKeyUpdateContent (RFC 9810 4.4) */
  rootRollover?: boolean;
  /** HTTP limits */
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
}

export const defaultBehaviour: Behaviour = {
  grantImplicitConfirm: true,
  validitySeconds: 365 * 86_400,
  responseProtection: "signature",
  pollCount: 0,
  checkAfter: 1,
  acceptRaVerified: false,
  acceptUnprotected: false,
  p10crCertReqId: -1,
  unprotected: false,
  wrongTransactionID: false,
  wrongRecipNonce: false,
  macSenderIsRef: false,
};
