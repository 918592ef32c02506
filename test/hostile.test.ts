// Transport faults and hostile servers through Device (host/node/lib/device.ts): each case
// ends in a clear TransportError or CmpError within its time bound, polling is bounded. The CMP
// peer behind the hostile server (when one is needed) is the built-in test PKI.
// With the device agent (host/node/lib/agent.ts) over emulated flash: a kur through each fault fails
// and leaves the stored credential (its flash slots, byte for byte) unchanged.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { CmpError, Device, type Request } from "../host/node/lib/device";
import { HttpTransport, TransportError, type HttpTransportOptions } from "../host/node/lib/transport";
import { TestPki } from "../host/node/testpki/index.js";
import { Agent } from "../host/node/lib/agent";
import { Flash } from "../host/node/lib/flash";
import { KIND, slotsOf } from "../host/node/lib/store";
import { startHostile, type HostileServer, type Script } from "./helpers/hostile-server";
import { E_CMP_TRANSACTION_ID } from "../host/node/lib/abi";
import { expectCode } from "./helpers/codes";

let pki: TestPki;
let server: HostileServer | undefined;
beforeAll(async () => {
  pki = await TestPki.start({});
}, 60_000);
afterAll(async () => {
  await pki?.close();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  pki.reset();
});

const cn = (s: string) => {
  const v = Buffer.from(s);
  const atv = Buffer.concat([Buffer.from([0x30, v.length + 7, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, v.length]), v]);
  const set = Buffer.concat([Buffer.from([0x31, atv.length]), atv]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, set.length]), set]));
};
const request = (extra: Partial<Request> = {}): Request => ({
  secret: pki.secret,
  ref: pki.ref,
  subject: cn("hostile test"),
  newKey: new Uint8Array(32).fill(9),
  trusted: [new Uint8Array(new X509Certificate(pki.root.certPem).raw)],
  ...extra,
});
const upstream = () => pki.url + "/pkix/";

/** Runs an ir through the hostile server; the error it ends in, and how long it took. */
async function enrollVia(script: Script, req: Partial<Request> = {}, opts: Partial<HttpTransportOptions> = {}) {
  server = await startHostile(script);
  const d = new Device(new HttpTransport({ url: server.url, msgTimeoutMs: 500, ...opts }));
  const t = performance.now();
  try {
    const o = await d.enroll(request(req));
    return { ok: o, ms: performance.now() - t, err: undefined as unknown as Error };
  } catch (e) {
    return { ok: undefined, ms: performance.now() - t, err: e as Error };
  } finally {
    d.close();
  }
}

async function transportFails(script: Script, message: RegExp, bound = 10_000, opts: Partial<HttpTransportOptions> = {}) {
  const r = await enrollVia(script, {}, opts);
  expect(r.err, `expected a TransportError, got ${r.err}`).toBeInstanceOf(TransportError);
  expect(r.err.message).toMatch(message);
  expect(r.ms).toBeLessThan(bound);
  return r;
}

async function cmpFails(script: Script, code: number, req: Partial<Request> = {}, bound = 15_000) {
  const r = await enrollVia(script, req);
  expect(r.err, `expected a CmpError, got ${r.err}`).toBeInstanceOf(CmpError);
  expect((r.err as CmpError).code, (r.err as CmpError).detail).toBe(code);
  expect(r.ms).toBeLessThan(bound);
  return r;
}

