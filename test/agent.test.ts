// The agent (host/node/lib/agent.ts) against the test PKI with a fake clock: bootstrap with the
// IDevID, renewal at the renewal point, a restart in the middle of polling resumes with the same
// pending key, retries on transport errors, no retry on a rejection, revocation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { getEventListeners } from "node:events";
import { Agent, AgentStop, CmpFailure, type Clock, type LogEvent, permanentAction, rootUpdateRefusal, STATE_OP, STATE_TX } from "../host/node/lib/agent";
import { Flash } from "../host/node/lib/flash";
import { KIND, Store, TAG } from "../host/node/lib/store";
import { Core } from "../host/node/lib/core";
import { HttpTransport, TransportError } from "../host/node/lib/transport";
import { PKIFailureInfo, PKIStatus, TestPki } from "../host/node/testpki/index";
import { keyMatchesCert } from "../host/node/tools/storecerts";

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
beforeEach(() => pki.reset());

const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

class FakeClock implements Clock {
  t = Date.now();
  slept: number[] = [];
  onSleep?: (ms: number) => void;
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    this.onSleep?.(ms);
    this.t += ms;
  }
}

/** A device with its IDevID provisioned, and an agent for it. */
async function device(sn: string) {
  const flash = new Flash();
  const dev = await pki.createIdevid(sn);
  const d = Buffer.from(createPrivateKey(dev.keyPem).export({ format: "jwk" }).d!, "base64url");
  new Store(new Core({ flash })).provision(d, der(dev.certPem), dev.chain.map(der));
  const clock = new FakeClock();
  const logs: LogEvent[] = [];
  let transfers = 0;
  const transport = {
    transfer: (r: Uint8Array) => {
      transfers++;
      return net.transfer(r);
    },
  };
  const agent = (t: typeof transport = transport) =>
    new Agent({ url: pki.url, subject: `CN=agent ${sn}`, trusted: [pki.root.der], backoffBase: 1 }, { flash, clock, transport: t, log: (e) => logs.push(e) });
  return { flash, clock, logs, agent, transfers: () => transfers };
}

