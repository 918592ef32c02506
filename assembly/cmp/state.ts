// State of the one transaction of the module: identifiers, nonces, keys, buffers.
export const OP_IR: i32 = 1, OP_CR: i32 = 2, OP_KUR: i32 = 3, OP_P10CR: i32 = 4, OP_RR: i32 = 5, OP_GENM: i32 = 6;

// PKIBody CHOICE tags (RFC 9810 5.1.2), EXPLICIT: 0xa0 | type.
export const BODY_IR: i32 = 0, BODY_IP: i32 = 1, BODY_CR: i32 = 2, BODY_CP: i32 = 3, BODY_P10CR: i32 = 4,
  BODY_KUR: i32 = 7, BODY_KUP: i32 = 8, BODY_RR: i32 = 11, BODY_RP: i32 = 12, BODY_PKICONF: i32 = 19,
  BODY_GENM: i32 = 21, BODY_GENP: i32 = 22, BODY_ERROR: i32 = 23, BODY_CERT_CONF: i32 = 24,
  BODY_POLL_REQ: i32 = 25, BODY_POLL_REP: i32 = 26;

// Protection of our requests (and expected of responses).
export const PROT_NONE: i32 = 0, PROT_MAC: i32 = 1, PROT_SIG: i32 = 2;
export let protKind: i32 = 0;
export function setProtKind(k: i32): void { protKind = k; }

export let op: i32 = 0;
export function setOp(o: i32): void { op = o; }

export const TID = memory.data(16, 4);          // transactionID (RFC 9483 3.1: 128 random bits)
export const SENDER_NONCE = memory.data(16, 4); // senderNonce of the last request
export const RECIP_NONCE = memory.data(64, 4);  // senderNonce of the last response: our recipNonce
export let recipNonceLen: i32 = 0;
export function setRecipNonceLen(n: i32): void { recipNonceLen = n; }

// The requested public key as a SubjectPublicKeyInfo element.
export const REQ_SPKI = memory.data(96, 4);
export let reqSpki: usize = 0;
export let reqSpkiLen: i32 = 0;
export function setReqSpki(p: usize, n: i32): void { reqSpki = p; reqSpkiLen = n; }

// Private key of the new certificate (config NEWKEY or the generated result record).
export let newKey: usize = 0;
export function setNewKey(p: usize): void { newKey = p; }

// Request buffer: every request is built here (tx_out).
export const OUT_SIZE: i32 = 4096;
export const OUT = memory.data(OUT_SIZE, 8);
export let outPtr: usize = 0;
export let outLen: i32 = 0;
export function setOut(p: usize, n: i32): void { outPtr = p; outLen = n; }
