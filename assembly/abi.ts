// Every export of the tinycmp module, in one place (imports: host.ts; both in docs/ABI.md).
// All arguments are i32/i64; byte strings are (pointer, length) pairs into linear memory,
// normally inside the I/O buffer. Results: >= 0 success (often a length), < 0 an error code
// from errors.ts.
import "./panic";

// ---- ABI version (docs/ABI.md "Compatibility"); I/O buffer: where hosts place inputs and read outputs ----
export { abi_version, io_ptr, io_reserve, io_size } from "./tx";

// ---- hashes and MACs (assembly/crypto: hash, hmac, pbm, pbkdf2) ----
import { E_ARG, E_ALG } from "./errors";
import { LEAN } from "./features";
import { inMemory } from "./mem";
import { hashSize } from "./crypto/hash";
import { hmacOnce } from "./crypto/hmac";
import { passwordBasedMac } from "./crypto/pbm";
import { pbkdf2Hmac } from "./crypto/pbkdf2";

export function hmac(alg: i32, key: usize, keyLen: i32, data: usize, len: i32, out: usize): i32 {
  if (hashSize(alg) == 0) return E_ALG;
  if (!inMemory(key, keyLen) || !inMemory(data, len) || !inMemory(out, hashSize(alg))) return E_ARG;
  return hmacOnce(alg, key, keyLen, data, len, out);
}
export function pbm(
  owf: i32,
  mac: i32,
  secret: usize,
  secretLen: i32,
  salt: usize,
  saltLen: i32,
  iterations: i32,
  maxIterations: i32,
  data: usize,
  len: i32,
  out: usize,
): i32 {
  if (hashSize(mac) == 0) return E_ALG;
  if (!inMemory(secret, secretLen) || !inMemory(salt, saltLen) || !inMemory(data, len) || !inMemory(out, hashSize(mac))) return E_ARG;
  return passwordBasedMac(owf, mac, secret, secretLen, salt, saltLen, iterations, maxIterations, data, len, out);
}
export function pbkdf2(prf: i32, pass: usize, passLen: i32, salt: usize, saltLen: i32, iterations: i32, maxIterations: i32, out: usize, outLen: i32): i32 {
  if (!inMemory(pass, passLen) || !inMemory(salt, saltLen) || !inMemory(out, outLen)) return E_ARG;
  return pbkdf2Hmac(prf, pass, passLen, salt, saltLen, iterations, maxIterations, out, outLen);
}

// ---- P-256 keys (assembly/crypto/p256) ----
import { p256Public } from "./crypto/p256";

export function p256_public(priv: usize, pub: usize): i32 {
  if (!inMemory(priv, 32) || !inMemory(pub, 65)) return E_ARG;
  return p256Public(priv, pub);
}

// ---- CMP transaction (assembly/cmp): the sans-IO step API (tx.ts, shared with lean.ts) ----
export {
  tx_reset,
  tx_set,
  tx_set_int,
  tx_start,
  tx_input,
  tx_poll,
  tx_suspend,
  tx_resume,
  tx_out,
  tx_out_len,
  tx_wait,
  tx_error,
  tx_detail,
  tx_detail_len,
  tx_status,
  tx_failinfo,
  tx_result,
  tx_result_len,
} from "./tx";
// ---- pkix: certificates, signatures under AlgorithmIdentifiers, path validation (assembly/pkix) ----
import { CERT_RANGES, CERT_VIEW, certParse } from "./pkix/cert";
import { verifySignature } from "./pkix/signature";
import { setSigBudget, SIG_BUDGET, validatePath } from "./pkix/path";

const CERT_SUMMARY = memory.data(CERT_VIEW, 8);

