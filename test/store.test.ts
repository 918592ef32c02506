// The credential store (docs/STORE.md): records, A/B slots, generations, torn and corrupt
// records, the kur sequence, secrets kept inside, random corruption, and a short power-cut run.
import { beforeAll, describe, expect, it } from "vitest";
import { X509Certificate, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Core } from "../host/node/lib/core";
import { Flash, PowerCut } from "../host/node/lib/flash";
import { KIND, Store, TAG, currentRecord, decodeItems, encodeItems, encodeRecord, slotsOf } from "../host/node/lib/store";
import { CertFactory, keyMatchesCert } from "../host/node/tools/storecerts";
import { runPowercut } from "../host/node/tools/powercut";
import { expectCode } from "./helpers/codes";

import { E_ARG, E_STORE_EMPTY, E_STORE_FULL, E_STORE_SECRET, E_STORE_ITEM, E_STORE_READONLY, E_STORE_MISMATCH } from "../host/node/lib/abi";

let pki: CertFactory;
beforeAll(async () => {
  pki = await CertFactory.create();
});

function device(flash = new Flash()): Store {
  return new Store(new Core({ flash }));
}

function idevidKey(): { d: Uint8Array; point: Uint8Array } {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const b = (s?: string) => Buffer.from(s!, "base64url");
  return { d: b(jwk.d), point: Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]) };
}

async function enrol(s: Store, cn = "device"): Promise<Uint8Array> {
  const cert = await pki.leaf(s.pendingNew(), cn);
  s.commit(cert, pki.chain);
  return cert;
}

function put(s: Store, kind: number, slot: 0 | 1, generation: number, items: [number, Uint8Array][]): void {
  const f = s.core.flash.slots[slotsOf(kind)[slot]];
  f.fill(0xff);
  f.set(encodeRecord(kind, generation, encodeItems(items)));
}

