// Configuration of one transaction (tx_set / tx_set_int): byte items in a record store, integer
// items in a small table. Items and option bits are documented in docs/ABI.md.
import { recClear, recFind, recLen } from "./records";
import { LEAN } from "../features";

export const ITEM_REF: i32 = 1,
  ITEM_SECRET: i32 = 2,
  ITEM_KEY: i32 = 3,
  ITEM_CERT: i32 = 4,
  ITEM_EXTRA: i32 = 5,
  ITEM_TRUSTED: i32 = 6,
  ITEM_UNTRUSTED: i32 = 7,
  ITEM_NEWKEY: i32 = 8,
  ITEM_SUBJECT: i32 = 9,
  ITEM_SANS: i32 = 10,
  ITEM_OLDCERT: i32 = 11,
  ITEM_RECIPIENT: i32 = 12,
  ITEM_PROFILE: i32 = 13,
  ITEM_CSR: i32 = 14,
  ITEM_INFOTYPE: i32 = 15,
  ITEM_SENDER: i32 = 16,
  ITEM_NEWPUBKEY: i32 = 17,
  ITEM_EXTENSION: i32 = 18,
  ITEM_ISSUER: i32 = 19,
  ITEM_GENINFO: i32 = 20,
  ITEM_REQIN: i32 = 21;
// ISSUER, GENINFO and REQIN are full-module items: the lean module refuses them (E_ARG)
export const ITEM_LAST: i32 = LEAN ? 18 : 21;

export const INT_OPTIONS: i32 = 32,
  INT_REVREASON: i32 = 33,
  INT_PBM_ITERATIONS: i32 = 34,
  INT_PBM_OWF: i32 = 35,
  INT_PBM_MAC: i32 = 36,
  INT_MAX_ITERATIONS: i32 = 37,
  INT_MAX_POLLS: i32 = 38,
  INT_POPO: i32 = 39,
  INT_KEY_HANDLE: i32 = 40,
  INT_NEWKEY_HANDLE: i32 = 41,
  INT_DAYS: i32 = 42;
const INT_FIRST: i32 = 32,
  INT_COUNT: i32 = 11;

// INT_POPO values: proof-of-possession of the new key (RFC 4211 4): none, raVerified, signature.
export const POPO_NONE: i32 = -1,
  POPO_RA_VERIFIED: i32 = 0,
  POPO_SIGNATURE: i32 = 1;

export const OPT_IMPLICIT_CONFIRM: i32 = 1,
  OPT_ACCEPT_UNPROTECTED: i32 = 2,
  OPT_CAPUBS_TRUSTED: i32 = 4,
  OPT_PBMAC1: i32 = 8,
  OPT_LEGACY: i32 = 16,
  OPT_UNPROTECTED_REQUESTS: i32 = 64,
  OPT_RSA_PSS: i32 = 128,
  OPT_DISABLE_CONFIRM: i32 = 256,
  OPT_IGNORE_KEYUSAGE: i32 = 512;

export const CONFIG_SIZE: i32 = 6144;
export const CONFIG = memory.data(CONFIG_SIZE, 8);
const INTS = memory.data(INT_COUNT * 4, 4);

// Items that may be given more than once.
export function itemRepeatable(item: i32): bool {
  return (
    item == ITEM_EXTRA || item == ITEM_TRUSTED || item == ITEM_UNTRUSTED || item == ITEM_INFOTYPE || item == ITEM_EXTENSION || (!LEAN && item == ITEM_GENINFO)
  );
}

export function configReset(): void {
  recClear(CONFIG, CONFIG_SIZE);
  store<i32>(INTS, 0); // OPTIONS
  store<i32>(INTS, 0, 4); // REVREASON unspecified
  store<i32>(INTS, 500, 8); // PBM iterations
  store<i32>(INTS, 2, 12); // PBM owf SHA-256
  store<i32>(INTS, 2, 16); // PBM/PBMAC1 mac HMAC-SHA256 (RFC 9481 6.2.1; SHA-1 by choice)
  store<i32>(INTS, 100000, 20); // max iterations accepted
  store<i32>(INTS, 20, 24); // max polls
  store<i32>(INTS, POPO_SIGNATURE, 28); // POPO
  store<i32>(INTS, 0, 32); // KEY_HANDLE: none (the host signer's handles are >= 1)
  store<i32>(INTS, 0, 36); // NEWKEY_HANDLE: none
  if (!LEAN) store<i32>(INTS, 0, 40); // DAYS: no validity in the template
}

export function intValid(item: i32): bool {
  return item >= INT_FIRST && item < INT_FIRST + INT_COUNT;
}

export function setInt(item: i32, v: i32): void {
  store<i32>(INTS + ((item - INT_FIRST) << 2), v);
}

export function getInt(item: i32): i32 {
  return load<i32>(INTS + ((item - INT_FIRST) << 2));
}

export function option(bit: i32): bool {
  return (getInt(INT_OPTIONS) & bit) != 0;
}

// The index-th value of an item: address, with itemLen its length (-1 and 0 when absent).
export let itemLen: i32 = -1;
export function item(kind: i32, index: i32 = 0): usize {
  const p = recFind(CONFIG, kind, index);
  itemLen = recLen;
  return p;
}