describe("hostile transport: a clear TransportError, never a hang", () => {
  it("connection dropped without an answer", async () => {
    await transportFails(() => ({ kind: "drop" }), /socket hang up|closed|ECONNRESET/);
  });
  it("connection reset", async () => {
    await transportFails(() => ({ kind: "reset" }), /ECONNRESET|socket hang up/);
  });
  it("request read, never answered: message timeout", async () => {
    await transportFails(() => ({ kind: "stall" }), /no complete response within 500 ms/);
  });
  it("slowloris: status line and headers trickle in", async () => {
    await transportFails(() => ({ kind: "slowloris", everyMs: 20 }), /no complete response within 500 ms/);
  });
  it("partial body, then silence", async () => {
    await transportFails(() => ({ kind: "partial", body: new Uint8Array(300).fill(0x30), then: "stall" }), /no complete response within 500 ms/);
  });
  it("partial body, then the connection closes", async () => {
    await transportFails(() => ({ kind: "partial", body: new Uint8Array(300).fill(0x30), then: "close" }), /closed before the response was complete|aborted/);
  });
  it("oversized body announced by Content-Length", async () => {
    await transportFails(() => ({ kind: "oversized" }), /exceeds the limit of 65536/);
  });
  it("oversized chunked body without a length", async () => {
    await transportFails(() => ({ kind: "oversized", declared: false }), /exceeds the limit of 65536 bytes/);
  });
  it("wrong content type", async () => {
    await transportFails(
      () => ({ kind: "respond", body: new Uint8Array([0x30, 0]), contentType: "text/html" }),
      /Content-Type "text\/html" is not application\/pkixcmp/,
    );
  });
  for (const code of [301, 302, 307, 308]) {
    it(`HTTP ${code} redirect refused`, async () => {
      await transportFails(
        () => ({ kind: "status", code, headers: { Location: "http://127.0.0.1:1/evil" } }),
        new RegExp(`HTTP ${code} redirect to http://127.0.0.1:1/evil refused`),
      );
    });
  }
  for (const code of [400, 404, 413, 500, 503]) {
    it(`HTTP ${code}`, async () => {
      await transportFails(() => ({ kind: "status", code, body: new Uint8Array([0x30, 0]) }), new RegExp(`HTTP ${code}`));
    });
  }
  it("bytes that are not HTTP", async () => {
    await transportFails(() => ({ kind: "raw", data: new Uint8Array(Buffer.from("SSH-2.0-OpenSSH\r\n\x00\xff garbage")) }), /Parse Error|HPE_|socket hang up/);
  });
  it("total timeout across messages", async () => {
    pki.configure({ pollCount: 1000, checkAfter: 0 });
    // polls without limit: only the total timeout can end the transaction
    const r = await enrollVia(() => ({ kind: "proxy", url: upstream() }), { maxPolls: 1_000_000 }, { totalTimeoutMs: 3000 });
    expect(r.err, `expected a TransportError, got ${r.err}`).toBeInstanceOf(TransportError);
    expect(r.err.message).toMatch(/total timeout exceeded|no complete response within \d+ ms/);
    expect(r.ms).toBeLessThan(15_000);
    expect(server!.requests.length).toBeGreaterThan(1);
  });
});

describe("hostile CMP answers: a clear CmpError", () => {
  it("garbage with the right content type", async () => {
    const r = await cmpFails(() => ({ kind: "respond", body: new Uint8Array(Buffer.from("<html>hello</html>")) }), -83);
    expect((r.err as CmpError).detail).toMatch(/not a PKIMessage/i);
  });
  it("an empty 200 response", async () => {
    await cmpFails(() => ({ kind: "respond", body: new Uint8Array(0) }), -83);
  });

  it("a valid response from another transaction (replay)", async () => {
    // first transaction through the proxy: its ip is recorded; the second transaction gets that ip again
    let ip: Uint8Array | undefined;
    const script: Script = (n) =>
      ip && n >= 2
        ? { kind: "respond", body: ip }
        : {
            kind: "proxy",
            url: upstream(),
            edit: (b) => {
              if (n === 0) ip = b;
              return b;
            },
          };
    server = await startHostile(script);
    const d = new Device(new HttpTransport({ url: server.url, msgTimeoutMs: 2000 }));
    const first = await d.enroll(request());
    expect(first.cert).toBeDefined();
    const t = performance.now();
    const e = await d.enroll(request()).catch((x) => x);
    d.close();
    expect(e).toBeInstanceOf(CmpError);
    expectCode(e.code, E_CMP_TRANSACTION_ID); // transactionID of the other transaction
    expect(performance.now() - t).toBeLessThan(15_000);
  });

  it("a stale nonce: the previous pollRep answered again", async () => {
    pki.configure({ pollCount: 5, checkAfter: 0 });
    let first: Uint8Array | undefined;
    const r = await cmpFails(
      (n) =>
        n === 2 && first
          ? { kind: "respond", body: first }
          : {
              kind: "proxy",
              url: upstream(),
              edit: (b) => {
                if (n === 1) first = b;
                return b;
              },
            },
      -86,
    );
    expect((r.err as CmpError).detail).toMatch(/recipNonce/);
    expect(server!.requests.length).toBe(3); // ir, pollReq, pollReq
  });

  it("endless pollRep: bounded by maxPolls", async () => {
    pki.configure({ pollCount: 1_000_000, checkAfter: 0 });
    const r = await cmpFails(() => ({ kind: "proxy", url: upstream() }), -94, { maxPolls: 3 });
    expect(server!.requests.length).toBe(4); // ir + 3 pollReq
    expect((r.err as CmpError).detail).toMatch(/poll/);
  });

  it("a long wait: 100 signed pollReps, polling keeps constant room for results", async () => {
    // each pollRep carries extraCerts; kept as results of every poll they would fill the 64
    // results after about 30 polls (RFC 9483 4.4 sets no bound on the number of polls)
    pki.configure({ pollCount: 100, checkAfter: 0 });
    const r = await enrollVia(() => ({ kind: "proxy", url: upstream() }), { maxPolls: 150 });
    expect(r.err).toBeUndefined();
    expect(r.ok!.cert).toBeDefined();
    expect(server!.requests.length).toBeGreaterThan(100);
  });

  it("a checkAfter of days is cut to the caller's longest wait", async () => {
    pki.configure({ pollCount: 1, checkAfter: 86_400 * 30 });
    const t = performance.now();
    const r = await enrollVia(() => ({ kind: "proxy", url: upstream() }), { maxWaitSeconds: 0.2 } as Partial<Request>);
    expect(r.err).toBeUndefined();
    expect(r.ok!.cert).toBeDefined();
    expect(performance.now() - t).toBeLessThan(15_000);
  });

  it("every fault above ends in CmpError or TransportError (no other exception type)", async () => {
    for (const b of [
      { kind: "raw", data: new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]) },
      { kind: "respond", body: new Uint8Array([0x30, 0x80, 0, 0]) },
    ] as const) {
      const r = await enrollVia(() => b);
      expect(r.err instanceof CmpError || r.err instanceof TransportError, String(r.err)).toBe(true);
      await server!.close();
      server = undefined;
    }
  });
});

