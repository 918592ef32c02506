// The credential store (docs/STORE.md): the IDevID, the operational credential, trust anchors
// and the state of an open transaction, one record each. Private keys enter from the host only
// at provisioning (the IDevID), otherwise are generated here; they leave flash only into KEY
// below, for the core's own code, and KEY is wiped before every return. A key held by the host
// instead is named by a key reference (full module, keyref.ts).
import { host_flash_read } from "../host";
import { E_ARG, E_STORE_EMPTY, E_STORE_FLASH, E_STORE_ITEM, E_STORE_KEYREF, E_STORE_MISMATCH, E_STORE_READONLY, E_STORE_SECRET } from "../errors";
import { LEAN } from "../features";
import { wipe } from "../crypto/ct";
import { p256Keygen, p256Public, p256Sign } from "../crypto/p256";
import { HEADER, KIND_CRED, KIND_IDEVID, KIND_STATE, KIND_TRUST, copyFirst, current, curLen, curSlot, kindValid, writeRecord } from "./record";
import { certHasPubkey, keyRef, listPub, listPubLen, refCommitCheck, refInList } from "./keyref";
import { ITEM_HEAD, TAG_CERT, TAG_KEY, TAG_KEYREF, TAG_PENDING, foundLen, itemIn, itemInSlot, listCheck, secretTag } from "./items";

const SECRET = memory.data(35, 4); // ITEM_HEAD + 32: one key item: tag, length, 32-byte scalar
// Where a private key leaves flash to, for the core's own code (here, and store_use in abi.ts,
// which gives it to the CMP transaction); keyDone wipes it.
export const KEY = SECRET + ITEM_HEAD;
const SPK = memory.data(68, 4); // BIT STRING 03 42 00 || 04 X Y: a P-256 subjectPublicKey

export function keyDone(r: i32): i32 {
  wipe(SECRET, ITEM_HEAD + 32);
  return r;
}

function keyItem(tag: i32): void {
  store<u8>(SECRET, <u8>tag);
  store<u16>(SECRET + 1, 32);
}

// The key of a kind's record: the IDevID's and the credential's own, the state's pending one.
function keyTag(kind: i32): i32 {
  return kind == KIND_STATE ? TAG_PENDING : TAG_KEY;
}

// Copies the 32-byte private key of kind's current record to dst (core memory only: the
// scratch here, KEY); 0 or error (E_STORE_KEYREF: the record names a key held by the host).
// The caller wipes dst after use.
export function storeLoadKey(kind: i32, dst: usize): i32 {
  if (!kindValid(kind) || kind == KIND_TRUST) return E_ARG;
  const r = current(kind);
  if (r < 0) return r;
  const off = itemInSlot(curSlot, HEADER, curLen, keyTag(kind), 0);
  if (off < 0) return itemInSlot(curSlot, HEADER, curLen, TAG_KEYREF, 0) < 0 ? off : E_STORE_KEYREF;
  if (foundLen != 32) return E_STORE_ITEM;
  return host_flash_read(curSlot, off, dst, 32) != 0 ? E_STORE_FLASH : 0;
}

// SPK := the subjectPublicKey BIT STRING of KEY; 0 or E_KEY.
function publicOfKey(): i32 {
  store<u8>(SPK, 0x03);
  store<u8>(SPK, 0x42, 1);
  store<u8>(SPK, 0, 2);
  return p256Public(KEY, SPK + 3);
}

// The certificate [p, p+n) carries SPK (its SubjectPublicKeyInfo holds this very key).
function carriesKey(p: usize, n: i32): bool {
  for (let i = 0; i + 68 <= n; i++) {
    let j = 0;
    while (j < 68 && load<u8>(p + i + j) == load<u8>(SPK + j)) j++;
    if (j == 68) return true;
  }
  return false;
}

// The first CERT of the list [p, p+n) carries the key in KEY; 0 or error.
function certMatches(p: usize, n: i32): i32 {
  const cert = itemIn(p, n, TAG_CERT, 0);
  if (cert == 0) return E_STORE_ITEM;
  const r = publicOfKey();
  if (r < 0) return r;
  return carriesKey(cert, foundLen) ? 0 : E_STORE_MISMATCH;
}

export function storeInfo(kind: i32): i32 {
  return kindValid(kind) ? current(kind) : E_ARG;
}

export function storeGet(kind: i32, tag: i32, index: i32, out: usize, cap: i32): i32 {
  if (!kindValid(kind)) return E_ARG;
  if (secretTag(tag)) return E_STORE_SECRET;
  const r = current(kind);
  if (r < 0) return r;
  const off = itemInSlot(curSlot, HEADER, curLen, tag, index);
  if (off < 0) return off;
  if (foundLen > cap) return E_ARG;
  return host_flash_read(curSlot, off, out, foundLen) != 0 ? E_STORE_FLASH : foundLen;
}