describe("store: records", () => {
  it("an empty flash has no records", () => {
    const s = device();
    for (const k of [1, 2, 3, 4]) expectCode(s.info(k), E_STORE_EMPTY);
    expectCode(s.info(0), E_ARG);
    expectCode(s.info(5), E_ARG);
    expect(s.publicKey(KIND.CRED)).toBeUndefined();
  });

  it("provisions the IDevID once; its key never comes out, it signs", async () => {
    const s = device();
    const k = idevidKey();
    const cert = await pki.leaf(k.point, "idevid");
    s.provision(k.d, cert, pki.chain);
    expect(s.get(KIND.IDEVID, TAG.CERT)).toEqual(cert);
    expect(s.all(KIND.IDEVID, TAG.CHAIN)).toEqual(pki.chain);
    expectCode(s.core.exports.store_get(KIND.IDEVID, TAG.KEY, 0, s.core.io, 100), E_STORE_SECRET);
    expect(s.publicKey(KIND.IDEVID)).toEqual(new Uint8Array(k.point));
    const msg = new TextEncoder().encode("signed by the IDevID");
    const sig = s.sign(KIND.IDEVID, msg);
    expect(verify("sha256", msg, new X509Certificate(cert).publicKey, sig)).toBe(true);
    expect(() => s.provision(k.d, cert)).toThrow(String(E_STORE_READONLY));
    // A key whose certificate is another key's is refused.
    const t = device();
    expect(() => t.provision(idevidKey().d, cert)).toThrow(String(E_STORE_MISMATCH));
    expectCode(t.info(KIND.IDEVID), E_STORE_EMPTY);
  });

  it("ir then kur: the pending key becomes current only at commit, in one write", async () => {
    const flash = new Flash();
    let s = device(flash);
    const first = await enrol(s, "first");
    s = device(flash); // reboot
    expect(s.get(KIND.CRED, TAG.CERT)).toEqual(first);
    expect(keyMatchesCert(s.publicKey(KIND.CRED), first)).toBe(true);
    const oldPub = s.publicKey(KIND.CRED);
    const pending = s.pendingNew();
    expect(s.publicKey(KIND.CRED)).toEqual(oldPub);
    s.save(KIND.STATE, [[16, new Uint8Array([1, 2, 3])]]); // polling state: the pending key stays
    expect(s.publicKey(KIND.STATE)).toEqual(pending);
    expect(s.get(KIND.STATE, 16)).toEqual(new Uint8Array([1, 2, 3]));
    const next = await pki.leaf(pending, "next");
    flash.resetCounter();
    s.commit(next, pki.chain);
    expect(flash.ops).toBe(3 + Math.ceil((32 + 35 + 3 + next.length + pki.chain.reduce((n, c) => n + 3 + c.length, 0)) / 128));
    s = device(flash);
    expect(s.get(KIND.CRED, TAG.CERT)).toEqual(next);
    expect(keyMatchesCert(s.publicKey(KIND.CRED), next)).toBe(true);
    expect(s.publicKey(KIND.STATE)).toBeUndefined();
    expect(s.info(KIND.STATE)).toBe(0);
  });

  it("refuses a certificate of another key, secrets from the host, and commit without pending", async () => {
    const s = device();
    expectCode(s.core.exports.store_commit(s.core.io, 0), E_STORE_EMPTY); // no pending key
    const other = await pki.leaf(idevidKey().point);
    s.pendingNew();
    expect(() => s.commit(other)).toThrow(String(E_STORE_MISMATCH));
    expectCode(s.info(KIND.CRED), E_STORE_EMPTY);
    expect(() => s.save(KIND.STATE, [[TAG.PENDING, new Uint8Array(32)]])).toThrow(String(E_STORE_SECRET));
    expect(() => s.save(KIND.TRUST, [[TAG.KEY, new Uint8Array(32)]])).toThrow(String(E_STORE_SECRET));
    expect(() => s.save(KIND.CRED, [])).toThrow(String(E_ARG));
    expect(() => s.save(KIND.IDEVID, [])).toThrow(String(E_ARG));
    expectCode(s.core.exports.store_save(KIND.TRUST, s.core.io, -1), E_ARG);
    expectCode(s.core.exports.store_save(KIND.TRUST, 65536 - 2, 3), E_ARG);
    // malformed lists
    const bad = s.core.put(new Uint8Array([4, 5, 0, 1, 2]));
    expectCode(s.core.exports.store_save(KIND.TRUST, bad, 5), E_STORE_ITEM);
    expectCode(s.core.exports.store_save(KIND.TRUST, bad, 2), E_STORE_ITEM);
  });

  it("slot full: a payload larger than 4064 bytes is refused, 4064 fit", () => {
    const s = device();
    expect(() => s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array(4062)]])).toThrow(String(E_STORE_FULL));
    s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array(4061).fill(7)]]);
    expect(s.info(KIND.TRUST)).toBe(4064);
    expect(s.get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array(4061).fill(7));
  });

  it("ignores a torn record: the other slot stays current", async () => {
    const flash = new Flash();
    let s = device(flash);
    s.save(KIND.TRUST, [[TAG.ANCHOR, pki.chain[1]]]);
    for (const tear of [0, 1, 15, 16, 100, 255]) {
      flash.inject({ at: 2, tear }); // erase, then the first page written torn
      expect(() => s.save(KIND.TRUST, [[TAG.ANCHOR, pki.chain[0]]])).toThrow(PowerCut);
      flash.reboot();
      s = device(flash);
      expect(s.all(KIND.TRUST, TAG.ANCHOR)).toEqual([pki.chain[1]]);
    }
  });

  it("ignores a corrupt record: any flipped bit falls back to the older generation", () => {
    const s = device();
    s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([1])]]);
    s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([2])]]);
    const slot = currentRecord(s.core.flash, KIND.TRUST)!.slot;
    const len = 32 + 4;
    for (let i = 0; i < len * 8; i++) {
      s.core.flash.slots[slot][i >> 3] ^= 1 << (i & 7);
      expect(s.get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([1]));
      s.core.flash.slots[slot][i >> 3] ^= 1 << (i & 7);
    }
    expect(s.get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([2]));
  });

  it("never trusts a record partially: a changed payload makes the whole record absent", () => {
    const s = device();
    s.save(KIND.TRUST, [
      [TAG.ANCHOR, new Uint8Array([1, 2, 3])],
      [TAG.ANCHOR, new Uint8Array([4])],
    ]);
    const slot = currentRecord(s.core.flash, KIND.TRUST)!.slot;
    s.core.flash.slots[slot][16 + 7] ^= 1; // the second item's value
    expectCode(s.info(KIND.TRUST), E_STORE_EMPTY);
    expect(s.get(KIND.TRUST, TAG.ANCHOR, 0)).toBeUndefined();
  });

  it("orders generations with wrap-around (RFC 1982) and writes the next one to the older slot", () => {
    const s = device();
    const one = (v: number): [number, Uint8Array][] => [[TAG.ANCHOR, new Uint8Array([v])]];
    const cases: [number, number, number][] = [
      [1, 2, 2],
      [2, 1, 2],
      [0xffffffff, 0, 0],
      [0, 0xffffffff, 0],
      [0xfffffffe, 0xffffffff, 0xffffffff],
      [0x7fffffff, 0x80000000, 0x80000000],
      [5, 5, 5],
    ];
    for (const [a, b, want] of cases) {
      put(s, KIND.TRUST, 0, a, one(a & 0xff));
      put(s, KIND.TRUST, 1, b, one(b & 0xff));
      expect(s.get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([want & 0xff]));
    }
    put(s, KIND.TRUST, 0, 0xffffffff, one(1));
    put(s, KIND.TRUST, 1, 0xfffffffe, one(2));
    s.save(KIND.TRUST, one(3));
    const r = currentRecord(s.core.flash, KIND.TRUST)!;
    expect([r.slot, r.generation]).toEqual([slotsOf(KIND.TRUST)[1], 0]);
    expect(s.get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([3]));
  });

  it("a checksum-valid record with a malformed item list yields E_STORE_ITEM, not a trap", () => {
    const s = device();
    const f = s.core.flash.slots[slotsOf(KIND.CRED)[0]];
    f.set(encodeRecord(KIND.CRED, 1, new Uint8Array([TAG.KEY, 32, 0, 1, 2])));
    expectCode(s.core.exports.store_sign(KIND.CRED, 2, s.core.io, 0, s.core.io + 100), E_STORE_ITEM);
    expect(s.publicKey(KIND.CRED)).toBeUndefined();
    expect(s.get(KIND.CRED, TAG.CERT)).toBeUndefined();
  });

  it("a file-backed flash keeps the store across processes (one file per slot)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-flash-"));
    try {
      device(new Flash({ dir })).save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([9, 8])]]);
      expect(readdirSync(dir).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `slot-${i}.bin`).sort());
      expect(device(new Flash({ dir })).get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([9, 8]));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("a file-backed slot is 0600 in a 0700 directory and changes only by a whole durable replacement", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-flash-"));
    try {
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, "slot-3.bin"), new Uint8Array(4096).fill(0xff), { mode: 0o644 }); // an older version's store
      const flash = new Flash({ dir });
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (let i = 0; i < 7; i++) expect(statSync(join(dir, `slot-${i}.bin`)).mode & 0o777).toBe(0o600);
      const s = device(flash);
      s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array(300).fill(1)]]);
      // the next record goes to slot 4: while the core erases and programs it page by page, the
      // file keeps its last durable content; it changes once, complete, before the read-back
      const file = join(dir, "slot-4.bin");
      const before = readFileSync(file);
      const seen: Buffer[] = [];
      const write = flash.write.bind(flash),
        erase = flash.erase.bind(flash);
      flash.write = (slot, off, data) => {
        const r = write(slot, off, data);
        seen.push(readFileSync(file));
        return r;
      };
      flash.erase = (slot) => {
        const r = erase(slot);
        seen.push(readFileSync(file));
        return r;
      };
      s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array(600).fill(2)]]);
      expect(seen.length).toBeGreaterThan(5);
      for (const b of seen) expect(b.equals(before)).toBe(true);
      const after = readFileSync(file);
      expect(after.length).toBe(4096);
      expect(after.equals(Buffer.from(flash.slots[4]))).toBe(true);
      expect(readdirSync(dir).filter((f) => !f.endsWith(".bin"))).toEqual([]); // no slot-N.tmp left
      expect(device(new Flash({ dir })).get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array(600).fill(2));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("a slot file that cannot be written fails the store write with the reason, the old record stays", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-flash-"));
    try {
      const flash = new Flash({ dir });
      const s = device(flash);
      s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([1])]]);
      mkdirSync(join(dir, "slot-4.tmp")); // the new file of slot 4 cannot be made
      expect(() => s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([2])]])).toThrow("-121");
      expect(flash.ioError?.message).toMatch(/EISDIR/);
      expect(device(new Flash({ dir })).get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([1]));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("the emulated flash writes only erased bytes and reports failures", () => {
    const flash = new Flash();
    expect(flash.write(1, 0, new Uint8Array([0]))).toBe(true);
    expect(flash.write(1, 0, new Uint8Array([0]))).toBe(false);
    expect(flash.write(1, 4095, new Uint8Array(2))).toBe(false);
    expect(flash.read(9, 0, new Uint8Array(1))).toBe(false);
    expect(flash.erase(1)).toBe(true);
    expect(flash.slots[1][0]).toBe(0xff);
    // A refused write makes the store fail cleanly: a non-erased target slot.
    const s = device(flash);
    s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([1])]]);
    const erase = flash.erase.bind(flash);
    flash.erase = () => true; // a broken erase: the next write hits programmed bytes
    s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([2])]]);
    expect(() => s.save(KIND.TRUST, [[TAG.ANCHOR, new Uint8Array([3])]])).toThrow("-121");
    flash.erase = erase;
    expect(s.get(KIND.TRUST, TAG.ANCHOR)).toEqual(new Uint8Array([2]));
  });
});