// Parses a certificate; writes 112 bytes at out (docs/ABI.md): 0 or E_CERT_PARSE / E_ARG.
export function cert_parse(der: usize, len: i32, out: usize): i32 {
  if (!inMemory(out, 112)) return E_ARG;
  const rc = certParse(CERT_SUMMARY, der, len);
  if (rc < 0) return rc;
  for (let i = 0; i < 112; i += 4) {
    let w = load<u32>(CERT_SUMMARY + i);
    if (i < CERT_RANGES * 8 && (i & 4) == 0 && w != 0) w -= <u32>der; // range pointers as offsets
    store<u32>(out + i, w);
  }
  return 0;
}
export function cert_verify_path(target: usize, targetLen: i32, pool: usize, poolCount: i32, anchors: usize, anchorCount: i32, now: i64, flags: i32): i32 {
  setSigBudget(SIG_BUDGET);
  return validatePath(target, targetLen, pool, poolCount, anchors, anchorCount, now, flags);
}
export function sig_verify(alg: usize, algLen: i32, spki: usize, spkiLen: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32, flags: i32): i32 {
  if (!inMemory(alg, algLen) || !inMemory(spki, spkiLen) || !inMemory(data, dataLen) || !inMemory(sig, sigLen)) {
    return E_ARG;
  }
  return verifySignature(alg, algLen, spki, spkiLen, data, dataLen, sig, sigLen, flags);
}

// ---- credential store on host flash slots (assembly/store; docs/STORE.md) ----
import {
  storeClear,
  storeCommit,
  storeGet,
  storeInfo,
  KEY,
  keyDone,
  storeLoadKey,
  storePendingNew,
  storePendingRef,
  storeProvision,
  storePublic,
  storeSave,
  storeSign,
} from "./store/store";
import { KIND_STATE, KIND_TRUST, kindValid } from "./store/record";
import { keyRef, listPub, listPubLen, refInList } from "./store/keyref";
import { keyRefSignable, signKeyRef, useKeyRef } from "./cmp/storekey";
import { txSet } from "./cmp/transaction";
import { ITEM_KEY, ITEM_NEWKEY } from "./cmp/config";

export function store_info(kind: i32): i32 {
  return storeInfo(kind);
}
export function store_get(kind: i32, tag: i32, index: i32, out: usize, cap: i32): i32 {
  if (!inMemory(out, cap)) return E_ARG;
  return storeGet(kind, tag, index, out, cap);
}
export function store_provision(list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  return storeProvision(list, len);
}
export function store_save(kind: i32, list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  return storeSave(kind, list, len);
}
export function store_clear(kind: i32): i32 {
  return storeClear(kind);
}
export function store_pending_new(): i32 {
  return storePendingNew();
}
export function store_pending_ref(list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  const r = refInList(list, len);
  if (r > 0 && keyRefSignable(listPub, listPubLen) != 0) return E_ALG;
  return storePendingRef(list, len);
}
export function store_commit(list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  return storeCommit(list, len);
}
export function store_public(kind: i32, out: usize): i32 {
  if (!inMemory(out, 65)) return E_ARG;
  return storePublic(kind, out);
}
export function store_sign(kind: i32, hashAlg: i32, msg: usize, len: i32, sig: usize): i32 {
  if (!inMemory(msg, len) || !inMemory(sig, 72)) return E_ARG;
  if (!LEAN && kindValid(kind) && kind != KIND_TRUST) {
    // a key reference: the host signer signs
    const ref = keyRef(kind);
    if (ref < 0) return ref;
    if (ref > 0) return signKeyRef(kind, hashAlg, msg, len, sig);
  }
  return storeSign(kind, hashAlg, msg, len, sig);
}

// The store and the CMP transaction meet here, above both (docs/ARCHITECTURE.md): a stored key
// is given to the transaction without passing through the I/O buffer: kind 1 (IDevID) or 2
// (credential) as its KEY (signature protection of ir / kur / rr), kind 4 (the pending key) as
// its NEWKEY. A key reference (full module, docs/STORE.md) signs through the host signer with
// handle = kind instead: KEY_HANDLE for kinds 1 and 2, NEWKEY_HANDLE and NEWPUBKEY for 4; the
// lean module has no host signer and answers E_STORE_KEYREF. 0, or an error of the store or of
// tx_set; the store's KEY is wiped before returning.
export function store_use(kind: i32): i32 {
  if (!LEAN && kindValid(kind) && kind != KIND_TRUST) {
    const ref = keyRef(kind);
    if (ref < 0) return ref;
    if (ref > 0) return useKeyRef(kind, kind == KIND_STATE);
  }
  let r = storeLoadKey(kind, KEY);
  if (r == 0) r = txSet(kind == KIND_STATE ? ITEM_NEWKEY : ITEM_KEY, KEY, 32);
  return keyDone(r);
}
