// The device agent with its keys in a PKCS#11 token (Debian's SoftHSM2, a fresh token for this
// file): provisioning with the IDevID key in the token, ir, renewal (kur) with a key generated in
// the token, the store keeping only references (docs/STORE.md "Keys held by the host"); each key
// type the token has; against the test PKI and `openssl cmp` as the server; token absent, wrong
// PIN, key not found, a signer returning garbage, a store naming a deleted token key, a crash
// after the new token key was made; the flash files scanned for key material and the PIN.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, AgentStop, CmpFailure, type Clock, type KeyHolder, type LogEvent } from "../host/node/lib/agent";
import { agentMain } from "../host/node/cli/agent-main";
import type { Signer } from "../host/node/lib/device";
import { Flash } from "../host/node/lib/flash";
import { closeAll, parsePkcs11Uri, Pkcs11Keys, Pkcs11Signer } from "../host/node/lib/pkcs11";
import { KIND, Store, TAG, currentRecord, decodeItems, slotsOf } from "../host/node/lib/store";
import { Core } from "../host/node/lib/core";
import { HttpTransport } from "../host/node/lib/transport";
import { TestPki } from "../host/node/testpki/index";
import { makeCreds, withMockServer } from "./helpers/openssl-cmp";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so"; // Debian softhsm2 (.ci/run installs it)
const PIN = "271828",
  SO_PIN = "314159";

// Skip the whole file, with the reason, where the token or the addon is missing.
function missing(): string | undefined {
  if (!existsSync(MODULE)) return `${MODULE} absent (apt-get install softhsm2)`;
  try {
    execFileSync("softhsm2-util", ["--version"], { stdio: "pipe" });
  } catch {
    return "softhsm2-util absent (apt-get install softhsm2)";
  }
  try {
    createRequire(import.meta.url)("pkcs11js");
  } catch (e) {
    return `the pkcs11js addon does not load: ${(e as Error).message}`;
  }
  return undefined;
}
const skip = missing();
if (skip) console.warn(`test/agent-pkcs11.test.ts skipped: ${skip}`);

let dir: string, pinFile: string;
const TOKEN = "agent";
const q = (extra = "") => `?module-path=${MODULE}&pin-source=file:${pinFile}${extra}`;
const newKeyUri = (type = "P-256", label = "op") => `pkcs11:token=${TOKEN};object=${label}${q(`&x-key-type=${type}`)}`;
const spkiOf = (cert: Uint8Array) => Buffer.from(new X509Certificate(cert).publicKey.export({ format: "der", type: "spki" }));
const sameKey = (a: Uint8Array, b: Uint8Array) =>
  createPublicKey({ key: Buffer.from(a), format: "der", type: "spki" }).equals(createPublicKey({ key: Buffer.from(b), format: "der", type: "spki" }));

/** Private keys in the token under a label: their CKA_IDs (hex), listed by OpenSC's pkcs11-tool in
 *  its own process (another PKCS#11 instance than the agent's). */
