// Payload of a record: a list of items, each tag (u8), length (u16 little-endian), value
// (docs/STORE.md). Lists given by the host are checked here before anything is written.
import { host_flash_read } from "../host";
import { E_STORE_FLASH, E_STORE_ITEM, E_STORE_SECRET } from "../errors";
import { LEAN } from "../features";

export const TAG_KEY: i32 = 1,
  TAG_CERT: i32 = 2,
  TAG_CHAIN: i32 = 3,
  TAG_ANCHOR: i32 = 4,
  TAG_PENDING: i32 = 5;
// A key held by the host (a token, a TPM): its reference (UTF-8, e.g. an RFC 7512 pkcs11: URI
// without PIN, or "tpm:0x81000002") and its DER SubjectPublicKeyInfo; no key material.
export const TAG_KEYREF: i32 = 6,
  TAG_PUBKEY: i32 = 7;
export const ITEM_HEAD: i32 = 3;

// Private keys: never read out, never taken from the host except at provisioning.
export function secretTag(tag: i32): bool {
  return tag == TAG_KEY || tag == TAG_PENDING;
}

// Length of the item found by itemIn / itemInSlot.
export let foundLen: i32 = 0;

// Checks the list [p, p+n): every item within it, tag 1..255; secrets only when allowed, and a
// key reference only then too (full module: only the core places one, docs/STORE.md).
export function listCheck(p: usize, n: i32, secrets: bool): i32 {
  let off = 0;
  while (off < n) {
    if (n - off < ITEM_HEAD) return E_STORE_ITEM;
    const tag = <i32>load<u8>(p + off);
    const len = <i32>load<u16>(p + off + 1);
    if (tag == 0 || len > n - off - ITEM_HEAD) return E_STORE_ITEM;
    if (!secrets && secretTag(tag)) return E_STORE_SECRET;
    if (!LEAN && !secrets && (tag == TAG_KEYREF || tag == TAG_PUBKEY)) return E_STORE_ITEM;
    off += ITEM_HEAD + len;
  }
  return 0;
}

// Address of the value of the index-th item with tag in a checked list (foundLen), or 0.
export function itemIn(p: usize, n: i32, tag: i32, index: i32): usize {
  let off = 0;
  while (off + ITEM_HEAD <= n) {
    const len = <i32>load<u16>(p + off + 1);
    if (<i32>load<u8>(p + off) == tag && index-- == 0) {
      foundLen = len;
      return p + off + ITEM_HEAD;
    }
    off += ITEM_HEAD + len;
  }
  return 0;
}

const HEAD = memory.data(4, 4);

// Offset in slot of the value of the index-th item with tag in a record payload at [base,
// base+n) of that slot (foundLen); E_STORE_ITEM when absent or malformed, E_STORE_FLASH.
export function itemInSlot(slot: i32, base: i32, n: i32, tag: i32, index: i32): i32 {
  let off = 0;
  while (off < n) {
    if (n - off < ITEM_HEAD) return E_STORE_ITEM;
    if (host_flash_read(slot, base + off, HEAD, ITEM_HEAD) != 0) return E_STORE_FLASH;
    const len = <i32>load<u16>(HEAD, 1);
    if (len > n - off - ITEM_HEAD) return E_STORE_ITEM;
    if (<i32>load<u8>(HEAD) == tag && index-- == 0) {
      foundLen = len;
      return base + off + ITEM_HEAD;
    }
    off += ITEM_HEAD + len;
  }
  return E_STORE_ITEM;
}
