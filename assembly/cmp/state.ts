// State of the one transaction of the module, shared by its files: identifiers, nonces, keys,
// buffers, and what the next certConf or error message says. Protocol constants: constants.ts.

// What the transaction waits for (transaction.ts moves it; checks.ts reads it).
export const S_IDLE = 0, S_CERT_REP = 1, S_POLL_REP = 2, S_PKICONF = 3, S_RP = 4, S_GENP = 5, S_WAIT = 6, S_DONE = 7,
  S_FAILED = 8;
export let state = S_IDLE;
@inline export function setState(s: i32): void { state = s; }

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

// What the next certConf says (RFC 9810 5.3.18): the certificate's hash and its hashAlg (0 when
// the signature algorithm names the hash); a rejection of the certificate by us: FAILED with
// pendingError after pkiConf, pendingFailBit its PKIFailureInfo bit in certConf (RFC 9483 4.1.1).
export const CERT_HASH = memory.data(64, 4);
export let certHashLen: i32 = 0;
export let certHashId: i32 = 0;
@inline export function setCertHash(n: i32, id: i32): void { certHashLen = n; certHashId = id; }
export let pendingError: i32 = 0;
export let pendingFailBit: i32 = 0;
@inline export function setPending(code: i32, bit: i32): void { pendingError = code; pendingFailBit = bit; }

// PKIFailureInfo bit number of the error message refusing a response (RFC 9483 3.6.4).
export let refusal: i32 = 0;
@inline export function setRefusal(bit: i32): void { refusal = bit; }