// Factory provisioning of the IDevID: KEY (32) and CERT carrying its public key, then any
// items; or (full module) a key reference [KEYREF][PUBKEY] first and CERT whose
// SubjectPublicKeyInfo is PUBKEY; written once. The list [p, p+n) is wiped whatever the result.
export function storeProvision(p: usize, n: i32): i32 {
  let r = current(KIND_IDEVID);
  if (r >= 0) r = E_STORE_READONLY;
  else if (r == E_STORE_EMPTY) r = listCheck(p, n, true);
  const ref = LEAN || r != 0 ? 0 : refInList(p, n);
  if (ref < 0) r = ref;
  else if (ref > 0) {
    r = itemIn(p, n, TAG_KEY, 0) != 0 ? E_STORE_ITEM : certHasPubkey(p, n, -1, listPub, listPubLen);
  } else if (r == 0) {
    const k = itemIn(p, n, TAG_KEY, 0);
    if (k == 0 || foundLen != 32) r = E_STORE_ITEM;
    else {
      for (let i = 0; i < 32; i++) store<u8>(KEY + i, load<u8>(k + i));
      r = certMatches(p, n);
    }
  }
  if (r == 0) r = writeRecord(KIND_IDEVID, 0, 0, p, n);
  wipe(p, n);
  return keyDone(r);
}

// Replaces the trust anchors or the transaction state by the list [p, p+n) (no secrets); the
// state keeps its pending key.
export function storeSave(kind: i32, p: usize, n: i32): i32 {
  if (kind != KIND_TRUST && kind != KIND_STATE) return E_ARG;
  let r = listCheck(p, n, false);
  if (r < 0) return r;
  let pre = 0;
  if (kind == KIND_STATE) {
    r = storeLoadKey(KIND_STATE, KEY);
    if (r == 0) {
      keyItem(TAG_PENDING);
      pre = ITEM_HEAD + 32;
    } else if (!LEAN && r == E_STORE_KEYREF) {
      // keep the pending key reference: copied from flash
      r = keyRef(KIND_STATE);
      if (r <= 0) return r < 0 ? r : E_STORE_ITEM;
      copyFirst(curSlot, HEADER, r);
    } else if (r != E_STORE_EMPTY && r != E_STORE_ITEM) return keyDone(r);
  }
  return keyDone(writeRecord(kind, SECRET, pre, p, n));
}

// Empties the trust anchors or the transaction state (dropping its pending key).
export function storeClear(kind: i32): i32 {
  if (kind != KIND_TRUST && kind != KIND_STATE) return E_ARG;
  return writeRecord(kind, 0, 0, 0, 0);
}

// Starts an enrolment (ir, kur): a fresh key pair, saved as the pending key of a new
// transaction state before any request is sent.
export function storePendingNew(): i32 {
  let r = p256Keygen(KEY, SPK + 3);
  if (r == 0) {
    keyItem(TAG_PENDING);
    r = writeRecord(KIND_STATE, SECRET, ITEM_HEAD + 32, 0, 0);
  }
  return keyDone(r);
}

// Starts an enrolment with a key the host made (in a token, a TPM): the list [p, p+n) is its
// key reference [KEYREF][PUBKEY] and nothing else, saved as the pending key of a new
// transaction state before any request is sent (full module).
export function storePendingRef(p: usize, n: i32): i32 {
  const r = refInList(p, n);
  if (r < 0) return r;
  return r != n ? E_STORE_ITEM : writeRecord(KIND_STATE, p, n, 0, 0);
}

// The certificate for the pending key was accepted: one record write makes pending key +
// the list [p, p+n) (CERT carrying that key, CHAIN...) the current credential; then the
// transaction state is emptied. Until the first write completes the old credential stays.
export function storeCommit(p: usize, n: i32): i32 {
  let r = listCheck(p, n, false);
  if (r == 0) r = storeLoadKey(KIND_STATE, KEY);
  if (!LEAN && r == E_STORE_KEYREF) {
    // a pending key reference: it becomes the credential's
    const pre = keyRef(KIND_STATE);
    r = pre <= 0 ? (pre < 0 ? pre : E_STORE_ITEM) : refCommitCheck(p, n);
    if (r == 0) {
      copyFirst(curSlot, HEADER, pre);
      r = writeRecord(KIND_CRED, 0, 0, p, n);
    }
  } else {
    if (r == 0) r = certMatches(p, n);
    if (r == 0) {
      keyItem(TAG_KEY);
      r = writeRecord(KIND_CRED, SECRET, ITEM_HEAD + 32, p, n);
    }
  }
  keyDone(0);
  if (r == 0) r = writeRecord(KIND_STATE, 0, 0, 0, 0);
  return r;
}

// 65-byte public key of kind's key (IDevID, credential, pending) at out; 65 or error
// (E_STORE_KEYREF for a key held by the host: its PUBKEY item says it).
export function storePublic(kind: i32, out: usize): i32 {
  let r = storeLoadKey(kind, KEY);
  if (r == 0) r = p256Public(KEY, out);
  return keyDone(r == 0 ? 65 : r);
}

// ECDSA P-256 signature with kind's key (see p256Sign); its length or error.
export function storeSign(kind: i32, hashAlg: i32, msg: usize, len: i32, sig: usize): i32 {
  let r = storeLoadKey(kind, KEY);
  if (r == 0) r = p256Sign(KEY, hashAlg, msg, len, sig);
  return keyDone(r);
}