describe("store: secrets", () => {
  it("leaves no private key bytes in linear memory after provisioning, enrolment and signing", async () => {
    const flash = new Flash();
    const s = device(flash);
    const k = idevidKey();
    s.provision(k.d, await pki.leaf(k.point, "idevid"));
    await enrol(s);
    const pending = s.pendingNew(); // an open kur: a pending key too
    s.save(KIND.STATE, [[16, new Uint8Array(4)]]);
    for (const kind of [KIND.IDEVID, KIND.CRED, KIND.STATE]) s.sign(kind, new Uint8Array(100));
    expect(s.publicKey(KIND.STATE)).toEqual(pending);
    const keys = [
      decodeItems(currentRecord(flash, KIND.IDEVID)!.payload).find(([t]) => t === TAG.KEY)![1],
      decodeItems(currentRecord(flash, KIND.CRED)!.payload).find(([t]) => t === TAG.KEY)![1],
      decodeItems(currentRecord(flash, KIND.STATE)!.payload).find(([t]) => t === TAG.PENDING)![1],
    ];
    expect(Buffer.from(keys[0]).equals(Buffer.from(k.d))).toBe(true);
    const mem = Buffer.from(s.core.memory.buffer);
    for (const key of keys) {
      expect(mem.indexOf(Buffer.from(key))).toBe(-1);
      // nor any 8-byte piece of it
      for (let i = 0; i + 8 <= 32; i += 4) expect(mem.indexOf(Buffer.from(key.subarray(i, i + 8)))).toBe(-1);
    }
  });
});

