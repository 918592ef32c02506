// Host side of the credential store (docs/STORE.md): item lists, a typed wrapper of the
// store_* exports, and a reader of the record format (for tests and inspection of a flash image).
import { createHash } from "node:crypto";
import type { Core } from "./core.js";
import type { Flash } from "./flash.js";
import {
  E_STORE_EMPTY,
  E_STORE_KEYREF,
  HASH_SHA256,
  KIND_CRED,
  KIND_IDEVID,
  KIND_STATE,
  KIND_TRUST,
  TAG_ANCHOR,
  TAG_CERT,
  TAG_CHAIN,
  TAG_KEY,
  TAG_KEYREF,
  TAG_PENDING,
  TAG_PUBKEY,
} from "./abi.js";

export const KIND = { IDEVID: KIND_IDEVID, CRED: KIND_CRED, TRUST: KIND_TRUST, STATE: KIND_STATE } as const;
/** KEYREF and PUBKEY: a key held by the host (a token, a TPM), named, never stored (docs/STORE.md). */
export const TAG = {
  KEY: TAG_KEY,
  CERT: TAG_CERT,
  CHAIN: TAG_CHAIN,
  ANCHOR: TAG_ANCHOR,
  PENDING: TAG_PENDING,
  KEYREF: TAG_KEYREF,
  PUBKEY: TAG_PUBKEY,
} as const;
/** E_STORE_KEYREF: the record names a key held by the host (store_public, the lean module's store_use). */
export { E_STORE_EMPTY, E_STORE_KEYREF };

export type Item = [tag: number, value: Uint8Array];

/** Items as a list: tag (u8), length (u16 little-endian), value. */
export function encodeItems(items: Item[]): Uint8Array {
  const out = new Uint8Array(items.reduce((n, [, v]) => n + 3 + v.length, 0));
  let o = 0;
  for (const [tag, v] of items) {
    out[o] = tag;
    out[o + 1] = v.length & 0xff;
    out[o + 2] = v.length >> 8;
    out.set(v, o + 3);
    o += 3 + v.length;
  }
  return out;
}

export function decodeItems(b: Uint8Array): Item[] {
  const items: Item[] = [];
  for (let o = 0; o + 3 <= b.length; ) {
    const len = b[o + 1] | (b[o + 2] << 8);
    items.push([b[o], b.subarray(o + 3, o + 3 + len)]);
    o += 3 + len;
  }
  return items;
}

export class StoreError extends Error {
  constructor(
    readonly code: number,
    what: string,
  ) {
    super(`${what} failed: ${code}`);
  }
}

function check(r: number, what: string): number {
  if (r < 0) throw new StoreError(r, what);
  return r;
}

/** The store_* exports of one Core with byte arrays in and out. */
export class Store {
  constructor(readonly core: Core) {}

  private call<T>(f: (c: Core) => T): T {
    try {
      return f(this.core.reset());
    } finally {
      this.core.reset();
    }
  }

  /** Payload length of the current record of kind, or a negative error (E_STORE_EMPTY). */
  info(kind: number): number {
    return this.core.exports.store_info(kind);
  }

  /** The index-th item with tag of kind's current record, or undefined when absent. */
  get(kind: number, tag: number, index = 0): Uint8Array | undefined {
    return this.call((c) => {
      const cap = 8192;
      const out = c.reserve(cap);
      const n = c.exports.store_get(kind, tag, index, out, cap);
      return n < 0 ? undefined : c.read(out, n);
    });
  }