describe("the stored credential survives every fault (agent over emulated flash)", () => {
  const faults: [string, (first: { ip?: Uint8Array }) => Script][] = [
    ["drop", () => () => ({ kind: "drop" })],
    ["stall", () => () => ({ kind: "stall" })],
    ["slowloris", () => () => ({ kind: "slowloris", everyMs: 20 })],
    ["partial body", () => () => ({ kind: "partial", body: new Uint8Array(300).fill(0x30), then: "close" })],
    ["oversized body", () => () => ({ kind: "oversized" })],
    ["wrong content type", () => () => ({ kind: "respond", body: new Uint8Array([0x30, 0]), contentType: "text/plain" })],
    ["HTTP 302", () => () => ({ kind: "status", code: 302, headers: { Location: "http://127.0.0.1:1/" } })],
    ["HTTP 500", () => () => ({ kind: "status", code: 500 })],
    ["garbage", () => () => ({ kind: "respond", body: new Uint8Array(Buffer.from("garbage")) })],
    ["replayed ip of the bootstrap", (f) => () => ({ kind: "respond", body: f.ip! })],
    ["endless pollRep", () => () => ({ kind: "proxy", url: upstream() })],
    ["pkiConf never comes (stall after certConf)", () => (n) => (n === 0 ? { kind: "proxy", url: upstream() } : { kind: "stall" })],
  ];

  it(`${faults.length} faults during kur: each fails, the credential slots are unchanged`, async () => {
    const flash = new Flash();
    const clock = { now: () => Date.now(), sleep: async () => {} };
    const first: { ip?: Uint8Array } = {};
    // bootstrap (MAC ir) through a recording proxy
    server = await startHostile((n) => ({
      kind: "proxy",
      url: upstream(),
      edit: (b) => {
        if (n === 0) first.ip = b;
        return b;
      },
    }));
    const config = { url: server.url, subject: "CN=hostile agent", ref: pki.ref, secret: pki.secret, trusted: [pki.root.der], attempts: 1, renewShare: 1 };
    const boot = new Agent({ ...config, renewShare: 1 / 3 }, { flash, clock, log: () => {} });
    expect(await boot.step()).toBe("enrolled");
    boot.close();
    await server.close();
    server = undefined;
    const credSlots = () => slotsOf(KIND.CRED).map((i) => Buffer.from(flash.slots[i]).toString("hex"));
    const before = credSlots();
    const cert = Buffer.from(boot.certificate!);
    for (const [name, script] of faults) {
      pki.reset();
      if (name === "endless pollRep") pki.configure({ pollCount: 1_000_000, checkAfter: 0 });
      if (name.startsWith("pkiConf")) pki.configure({ grantImplicitConfirm: false });
      server = await startHostile(script(first));
      const a = new Agent(config, { flash, clock, log: () => {}, transport: new HttpTransport({ url: server.url, msgTimeoutMs: 400 }) });
      const t = performance.now();
      const e = await a.step().then(
        () => undefined,
        (x) => x,
      );
      a.close();
      expect(e, name).toBeInstanceOf(Error);
      expect(performance.now() - t, name).toBeLessThan(15_000);
      expect(credSlots(), name).toEqual(before);
      expect(Buffer.from(a.certificate!).equals(cert), name).toBe(true);
      await server.close();
      server = undefined;
    }
  }, 60_000);
});
