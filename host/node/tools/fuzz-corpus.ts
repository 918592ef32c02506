// Seeds for the fuzzer: every file of ../shared/vectors (wycheproof JSON excepted: no DER inside),
// and responses captured at run time from `openssl cmp` as mock server and from the built-in test
// PKI. Nothing captured is written to the repository.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { X509Certificate } from "node:crypto";
import { Device, type Request, type Transport } from "../lib/device";
import { HttpTransport } from "../lib/transport";
import { pemOrDer } from "../lib/files";
import { TestPki } from "../testpki/index";
import { makeCreds, startServer, type Creds } from "../../../test/helpers/openssl-cmp";
import { parse, write } from "./fuzz-der";

export const VECTORS = fileURLToPath(new URL("../../../../shared/vectors/", import.meta.url));

export interface Corpus {
  messages: Uint8Array[]; // PKIMessages (requests and responses)
  responses: Uint8Array[]; // PKIMessages with a response body
  certs: Uint8Array[]; // DER certificates
  roots: Uint8Array[]; // self-signed ones (anchors)
  der: Uint8Array[]; // every DER blob (messages, certs, keys, fragments)
  pem: Uint8Array[]; // PEM texts (certificates and keys)
  keys: Uint8Array[]; // private key files (PEM or DER)
}

const RESPONSE_TAGS = new Set([0xa1, 0xa3, 0xa8, 0xac, 0xb3, 0xb6, 0xb7, 0xba]); // ip cp kup rp pkiconf genp error pollRep

function files(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== "wycheproof") out.push(...files(p));
    } else out.push(p);
  }
  return out.sort();
}

function isCert(der: Uint8Array): boolean {
  try {
    new X509Certificate(der);
    return true;
  } catch {
    return false;
  }
}

export function emptyCorpus(): Corpus {
  return { messages: [], responses: [], certs: [], roots: [], der: [], pem: [], keys: [] };
}

export function addDer(c: Corpus, der: Uint8Array): void {
  c.der.push(der);
  const m = parse(der);
  if (m?.kids && m.kids.length >= 2 && m.kids[0].kids && m.kids[0].kids[0]?.tag[0] === 0x02) {
    c.messages.push(der);
    if (RESPONSE_TAGS.has(m.kids[1].tag[0])) c.responses.push(der);
    for (const x of m.kids.slice(2)) if (x.tag[0] === 0xa1) for (const k of x.kids?.[0]?.kids ?? []) addCert(c, write(k));
    return;
  }
  if (isCert(der)) addCert(c, der);
}

function addCert(c: Corpus, der: Uint8Array): void {
  const hex = Buffer.from(der).toString("hex");
  if (c.certs.some((x) => Buffer.from(x).toString("hex") === hex)) return;
  c.certs.push(der);
  try {
    const x = new X509Certificate(der);
    if (x.subject === x.issuer && x.verify(x.publicKey)) c.roots.push(der);
  } catch {
    /* not a usable cert */
  }
}

/** Every file of the shared vectors (wycheproof left out). */
export function loadVectors(c: Corpus = emptyCorpus()): Corpus {
  for (const f of files(VECTORS)) {
    const b = new Uint8Array(readFileSync(f));
    if (f.endsWith(".txt") || f.endsWith(".md")) continue;
    const text = Buffer.from(b).toString("latin1");
    if (text.includes("-----BEGIN ")) {
      c.pem.push(b);
      if (/PRIVATE KEY/.test(text)) c.keys.push(b);
      for (const d of pemOrDer(b, "CERTIFICATE")) addDer(c, d);
      continue;
    }
    if (/key\.der$/.test(f)) c.keys.push(b);
    addDer(c, b);
  }
  return c;
}

/** A transport that keeps every response it passes on (seeds for the fuzzers). */
export class Recorder implements Transport {
  constructor(
    readonly inner: Transport,
    readonly out: Uint8Array[],
  ) {}
  async transfer(req: Uint8Array) {
    const r = await this.inner.transfer(req);
    this.out.push(r);
    return r;
  }
  close() {
    this.inner.close?.();
  }
}

