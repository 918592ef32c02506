// CMP transactions of the core (through host/node/device.ts) against `openssl cmp` 3.0 as mock
// server (../shared/INTEROP.md): a fresh server per case on a free 127.0.0.1 port.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, createHmac } from "node:crypto";
import { CmpError, Device, Options, type Transport } from "../host/node/device";
import { HttpTransport } from "../host/node/transport";
import { makeCreds, startServer, type Creds, type MockServer } from "./openssl-cmp";

let creds: Creds;
beforeAll(() => { creds = makeCreds(); }, 30_000);

const E = {
  PROTECTION: -88, UNPROTECTED: -87, REJECTED: -91, ERROR_MSG: -92, WRONG_KEY: -93, TID: -85, NONCE: -86,
};

async function withServer<T>(extra: string[], f: (s: MockServer) => Promise<T>, opts = {}): Promise<T> {
  const s = await startServer(creds, extra, opts);
  try { return await f(s); } finally { await s.stop(); }
}

function mac(extra: Record<string, unknown> = {}) {
  return { secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt"), ...extra };
}

async function expectFail(p: Promise<unknown>, code: number): Promise<CmpError> {
  try { await p; } catch (e) {
    expect(e).toBeInstanceOf(CmpError);
    expect((e as CmpError).code, (e as CmpError).detail).toBe(code);
    return e as CmpError;
  }
  throw new Error("transaction did not fail");
}

// Minimal DER walk for mutating responses: children of the element at off.
function children(b: Uint8Array, off: number): { tag: number; start: number; hl: number; end: number }[] {
  const head = (p: number) => {
    let n = b[p + 1], hl = 2;
    if (n & 0x80) { const k = n & 0x7f; n = 0; for (let i = 0; i < k; i++) n = n * 256 + b[p + 2 + i]; hl += k; }
    return { tag: b[p], start: p, hl, end: p + hl + n };
  };
  const outer = head(off);
  const out = [];
  for (let p = off + outer.hl; p < outer.end;) { const e = head(p); out.push(e); p = e.end; }
  return out;
}

/** Re-MACs a PBM-protected response (owf SHA-256, HMAC-SHA1 as openssl writes them) after f edits it. */
function remac(rsp: Uint8Array, secret: string, f: (header: Uint8Array, hdrStart: number) => void): Uint8Array {
  const b = new Uint8Array(rsp);
  const [hdr, body, prot] = children(b, 0);
  f(b, hdr.start);
  const fields = children(b, hdr.start);
  const alg = fields.find((e) => e.tag === 0xa1)!;
  const params = children(b, children(b, alg.start)[0].start)[1];
  const [salt, , iter] = children(b, params.start);
  const saltBytes = b.slice(salt.start + salt.hl, salt.end);
  let it = 0;
  for (let i = iter.start + iter.hl; i < iter.end; i++) it = it * 256 + b[i];
  let key = createHash("sha256").update(Buffer.concat([Buffer.from(secret), saltBytes])).digest();
  for (let i = 1; i < it; i++) key = createHash("sha256").update(key).digest();
  const ppContent = b.slice(hdr.start, body.end);
  const len = ppContent.length;
  const pp = Buffer.concat([Buffer.from(len < 128 ? [0x30, len] : len < 256 ? [0x30, 0x81, len] : [0x30, 0x82, len >> 8, len & 255]), ppContent]);
  const m = createHmac("sha1", key).update(pp).digest();
  const bits = children(b, prot.start)[0];
  b.set(m, bits.start + bits.hl + 1);
  return b;
}

class Mutating implements Transport {
  constructor(readonly inner: HttpTransport, readonly f: (req: Uint8Array, rsp: Uint8Array) => Uint8Array) {}
  async transfer(req: Uint8Array) { return this.f(req, await this.inner.transfer(req)); }
  close() { this.inner.close(); }
}

function findBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe("ir with PBM against openssl cmp", () => {
  it("enrolls: DONE, the certificate is the server's rsp_cert, certConf/pkiConf exchanged", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const o = await d.enroll(mac());
      d.close();
      expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
      expect(o.status).toBe(0);
      expect(o.caPubs.map((c) => Buffer.from(c))).toEqual([Buffer.from(creds.der("root.crt"))]);
      expect(o.extraCerts.length).toBe(1);
      expect(o.messages.request.length).toBe(2); // ir, certConf
      expect(o.newKey).toBeUndefined();
    });
  });

  it("refuses a response under another secret", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const e = await expectFail(d.enroll(mac({ secret: "wrong" })), E.PROTECTION);
      d.close();
      expect(e.detail).toMatch(/MAC does not verify/);
    });
  });

  it("implicit confirm granted: no certConf", async () => {
    await withServer(["-grant_implicitconf"], async (s) => {
      const d = Device.http({ url: s.url });
      const o = await d.enroll(mac({ implicitConfirm: true }));
      d.close();
      expect(o.messages.request.length).toBe(1);
      expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
    });
  });

  it("implicit confirm requested but not granted: certConf sent", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const o = await d.enroll(mac({ implicitConfirm: true }));
      d.close();
      expect(o.messages.request.length).toBe(2);
    });
  });

  it("rejection: status, failInfo and statusString in the error", async () => {
    await withServer(["-pkistatus", "2", "-failure", "9", "-statusstring", "no way"], async (s) => {
      const d = Device.http({ url: s.url });
      const e = await expectFail(d.enroll(mac()), E.REJECTED);
      d.close();
      expect(e.status).toBe(2);
      expect(e.failInfo).toBe(1 << 9);
      expect(e.detail).toBe('ip rejected: status rejection, failInfo badPOP, statusString "no way"');
    });
  });

  it("-send_error: error message reported", async () => {
    await withServer(["-send_error"], async (s) => {
      const d = Device.http({ url: s.url });
      const e = await expectFail(d.enroll(mac()), E.ERROR_MSG);
      d.close();
      expect(e.detail).toMatch(/^error message received: status rejection/);
    });
  });

  it("polling: -poll_count 2 -check_after 1", async () => {
    await withServer(["-poll_count", "2", "-check_after", "1"], async (s) => {
      const d = Device.http({ url: s.url });
      const t = Date.now();
      const o = await d.enroll(mac());
      d.close();
      expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
      expect(o.messages.request.length).toBeGreaterThanOrEqual(4); // ir, pollReq..., certConf
      expect(Date.now() - t).toBeGreaterThanOrEqual(900);
    });
  }, 20_000);

  it("-send_unprotected: unprotected positive response refused", async () => {
    await withServer(["-send_unprotected"], async (s) => {
      const d = Device.http({ url: s.url });
      await expectFail(d.enroll(mac()), E.UNPROTECTED);
      await expectFail(d.enroll(mac({ options: Options.acceptUnprotected })), E.UNPROTECTED);
      d.close();
    });
  });

  it("a certificate for another key is rejected in certConf, then FAILED after pkiConf", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const e = await expectFail(d.enroll(mac({ newKey: undefined })), E.WRONG_KEY);
      d.close();
      expect((e as any).messages.request.length).toBe(2);
    });
  });

  it("wrong transactionID in a correctly MACed response is refused", async () => {
    await withServer([], async (s) => {
      const d = new Device(new Mutating(new HttpTransport({ url: s.url }), (req, rsp) =>
        remac(rsp, "secret", (b, h) => {
          const tidAt = findBytes(b, req.slice(findBytes(req, new Uint8Array([0xa4, 0x12, 0x04, 0x10])) + 4).slice(0, 16), h);
          b[tidAt] ^= 1;
        })));
      await expectFail(d.enroll(mac()), E.TID);
      d.close();
    });
  });

  it("wrong recipNonce in a correctly MACed response is refused", async () => {
    await withServer([], async (s) => {
      const d = new Device(new Mutating(new HttpTransport({ url: s.url }), (req, rsp) =>
        remac(rsp, "secret", (b, h) => {
          const nonce = req.slice(findBytes(req, new Uint8Array([0xa5, 0x12, 0x04, 0x10])) + 4).slice(0, 16);
          b[findBytes(b, nonce, h)] ^= 1;
        })));
      await expectFail(d.enroll(mac()), E.NONCE);
      d.close();
    });
  });

  it("an unmodified response passes the re-MAC helper (control)", async () => {
    await withServer([], async (s) => {
      const d = new Device(new Mutating(new HttpTransport({ url: s.url }), (_q, rsp) => remac(rsp, "secret", () => {})));
      const o = await d.enroll(mac());
      d.close();
      expect(o.cert).toBeDefined();
    });
  });
});