function idsUnder(label: string): string[] {
  const out = execFileSync("pkcs11-tool", ["--module", MODULE, "--token-label", TOKEN, "--login", "--pin", PIN, "--list-objects", "--type", "privkey"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out
    .split(/^Private Key Object/m)
    .slice(1)
    .filter((o) => o.match(/label:\s*(.*)$/m)?.[1].trim() === label)
    .map((o) => o.match(/ID:\s*([0-9a-f]+)/m)![1])
    .sort();
}
const idOf = (ref: string) => Buffer.from(parsePkcs11Uri(ref).path.id!, "latin1").toString("hex");

class FakeClock implements Clock {
  t = Date.now();
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

/** The whole store directory: no private key item, no given secret bytes anywhere in any file. */
function scanStore(storeDir: string, secrets: Uint8Array[]): { refs: string[] } {
  const refs: string[] = [];
  const files = readdirSync(storeDir);
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    const bytes = readFileSync(join(storeDir, f));
    for (const s of secrets) expect(bytes.indexOf(Buffer.from(s)), `${f} holds a secret`).toBe(-1);
  }
  const flash = new Flash({ dir: storeDir });
  for (const kind of [KIND.IDEVID, KIND.CRED, KIND.TRUST, KIND.STATE]) {
    const r = currentRecord(flash, kind);
    if (!r) continue;
    for (const [tag, v] of decodeItems(r.payload)) {
      expect([TAG.KEY, TAG.PENDING]).not.toContain(tag);
      if (tag === TAG.KEYREF) {
        const ref = new TextDecoder().decode(v);
        expect(ref).not.toMatch(/pin-/);
        refs.push(ref);
      }
    }
  }
  return { refs };
}

describe.skipIf(!!skip)("agent with keys in a PKCS#11 token (SoftHSM2)", () => {
  let pki: TestPki, net: HttpTransport;
  let idevidPem: { keyPem: string; certPem: string; chain: string[] };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tinycmp-agent-hsm-"));
    mkdirSync(join(dir, "tokens"));
    writeFileSync(join(dir, "softhsm2.conf"), `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env.SOFTHSM2_CONF = join(dir, "softhsm2.conf"); // this test file runs in its own process (pool forks)
    delete process.env.TINYCMP_PKCS11_PIN;
    execFileSync("softhsm2-util", ["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN], { stdio: "pipe" });
    pinFile = join(dir, "pin");
    writeFileSync(pinFile, PIN + "\n", { mode: 0o600 });
    pki = await TestPki.start();
    net = new HttpTransport({ url: pki.url });
    // the IDevID: a key the test knows (to scan the store for it), imported into the token
    const idev = await pki.createIdevid("SN-TOKEN-1");
    idevidPem = idev;
    writeFileSync(join(dir, "idevid.key"), createPrivateKey(idev.keyPem).export({ format: "pem", type: "pkcs8" }));
    writeFileSync(join(dir, "idevid.pem"), idev.certPem);
    writeFileSync(join(dir, "chain.pem"), idev.chain.join(""));
    writeFileSync(join(dir, "root.pem"), pki.root.certPem);
    execFileSync("softhsm2-util", ["--import", join(dir, "idevid.key"), "--label", "idevid", "--id", "01", "--token", TOKEN, "--pin", PIN], { stdio: "pipe" });
  }, 60_000);
  afterAll(async () => {
    closeAll();
    net?.close();
    await pki?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => pki.reset());

  const idevidUri = () => `pkcs11:token=${TOKEN};object=idevid${q()}`;

  /** agentMain in this process: exit status and what it printed. */
  async function main(...argv: string[]) {
    const out: string[] = [],
      err: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((s) => void out.push(String(s)));
    const error = vi.spyOn(console, "error").mockImplementation((s) => void err.push(String(s)));
    try {
      return { code: await agentMain(argv), out: out.join("\n"), err: err.join("\n") };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  /** A store directory provisioned through `tinycmp agent --provision` with the token IDevID. */
  async function provisioned(name: string, config: Record<string, unknown>) {
    const store = join(dir, name);
    const cfg = join(dir, `${name}.json`);
    writeFileSync(cfg, JSON.stringify({ url: pki.url, subject: `CN=${name}`, trusted: join(dir, "root.pem"), idevidKey: idevidUri(), ...config }));
    const r = await main("--store", store, "--config", cfg, "--provision", join(dir, "idevid.pem"), join(dir, "chain.pem"));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/"event":"idevid.provisioned"/);
    return { store, cfg };
  }

  function agent(
    store: string,
    config: Record<string, unknown>,
    opts: { keys?: KeyHolder; clock?: FakeClock; transport?: { transfer(r: Uint8Array): Promise<Uint8Array> } } = {},
  ) {
    const logs: LogEvent[] = [];
    const clock = opts.clock ?? new FakeClock();
    const keys = opts.keys ?? new Pkcs11Keys(config.newKey as string | undefined, idevidUri());
    const a = new Agent(
      { url: pki.url, subject: "CN=token device", trusted: [pki.root.der], backoffBase: 0.001, attempts: 2, ...config },
      { flash: new Flash({ dir: store }), clock, transport: opts.transport ?? net, keys, log: (e) => logs.push(e) },
    );
    return { a, logs, clock };
  }

  it("provision (IDevID key in the token), ir, kur with a new token key; the store keeps references only, old keys are destroyed", async () => {
    pki.configure({ validitySeconds: 3000 });
    const newKey = newKeyUri("P-256", "op-p256");
    const { store } = await provisioned("s-main", { newKey });
    // provisioning again with the same IDevID is reported, not an error
    expect((await main("--store", store, "--provision", idevidUri(), join(dir, "idevid.pem"))).out).toMatch(/already provisioned/);
    const { a, logs, clock } = agent(store, { newKey });
    expect(a.store.keyRef(KIND.IDEVID)!.ref).toBe(`pkcs11:token=${TOKEN};object=idevid?module-path=${MODULE}`);
    expect(await a.step()).toBe("enrolled");
    const cred1 = a.store.keyRef(KIND.CRED)!;
    expect(sameKey(spkiOf(a.certificate!), cred1.spki)).toBe(true);
    expect(idsUnder("op-p256")).toEqual([idOf(cred1.ref)]);
    // the ir was signed by the IDevID in the token: the CA saw the IDevID certificate
    expect(pki.requests.some((r: any) => JSON.stringify(r).length > 0)).toBe(true);
    clock.t = a.renewalTime()! + 1;
    expect(await a.step()).toBe("renewed");
    const cred2 = a.store.keyRef(KIND.CRED)!;
    expect(cred2.ref).not.toBe(cred1.ref);
    expect(sameKey(spkiOf(a.certificate!), cred2.spki)).toBe(true);
    // the old credential's token key is destroyed after the commit; only the current one is left
    expect(idsUnder("op-p256")).toEqual([idOf(cred2.ref)]);
    expect(logs.find((e) => e.event === "token.keys.destroyed")?.ids).toEqual([idOf(cred1.ref)]);
    clock.t = a.renewalTime()! - 1000; // before the new certificate's renewal point (whole seconds: ir and kur may share one)
    expect(await a.step()).toBe("idle");
    a.close();
    // the flash files: references only, no key item, neither the IDevID's private scalar nor the PIN
    const d = Buffer.from(createPrivateKey(idevidPem.keyPem).export({ format: "jwk" }).d!, "base64url");
    const { refs } = scanStore(store, [d, new TextEncoder().encode(PIN)]);
    expect(refs.sort()).toEqual([a.store.keyRef(KIND.IDEVID)!.ref, cred2.ref].sort());
    expect(JSON.stringify(logs)).not.toContain(PIN);
    // `tinycmp agent --once` over the same store and token: nothing to do
    const cfg = join(dir, "s-main.json");
    const once = await main("--store", store, "--config", cfg, "--once");
    expect(once.code, once.err).toBe(0);
    expect(once.out).toMatch(/"event":"idle"/);
  }, 120_000);

  // Key types of the token against the test PKI: ir and kur each with a new key of this type,
  // generated in the token (the test PKI signs P-256, P-384 and RSA PKCS#1 v1.5 requests).
  for (const [type, algOid] of [
    ["P-384", "06082a8648ce3d040303"],
    ["RSA-2048", "06092a864886f70d01010b"],
  ] as const) {
    it(`${type}: ir and kur with keys generated in the token (test PKI)`, async () => {
      pki.configure({ validitySeconds: 3000 });
      const label = `op-${type}`;
      const newKey = newKeyUri(type, label);
      const { store } = await provisioned(`s-${label}`, { newKey });
      const sent: Uint8Array[] = [];
      const { a, clock } = agent(
        store,
        { newKey },
        {
          transport: {
            transfer: (r) => {
              sent.push(r);
              return net.transfer(r);
            },
          },
        },
      );
      expect(await a.step()).toBe("enrolled");
      const irCount = sent.length;
      clock.t = a.renewalTime()! + 1;
      expect(await a.step()).toBe("renewed");
      const cred = a.store.keyRef(KIND.CRED)!;
      const k = new X509Certificate(a.certificate!).publicKey;
      expect(k.asymmetricKeyType).toBe(type.startsWith("RSA") ? "rsa" : "ec");
      expect(sameKey(spkiOf(a.certificate!), cred.spki)).toBe(true);
      // the kur (the first request of the renewal): POP and protection by this key type
      const kur = Buffer.from(sent[irCount]);
      expect(kur.indexOf(Buffer.from(algOid, "hex"))).toBeGreaterThan(0);
      expect(idsUnder(label)).toEqual([idOf(cred.ref)]);
      scanStore(store, [new TextEncoder().encode(PIN)]);
      a.close();
    }, 120_000);
  }

  // Against `openssl cmp` as the server: the IDevID in the token protects the ir, the new key
  // generated there gives the POP; each key type in each role, PSS and Ed25519 included (the
  // test PKI does not take those). The mock server answers with a preset certificate, so the new
  // key is made in the token just before it starts (through the KeyHolder the agent calls); its
  // kur only renews that preset certificate itself ("wrong certid" otherwise), so renewals run
  // against the test PKI above.
  const osslCases: [idev: string, next: string, extra: Record<string, unknown>, protOid: string, popOid: string][] = [
    ["RSA-2048", "Ed25519", { rsaPss: true }, "06092a864886f70d01010a", "06032b6570"],
    ["Ed25519", "RSA-2048", { rsaPss: true }, "06032b6570", "06092a864886f70d01010a"],
    ["P-384", "RSA-2048", {}, "06082a8648ce3d040303", "06092a864886f70d01010b"],
    ["RSA-2048", "P-256", {}, "06092a864886f70d01010b", "06082a8648ce3d040302"],
  ];
  for (const [idevType, nextType, extra, protOid, popOid] of osslCases) {
    it(`openssl cmp: ir protected by a ${idevType}${extra.rsaPss && idevType.startsWith("RSA") ? " PSS" : ""} IDevID in the token, POP by a new ${nextType}${extra.rsaPss && nextType.startsWith("RSA") ? " PSS" : ""} token key`, async (ctx) => {
      const creds = makeCreds();
      const certFor = (name: string, s: Pkcs11Signer) => creds.issueForKey(name, s.publicKey(), `/CN=tinycmp ${name}`);
      const label = `ossl-${idevType}-${nextType}`;
      const tokenKey = (object: string, id: string, type: string) => {
        const ref = `pkcs11:token=${TOKEN};object=${object};id=${id}?module-path=${MODULE}`;
        try {
          return { ref, signer: new Pkcs11Signer(`${ref}&pin-source=file:${pinFile}&x-key-type=${type}`, { generate: true }) };
        } catch (e) {
          if (type === "Ed25519" && /CKR_MECHANISM/.test((e as Error).message))
            ctx.skip(`this SoftHSM2 build cannot generate Ed25519 keys: ${(e as Error).message}`);
          throw e;
        }
      };
      const idev = tokenKey(`${label}-idev`, "%10", idevType);
      const idevCert = certFor("idev", idev.signer);
      const store = join(dir, `s-${label}`);
      new Store(new Core({ flash: new Flash({ dir: store }) })).provisionRef(idev.ref, idev.signer.publicKey(), idevCert);
      const base = new Pkcs11Keys(newKeyUri(nextType, label), idevidUri());
      const next = tokenKey(label, "%11", nextType);
      const keys: KeyHolder = { open: (r) => base.open(r), generate: () => next, sweep: (k) => base.sweep(k), close: () => base.close() };
      certFor("next", next.signer);
      const sent: Uint8Array[] = [];
      await withMockServer(creds, ["-rsp_cert", "next.crt"], async (s) => {
        const http = new HttpTransport({ url: s.url });
        const clock = new FakeClock();
        clock.t = Date.now() + 60_000; // the preset certificate was made a moment ago
        const a = new Agent(
          { url: s.url, subject: "CN=tinycmp token", trusted: [creds.der("root.crt")], attempts: 1, newKey: newKeyUri(nextType, label), ...extra },
          {
            flash: new Flash({ dir: store }),
            keys,
            clock,
            log: () => {},
            transport: {
              transfer: (r) => {
                sent.push(r);
                return http.transfer(r);
              },
            },
          },
        );
        expect(await a.step()).toBe("enrolled");
        expect(Buffer.from(a.certificate!)).toEqual(Buffer.from(creds.der("next.crt")));
        expect(a.store.keyRef(KIND.CRED)!.ref).toBe(next.ref);
        a.close();
        http.close();
      });
      // the ir: protection by the IDevID's algorithm, POP by the new key's
      const ir = Buffer.from(sent[0]);
      expect(ir.indexOf(Buffer.from(protOid, "hex"))).toBeGreaterThan(0);
      expect(ir.indexOf(Buffer.from(popOid, "hex"))).toBeGreaterThan(0);
      scanStore(store, [new TextEncoder().encode(PIN)]);
    }, 120_000);
  }

  describe("failures: a clear error, the stored credential byte-identical", () => {
    /** An enrolled store (P-256 token keys) and the bytes of its credential slots. */
    async function enrolled(name: string) {
      pki.configure({ validitySeconds: 3000 });
      const newKey = newKeyUri("P-256", `op-${name}`);
      const { store } = await provisioned(name, { newKey });
      const { a } = agent(store, { newKey });
      expect(await a.step()).toBe("enrolled");
      const renewAt = a.renewalTime()! + 1;
      a.close();
      const snapshot = () => slotsOf(KIND.CRED).map((s) => readFileSync(join(store, `slot-${s}.bin`)));
      return { store, newKey, renewAt, before: snapshot(), snapshot, label: `op-${name}` };
    }

    it("token absent: exit status 1 (a restart may find it), credential unchanged", async () => {
      const e = await enrolled("absent");
      const newKey = e.newKey.replace(`token=${TOKEN}`, "token=unplugged");
      const { a, clock } = agent(e.store, { newKey }, { keys: new Pkcs11Keys(newKey, idevidUri()) });
      clock.t = e.renewAt;
      const err = await a.step().catch((x) => x);
      expect(String(err)).toMatch(/token unavailable for the new key: .*no token present matches/);
      expect(a.failed(err)).toBe(1);
      expect(e.snapshot()).toEqual(e.before);
      a.close();
    }, 60_000);

    it("wrong PIN: exit status 2 naming the PIN source, the PIN never in the log; credential unchanged", async () => {
      const e = await enrolled("wrongpin");
      const wrong = join(dir, "wrong-pin");
      writeFileSync(wrong, "000000\n");
      closeAll(); // a fresh login (SoftHSM2 keeps a module's login across sessions)
      const newKey = e.newKey.replace(pinFile, wrong);
      const { a, clock, logs } = agent(e.store, { newKey }, { keys: new Pkcs11Keys(newKey, idevidUri().replace(pinFile, wrong)) });
      clock.t = e.renewAt;
      const err = await a.step().catch((x) => x);
      expect(err).toBeInstanceOf(AgentStop);
      expect(String(err)).toMatch(/CKR_PIN_INCORRECT/);
      expect(a.failed(err)).toBe(2);
      expect(JSON.stringify(logs)).toMatch(/fix the PIN/);
      expect(JSON.stringify(logs)).not.toMatch(/000000|271828/);
      expect(e.snapshot()).toEqual(e.before);
      a.close();
      closeAll();
    }, 60_000);

    it("a store record naming a deleted token key: exit status 2, credential unchanged; a deleted pending key abandons that enrolment only", async () => {
      const e = await enrolled("deleted");
      const { a: a0 } = agent(e.store, { newKey: e.newKey });
      const credRef = a0.store.keyRef(KIND.CRED)!.ref;
      a0.close();
      execFileSync(
        "pkcs11-tool",
        ["--module", MODULE, "--token-label", TOKEN, "--login", "--pin", PIN, "--delete-object", "--type", "privkey", "--id", idOf(credRef)],
        { stdio: "pipe" },
      );
      closeAll();
      const { a, clock } = agent(e.store, { newKey: e.newKey });
      clock.t = e.renewAt;
      const err = await a.step().catch((x) => x);
      expect(err).toBeInstanceOf(AgentStop);
      expect(String(err)).toMatch(/the token no longer holds the credential's key pkcs11:/);
      expect(a.failed(err)).toBe(2);
      expect(e.snapshot()).toEqual(e.before);
      a.close();
    }, 60_000);

    it("a pending token key deleted while its enrolment is open: abandoned, a new key enrolls", async () => {
      const e = await enrolled("pending");
      const down = {
        transfer: async () => {
          throw new (await import("../host/node/lib/transport")).TransportError("connection refused");
        },
      };
      const { a, clock } = agent(e.store, { newKey: e.newKey }, { transport: down as any });
      clock.t = e.renewAt;
      await expect(a.step()).rejects.toThrow(/connection refused/);
      const pending = a.store.keyRef(KIND.STATE)!.ref;
      expect(e.snapshot()).toEqual(e.before);
      a.close();
      execFileSync(
        "pkcs11-tool",
        ["--module", MODULE, "--token-label", TOKEN, "--login", "--pin", PIN, "--delete-object", "--type", "privkey", "--id", idOf(pending)],
        { stdio: "pipe" },
      );
      closeAll();
      const { a: b, logs, clock: c2 } = agent(e.store, { newKey: e.newKey });
      c2.t = e.renewAt;
      expect(await b.step()).toBe("resumed");
      expect(logs.find((l) => l.event === "enrolment.abandoned")?.reason).toMatch(/pending key .* no longer in the token/);
      const cred = b.store.keyRef(KIND.CRED)!.ref;
      expect(cred).not.toBe(pending);
      expect(idsUnder(e.label)).toEqual([idOf(cred)]);
      b.close();
    }, 60_000);

    it("a signer returning garbage: E_SIGNER_INVALID, nothing sent, credential unchanged", async () => {
      const e = await enrolled("garbage");
      const base = new Pkcs11Keys(e.newKey, idevidUri());
      const liar = (s: Signer): Signer => ({ publicKey: () => s.publicKey(), sign: (_alg, _input) => new Uint8Array(64).fill(0x5a) });
      const keys: KeyHolder = {
        open: (r) => liar(base.open(r)),
        generate: () => {
          const g = base.generate();
          return { ref: g.ref, signer: liar(g.signer) };
        },
        sweep: (k) => base.sweep(k),
        close: () => base.close(),
      };
      let sent = 0;
      const { a, clock } = agent(
        e.store,
        { newKey: e.newKey },
        {
          keys,
          transport: {
            transfer: (r) => {
              sent++;
              return net.transfer(r);
            },
          },
        },
      );
      clock.t = e.renewAt;
      const err = await a.step().catch((x) => x);
      expect(err).toBeInstanceOf(CmpFailure);
      expect((err as CmpFailure).code).toBe(-29);
      expect(sent).toBe(0);
      expect(e.snapshot()).toEqual(e.before);
      a.close();
    }, 60_000);

    it("a crash after the new token key was made, before the store named it: no credential lost, the orphan is destroyed by the next renewal", async () => {
      const e = await enrolled("crash");
      const base = new Pkcs11Keys(e.newKey, idevidUri());
      let orphan = "";
      const crashing: KeyHolder = {
        open: (r) => base.open(r),
        generate: () => {
          orphan = idOf(base.generate().ref);
          throw new Error("killed");
        },
        sweep: (k) => base.sweep(k),
        close: () => base.close(),
      };
      const { a, clock } = agent(e.store, { newKey: e.newKey }, { keys: crashing });
      clock.t = e.renewAt;
      await expect(a.step()).rejects.toThrow(/killed/);
      expect(a.store.keyRef(KIND.STATE)).toBeUndefined(); // nothing pending: the store never named the key
      expect(e.snapshot()).toEqual(e.before);
      const credRef = a.store.keyRef(KIND.CRED)!.ref;
      expect(idsUnder(e.label)).toEqual([idOf(credRef), orphan].sort());
      a.close();
      const { a: b, logs, clock: c2 } = agent(e.store, { newKey: e.newKey });
      c2.t = e.renewAt;
      expect(await b.step()).toBe("renewed");
      const destroyed = logs.filter((l) => l.event === "token.keys.destroyed").flatMap((l) => l.ids as string[]);
      expect(destroyed.sort()).toEqual([idOf(credRef), orphan].sort()); // the orphan, then the old credential's key
      expect(idsUnder(e.label)).toEqual([idOf(b.store.keyRef(KIND.CRED)!.ref)]);
      b.close();
    }, 60_000);

    it("a kur cut short after its token key was named (transport down): the credential stays; the restart resumes with that same key", async () => {
      const e = await enrolled("resume");
      const { TransportError } = await import("../host/node/lib/transport");
      const down = {
        transfer: async (): Promise<Uint8Array> => {
          throw new TransportError("connection refused");
        },
      };
      const { a, clock } = agent(e.store, { newKey: e.newKey }, { transport: down });
      clock.t = e.renewAt;
      await expect(a.step()).rejects.toThrow(/connection refused/);
      const pending = a.store.keyRef(KIND.STATE)!.ref;
      const old = a.store.keyRef(KIND.CRED)!.ref;
      expect(e.snapshot()).toEqual(e.before);
      expect(idsUnder(e.label)).toEqual([idOf(old), idOf(pending)].sort());
      a.close();
      closeAll();
      const { a: b, clock: c2 } = agent(e.store, { newKey: e.newKey });
      c2.t = e.renewAt;
      expect(await b.step()).toBe("resumed");
      expect(b.store.keyRef(KIND.CRED)!.ref).toBe(pending);
      expect(idsUnder(e.label)).toEqual([idOf(pending)]); // the old credential's key destroyed after the commit
      b.close();
    }, 60_000);

    it("a token key whose public key is not the one the store names: exit status 2, nothing sent", async () => {
      const e = await enrolled("swapped");
      const base = new Pkcs11Keys(e.newKey, idevidUri());
      const other = new Pkcs11Signer(`pkcs11:token=${TOKEN};object=other;id=%77${q()}`, { generate: true });
      const keys: KeyHolder = {
        open: (r) => (r.includes("object=op-swapped") ? other : base.open(r)),
        generate: () => base.generate(),
        sweep: (k) => base.sweep(k),
        close: () => base.close(),
      };
      let sent = 0;
      const { a, clock } = agent(
        e.store,
        { newKey: e.newKey },
        {
          keys,
          transport: {
            transfer: (r) => {
              sent++;
              return net.transfer(r);
            },
          },
        },
      );
      clock.t = e.renewAt;
      const err = await a.step().catch((x) => x);
      expect(err).toBeInstanceOf(AgentStop);
      expect(String(err)).toMatch(/is not the key the store names/);
      expect(a.failed(err)).toBe(2);
      expect(sent).toBe(0);
      expect(e.snapshot()).toEqual(e.before);
      a.close();
    }, 60_000);

    it("pin-source: a relative path or an unreadable file is refused, naming the file, not the PIN", () => {
      expect(() => new Pkcs11Keys(undefined, undefined, {}).open(`pkcs11:token=${TOKEN};object=idevid?module-path=${MODULE}&pin-source=pin.txt`)).toThrow(
        /pin-source must be a file: URI or an absolute path/,
      );
      expect(() =>
        new Pkcs11Keys(undefined, undefined, {}).open(`pkcs11:token=${TOKEN};object=idevid?module-path=${MODULE}&pin-source=file:${dir}/nope`),
      ).toThrow(/cannot read the PIN from .*nope: ENOENT/);
      // no PIN source at all: TINYCMP_PKCS11_PIN
      const k = new Pkcs11Keys(undefined, undefined, { TINYCMP_PKCS11_PIN: PIN });
      expect(k.pinFor(parsePkcs11Uri(`pkcs11:token=${TOKEN};object=x?module-path=${MODULE}`), "")).toBe(PIN);
      // a stored reference (no PIN attribute) takes the PIN source of the configured URI of its token
      const c = new Pkcs11Keys(newKeyUri(), undefined, {});
      expect(c.pinFor(parsePkcs11Uri(`pkcs11:token=${TOKEN};object=op;id=%01?module-path=${MODULE}`), "")).toBe(PIN);
      expect(c.pinFor(parsePkcs11Uri(`pkcs11:token=elsewhere;object=op?module-path=${MODULE}`), "")).toBeUndefined();
    });

    it("the configuration refuses a PIN in a URI, a newKey with an id, an unknown key type (exit 2, the PIN not echoed)", async () => {
      for (const [c, why] of [
        [{ newKey: `pkcs11:token=${TOKEN};object=x?module-path=${MODULE}&pin-value=987654` }, /"newKey" must be a pkcs11: URI without pin-value/],
        [{ idevidKey: `pkcs11:token=${TOKEN};object=x?module-path=${MODULE}&pin-value=987654` }, /"idevidKey" must be a pkcs11: URI without pin-value/],
        [{ newKey: `pkcs11:token=${TOKEN};object=x;id=%01?module-path=${MODULE}` }, /"newKey" must be .*no id=/],
        [{ newKey: `pkcs11:token=${TOKEN};object=x?module-path=${MODULE}&x-key-type=RSA-1024` }, /x-key-type is one of/],
        [{ newKey: `pkcs11:token=${TOKEN};object=x` }, /"newKey" must be a pkcs11: URI .*module-path/],
      ] as const) {
        const cfg = join(dir, "bad.json");
        writeFileSync(cfg, JSON.stringify({ url: pki.url, ...c }));
        const r = await main("--store", join(dir, "never"), "--config", cfg, "--once");
        expect(r.code).toBe(2);
        expect(r.err).toMatch(why);
        expect(r.err).not.toContain("987654");
      }
      expect(existsSync(join(dir, "never"))).toBe(false);
    });
  });
});
