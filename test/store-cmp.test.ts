// The store with real CMP transactions against the test PKI: ir signed with the provisioned IDevID
// (keys given to the transaction with store_use, never through the I/O buffer), the new key saved
// as pending first and committed after DONE; kur signed with that credential; a reboot between
// pending and commit resumes; then linear memory holds none of the private keys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { Core } from "../host/node/lib/core";
import { Flash } from "../host/node/lib/flash";
import { KIND, Store, TAG, currentRecord, decodeItems, decodeRecord, slotsOf } from "../host/node/lib/store";
import { HttpTransport } from "../host/node/lib/transport";
import { TestPki } from "../host/node/testpki/index";
import * as x509 from "../host/node/testpki/x509";
import { keyMatchesCert } from "../host/node/tools/storecerts";
import { ITEM, kurItems, transact } from "../host/node/tools/storecmp";
import { E_STORE_EMPTY } from "../host/node/lib/abi";
import { expectCode } from "./helpers/codes";

const { CERT: ITEM_CERT, EXTRA: ITEM_EXTRA, TRUSTED: ITEM_TRUSTED, SUBJECT: ITEM_SUBJECT } = ITEM;
const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

let pki: TestPki;
let net: HttpTransport;
beforeAll(async () => {
  pki = await TestPki.start();
  net = new HttpTransport({ url: pki.url });
});
afterAll(async () => {
  net?.close();
  await pki?.close();
});

describe("store with CMP against the test PKI", () => {
  it("ir with the IDevID, kur with the credential, resume after a reboot; no key left in memory", async () => {
    const flash = new Flash();
    let s = new Store(new Core({ flash }));
    const dev = await pki.createIdevid("SN-STORE-1");
    const d = Buffer.from(createPrivateKey(dev.keyPem).export({ format: "jwk" }).d!, "base64url");
    const idevid = der(dev.certPem);
    s.provision(d, idevid, dev.chain.map(der));
    const root = pki.root.der;
    const subject = new Uint8Array(new x509.Name("CN=store device").toArrayBuffer());

    // ir: pending key first, then the transaction, then one commit.
    s.pendingNew();
    const ir = await transact(s, net, "ir", [
      [ITEM_CERT, idevid],
      ...dev.chain.map((p): [number, Uint8Array] => [ITEM_EXTRA, der(p)]),
      [ITEM_TRUSTED, root],
      [ITEM_SUBJECT, subject],
    ]);
    expectCode(s.info(KIND.CRED), E_STORE_EMPTY);
    s.commit(ir.cert, ir.chain);
    expect(keyMatchesCert(s.publicKey(KIND.CRED), s.get(KIND.CRED, TAG.CERT))).toBe(true);

    // kur: pending saved, device reboots before the request: resumes with the same pending key.
    const pending = s.pendingNew();
    const before = s.core; // the device before the reboot: it signed the ir with the IDevID
    s = new Store(new Core({ flash }));
    expect(s.publicKey(KIND.STATE)).toEqual(pending);
    const old = s.get(KIND.CRED, TAG.CERT)!;
    const kur = await transact(s, net, "kur", kurItems(s, [root]));
    expect(Buffer.from(s.get(KIND.CRED, TAG.CERT)!).equals(Buffer.from(old))).toBe(true); // old one until commit
    s.commit(kur.cert, kur.chain);
    expect(s.get(KIND.CRED, TAG.CERT)).toEqual(kur.cert);
    expect(s.publicKey(KIND.CRED)).toEqual(pending);
    expect(keyMatchesCert(pending, kur.cert)).toBe(true);

    // A signature with the stored credential, then scan linear memory for every private key.
    s.sign(KIND.CRED, new Uint8Array(64));
    const keyOf = (payload: Uint8Array) => decodeItems(payload).find(([t]) => t === TAG.KEY)![1];
    const cur = currentRecord(flash, KIND.CRED)!;
    const older = slotsOf(KIND.CRED).find((n) => n !== cur.slot)!;
    const keys = [d, keyOf(cur.payload), keyOf(decodeRecord(flash.slots[older], KIND.CRED)!.payload)];
    expect(new Set(keys.map((k) => Buffer.from(k).toString("hex"))).size).toBe(3);
    for (const core of [before, s.core]) {
      const mem = Buffer.from(core.memory.buffer);
      for (const key of keys) for (let i = 0; i + 8 <= 32; i += 4) expect(mem.indexOf(Buffer.from(key.subarray(i, i + 8)))).toBe(-1);
    }
  }, 60_000);
});
