// Keys held by the host (full module): a record of the IDevID, the credential or the transaction
// state may name its key instead of holding it. Its first two items are then KEYREF (the host's
// name for the key: an RFC 7512 pkcs11: URI without PIN, "tpm:0x81000002") and PUBKEY (the key's
// DER SubjectPublicKeyInfo); no key material is stored. The core signs with such a key through
// the host signer (env.sign, docs/ABI.md), the handle being the record's kind (cmp/storekey.ts:
// store_use, store_sign). docs/STORE.md.
import { host_flash_read } from "../host";
import { E_STORE_FLASH, E_STORE_ITEM, E_STORE_MISMATCH } from "../errors";
import { CERT_SPKI, CERT_VIEW, certParse } from "../pkix/cert";
import { HEADER, curLen, curSlot, current } from "./record";
import { ITEM_HEAD, TAG_CERT, TAG_KEYREF, TAG_PUBKEY, foundLen, itemIn, itemInSlot } from "./items";

// PUBKEY of the reference found by keyRef: its offset in curSlot and length.
export let refPub: i32 = 0,
  refPubLen: i32 = 0;

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
export let listPub: usize = 0,
  listPubLen: i32 = 0;

// A list [p, p+n) that starts with a key reference: its length (KEYREF of at least one byte,
// then PUBKEY: listPub, listPubLen); 0 when the list starts otherwise; E_STORE_ITEM when malformed.
export function refInList(p: usize, n: i32): i32 {
  if (n < ITEM_HEAD || <i32>load<u8>(p) != TAG_KEYREF) return 0;
  const kl = <i32>load<u16>(p + 1);
  const q = p + ITEM_HEAD + kl;
  if (kl == 0 || kl + 2 * ITEM_HEAD > n || <i32>load<u8>(q) != TAG_PUBKEY) return E_STORE_ITEM;
  const pl = <i32>load<u16>(q + 1);
  if (kl + pl + 2 * ITEM_HEAD > n) return E_STORE_ITEM;
  listPub = q + ITEM_HEAD;
  listPubLen = pl;
  return kl + pl + 2 * ITEM_HEAD;
}

function view(): usize {
  return memory.data(CERT_VIEW, 8);
}

// The first CERT of the list [p, p+n) has as SubjectPublicKeyInfo, byte for byte, the PUBKEY at
// [spki, spki+len) of memory, or (slot >= 0) at that offset of flash slot; 0 or error.
export function certHasPubkey(p: usize, n: i32, slot: i32, spki: usize, len: i32): i32 {
  const cert = itemIn(p, n, TAG_CERT, 0);
  if (cert == 0) return E_STORE_ITEM;
  const v = view();
  if (certParse(v, cert, foundLen) != 0) return E_STORE_MISMATCH;
  const c = <usize>load<u32>(v + (CERT_SPKI << 3));
  if (load<i32>(v + (CERT_SPKI << 3), 4) != len) return E_STORE_MISMATCH;
  const chunk = memory.data(64, 8);
  for (let off = 0; off < len; off += 64) {
    const m = min(64, len - off);
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
