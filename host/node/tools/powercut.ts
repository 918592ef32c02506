// Power-cut proof of the credential store (docs/STORE.md): replays ir (first credential), kur
// (pending key saved, polling state saved, new credential committed) and a root-CA update (trust
// anchors replaced); ir and kur are real CMP transactions against the test PKI (store_use keys;
// --synthetic: certificates issued directly by a test CA instead), cutting power at every flash write and erase and at a spread of byte offsets
// inside each (torn writes). After each cut the device reboots (a new Core over the same flash)
// and must hold a credential whose key matches its certificate (the old or the new one, never
// neither once one existed), the old or the new trust anchors, its IDevID; then it finishes or
// restarts the operation, and the result is checked.
// Usage: npm run powercut [-- --json] [--tear-step N] [--rounds N] [--synthetic]
import { X509Certificate, createPrivateKey, generateKeyPairSync } from "node:crypto";
import { Core } from "../lib/core.js";
import { Flash, PowerCut } from "../lib/flash.js";
import { KIND, Store, TAG, currentRecord } from "../lib/store.js";
import { HttpTransport } from "../lib/transport.js";
import { TestPki } from "../testpki/index.js";
import * as x509 from "../testpki/x509.js";
import { CertFactory, keyMatchesCert } from "./storecerts.js";
import { ITEM, kurItems, transact } from "./storecmp.js";

export interface PowercutResult {
  cut_points: number;
  lost: number;
  mismatched: number;
  unfinished: number;
  scenarios: Record<string, number>;
}

type Op = "ir" | "kur" | "rootca";

/** Flash that remembers whether a credential was ever valid in it (checked before each change). */
class WatchedFlash extends Flash {
  credSeen = false;
  private look(): void {
    if (!this.dead) this.credSeen ||= currentRecord(this, KIND.CRED) !== undefined;
  }
  override write(slot: number, offset: number, data: Uint8Array): boolean {
    this.look();
    return super.write(slot, offset, data);
  }
  override erase(slot: number): boolean {
    this.look();
    return super.erase(slot);
  }
}

const eq = (a?: Uint8Array, b?: Uint8Array) => !!a && !!b && Buffer.from(a).equals(Buffer.from(b));
const sameList = (a: Uint8Array[], b: Uint8Array[]) => a.length === b.length && a.every((x, i) => eq(x, b[i]));