describe("store: random flash corruption", () => {
  it("2,000 corrupted flash images never trap; every answer is a value or an error code", async () => {
    const flash = new Flash();
    const s = device(flash);
    const k = idevidKey();
    s.provision(k.d, await pki.leaf(k.point, "idevid"));
    await enrol(s);
    s.pendingNew();
    s.save(
      KIND.TRUST,
      pki.chain.map((c): [number, Uint8Array] => [TAG.ANCHOR, c]),
    );
    const good = flash.snapshot();
    const e = s.core.exports;
    for (let n = 0; n < 2000; n++) {
      flash.restore(good);
      const slot = n % 7;
      const img = flash.slots[slot];
      switch (n % 4) {
        case 0:
          for (let i = 0; i < 1 + (n % 5); i++) img[randomBytes(2).readUInt16LE() % 4096] ^= 1 << (n % 8);
          break;
        case 1:
          img.set(randomBytes(64), randomBytes(2).readUInt16LE() % 4000);
          break;
        case 2: {
          // a valid checksum around random items
          const kind = slot === 0 ? 1 : (slot + 3) >> 1;
          img.fill(0xff).set(encodeRecord(kind, n, randomBytes(n % 300)));
          break;
        }
        case 3:
          img.fill(randomBytes(1)[0]);
          break;
      }
      for (const kind of [0, 1, 2, 3, 4, 5]) {
        const r = e.store_info(kind);
        expect(Number.isInteger(r)).toBe(true);
        for (const tag of [1, 2, 3, 4, 5, 16]) {
          const g = e.store_get(kind, tag, n % 3, s.core.io, 8192);
          expect(g >= -139 && g <= 8192).toBe(true);
        }
        const p = e.store_public(kind, s.core.io);
        expect(p === 65 || p < 0).toBe(true);
      }
      const sig = e.store_sign(n % 6, 2, s.core.io, 10, s.core.io + 100);
      expect(sig <= 72).toBe(true);
    }
  });
});

describe("store: power cuts (short run; `npm run powercut` for the full one)", () => {
  it("never loses the credential, never mixes a key and another's certificate", async () => {
    const r = await runPowercut({ tearStep: 128, rounds: 1, synthetic: true });
    expect(r.cut_points).toBeGreaterThan(100);
    expect(r.lost).toBe(0);
    expect(r.mismatched).toBe(0);
    expect(r.unfinished).toBe(0);
  }, 120_000);
});