describe("signature protection against openssl cmp", () => {
  const signed = (extra: Record<string, unknown> = {}) => ({
    key: creds.scalar("dev.key"), cert: creds.der("dev.crt"), trusted: [creds.der("root.crt")],
    newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt"), ...extra,
  });

  for (const rsa of [false, true]) {
    it(`ir signed with the IDevID, ${rsa ? "RSA" : "EC"}-signed responses validated to TRUSTED`, async () => {
      await withServer([], async (s) => {
        const d = Device.http({ url: s.url });
        const o = await d.enroll(signed());
        d.close();
        expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
        expect(o.chain.map((c) => Buffer.from(c))).toEqual([Buffer.from(creds.der("rsp.crt")), Buffer.from(creds.der("root.crt"))]);
        expect(o.caPubs.length).toBe(0); // caPubs under signature protection are not taken as trusted
        expect(o.extraCerts.length).toBeGreaterThanOrEqual(1);
      }, { rsa });
    });
  }

  it("caPubs under signature protection returned with option 2", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const o = await d.enroll(signed({ options: Options.caPubsTrusted }));
      d.close();
      expect(o.caPubs.map((c) => Buffer.from(c))).toEqual([Buffer.from(creds.der("root.crt"))]);
    });
  });

  it("cr signed", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const o = await d.enroll({ ...signed(), op: "cr" });
      d.close();
      expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
    });
  });

  // The mock server compares oldCertID with its rsp_cert, so the certificate updated is rsp.crt.
  it("kur signed with the current key, oldCertID control", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const o = await d.enroll({ ...signed({ key: creds.scalar("rsp.key"), cert: creds.der("rsp.crt"), oldCert: creds.der("rsp.crt") }), op: "kur" });
      d.close();
      expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der("rsp.crt")));
    });
  });

  it("untrusted signer refused", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      const e = await expectFail(d.enroll(signed({ trusted: [creds.der("dev.crt")] })), -54);
      d.close();
      expect(e.detail).toMatch(/signer is not trusted/);
    });
  });

  it("expired signer refused (clock one year ahead)", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url }, { now: () => Date.now() / 1000 + 365 * 86400 });
      await expectFail(d.enroll(signed()), -52);
      d.close();
    });
  });

  it("a signed response without trust anchors is refused", async () => {
    await withServer([], async (s) => {
      const d = Device.http({ url: s.url });
      await expectFail(d.enroll(signed({ trusted: [] })), -54);
      d.close();
    });
  });
});