describe("agent", () => {
  it("bootstraps with the IDevID, stays idle, renews at the renewal point (fake clock)", async () => {
    pki.configure({ validitySeconds: 3000 });
    const { clock, agent, logs } = await device("SN-A1");
    const a = agent();
    expect(await a.step()).toBe("enrolled");
    const first = a.certificate!;
    expect(new X509Certificate(first).subject).toContain("CN=agent SN-A1");
    expect(keyMatchesCert(a.store.publicKey(KIND.CRED), first)).toBe(true);
    expect(a.store.all(KIND.CRED, TAG.CHAIN)).toEqual([pki.issuingCa.der, pki.root.der]);
    expect(await a.step()).toBe("idle");
    // Renewal point: two thirds of 3000 s (plus the 60 s the CA backdates notBefore).
    const due = a.renewalTime()!;
    expect(a.nextStepIn()).toBe(due - clock.t);
    clock.t = due - 1000;
    expect(await a.step()).toBe("idle");
    clock.t = due + 1;
    expect(await a.step()).toBe("renewed");
    expect(Buffer.from(a.certificate!).equals(Buffer.from(first))).toBe(false);
    expect(keyMatchesCert(a.store.publicKey(KIND.CRED), a.certificate)).toBe(true);
    expect(logs.map((l) => l.event)).toEqual(["ir.done", "kur.done"]);
    expect(logs.every((l) => typeof l.time === "string" && l.level === "info")).toBe(true);
  });

  it("a restart in the middle of polling resumes the same transaction with the same pending key", async () => {
    pki.configure({ pollCount: 2, checkAfter: 5 });
    const { clock, agent, logs } = await device("SN-A2");
    const seen = pki.requests.length;
    clock.onSleep = () => {
      throw new Error("power lost while waiting");
    };
    await expect(agent().step()).rejects.toThrow("power lost");
    const pending = agent().store.publicKey(KIND.STATE)!;
    expect(pending).toBeDefined();
    clock.onSleep = undefined;
    const a = agent(); // reboot
    expect(await a.step()).toBe("resumed");
    expect(a.store.publicKey(KIND.CRED)).toEqual(pending);
    expect(a.store.publicKey(KIND.STATE)).toBeUndefined();
    expect(clock.slept.length).toBeGreaterThanOrEqual(2); // the lost wait, then the wait of the resumed poll
    expect(clock.slept.every((ms) => ms === 5000)).toBe(true);
    // one ir only: after the restart the device polled on in the same transaction (RFC 9483 4.4)
    expect(logs.map((l) => l.event)).toContain("ir.poll.resume");
    expect(pki.requests.slice(seen).map((r) => r.type)).toEqual(["ir", "pollReq", "pollReq"]); // implicitConfirm granted
    expect(await a.step()).toBe("idle");
  });

  it("retries transport errors with backoff; a rejection is not retried", async () => {
    const { clock, agent, logs, transfers } = await device("SN-A3");
    let failures = 2;
    const flaky = { transfer: (r: Uint8Array) => (failures-- > 0 ? Promise.reject(new TransportError("connection refused")) : net.transfer(r)) };
    expect(await agent(flaky).step()).toBe("enrolled");
    expect(logs.filter((l) => l.event === "ir.retry").length).toBe(2);
    expect(clock.slept.length).toBe(2);
    expect(clock.slept[0]).toBeLessThanOrEqual(1000);
    expect(clock.slept[1]).toBeLessThanOrEqual(2000);
    // A rejection that cannot change: one transaction, reported, no retry.
    const before = transfers();
    pki.configure({ reject: { status: PKIStatus.rejection, failInfo: [PKIFailureInfo.badPOP], statusString: "no" } });
    const a = agent();
    clock.t = a.renewalTime()! + 1;
    await expect(a.step()).rejects.toThrow(/badPOP/);
    expect(transfers() - before).toBe(1);
    expect(logs.at(-1)).toMatchObject({ level: "error", event: "kur.failed", retry: false });
    // The old credential is still current; the pending key waits for the next attempt.
    expect(a.store.publicKey(KIND.STATE)).toBeDefined();
    pki.reset();
    expect(await a.step()).toBe("resumed");
  });

  it("systemUnavail is retried after a backoff, then succeeds", async () => {
    const { agent, logs, clock } = await device("SN-A4");
    pki.configure({ reject: { status: PKIStatus.rejection, failInfo: [PKIFailureInfo.systemUnavail] } });
    clock.onSleep = () => pki.reset(); // the server is back after the first backoff
    expect(await agent().step()).toBe("enrolled");
    expect(logs.filter((l) => l.event === "ir.retry").length).toBe(1);
    expect(logs.at(-1)!.event).toBe("ir.done");
  });

  it("decommission revokes the credential", async () => {
    const { agent } = await device("SN-A5");
    const a = agent();
    await a.step();
    const serial = new X509Certificate(a.certificate!).serialNumber.toLowerCase();
    await a.decommission();
    expect(pki.revoked().map((r) => r.serialNumber.toLowerCase().replace(/^0+/, ""))).toContain(serial.replace(/^0+/, ""));
  });
});

