// Mutation of protected responses: real protected responses, one signature-protected
// (the test PKI's ECDSA-signed ip) and one MAC-protected (openssl cmp's PBM ip), each with every
// bit of the protected part (header and body) flipped one at a time and fed to a core waiting for
// exactly that response. A deterministic host random source and a fixed clock make a restarted
// core send the identical request, so the original response is accepted (sanity check) and each
// mutation meets the same transaction. Every mutation must be refused: 0 accepted forgeries.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { HttpTransport } from "../host/node/lib/transport";
import { TestPki } from "../host/node/testpki/index.js";
import { parse } from "../host/node/tools/fuzz-der";
import { cn, enc, transaction } from "./helpers/tx-harness";
import { makeCreds, startServer, type Creds } from "./helpers/openssl-cmp";
import {
  ACTION_DONE as DONE,
  ACTION_FAILED as FAILED,
  ACTION_SEND as SEND,
  INT_PBM_ITERATIONS,
  ITEM_NEWKEY,
  ITEM_REF,
  ITEM_SECRET,
  ITEM_SUBJECT,
  ITEM_TRUSTED,
} from "../host/node/lib/abi";
import { expectAction } from "./helpers/codes";

// `npm run forgery` (FORGERY_ALL=1) flips every bit (about 2 minutes); the default run flips one
// bit of every byte (its position rotating with the offset) to keep npm test short.
const ALL = process.env.FORGERY_ALL === "1";

interface Outcome {
  bits: number;
  refused: number;
  accepted: number[];
  codes: Record<number, number>;
  ms: number;
}

// The elements inside the SEQUENCE at 0 (header, body, protection, extraCerts) as [start, end).
function children(b: Uint8Array): [number, number][] {
  const head = (p: number) => {
    let n = b[p + 1],
      hl = 2;
    if (n & 0x80) {
      const k = n & 0x7f;
      n = 0;
      for (let i = 0; i < k; i++) n = n * 256 + b[p + 2 + i];
      hl += k;
    }
    return [hl, n];
  };
  const [hl, n] = head(0);
  const out: [number, number][] = [];
  for (let p = hl; p < hl + n; ) {
    const [h, l] = head(p);
    out.push([p, p + h + l]);
    p += h + l;
  }
  return out;
}

/** Flips each bit of the header and body of `rsp` (and of the protection) and feeds it to a restarted transaction. */
function flipAll(t: ReturnType<typeof transaction>, rsp: Uint8Array): { protectedPart: Outcome; protection: Outcome } {
  const [hdr, body, prot] = children(rsp);
  const ranges = { protectedPart: [hdr[0], body[1]], protection: prot };
  const out = {} as { protectedPart: Outcome; protection: Outcome };
  for (const [name, [from, to]] of Object.entries(ranges) as [keyof typeof ranges, number[]][]) {
    const o: Outcome = { bits: 0, refused: 0, accepted: [], codes: {}, ms: 0 };
    const t0 = performance.now();
    for (let i = from * 8; i < to * 8; i += ALL ? 1 : 8) {
      if (!ALL) i = (i & ~7) | ((i >> 3) & 7); // one bit of every byte, its position rotating
      const b = rsp.slice();
      b[i >> 3] ^= 0x80 >> (i & 7);
      t.start();
      const a = t.input(b);
      o.bits++;
      if (a === FAILED) {
        o.refused++;
        o.codes[t.error()] = (o.codes[t.error()] ?? 0) + 1;
      } else o.accepted.push(i);
    }
    o.ms = performance.now() - t0;
    out[name] = o;
  }
  return out;
}

function report(name: string, r: { protectedPart: Outcome; protection: Outcome }) {
  for (const [part, o] of Object.entries(r)) {
    console.log(
      `${name} ${part}: ${o.bits} bit flips, ${o.refused} refused, ${o.accepted.length} accepted, ${(o.ms / Math.max(o.bits, 1)).toFixed(2)} ms each; codes ${JSON.stringify(o.codes)}`,
    );
  }
}

let creds: Creds;
let pki: TestPki;
beforeAll(async () => {
  creds = makeCreds();
  pki = await TestPki.start({});
}, 60_000);
afterAll(async () => {
  await pki?.close();
});

describe("every bit of a protected response flipped: 0 accepted forgeries", () => {
  it("signature: the test PKI's ECDSA-signed ip (to a MAC-protected ir)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = transaction(
      [
        [ITEM_REF, enc(pki.ref)],
        [ITEM_SECRET, enc(pki.secret)],
        [ITEM_NEWKEY, new Uint8Array(32).fill(7)],
        [ITEM_SUBJECT, cn("forgery test")],
        [ITEM_TRUSTED, new Uint8Array(new X509Certificate(pki.root.certPem).raw)],
      ],
      [[INT_PBM_ITERATIONS, 1]],
      now,
    );
    const req = t.start();
    const http = new HttpTransport({ url: pki.url + "/pkix/", msgTimeoutMs: 10_000 });
    const rsp = await http.transfer(req);
    http.close();
    // sanity: the same request again, and the original response is accepted
    expect(Buffer.from(t.start())).toEqual(Buffer.from(req));
    expect([SEND, DONE]).toContain(t.input(rsp.slice()));
    expect(parse(rsp)!.kids![0].kids!.some((f) => f.tag[0] === 0xa1 && f.kids![0].kids![0].val![0] === 0x2a)).toBe(true); // ecdsa-with-SHA256
    const r = flipAll(t, rsp);
    report("signed ip", r);
    expect(r.protectedPart.bits).toBeGreaterThan(ALL ? 4000 : 500);
    expect(r.protectedPart.accepted).toEqual([]);
    expect(r.protection.accepted).toEqual([]);
  }, 240_000);

  it("MAC: openssl cmp's PBM-protected ip", async () => {
    const s = await startServer(creds, []);
    try {
      const now = Math.floor(Date.now() / 1000);
      const t = transaction(
        [
          [ITEM_REF, enc("ref")],
          [ITEM_SECRET, enc("secret")],
          [ITEM_NEWKEY, creds.scalar("rsp.key")],
          [ITEM_SUBJECT, creds.subjectDer("rsp.crt")],
        ],
        [],
        now,
      );
      const req = t.start();
      const http = new HttpTransport({ url: s.url, msgTimeoutMs: 10_000 });
      const rsp = await http.transfer(req);
      http.close();
      expect(Buffer.from(t.start())).toEqual(Buffer.from(req));
      expectAction(t.input(rsp.slice()), SEND); // certConf next
      const r = flipAll(t, rsp);
      report("MAC ip", r);
      expect(r.protectedPart.bits).toBeGreaterThan(ALL ? 4000 : 500);
      expect(r.protectedPart.accepted).toEqual([]);
      expect(r.protection.accepted).toEqual([]);
    } finally {
      await s.stop();
    }
  }, 240_000);
});
