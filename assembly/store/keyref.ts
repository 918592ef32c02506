// Keys held by the host (full module): a record of the IDevID, the credential or the transaction
// state may name its key instead of holding it. Its first two items are then KEYREF (the host's
// name for the key: an RFC 7512 pkcs11: URI without PIN, "tpm:0x81000002") and PUBKEY (the key's
// DER SubjectPublicKeyInfo); no key material is stored. The core signs with such a key through
// the host signer (env.sign, docs/ABI.md), the handle being the record's kind. docs/STORE.md.
import { host_flash_read } from "../host";
import { E_ALG, E_STORE_FLASH, E_STORE_ITEM, E_STORE_MISMATCH, E_CMP_CONFIG, E_CMP_STORE } from "../errors";
import { HASH_SHA256 } from "../crypto/hash";
import { CERT_SPKI, CERT_VIEW, certParse } from "../pkix/cert";
import { HEADER, curLen, curSlot, current } from "./record";
import { ITEM_HEAD, TAG_CERT, TAG_KEYREF, TAG_PUBKEY, foundLen, itemIn, itemInSlot } from "./items";
import { CONFIG, CONFIG_SIZE, INT_KEY_HANDLE, INT_NEWKEY_HANDLE, ITEM_NEWPUBKEY, item } from "../cmp/config";
import { recReserve } from "../cmp/records";
import { hostSign, signAlgFor, signed, SIGN_ECDSA_P256 } from "../cmp/signer";
import { txSetInt } from "../cmp/transaction";

// PUBKEY of the reference found by keyRef: its offset in curSlot and length.
let refPub: i32 = 0, refPubLen: i32 = 0;

// Length of the key reference [KEYREF][PUBKEY] that starts kind's current record (refPub and
// refPubLen locate its PUBKEY in curSlot); 0 when the record holds none; or a store error.
export function keyRef(kind: i32): i32 {
  const r = current(kind);
  if (r < 0) return r;
  const k = itemInSlot(curSlot, HEADER, curLen, TAG_KEYREF, 0);
  if (k != HEADER + ITEM_HEAD) return 0;
  const kl = foundLen;
  const p = itemInSlot(curSlot, HEADER, curLen, TAG_PUBKEY, 0);
  if (p != k + kl + ITEM_HEAD) return E_STORE_ITEM;
  refPub = p;
  refPubLen = foundLen;
  return 2 * ITEM_HEAD + kl + foundLen;
}

// PUBKEY of the reference found by refInList: its address and length.
export let listPub: usize = 0, listPubLen: i32 = 0;

// A list [p, p+n) that starts with a key reference: its length (KEYREF of at least one byte, a
// PUBKEY of a key the host signer can sign with: P-256, P-384, RSA, Ed25519); 0 when the list
// starts otherwise; E_STORE_ITEM when malformed, E_ALG for another key type.
export function refInList(p: usize, n: i32): i32 {
  if (n < ITEM_HEAD || <i32>load<u8>(p) != TAG_KEYREF) return 0;
  const kl = <i32>load<u16>(p + 1);
  const q = p + ITEM_HEAD + kl;
  if (kl == 0 || kl + 2 * ITEM_HEAD > n || <i32>load<u8>(q) != TAG_PUBKEY) return E_STORE_ITEM;
  const pl = <i32>load<u16>(q + 1);
  if (kl + pl + 2 * ITEM_HEAD > n) return E_STORE_ITEM;
  listPub = q + ITEM_HEAD;
  listPubLen = pl;
  return signAlgFor(q + ITEM_HEAD, pl) < 0 ? E_ALG : kl + pl + 2 * ITEM_HEAD;
}

function view(): usize { return memory.data(CERT_VIEW, 8); }

// The first CERT of the list [p, p+n) has as SubjectPublicKeyInfo, byte for byte, the PUBKEY at
// [spki, spki+len) of memory, or (slot >= 0) at that offset of flash slot; 0 or error.
export function certHasPubkey(p: usize, n: i32, slot: i32, spki: usize, len: i32): i32 {
  const cert = itemIn(p, n, TAG_CERT, 0);
  if (cert == 0) return E_STORE_ITEM;
  const v = view();
  if (certParse(v, cert, foundLen) != 0) return E_STORE_MISMATCH;
  const c = <usize>load<u32>(v + (CERT_SPKI << 3));
  if (load<i32>(v + (CERT_SPKI << 3), 4) != len) return E_STORE_MISMATCH;
  const chunk = signed(); // 520 bytes of scratch, free outside hostSign
  for (let off = 0; off < len; off += 256) {
    const m = min(256, len - off);
    let s = spki + off;
    if (slot >= 0) {
      if (host_flash_read(slot, <i32>spki + off, chunk, m) != 0) return E_STORE_FLASH;
      s = chunk;
    }
    for (let i = 0; i < m; i++) if (load<u8>(s + i) != load<u8>(c + off + i)) return E_STORE_MISMATCH;
  }
  return 0;
}

// The state's pending key reference carries the certificate of the list [p, p+n); 0 or error.
export function refCommitCheck(p: usize, n: i32): i32 {
  return certHasPubkey(p, n, curSlot, refPub, refPubLen);
}

// store_use for a key reference of kind: the host signer signs with handle = kind, for the
// protection (IDevID, credential: KEY_HANDLE) or as the new key (pending: NEWKEY_HANDLE, with
// PUBKEY read from flash straight into NEWPUBKEY). 0 or an error of tx_set / tx_set_int.
export function refUse(kind: i32, state: bool): i32 {
  if (!state) return txSetInt(INT_KEY_HANDLE, kind);
  let r = txSetInt(INT_NEWKEY_HANDLE, kind);
  if (r != 0) return r;
  if (item(ITEM_NEWPUBKEY) != 0) return E_CMP_CONFIG;
  const dst = recReserve(CONFIG, CONFIG_SIZE, ITEM_NEWPUBKEY, refPubLen);
  if (dst == 0) return E_CMP_STORE;
  return host_flash_read(curSlot, refPub, dst, refPubLen) != 0 ? E_STORE_FLASH : 0;
}

// store_sign for a key reference: an ECDSA P-256 key (the signature form store_sign returns)
// signs through the host signer with handle = kind; the signature, verified, DER at sig.
export function refSign(kind: i32, hashAlg: i32, msg: usize, len: i32, sig: usize): i32 {
  const spki = memory.data(91, 4);
  if (hashAlg != HASH_SHA256 || refPubLen != 91) return E_ALG;
  if (host_flash_read(curSlot, refPub, spki, 91) != 0) return E_STORE_FLASH;
  if (signAlgFor(spki, 91) != SIGN_ECDSA_P256) return E_ALG;
  const n = hostSign(kind, SIGN_ECDSA_P256, spki, 91, msg, len);
  if (n > 0) for (let i = 0; i < n; i++) store<u8>(sig + i, load<u8>(signed() + i));
  return n;
}
