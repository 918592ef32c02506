// Records in flash slots (docs/STORE.md): header | payload | checksum, A/B slots per kind.
// Header: magic "TCS1", kind, generation, payload length (u32 little-endian each). Checksum: the
// first 16 bytes of SHA-256(header || payload). A record counts only when its whole checksum
// verifies; of the two slots of a kind the valid one with the newer generation is current.
// Writes go to the other slot (erase, write, read back), so the current one is never touched.
import { host_flash_erase, host_flash_read, host_flash_write } from "../host";
import { HASH_CTX_SIZE, HASH_SHA256, hashFinal, hashInit, hashUpdate } from "../crypto/hash";
import { ctEqual, wipe } from "../crypto/ct";
import { E_STORE_EMPTY, E_STORE_FLASH, E_STORE_FULL, E_STORE_VERIFY } from "../errors";
import { LEAN } from "../features";

export const KIND_IDEVID: i32 = 1,
  KIND_CRED: i32 = 2,
  KIND_TRUST: i32 = 3,
  KIND_STATE: i32 = 4;
export const SLOT_SIZE: i32 = 4096;
export const HEADER: i32 = 16; // the payload starts here
const CHECK: i32 = 16;
export const MAX_PAYLOAD: i32 = SLOT_SIZE - HEADER - CHECK;
const MAGIC: u32 = 0x31534354; // "TCS1"
const PAGE: i32 = 128; // writes are staged in pages of this size

const CTX = memory.data(HASH_CTX_SIZE, 8);
const BUF = memory.data(PAGE, 8); // staging of writes, chunks of reads (may hold key bytes: wiped)
const HDR = memory.data(HEADER, 4);
const SUM = memory.data(32, 4); // checksum computed over what is written or read
const WROTE = memory.data(32, 4); // checksum of what is written (a whole SHA-256 digest)

export function kindValid(kind: i32): bool {
  return kind >= KIND_IDEVID && kind <= KIND_STATE;
}

// Slots: IDevID 0; then A/B pairs: credential 1/2, trust anchors 3/4, transaction state 5/6.
function slotA(kind: i32): i32 {
  return kind == KIND_IDEVID ? 0 : kind * 2 - 3;
}

// The current record found by current(): its slot, generation and payload length.
export let curSlot: i32 = -1;
export let curGen: u32 = 0;
export let curLen: i32 = 0;

let gen: u32 = 0;

// Payload length of the valid record in slot, gen its generation; -1 when invalid, E_STORE_FLASH.
function validate(slot: i32, kind: i32): i32 {
  if (host_flash_read(slot, 0, HDR, HEADER) != 0) return E_STORE_FLASH;
  const len = load<i32>(HDR, 12);
  if (load<u32>(HDR) != MAGIC || load<i32>(HDR, 4) != kind || len < 0 || len > MAX_PAYLOAD) return -1;
  gen = load<u32>(HDR, 8);
  hashInit(CTX, HASH_SHA256);
  hashUpdate(CTX, HDR, HEADER);
  let r: i32 = 0;
  for (let off = 0; off < len; off += PAGE) {
    const n = min(PAGE, len - off);
    if (host_flash_read(slot, HEADER + off, BUF, n) != 0) {
      r = E_STORE_FLASH;
      break;
    }
    hashUpdate(CTX, BUF, n);
  }
  hashFinal(CTX, SUM);
  if (r == 0 && host_flash_read(slot, HEADER + len, BUF, CHECK) != 0) r = E_STORE_FLASH;
  if (r == 0) r = ctEqual(BUF, SUM, CHECK) ? len : -1;
  wipe(BUF, PAGE);
  return r;
}