export async function runPowercut(opts: { tearStep?: number; rounds?: number; synthetic?: boolean; log?: (s: string) => void } = {}): Promise<PowercutResult> {
  // Defaults: about 2,000 cut points with CMP transactions (slower), 3,700 synthetic.
  const tearStep = opts.tearStep ?? (opts.synthetic ? 4 : 8);
  const rounds = opts.rounds ?? (opts.synthetic ? 3 : 2);
  const log = opts.log ?? (() => {});
  const pki = await CertFactory.create("Powercut");
  const newRoot = await CertFactory.create("Powercut New");
  const cmp = opts.synthetic ? undefined : await TestPki.start();
  const net = cmp && new HttpTransport({ url: cmp.url });
  try {
    return await proof();
  } finally {
    net?.close();
    await cmp?.close();
  }

  async function proof(): Promise<PowercutResult> {
    const root = cmp ? cmp.root.der : pki.chain[1];
    const oldAnchors = [root];
    const newAnchors = [newRoot.chain[1], root];
    const issued = new Set<string>();
    let idevidItems: [number, Uint8Array][] = [];
    const subject = new Uint8Array(new x509.Name("CN=powercut device").toArrayBuffer());
    // The certificate for the pending key: a CMP transaction (ir with the IDevID, kur with the
    // current credential), or a certificate straight from the test CA.
    const issue = async (s: Store, op: "ir" | "kur") => {
      const r = net
        ? await transact(s, net, op, op === "ir" ? idevidItems : kurItems(s, oldAnchors))
        : { cert: await pki.leaf(s.publicKey(KIND.STATE)!), chain: pki.chain };
      issued.add(Buffer.from(r.cert).toString("hex"));
      return r;
    };
    const result: PowercutResult = { cut_points: 0, lost: 0, mismatched: 0, unfinished: 0, scenarios: {} };

    // The operations as a host runs them, each step a store call that may be cut.
    async function run(s: Store, op: Op): Promise<void> {
      if (op === "rootca")
        return s.save(
          KIND.TRUST,
          newAnchors.map((c) => [TAG.ANCHOR, c]),
        );
      s.pendingNew(); // before the request is sent
      s.save(KIND.STATE, [[16, Buffer.from("transactionID+nonces")]]); // polling state
      const { cert, chain } = await issue(s, op); // DONE: pkiConf / implicitConfirm
      s.commit(cert, chain);
    }

    // After a reboot: finish the operation (resume a pending key) or restart it.
    async function finish(s: Store, op: Op, oldCert?: Uint8Array): Promise<void> {
      if (op === "rootca") {
        if (!sameList(s.all(KIND.TRUST, TAG.ANCHOR), newAnchors)) await run(s, op);
        return;
      }
      const pending = s.publicKey(KIND.STATE);
      if (pending && eq(pending, s.publicKey(KIND.CRED))) return s.clear(KIND.STATE); // committed
      if (pending) {
        const r = await issue(s, op);
        return s.commit(r.cert, r.chain);
      } // resume
      const cert = s.get(KIND.CRED, TAG.CERT);
      if (!cert || eq(cert, oldCert)) await run(s, op); // restart
    }

    for (let round = 0; round < rounds; round++) {
      const flash = new WatchedFlash();
      const boot = () => new Store(new Core({ flash }));
      let s = boot();
      // Provision the IDevID (the factory's way: key pair made outside, certificate of a manufacturer CA).
      const b64 = (x?: string) => Buffer.from(x!, "base64url");
      if (cmp) {
        const dev = await cmp.createIdevid(`SN-POWERCUT-${round}`);
        const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
        s.provision(b64(createPrivateKey(dev.keyPem).export({ format: "jwk" }).d), der(dev.certPem), dev.chain.map(der));
        idevidItems = [
          [ITEM.CERT, der(dev.certPem)],
          ...dev.chain.map((p): [number, Uint8Array] => [ITEM.EXTRA, der(p)]),
          [ITEM.TRUSTED, root],
          [ITEM.SUBJECT, subject],
        ];
      } else {
        const id = await CertFactory.create("IDevID");
        const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
        const point = Buffer.concat([Buffer.from([4]), b64(jwk.x), b64(jwk.y)]);
        s.provision(b64(jwk.d), await id.leaf(point, "idevid"));
      }
      const idevid = s.get(KIND.IDEVID, TAG.CERT)!;
      s.save(
        KIND.TRUST,
        oldAnchors.map((c) => [TAG.ANCHOR, c]),
      );
      // Later rounds start from the other A/B slot of every kind.
      for (let i = 0; i < round; i++) {
        s.save(
          KIND.TRUST,
          oldAnchors.map((c) => [TAG.ANCHOR, c]),
        );
        s.clear(KIND.STATE);
      }

      for (const op of ["ir", "kur", "rootca"] as Op[]) {
        if (op === "kur") await run(s, "ir"); // kur renews a first credential
        const start = flash.snapshot();
        const oldCert = s.get(KIND.CRED, TAG.CERT);
        // Dry run: the writes and erases of this operation and their sizes.
        flash.resetCounter();
        await run(s, op);
        const sizes = flash.sizes.slice();
        let points = 0;
        for (let at = 1; at <= sizes.length; at++) {
          const n = sizes[at - 1];
          const erase = n === flash.slotSize; // an erase: 17 points across the slot
          const tears = new Set<number>([0, 1, 15, 16, 17, n - 1, n]);
          for (let t = 0; t < n; t += erase ? n / 16 : tearStep) tears.add(t);
          for (const tear of [...tears].filter((t) => t >= 0 && t <= n)) {
            flash.restore(start);
            flash.reboot();
            flash.credSeen = false;
            s = boot();
            flash.inject({ at, tear });
            try {
              await run(s, op);
            } catch (e) {
              if (!(e instanceof PowerCut)) throw e;
            }
            if (!flash.dead) continue; // the operation had fewer writes this time
            points++;
            flash.reboot();
            s = boot();
            // The device after the cut.
            const cert = s.get(KIND.CRED, TAG.CERT);
            const pub = s.publicKey(KIND.CRED);
            if (!eq(s.get(KIND.IDEVID, TAG.CERT), idevid)) result.lost++;
            if (!cert || !pub) {
              if (flash.credSeen || oldCert) result.lost++;
            } else if (!keyMatchesCert(pub, cert) || !(eq(cert, oldCert) || issued.has(Buffer.from(cert).toString("hex")))) {
              result.mismatched++;
            }
            const ta = s.all(KIND.TRUST, TAG.ANCHOR);
            if (ta.length === 0) result.lost++;
            else if (!sameList(ta, oldAnchors) && !sameList(ta, newAnchors)) result.mismatched++;
            // Finish or restart, then check the result (after one more reboot).
            try {
              await finish(s, op, oldCert);
              s = boot();
              const c2 = s.get(KIND.CRED, TAG.CERT);
              const done =
                op === "rootca"
                  ? sameList(s.all(KIND.TRUST, TAG.ANCHOR), newAnchors)
                  : !!c2 && !eq(c2, oldCert) && keyMatchesCert(s.publicKey(KIND.CRED), c2) && s.publicKey(KIND.STATE) === undefined;
              if (!done) result.unfinished++;
            } catch (e) {
              log(`round ${round} ${op} cut at ${at}/${tear}: finishing failed: ${e}`);
              result.unfinished++;
            }
          }
        }
        // Leave the operation completed for the next scenario.
        flash.restore(start);
        flash.reboot();
        s = boot();
        await run(s, op);
        result.cut_points += points;
        result.scenarios[`${op}#${round}`] = points;
        log(`round ${round} ${op}: ${sizes.length} writes/erases, ${points} cut points`);
      }
    }
    return result;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const json = args.includes("--json");
  const t0 = performance.now();
  const r = await runPowercut({
    tearStep: arg("--tear-step"),
    rounds: arg("--rounds"),
    synthetic: args.includes("--synthetic"),
    log: json ? undefined : console.log,
  });
  if (json) console.log(JSON.stringify({ cut_points: r.cut_points, lost: r.lost, mismatched: r.mismatched }));
  else {
    console.log(`cut points tried: ${r.cut_points}`);
    console.log(`credentials lost: ${r.lost}`);
    console.log(`mismatched:       ${r.mismatched}`);
    console.log(`not finished:     ${r.unfinished}`);
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  process.exitCode = r.lost || r.mismatched || r.unfinished ? 1 : 0;
}
