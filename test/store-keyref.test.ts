// Key references in the credential store (docs/STORE.md "Keys held by the host"): an IDevID,
// credential or pending key that lives in a token or TPM is kept as [KEYREF][PUBKEY], never as
// key material; store_use hands the core's transaction the host signer with handle = kind;
// records written by the core keep the reference; everything a host could slip in is refused.
// Keys here are node:crypto keys behind a software signer (the SoftHSM2 token: test/agent-pkcs11).
import { beforeAll, describe, expect, it } from "vitest";
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { Core, LEAN_WASM } from "../host/node/lib/core";
import { Flash } from "../host/node/lib/flash";
import { KIND, Store, StoreError, TAG, currentRecord, decodeItems, encodeItems, encodeRecord, slotsOf } from "../host/node/lib/store";
import { CertFactory } from "../host/node/tools/storecerts";
import { softSigner, type SoftSigner } from "./helpers/softsigner";

const E_ALG = -21,
  E_SIGNER = -28,
  E_SIGNER_INVALID = -29,
  E_STORE_ITEM = -125,
  E_STORE_MISMATCH = -127,
  E_STORE_KEYREF = -128;
const SEND = 1;
const enc = new TextEncoder();

let pki: CertFactory;
beforeAll(async () => {
  pki = await CertFactory.create("Keyref Test");
});

type KeyType = "P-256" | "P-384" | "RSA-2048" | "Ed25519" | "P-521";
function keyPair(t: KeyType): { priv: KeyObject; spki: Uint8Array; signer: SoftSigner } {
  const k =
    t === "Ed25519"
      ? generateKeyPairSync("ed25519")
      : t === "RSA-2048"
        ? generateKeyPairSync("rsa", { modulusLength: 2048 })
        : generateKeyPairSync("ec", { namedCurve: t });
  return {
    priv: k.privateKey,
    spki: new Uint8Array(k.publicKey.export({ format: "der", type: "spki" })),
    signer: softSigner(k.privateKey.export({ format: "pem", type: "pkcs8" }) as string),
  };
}
const leaf = async (spki: Uint8Array, cn: string) => new Uint8Array((await pki.ca.issue({ subject: `CN=${cn}`, publicKey: spki })).rawData);

/** A store whose core's env.sign maps handle = kind to the signers given. */
function device(signers: Record<number, SoftSigner | ((alg: number, input: Uint8Array) => Uint8Array | undefined)> = {}, flash = new Flash()) {
  const handles: number[] = [];
  const core = new Core({
    flash,
    sign: (h, alg, input) => {
      handles.push(h);
      const s = signers[h];
      return typeof s === "function" ? s(alg, input) : s?.sign(alg, input);
    },
  });
  return { store: new Store(core), core, flash, handles };
}

const REF_IDEVID = "pkcs11:token=dev;object=idevid?module-path=/usr/lib/softhsm/libsofthsm2.so";
const REF_NEW = "pkcs11:token=dev;object=op;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so";