// Finds the current record of kind (curSlot, curGen, curLen): its payload length, E_STORE_EMPTY
// when neither slot holds a valid record, E_STORE_FLASH when a slot cannot be read.
export function current(kind: i32): i32 {
  curSlot = -1;
  const a = slotA(kind);
  const la = validate(a, kind);
  if (la == E_STORE_FLASH) return la;
  const ga = gen;
  if (la >= 0) {
    curSlot = a;
    curGen = ga;
    curLen = la;
  }
  if (kind == KIND_IDEVID) return la >= 0 ? la : E_STORE_EMPTY;
  const lb = validate(a + 1, kind);
  if (lb == E_STORE_FLASH) return lb;
  // RFC 1982 serial number arithmetic: generations may wrap around.
  if (lb >= 0 && (la < 0 || <i32>(gen - ga) > 0)) {
    curSlot = a + 1;
    curGen = gen;
    curLen = lb;
  }
  return curSlot < 0 ? E_STORE_EMPTY : curLen;
}

// Streaming writer: bytes staged in BUF, written a page at a time.
let wSlot: i32 = 0,
  wOff: i32 = 0,
  wFill: i32 = 0,
  wErr: bool = false;

function flush(): void {
  if (wFill > 0 && !wErr && host_flash_write(wSlot, wOff, BUF, wFill) != 0) wErr = true;
  wOff += wFill;
  wFill = 0;
}

function put(p: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<u8>(BUF + wFill, load<u8>(p + i));
    if (++wFill == PAGE) flush();
  }
}

// The copyFirst prefix, hashed (hash) or written, read from flash through SUM (free until the
// read-back).
function prefix(n: i32, hash: bool): void {
  for (let off = 0; off < n; off += 32) {
    const k = min(32, n - off);
    if (host_flash_read(fromSlot, fromOff + off, SUM, k) != 0) wErr = true;
    if (hash) hashUpdate(CTX, SUM, k);
    else put(SUM, k);
  }
}

// A payload prefix the next writeRecord copies from flash (full module: a key reference that a
// new record of the same key keeps, docs/STORE.md); reset by writeRecord.
let fromSlot: i32 = 0,
  fromOff: i32 = 0,
  fromLen: i32 = 0;
export function copyFirst(slot: i32, off: i32, n: i32): void {
  fromSlot = slot;
  fromOff = off;
  fromLen = n;
}

// Writes the next record of kind, payload = [a, a+an) || [b, b+bn) (after the copyFirst prefix),
// into the slot that is not current, with the next generation, and reads it back. After success
// it is current.
export function writeRecord(kind: i32, a: usize, an: i32, b: usize, bn: i32): i32 {
  const pre = LEAN ? 0 : fromLen;
  if (!LEAN) fromLen = 0;
  const len = pre + an + bn;
  if (len > MAX_PAYLOAD) return E_STORE_FULL;
  const c = current(kind);
  if (c == E_STORE_FLASH) return c;
  const sa = slotA(kind);
  const slot = kind == KIND_IDEVID || curSlot < 0 ? sa : sa + sa + 1 - curSlot; // the other one
  const g: u32 = curSlot < 0 ? 1 : curGen + 1;
  if (host_flash_erase(slot) != 0) return E_STORE_FLASH;
  store<u32>(HDR, MAGIC);
  store<i32>(HDR, kind, 4);
  store<u32>(HDR, g, 8);
  store<i32>(HDR, len, 12);
  wSlot = slot;
  wOff = 0;
  wFill = 0;
  wErr = false;
  hashInit(CTX, HASH_SHA256);
  hashUpdate(CTX, HDR, HEADER);
  if (!LEAN) prefix(pre, true);
  hashUpdate(CTX, a, an);
  hashUpdate(CTX, b, bn);
  hashFinal(CTX, WROTE);
  put(HDR, HEADER);
  if (!LEAN) prefix(pre, false);
  put(a, an);
  put(b, bn);
  put(WROTE, CHECK);
  flush();
  wipe(BUF, PAGE);
  if (wErr) return E_STORE_FLASH;
  // Read back: the slot must now hold exactly this record (same checksum, so same bytes).
  const r = validate(slot, kind);
  if (r == E_STORE_FLASH) return r;
  if (r != len || gen != g || !ctEqual(SUM, WROTE, CHECK)) return E_STORE_VERIFY;
  curSlot = slot;
  curGen = g;
  curLen = len;
  return 0;
}