describe("agent: recovery after a crash", () => {
  it("a restart after the CA delivered the certificate but before the commit abandons the finished transaction and enrolls anew", async () => {
    pki.configure({ pollCount: 2, checkAfter: 5 });
    const { flash, clock, agent, logs } = await device("SN-C1");
    clock.onSleep = () => {
      throw new Error("power lost while waiting");
    };
    await expect(agent().step()).rejects.toThrow("power lost");
    const crashed = flash.snapshot(); // pending key + suspended transaction
    clock.onSleep = undefined;
    expect(await agent().step()).toBe("resumed"); // the CA delivers (implicitConfirm granted) and forgets the transaction
    const delivered = agent().certificate!;
    flash.restore(crashed); // the kill hit before the commit
    const seen = pki.requests.length;
    const a = agent();
    expect(await a.step()).toBe("resumed");
    // the CA answered the pollReq with badRequest: abandoned, not permanent; a new ir with a new key
    expect(pki.requests.slice(seen).map((r) => r.type)).toEqual(["pollReq", "ir", "pollReq", "pollReq"]);
    expect(logs.find((l) => l.event === "enrolment.abandoned")).toMatchObject({ level: "warn", op: "ir" });
    expect(keyMatchesCert(a.store.publicKey(KIND.CRED), a.certificate)).toBe(true);
    expect(Buffer.from(a.certificate!).equals(Buffer.from(delivered))).toBe(false);
    expect(a.store.publicKey(KIND.STATE)).toBeUndefined();
    expect(await a.step()).toBe("idle");
  });

  it("a suspension older than resumeWithin is abandoned without polling", async () => {
    pki.configure({ pollCount: 2, checkAfter: 5 });
    const { clock, agent, logs } = await device("SN-C2");
    clock.onSleep = () => {
      throw new Error("power lost while waiting");
    };
    await expect(agent().step()).rejects.toThrow("power lost");
    clock.onSleep = undefined;
    clock.t += 86_401_000; // a day and a second later
    pki.reset();
    const seen = pki.requests.length;
    const a = agent();
    expect(await a.step()).toBe("resumed");
    expect(pki.requests.slice(seen).map((r) => r.type)).toEqual(["ir"]);
    expect(logs.find((l) => l.event === "enrolment.abandoned")!.reason).toMatch(/more than resumeWithin 86400 s/);
    expect(keyMatchesCert(a.store.publicKey(KIND.CRED), a.certificate)).toBe(true);
  });

  it("a saved polling state the core refuses is abandoned; a garbled answer keeps the enrolment", async () => {
    pki.configure({ pollCount: 2, checkAfter: 5 });
    const { flash, clock, agent, logs } = await device("SN-C8");
    clock.onSleep = () => {
      throw new Error("power lost while waiting");
    };
    await expect(agent().step()).rejects.toThrow("power lost");
    clock.onSleep = undefined;
    const crashed = flash.snapshot();
    // a garbled answer to the resumed pollReq: a local failure, the enrolment stays for the next restart
    const garbled = { transfer: async () => Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00) };
    await expect(agent(garbled).step()).rejects.toThrow(CmpFailure);
    expect(logs.some((l) => l.event === "enrolment.abandoned")).toBe(false);
    expect(agent().store.get(KIND.STATE, STATE_TX)).toBeDefined();
    // a suspension the core refuses (another module version, a flipped byte): abandoned
    flash.restore(crashed);
    const s = agent().store;
    const tx = s.get(KIND.STATE, STATE_TX)!.slice();
    tx[0] ^= 0xff;
    s.save(KIND.STATE, [
      [STATE_OP, new TextEncoder().encode("ir")],
      [STATE_TX, tx],
    ]);
    const a = agent();
    expect(await a.step()).toBe("resumed");
    expect(logs.find((l) => l.event === "enrolment.abandoned")!.reason).toMatch(/saved polling state is refused/);
    expect(keyMatchesCert(a.store.publicKey(KIND.CRED), a.certificate)).toBe(true);
  });

  it("a permanent rejection of a resumed enrolment is not abandoned: exit status 2 with what to do", async () => {
    pki.configure({ pollCount: 2, checkAfter: 5 });
    const { clock, agent, logs } = await device("SN-C3");
    clock.onSleep = () => {
      throw new Error("power lost while waiting");
    };
    await expect(agent().step()).rejects.toThrow("power lost");
    clock.onSleep = undefined;
    pki.configure({ pollCount: 0, errorMessage: { status: PKIStatus.rejection, failInfo: [PKIFailureInfo.notAuthorized] } });
    const a = agent();
    expect(await a.run()).toBe(2);
    expect(logs.at(-1)).toMatchObject({ level: "error", event: "agent.stopped.permanent" });
    expect(String(logs.at(-1)!.action)).toMatch(/register its IDevID/);
    expect(logs.some((l) => l.event === "enrolment.abandoned")).toBe(false);
  });

  it("exit status 2 only for what a restart cannot fix", () => {
    const rejection = (bit: number) => new CmpFailure(-1, "x", 2, 1 << bit);
    for (const bit of [9, 23, 1, 20, 19, 0, 22, 10]) expect(permanentAction(rejection(bit)), String(bit)).toBeTruthy();
    for (const bit of [2, 3, 21, 24, 25, 4, 7]) expect(permanentAction(rejection(bit)), String(bit)).toBeUndefined();
    expect(permanentAction(new CmpFailure(-96, "signature does not verify", -1, 0))).toBeUndefined(); // a forger on the path
    expect(permanentAction(new CmpFailure(-1, "x", 0 /* accepted */, 1 << 9))).toBeUndefined();
    expect(permanentAction(new TransportError("connection refused"))).toBeUndefined();
    expect(permanentAction(new AgentStop("x", "do y"))).toBe("do y");
  });

  it("a transient rejection of a fresh enrolment exits 1 (a restart may fix it)", async () => {
    const { agent, logs } = await device("SN-C4");
    pki.configure({ reject: { status: PKIStatus.rejection, failInfo: [PKIFailureInfo.badRequest] } });
    expect(await agent().run()).toBe(1);
    expect(logs.at(-1)).toMatchObject({ level: "error", event: "step.failed", restart: true });
  });

  it("no IDevID and no MAC secret is permanent with what to do", async () => {
    const logs: LogEvent[] = [];
    const a = new Agent({ url: pki.url, subject: "CN=x" }, { flash: new Flash(), transport: net, log: (e) => logs.push(e) });
    expect(await a.run()).toBe(2);
    expect(String(logs.at(-1)!.action)).toMatch(/--provision/);
  });

  it("decommission is idempotent: a kill after the CA revoked is finished by a re-run", async () => {
    const { agent, logs } = await device("SN-C5");
    const a = agent();
    await a.step();
    const cert = a.certificate!;
    // the rr reaches the CA, the answer is lost with the process
    const dying = {
      transfer: async (r: Uint8Array) => {
        await net.transfer(r);
        throw new Error("killed");
      },
    };
    await expect(agent(dying).decommission()).rejects.toThrow("killed");
    expect(agent().decommissionState()).toBe("started");
    await expect(agent().step()).rejects.toThrow(AgentStop); // the agent must not renew a credential being revoked
    expect(await agent().run()).toBe(2);
    expect(String(logs.at(-1)!.action)).toMatch(/--decommission` again/);
    const b = agent();
    expect(await b.decommission()).toBe("already revoked"); // the CA: certRevoked
    expect(b.decommissionState()).toBe("done");
    expect(b.certificate).toEqual(cert); // unchanged: the store says what it holds
    const requests = pki.requests.length;
    expect(await agent().decommission()).toBe("already revoked");
    expect(pki.requests.length).toBe(requests); // nothing sent
    await expect(agent().step()).rejects.toThrow(/decommissioned/);
    // another rejection leaves it started: the agent does not run on
    const other = await device("SN-C6");
    const c = other.agent();
    await c.step();
    pki.configure({ reject: { status: PKIStatus.rejection, failInfo: [PKIFailureInfo.systemUnavail] } });
    await expect(c.decommission()).rejects.toThrow(CmpFailure);
    expect(c.decommissionState()).toBe("started");
    await expect(c.step()).rejects.toThrow(AgentStop);
  });

  it("a stop that comes during a step ends the run at once, not after the next sleep", async () => {
    const { flash } = await device("SN-C9");
    const stop = new AbortController();
    const never: Clock = { now: () => Date.now(), sleep: () => new Promise(() => {}) };
    const transport = {
      transfer: (r: Uint8Array) => {
        stop.abort();
        return net.transfer(r);
      },
    };
    const a = new Agent({ url: pki.url, subject: "CN=stop", trusted: [pki.root.der] }, { flash, clock: never, transport, log: () => {} });
    expect(await a.run(stop.signal)).toBe(0);
  });

  it("one abort listener for the whole run, however many checks (no MaxListenersExceededWarning)", async () => {
    const { agent, clock } = await device("SN-C7");
    const stop = new AbortController();
    const a = agent();
    const counts: number[] = [];
    clock.onSleep = () => {
      counts.push(getEventListeners(stop.signal, "abort").length);
      if (counts.length === 30) stop.abort();
    };
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      expect(await a.run(stop.signal)).toBe(0);
    } finally {
      process.off("warning", onWarning);
    }
    expect(counts.length).toBe(30);
    expect(Math.max(...counts)).toBe(1);
    expect(getEventListeners(stop.signal, "abort").length).toBe(0);
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
  });
});

describe("agent: trust anchors", () => {
  let rpki: TestPki;
  let rnet: HttpTransport;
  beforeAll(async () => {
    rpki = await TestPki.start({ rootRollover: true });
    rnet = new HttpTransport({ url: rpki.url });
  });
  afterAll(async () => {
    rnet?.close();
    await rpki?.close();
  });

  async function enrolled(p: TestPki, t: HttpTransport, sn: string) {
    const flash = new Flash();
    const dev = await p.createIdevid(sn);
    const d = Buffer.from(createPrivateKey(dev.keyPem).export({ format: "jwk" }).d!, "base64url");
    new Store(new Core({ flash })).provision(d, der(dev.certPem), dev.chain.map(der));
    const logs: LogEvent[] = [];
    const a = new Agent({ url: p.url, subject: `CN=${sn}`, trusted: [p.root.der] }, { flash, transport: t, log: (e) => logs.push(e) });
    expect(await a.step()).toBe("enrolled");
    return { a, logs };
  }

  it("a root CA update is accepted through newWithOld signed by the current root", async () => {
    const { a, logs } = await enrolled(rpki, rnet, "SN-R1");
    expect(await a.updateRootCa()).toBe(true);
    expect(a.store.all(KIND.TRUST, TAG.ANCHOR)).toEqual([der(rpki.rollover!.newWithNew), rpki.root.der]);
    expect(logs.at(-1)).toMatchObject({ event: "rootca.updated" });
    // Fetching the CA certificates works with the new anchors.
    expect((await a.caCerts()).length).toBe(2);
  });

  it("without a rollover the anchors stay; a forged newWithOld is refused", async () => {
    const { a, logs } = await enrolled(pki, net, "SN-R2");
    expect(await a.updateRootCa()).toBe(false);
    expect(logs.at(-1)).toMatchObject({ event: "rootca.current" });
    const r = rpki.rollover!;
    const current = [rpki.root.der];
    expect(rootUpdateRefusal(current, der(r.newWithNew), der(r.newWithOld))).toBeUndefined();
    expect(rootUpdateRefusal(current, der(r.newWithNew))).toBe("no newWithOld");
    // newWithOld checked against another PKI's root, oldWithNew in its place, a non-self-signed newWithNew
    expect(rootUpdateRefusal([pki.root.der], der(r.newWithNew), der(r.newWithOld))).toMatch(/not signed by a current trust anchor/);
    expect(rootUpdateRefusal(current, der(r.newWithNew), der(r.oldWithNew))).toMatch(/another key/);
    expect(rootUpdateRefusal(current, der(r.newWithOld), der(r.newWithOld))).toMatch(/not self-signed/);
  });
});