  /** Every item with tag of kind's current record. */
  all(kind: number, tag: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let v; (v = this.get(kind, tag, out.length)) !== undefined; ) out.push(v);
    return out;
  }

  private list(items: Item[], f: (ptr: number, len: number) => number, what: string): number {
    return this.call((c) => {
      const b = encodeItems(items);
      return check(f(c.put(b), b.length), what);
    });
  }

  provision(key: Uint8Array, cert: Uint8Array, chain: Uint8Array[] = []): void {
    this.list(
      [[TAG.KEY, key], [TAG.CERT, cert], ...chain.map((c): Item => [TAG.CHAIN, c])],
      (p, n) => this.core.exports.store_provision(p, n),
      "store_provision",
    );
  }

  /** The IDevID whose key stays in a token or TPM: its reference (no PIN), public key, certificate. */
  provisionRef(ref: string, spki: Uint8Array, cert: Uint8Array, chain: Uint8Array[] = []): void {
    this.list(
      [[TAG.KEYREF, new TextEncoder().encode(ref)], [TAG.PUBKEY, spki], [TAG.CERT, cert], ...chain.map((c): Item => [TAG.CHAIN, c])],
      (p, n) => this.core.exports.store_provision(p, n),
      "store_provision",
    );
  }

  save(kind: number, items: Item[]): void {
    this.list(items, (p, n) => this.core.exports.store_save(kind, p, n), "store_save");
  }

  clear(kind: number): void {
    check(this.core.exports.store_clear(kind), "store_clear");
  }

  /** New key pair saved as pending; returns its public key. */
  pendingNew(): Uint8Array {
    check(this.core.exports.store_pending_new(), "store_pending_new");
    return this.publicKey(KIND.STATE)!;
  }

  /** A new transaction state whose pending key the host made (a token, a TPM): its reference and public key. */
  pendingRef(ref: string, spki: Uint8Array): void {
    this.list(
      [
        [TAG.KEYREF, new TextEncoder().encode(ref)],
        [TAG.PUBKEY, spki],
      ],
      (p, n) => this.core.exports.store_pending_ref(p, n),
      "store_pending_ref",
    );
  }

  /** The key reference of kind's record (IDevID, credential, pending), undefined when it holds none. */
  keyRef(kind: number): { ref: string; spki: Uint8Array } | undefined {
    const ref = this.get(kind, TAG.KEYREF),
      spki = this.get(kind, TAG.PUBKEY);
    return ref && spki ? { ref: new TextDecoder().decode(ref), spki } : undefined;
  }

  /** What identifies kind's key: its 65-byte public key in the store, or a key reference's
   *  SubjectPublicKeyInfo; undefined without a key. */
  keyId(kind: number): Uint8Array | undefined {
    return this.publicKey(kind) ?? this.keyRef(kind)?.spki;
  }

  commit(cert: Uint8Array, chain: Uint8Array[] = []): void {
    this.list([[TAG.CERT, cert], ...chain.map((c): Item => [TAG.CHAIN, c])], (p, n) => this.core.exports.store_commit(p, n), "store_commit");
  }

  /** 65-byte public key of kind's key (IDevID, credential, pending), undefined when absent. */
  publicKey(kind: number): Uint8Array | undefined {
    return this.call((c) => {
      const out = c.reserve(65);
      return c.exports.store_public(kind, out) === 65 ? c.read(out, 65) : undefined;
    });
  }

  sign(kind: number, msg: Uint8Array, hashAlg = HASH_SHA256): Uint8Array {
    return this.call((c) => {
      const m = c.put(msg);
      const sig = c.reserve(72);
      return c.read(sig, check(c.exports.store_sign(kind, hashAlg, m, msg.length, sig), "store_sign"));
    });
  }
}

// ---- the record format, read and written by the host (tests, factory tools, inspection) ----
const MAGIC = 0x31534354;

export function slotsOf(kind: number): number[] {
  return kind === KIND.IDEVID ? [0] : [kind * 2 - 3, kind * 2 - 2];
}

/** One record as the core writes it: header, payload, truncated SHA-256. */
export function encodeRecord(kind: number, generation: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(32 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, kind, true);
  v.setUint32(8, generation >>> 0, true);
  v.setUint32(12, payload.length, true);
  out.set(payload, 16);
  out.set(
    createHash("sha256")
      .update(out.subarray(0, 16 + payload.length))
      .digest()
      .subarray(0, 16),
    16 + payload.length,
  );
  return out;
}

/** The valid record of a slot image, or undefined. */
export function decodeRecord(slot: Uint8Array, kind: number): { generation: number; payload: Uint8Array } | undefined {
  const v = new DataView(slot.buffer, slot.byteOffset, slot.length);
  if (slot.length < 32 || v.getUint32(0, true) !== MAGIC || v.getUint32(4, true) !== kind) return undefined;
  const len = v.getUint32(12, true);
  if (len > slot.length - 32) return undefined;
  const sum = createHash("sha256")
    .update(slot.subarray(0, 16 + len))
    .digest()
    .subarray(0, 16);
  if (!sum.equals(slot.subarray(16 + len, 32 + len))) return undefined;
  return { generation: v.getUint32(8, true), payload: slot.subarray(16, 16 + len) };
}

/** The current record of kind in a flash image (same rule as the core). */
export function currentRecord(flash: Flash, kind: number): { slot: number; generation: number; payload: Uint8Array } | undefined {
  let best: { slot: number; generation: number; payload: Uint8Array } | undefined;
  for (const s of slotsOf(kind)) {
    const r = decodeRecord(flash.slots[s], kind);
    if (r && (!best || ((r.generation - best.generation) | 0) > 0)) best = { slot: s, ...r };
  }
  return best;
}