export interface Live {
  creds: Creds;
  pki: TestPki;
  /** one accepted signature-protected and one MAC-protected openssl transaction, for forgery tests */
  stop(): Promise<void>;
}

async function record(url: string, op: "ir" | "cr" | "p10cr" | "rr" | "genm", req: Request, out: Uint8Array[]): Promise<void> {
  const d = new Device(new Recorder(new HttpTransport({ url, msgTimeoutMs: 5000 }), out));
  try {
    if (op === "rr") await d.revoke(req);
    else if (op === "genm") await d.general(req);
    else await d.enroll({ ...req, op });
  } catch {
    /* negative answers are seeds too */
  } finally {
    d.close();
  }
}

/** Responses of `openssl cmp` (mock server) and of the test PKI, plus their keys and certificates. */
export async function captureLive(c: Corpus, log: (s: string) => void = () => {}): Promise<Live> {
  const t = performance.now();
  const creds = makeCreds();
  const rsp: Uint8Array[] = [];
  const mac = { secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt") };
  const signed = {
    key: creds.scalar("dev.key"),
    cert: creds.der("dev.crt"),
    trusted: [creds.der("root.crt")],
    newKey: creds.scalar("rsp.key"),
    subject: creds.subjectDer("rsp.crt"),
  };
  const runs: [string[], (url: string) => Promise<void>][] = [
    [
      [],
      async (u) => {
        await record(u, "ir", mac, rsp);
        await record(u, "genm", { ...mac, infoTypes: [new Uint8Array([0x2b, 6, 1, 5, 5, 7, 4, 17])] }, rsp);
      },
    ],
    [
      [],
      async (u) => {
        await record(u, "ir", signed, rsp);
        await record(u, "rr", { ...mac, oldCert: creds.der("rsp.crt"), revReason: 1 }, rsp);
      },
    ],
    [["-poll_count", "1", "-check_after", "0"], async (u) => record(u, "p10cr", mac, rsp)],
    [["-send_error"], async (u) => record(u, "cr", signed, rsp)],
    [["-pkistatus", "2", "-failure", "9", "-statusstring", "no way"], async (u) => record(u, "ir", mac, rsp)],
  ];
  for (const [args, f] of runs) {
    const s = await startServer(creds, args);
    try {
      await f(s.url);
    } finally {
      await s.stop();
    }
  }
  for (const n of ["root.crt", "srv.crt", "srvrsa.crt", "rsp.crt", "dev.crt"]) addDer(c, creds.der(n));
  for (const n of ["root.crt", "dev.key", "srvrsa.key"]) c.pem.push(new Uint8Array(readFileSync(creds.file(n))));
  c.keys.push(new Uint8Array(readFileSync(creds.file("dev.key"))), new Uint8Array(readFileSync(creds.file("srvrsa.key"))));
  log(`openssl cmp: ${rsp.length} responses captured`);

  const pki = await TestPki.start({});
  const n0 = rsp.length;
  const url = pki.url + "/pkix/";
  const base = { secret: pki.secret, ref: pki.ref, subject: creds.subjectDer("rsp.crt"), trusted: [new Uint8Array(new X509Certificate(pki.root.certPem).raw)] };
  await record(url, "ir", base, rsp);
  pki.configure({ responseProtection: "mac", grantImplicitConfirm: false });
  await record(url, "cr", base, rsp);
  pki.reset();
  await record(url, "genm", { ...base, infoTypes: [17, 20, 19, 22].map((n) => new Uint8Array([0x2b, 6, 1, 5, 5, 7, 4, n])) }, rsp);
  pki.configure({ pollCount: 1, checkAfter: 0 });
  await record(url, "ir", base, rsp);
  pki.reset();
  pki.configure({ reject: { status: 2, failInfo: [], statusString: "refused" } as never });
  await record(url, "ir", base, rsp);
  pki.reset();
  addDer(c, new Uint8Array(new X509Certificate(pki.root.certPem).raw));
  c.pem.push(new Uint8Array(Buffer.from(pki.root.certPem)));
  log(`test PKI: ${rsp.length - n0} responses captured`);
  for (const r of rsp) addDer(c, r);
  log(`live capture took ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { creds, pki, stop: () => pki.close() };
}