describe("store: key references", () => {
  it("provisions an IDevID by reference; its record holds the reference and public key, no key", async () => {
    const idev = keyPair("P-256");
    const cert = await leaf(idev.spki, "idevid ref");
    const { store, flash } = device({ 1: idev.signer });
    store.provisionRef(REF_IDEVID, idev.spki, cert, pki.chain);
    expect(store.keyRef(KIND.IDEVID)).toEqual({ ref: REF_IDEVID, spki: idev.spki });
    expect(store.get(KIND.IDEVID, TAG.CERT)).toEqual(cert);
    expect(store.publicKey(KIND.IDEVID)).toBeUndefined();
    expect(store.core.exports.store_public(KIND.IDEVID, store.core.io)).toBe(E_STORE_KEYREF);
    const items = decodeItems(currentRecord(flash, KIND.IDEVID)!.payload).map(([t]) => t);
    expect(items).toEqual([TAG.KEYREF, TAG.PUBKEY, TAG.CERT, TAG.CHAIN, TAG.CHAIN]);
    // store_sign signs through the host signer (handle 1), and node:crypto verifies it
    const msg = enc.encode("signed by the IDevID in the token");
    const sig = store.sign(KIND.IDEVID, msg);
    expect(verify("sha256", msg, createPublicKey({ key: Buffer.from(idev.spki), format: "der", type: "spki" }), sig)).toBe(true);
  });

  it("ir with the IDevID and a new key both by reference: the core asks the host signer with handles 1 and 4", async () => {
    const idev = keyPair("P-256"),
      next = keyPair("RSA-2048");
    const { store, core, handles } = device({ 1: idev.signer, 4: next.signer });
    store.provisionRef(REF_IDEVID, idev.spki, await leaf(idev.spki, "idevid"));
    store.pendingRef(REF_NEW, next.spki);
    expect(store.keyRef(KIND.STATE)).toEqual({ ref: REF_NEW, spki: next.spki });
    store.save(KIND.STATE, [[16, enc.encode("ir")]]); // host items: the pending reference stays
    store.save(KIND.STATE, [
      [16, enc.encode("ir")],
      [17, enc.encode("x")],
    ]);
    expect(store.keyRef(KIND.STATE)).toEqual({ ref: REF_NEW, spki: next.spki });
    expect(store.get(KIND.STATE, 17)).toEqual(enc.encode("x"));
    const x = core.exports;
    x.tx_reset();
    expect(x.store_use(KIND.IDEVID)).toBe(0);
    expect(x.store_use(KIND.STATE)).toBe(0);
    const c = store.get(KIND.IDEVID, TAG.CERT)!;
    core.reset();
    expect(x.tx_set(4 /* CERT */, core.put(c), c.length)).toBe(0);
    expect(x.tx_start(1 /* ir */)).toBe(SEND);
    expect(handles).toEqual([4, 1]); // the POP by the new key, then the protection by the IDevID
    expect(next.signer.calls.map((k) => k.alg)).toEqual([3]); // RSA PKCS#1 v1.5
    expect(idev.signer.calls.map((k) => k.alg)).toEqual([1]); // ECDSA P-256
    x.tx_reset();
    // a second store_use(4) in one configuration is refused (NEWPUBKEY is set once)
    expect(x.store_use(KIND.STATE)).toBe(0);
    expect(x.store_use(KIND.STATE)).toBe(-82);
    x.tx_reset();
  });

  it("commit makes the pending reference the credential's; kur by reference; the old credential survives a refused commit byte-identical", async () => {
    const a = keyPair("P-384"),
      b = keyPair("Ed25519"),
      other = keyPair("Ed25519");
    const { store, flash, core, handles } = device({ 2: a.signer, 4: b.signer });
    store.pendingRef(REF_NEW, a.spki);
    const certA = await leaf(a.spki, "cred a");
    store.commit(certA, pki.chain);
    expect(store.info(KIND.STATE)).toBe(0); // the state is emptied
    expect(store.keyRef(KIND.CRED)).toEqual({ ref: REF_NEW, spki: a.spki });
    expect(decodeItems(currentRecord(flash, KIND.CRED)!.payload).map(([t]) => t)).toEqual([TAG.KEYREF, TAG.PUBKEY, TAG.CERT, TAG.CHAIN, TAG.CHAIN]);
    const before = currentRecord(flash, KIND.CRED)!;
    const image = Buffer.from(flash.slots[before.slot]);
    // kur: the credential's key protects (handle 2), the pending one gives the POP (handle 4)
    store.pendingRef(REF_NEW.replace("%01%02", "%03"), b.spki);
    core.exports.tx_reset();
    expect(core.exports.store_use(KIND.CRED)).toBe(0);
    expect(core.exports.store_use(KIND.STATE)).toBe(0);
    core.reset();
    expect(core.exports.tx_set(4, core.put(certA), certA.length)).toBe(0);
    expect(core.exports.tx_set(11, core.put(certA), certA.length)).toBe(0);
    expect(core.exports.tx_start(3 /* kur */)).toBe(SEND);
    expect(handles).toEqual([4, 2]);
    core.exports.tx_reset();
    // a certificate for another key than the pending one (same type): refused, nothing written
    const wrong = await leaf(other.spki, "cred other");
    expect(() => store.commit(wrong, [])).toThrow(expect.objectContaining({ code: E_STORE_MISMATCH }));
    expect(Buffer.from(flash.slots[before.slot])).toEqual(image);
    expect(currentRecord(flash, KIND.CRED)!.slot).toBe(before.slot);
    expect(store.keyRef(KIND.STATE)!.spki).toEqual(b.spki);
    const certB = await leaf(b.spki, "cred b");
    store.commit(certB);
    expect(store.keyRef(KIND.CRED)).toEqual({ ref: REF_NEW.replace("%01%02", "%03"), spki: b.spki });
    expect(store.get(KIND.CRED, TAG.CERT)).toEqual(certB);
  });

  it("refuses what a host could slip in", async () => {
    const k = keyPair("P-256"),
      k2 = keyPair("P-256");
    const cert = await leaf(k.spki, "dev");
    const code = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return (e as StoreError).code;
      }
      return 0;
    };
    const { store, flash } = device();
    // a key reference inside host items (transaction state, trust anchors, a commit list)
    store.pendingRef(REF_NEW, k.spki);
    expect(
      code(() =>
        store.save(KIND.STATE, [
          [TAG.KEYREF, enc.encode("pkcs11:object=evil")],
          [TAG.PUBKEY, k2.spki],
        ]),
      ),
    ).toBe(E_STORE_ITEM);
    expect(
      code(() =>
        store.save(KIND.STATE, [
          [16, enc.encode("kur")],
          [TAG.PUBKEY, k2.spki],
        ]),
      ),
    ).toBe(E_STORE_ITEM);
    expect(code(() => store.save(KIND.TRUST, [[TAG.KEYREF, enc.encode("x")]]))).toBe(E_STORE_ITEM);
    expect(code(() => store.commit(cert, [pki.chain[0]]))).toBe(0);
    store.pendingRef(REF_NEW, k2.spki);
    const c2 = await leaf(k2.spki, "dev2");
    const list = encodeItems([
      [TAG.CERT, c2],
      [TAG.KEYREF, enc.encode("pkcs11:object=evil")],
    ]);
    store.core.reset();
    expect(store.core.exports.store_commit(store.core.put(list), list.length)).toBe(E_STORE_ITEM);
    // pending references: malformed, another key type, trailing items, an empty reference
    const pend = (items: [number, Uint8Array][]) => {
      const l = encodeItems(items);
      store.core.reset();
      return store.core.exports.store_pending_ref(store.core.put(l), l.length);
    };
    expect(
      pend([
        [TAG.KEYREF, enc.encode("r")],
        [TAG.PUBKEY, keyPair("P-521").spki],
      ]),
    ).toBe(E_ALG);
    expect(
      pend([
        [TAG.KEYREF, enc.encode("r")],
        [TAG.PUBKEY, k.spki],
        [16, enc.encode("x")],
      ]),
    ).toBe(E_STORE_ITEM);
    expect(
      pend([
        [TAG.KEYREF, new Uint8Array(0)],
        [TAG.PUBKEY, k.spki],
      ]),
    ).toBe(E_STORE_ITEM);
    expect(
      pend([
        [TAG.PUBKEY, k.spki],
        [TAG.KEYREF, enc.encode("r")],
      ]),
    ).toBe(E_STORE_ITEM);
    expect(pend([[TAG.KEYREF, enc.encode("r")]])).toBe(E_STORE_ITEM);
    expect(
      pend([
        [TAG.KEYREF, enc.encode("r")],
        [TAG.PUBKEY, k.spki.subarray(0, 40)],
      ]),
    ).toBe(E_ALG);
    // provisioning: a certificate of another key, a reference beside a key
    const p2 = device().store;
    expect(code(() => p2.provisionRef(REF_IDEVID, k2.spki, cert))).toBe(E_STORE_MISMATCH);
    const both = encodeItems([
      [TAG.KEYREF, enc.encode("r")],
      [TAG.PUBKEY, k.spki],
      [TAG.KEY, new Uint8Array(32).fill(7)],
      [TAG.CERT, cert],
    ]);
    p2.core.reset();
    expect(p2.core.exports.store_provision(p2.core.put(both), both.length)).toBe(E_STORE_ITEM);
    expect(p2.info(KIND.IDEVID)).toBe(-120);
    // a record (written behind the core's back) whose KEYREF is not followed by its PUBKEY
    const f = flash.slots[slotsOf(KIND.STATE)[0]];
    f.fill(0xff);
    f.set(
      encodeRecord(
        KIND.STATE,
        1000,
        encodeItems([
          [TAG.KEYREF, enc.encode("r")],
          [16, enc.encode("x")],
          [TAG.PUBKEY, k.spki],
        ]),
      ),
    );
    store.core.exports.tx_reset();
    expect(store.core.exports.store_use(KIND.STATE)).toBe(E_STORE_ITEM);
  });

  it("a failing or lying host signer: E_SIGNER, E_SIGNER_INVALID; store_sign takes P-256 references only", async () => {
    const k = keyPair("P-256"),
      r = keyPair("RSA-2048");
    const { store } = device({
      1: () => {
        throw new Error("CKR_DEVICE_REMOVED");
      },
      2: () => new Uint8Array(64).fill(1),
    });
    store.provisionRef(REF_IDEVID, k.spki, await leaf(k.spki, "idevid"));
    store.pendingRef(REF_NEW, k.spki);
    store.commit(await leaf(k.spki, "cred"));
    const msg = enc.encode("m");
    expect(() => store.sign(KIND.IDEVID, msg)).toThrow(expect.objectContaining({ code: E_SIGNER }));
    expect(() => store.sign(KIND.CRED, msg)).toThrow(expect.objectContaining({ code: E_SIGNER_INVALID }));
    expect(() => store.sign(KIND.CRED, msg, 3 /* SHA-384 */)).toThrow(expect.objectContaining({ code: E_ALG }));
    store.pendingRef(REF_NEW, r.spki);
    expect(() => store.sign(KIND.STATE, msg)).toThrow(expect.objectContaining({ code: E_ALG }));
  });

  it("power cut at every write and erase of a renewal by reference: the credential is the old or the new one, whole", async () => {
    const a = keyPair("P-256"),
      b = keyPair("RSA-2048");
    const refA = REF_NEW,
      refB = REF_NEW.replace("%01%02", "%0b");
    const certA = await leaf(a.spki, "cred a"),
      certB = await leaf(b.spki, "cred b");
    const flash = new Flash();
    const s0 = device({}, flash).store;
    s0.pendingRef(refA, a.spki);
    s0.commit(certA, pki.chain);
    const start = flash.snapshot();
    const renew = (s: Store) => {
      s.pendingRef(refB, b.spki);
      s.save(KIND.STATE, [[16, enc.encode("kur")]]);
      s.save(KIND.STATE, [
        [16, enc.encode("kur")],
        [17, new Uint8Array(92).fill(3)],
      ]);
      s.commit(certB, pki.chain);
    };
    flash.resetCounter();
    renew(device({}, flash).store);
    const total = flash.ops,
      sizes = flash.sizes.slice();
    expect(device({}, flash).store.keyRef(KIND.CRED)!.ref).toBe(refB);
    let cuts = 0;
    const seen = new Set<string>();
    for (let at = 1; at <= total; at++) {
      for (const tear of [0, 3, 17, 100, sizes[at - 1] - 1]) {
        flash.reboot();
        flash.restore(start);
        flash.resetCounter();
        flash.inject({ at, tear });
        expect(() => renew(device({}, flash).store)).toThrow(/power cut/);
        flash.reboot();
        cuts++;
        const s = device({}, flash).store;
        const cred = s.keyRef(KIND.CRED)!;
        const cert = s.get(KIND.CRED, TAG.CERT)!;
        // never lost, never a key reference beside another key's certificate
        expect([refA, refB]).toContain(cred.ref);
        expect(Buffer.from(cert)).toEqual(Buffer.from(cred.ref === refA ? certA : certB));
        expect(Buffer.from(cred.spki)).toEqual(Buffer.from(cred.ref === refA ? a.spki : b.spki));
        seen.add(cred.ref);
        // after the reboot: a pending reference is B's, whole; committing it finishes the renewal
        const pending = s.keyRef(KIND.STATE);
        if (pending) {
          expect(pending).toEqual({ ref: refB, spki: b.spki });
          if (cred.ref === refA) s.commit(certB, pki.chain);
          else s.clear(KIND.STATE);
          expect(s.keyRef(KIND.CRED)!.ref).toBe(refB);
        }
      }
    }
    expect(cuts).toBe(total * 5);
    expect([...seen].sort()).toEqual([refA, refB].sort()); // cuts before and after the flip
  }, 60_000);

  it("the lean module (no host signer) refuses a key reference with E_STORE_KEYREF", async () => {
    const k = keyPair("P-256");
    const { store, flash } = device();
    store.provisionRef(REF_IDEVID, k.spki, await leaf(k.spki, "idevid"));
    store.pendingRef(REF_NEW, k.spki);
    const lean = new Core({ wasm: LEAN_WASM, flash });
    lean.exports.tx_reset();
    expect(lean.exports.store_use(KIND.IDEVID)).toBe(E_STORE_KEYREF);
    expect(lean.exports.store_use(KIND.STATE)).toBe(E_STORE_KEYREF);
    const cert = await leaf(k.spki, "cred");
    const l = encodeItems([[TAG.CERT, cert]]);
    lean.reset();
    expect(lean.exports.store_commit(lean.put(l), l.length)).toBe(E_STORE_KEYREF);
    expect(lean.exports.store_info(KIND.CRED)).toBe(-120);
  });
});
