// A mutation fuzzer (run by `npm run fuzz`: host/node/tools/fuzz.ts; no coverage
// guidance, deterministic PRNG) over every entry point that takes outside bytes: der_walk,
// der_reencode, der_time, cert_parse + cert_verify_path, PEM/DER decoding of the Node host
// (pemOrDer, readCerts, p256Scalar) and the full response path of a live transaction (tx_input in
// the waiting state, responses answered to the request and re-MACed so that mutations reach the
// decoders behind the protection check). Every input must end in an accepted result or a defined
// error code within 1 s; traps (WebAssembly.RuntimeError, CorePanic) are saved under test/fuzz/.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Core, CorePanic, TEST_WASM } from "../lib/core";
import { ACTION_DONE, ACTION_FAILED, ACTION_SEND, ACTION_WAIT, E_CMP_STATE, type TestCoreExports } from "../lib/abi";
import { p256Scalar, pemOrDer, readCerts } from "../lib/files";
import { captureLive, emptyCorpus, loadVectors, type Corpus, type Live } from "./fuzz-corpus";
import { answerTo, isMacProtected, nodes, parse, remacNode, requestIds, write, type Node } from "./fuzz-der";

export const CASES_DIR = fileURLToPath(new URL("../../../test/fuzz/", import.meta.url));
const HANG_MS = 1000;
const PAGE = 65536;
const Action = { SEND: ACTION_SEND, WAIT: ACTION_WAIT, DONE: ACTION_DONE, FAILED: ACTION_FAILED } as const;

// ---- deterministic PRNG (xorshift128+ on two 32-bit halves is overkill: mulberry32) ----
export class Rng {
  constructor(private s: number) {}
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---- mutations ----
const INTERESTING = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x1f, 0x30, 0x31, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xa0, 0xa1, 0xff,
];
const TAGS = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0x80, 0x81, 0x82,
  0x86, 0x87, 0xb3, 0xb6, 0xb7, 0xba, 0x1f, 0x3f,
];

function lenFault(r: Rng, n: number): Uint8Array {
  const be = (v: number, k: number) => {
    const o: number[] = [];
    for (let i = k - 1; i >= 0; i--) o.push(Math.floor(v / 2 ** (8 * i)) & 255);
    return o;
  };
  switch (r.int(10)) {
    case 0:
      return new Uint8Array([0x80]); // indefinite
    case 1:
      return new Uint8Array([0x84, ...be(n, 4)]); // non-minimal 4-byte form
    case 2:
      return new Uint8Array([0x85, ...be(n, 5)]); // 5-byte form
    case 3:
      return new Uint8Array([0x84, 0xff, 0xff, 0xff, 0xff]); // huge
    case 4:
      return new Uint8Array([0x84, 0x7f, 0xff, 0xff, 0xff]);
    case 5:
      return new Uint8Array(n > 0 ? [Math.min(n - 1, 127)] : [1]); // short
    case 6:
      return new Uint8Array(n + 1 < 128 ? [n + 1] : [0x82, ((n + 1) >> 8) & 255, (n + 1) & 255]); // long
    case 7:
      return new Uint8Array([0x81, n & 255]); // non-minimal 1-byte form
    case 8:
      return new Uint8Array([0x89, ...be(n, 8), 0]);
    default:
      return new Uint8Array([0xff]);
  }
}

function mutateBytes(r: Rng, b: Uint8Array, other: () => Uint8Array): Uint8Array {
  let a = Array.from(b);
  const at = () => r.int(Math.max(a.length, 1));
  switch (r.int(9)) {
    case 0:
      for (let k = 1 + r.int(4); k > 0 && a.length; k--) a[at()] ^= 1 << r.int(8);
      break; // bit flips
    case 1:
      if (a.length) a[at()] = r.chance(0.5) ? r.pick(INTERESTING) : r.int(256);
      break;
    case 2: {
      const p = at();
      a.splice(p, 0, ...r.bytes(1 + r.int(r.chance(0.9) ? 4 : 64)));
      break;
    } // insert
    case 3: {
      const p = at();
      a.splice(p, 1 + r.int(r.chance(0.8) ? 4 : 256));
      break;
    } // delete
    case 4:
      a = a.slice(0, at());
      break; // truncate
    case 5: {
      const p = at(),
        q = Math.min(a.length, p + 1 + r.int(64));
      a.splice(q, 0, ...a.slice(p, q));
      break;
    } // duplicate
    case 6: {
      const o = Array.from(other());
      a = [...a.slice(0, at()), ...o.slice(r.int(Math.max(o.length, 1)))];
      break;
    } // splice
    case 7: {
      const p = at();
      a.splice(p, 0, ...new Array(1 + r.int(300)).fill(0).flatMap(() => [0x30, 0x80]));
      break;
    } // nesting
    default: {
      const p = at();
      if (a.length > p + 1) [a[p], a[p + 1]] = [a[p + 1], a[p]];
      break;
    }
  }
  return new Uint8Array(a);
}

function mutateTree(r: Rng, root: Node, other: () => Node | null): void {
  const all = nodes(root);
  const { node, parent } = r.pick(all);
  switch (r.int(10)) {
    case 0: {
      const n = node.kids ? write({ ...node, len: undefined }).length : node.val!.length;
      node.len = lenFault(r, n);
      break;
    }
    case 1:
      node.tag = new Uint8Array(r.chance(0.9) ? [r.pick(TAGS)] : [node.tag[0] | 0x1f, 0x81, r.int(128)]);
      break;
    case 2:
      if (parent?.kids) {
        const i = parent.kids.indexOf(node);
        parent.kids.splice(i, 0, ...new Array(1 + r.int(3)).fill(node));
      }
      break; // duplicate
    case 3:
      if (parent?.kids && parent.kids.length > 1) {
        const k = parent.kids,
          i = r.int(k.length),
          j = r.int(k.length);
        [k[i], k[j]] = [k[j], k[i]];
      }
      break; // reorder
    case 4:
      if (parent?.kids) parent.kids.splice(parent.kids.indexOf(node), 1);
      break; // delete
    case 5: {
      let n: Node = { ...node };
      for (let d = 1 + r.int(r.chance(0.5) ? 8 : 300); d > 0; d--) n = { tag: new Uint8Array([0x30]), kids: [n] };
      Object.assign(node, n);
      break;
    } // deep nesting
    case 6: {
      const o = other();
      if (o) {
        const s = r.pick(nodes(o)).node;
        Object.assign(node, { tag: s.tag, kids: s.kids, val: s.val, prefix: s.prefix, len: s.len });
      }
      break;
    } // splice
    case 7:
      if (node.val) node.val = mutateBytes(r, node.val, () => new Uint8Array(0));
      break;
    case 8:
      if (node.kids) node.kids = [];
      else node.val = new Uint8Array(r.chance(0.5) ? 0 : 1 + r.int(200));
      break;
    default:
      if (node.val) {
        node.val = node.val.slice();
        if (node.val.length) node.val[r.int(node.val.length)] ^= 1 << r.int(8);
      }
      break;
  }
}

/** 1..3 mutations, tree-level (lengths kept consistent elsewhere) or byte-level. */
export function mutate(r: Rng, b: Uint8Array, pool: Uint8Array[]): Uint8Array {
  let out = b;
  for (let k = 1 + (r.chance(0.7) ? 0 : r.int(3)); k > 0; k--) {
    const tree = r.chance(0.6) ? parse(out) : null;
    if (tree) {
      mutateTree(r, tree, () => parse(r.pick(pool)));
      out = write(tree);
    } else out = mutateBytes(r, out, () => r.pick(pool));
  }
  return out;
}

// ---- targets ----
export type Case =
  | { target: "der"; fn: "der_walk" | "der_reencode" | "der_time"; input: string }
  | { target: "cert"; input: string; pool: string[]; anchors: string[]; now: number; flags: number }
  | { target: "pem"; fn: "pemOrDer" | "p256Scalar" | "readCerts"; input: string }
  | { target: "tx"; config: TxConfig; op: number; rngSeed: number; now: number; inputs: string[] };

export interface TxConfig {
  name: string;
  items: [number, string][];
  ints: [number, number][];
}

const h = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unh = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

export interface Stats {
  execs: number;
  traps: number;
  hangs: number;
  errors: Record<string, number>;
  accepted: number;
  byTarget: Record<string, number>;
  maxMs: number;
}

/** A core whose random source replays a seed (so that a transaction restarted with it sends the same request). */
export class FuzzCore {
  core!: Core<TestCoreExports>;
  private rng = new Rng(1);
  configured = "";
  /** When set, the host has no entropy (env.random fails). */
  randomFails = false;
  constructor(public now: number) {
    this.fresh();
  }
  fresh(): void {
    this.core = new Core<TestCoreExports>({
      wasm: TEST_WASM,
      random: (out) => {
        if (this.randomFails) return false;
        for (let i = 0; i < out.length; i++) out[i] = this.rng.int(256);
        return true;
      },
      now: () => this.now,
    });
    this.configured = "";
  }
  reseed(s: number): void {
    this.rng = new Rng(s);
  }
}

/** Runs one case; throws a trap (RuntimeError/CorePanic) or a host crash; returns the result codes and the time. */
export function runCase(fc: FuzzCore, c: Case): { codes: (number | string)[]; ms: number; accepted: boolean } {
  const core = fc.core,
    x = core.exports;
  const codes: (number | string)[] = [];
  let accepted = false;
  const t = performance.now();
  core.reset();
  if (c.target === "der") {
    const input = unh(c.input).subarray(0, 8192);
    const p = core.put(input);
    const out = core.reserve(core.ioSize - 8192 - 8);
    const cap = core.ioSize - 8192 - 8;
    const r =
      c.fn === "der_walk"
        ? x.der_walk(p, input.length, out, cap)
        : c.fn === "der_reencode"
          ? x.der_reencode(p, input.length, out, cap)
          : x.der_time(p, input.length, out);
    codes.push(Math.min(r, 0));
    accepted = r >= 0;
  } else if (c.target === "cert") {
    const t0 = unh(c.input);
    const tp = core.put(t0);
    const sum = core.reserve(112);
    const r1 = x.cert_parse(tp, t0.length, sum);
    codes.push(r1);
    const table = (list: string[]) => {
      const certs = list.map((s) => {
        const b = unh(s);
        return [core.put(b), b.length];
      });
      const tab = core.reserve(8 * Math.max(certs.length, 1));
      const v = new DataView(core.memory.buffer);
      certs.forEach(([p, n], i) => {
        v.setUint32(tab + 8 * i, p, true);
        v.setUint32(tab + 8 * i + 4, n, true);
      });
      return tab;
    };
    const pool = table(c.pool),
      anchors = table(c.anchors);
    const r2 = x.cert_verify_path(tp, t0.length, pool, c.pool.length, anchors, c.anchors.length, BigInt(c.now), c.flags);
    codes.push(r2);
    accepted = r2 === 0;
  } else if (c.target === "pem") {
    const input = unh(c.input);
    try {
      if (c.fn === "pemOrDer") {
        const got = pemOrDer(input, "CERTIFICATE");
        if (!Array.isArray(got)) throw new TypeError("pemOrDer returned no array");
        for (const d of got.slice(0, 2)) {
          if (!(d instanceof Uint8Array)) throw new TypeError("pemOrDer returned a non-byte value");
          if (d.length <= 8192) {
            core.reset();
            codes.push(x.cert_parse(core.put(d), d.length, core.reserve(112)));
          }
        }
        accepted = got.length > 0;
      } else if (c.fn === "p256Scalar") {
        const k = p256Scalar(Buffer.from(input));
        if (k.length !== 32) throw new TypeError(`p256Scalar returned ${k.length} bytes`);
        accepted = true;
      } else {
        const dir = mkdtempSync(join(tmpdir(), "tinycmp-fuzz-"));
        try {
          writeFileSync(join(dir, "c.pem"), input);
          readCerts(join(dir, "c.pem"));
          accepted = true;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } catch (e) {
      if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError)
        throw new HostCrash(`${c.fn}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      codes.push("host:Error");
    }
  } else {
    let a = startTx(fc, c);
    if (a !== Action.SEND) codes.push(a === Action.FAILED ? x.tx_error() : a);
    for (const hex of a === Action.SEND ? c.inputs : []) {
      const rsp = unh(hex).subarray(0, core.ioSize);
      core.reset();
      a = x.tx_input(core.put(rsp), rsp.length);
      while (a === Action.WAIT) a = x.tx_poll();
      if (a === Action.SEND) continue;
      if (a === Action.DONE) accepted = true;
      else codes.push(a === Action.FAILED ? x.tx_error() : a);
      break;
    }
  }
  if (core.memory.buffer.byteLength !== PAGE) throw new HostCrash(`memory grew to ${core.memory.buffer.byteLength} bytes`);
  return { codes, ms: performance.now() - t, accepted };
}

export class HostCrash extends Error {}

// tx_start of the case's operation on its configuration; configured again first when the core
// is still busy with an earlier case's transaction.
function startTx(fc: FuzzCore, c: Case & { target: "tx" }): number {
  configure(fc, c.config);
  fc.reseed(c.rngSeed);
  const a = fc.core.exports.tx_start(c.op);
  if (a !== E_CMP_STATE) return a;
  configure(fc, c.config, true);
  fc.reseed(c.rngSeed);
  return fc.core.exports.tx_start(c.op);
}

function configure(fc: FuzzCore, cfg: TxConfig, force = false): void {
  if (!force && fc.configured === cfg.name) return;
  const core = fc.core,
    x = core.exports;
  x.tx_reset();
  for (const [k, v] of cfg.items) {
    core.reset();
    const b = unh(v);
    const r = x.tx_set(k, core.put(b), b.length);
    if (r < 0 && k !== 6 && k !== 7) throw new Error(`fuzz config ${cfg.name}: item ${k} refused (${r})`);
  }
  for (const [k, v] of cfg.ints) x.tx_set_int(k, v);
  fc.configured = cfg.name;
}

// ---- the run ----
const OP_FOR_BODY: Record<number, number> = { 0xa1: 1, 0xa3: 2, 0xa8: 3, 0xac: 5, 0xb6: 6 };

export interface FuzzOptions {
  seconds: number;
  seed?: number;
  live?: boolean;
  saveDir?: string | null;
  log?: (s: string) => void;
}

export async function runFuzz(o: FuzzOptions): Promise<Stats & { saved: string[] }> {
  const log = o.log ?? (() => {});
  const r = new Rng(o.seed ?? 1);
  const corpus: Corpus = loadVectors(emptyCorpus());
  let live: Live | undefined;
  if (o.live !== false) live = await captureLive(corpus, log);
  try {
    return await loop(o, r, corpus, live, log);
  } finally {
    await live?.stop();
  }
}

function txConfigs(corpus: Corpus, live: Live | undefined): TxConfig[] {
  const secret = Buffer.from("fuzz-secret");
  const anchors = corpus.roots.slice(-4).map(h);
  const newKey = live ? h(live.creds.scalar("rsp.key")) : "11".repeat(32);
  const subject = live ? h(live.creds.subjectDer("rsp.crt")) : "3000";
  const oldCert = live ? h(live.creds.der("rsp.crt")) : h(corpus.certs[0]);
  const common: [number, string][] = [[8, newKey], [9, subject], [11, oldCert], [15, "2b06010505070411"], ...anchors.map((a): [number, string] => [6, a])];
  const ints: [number, number][] = [
    [34, 1],
    [37, 10_000],
    [38, 3],
  ]; // cheap request MACs, bounded work
  const out: TxConfig[] = [{ name: "mac", items: [[1, h(Buffer.from("ref"))], [2, h(secret)], ...common], ints }];
  out.push({ name: "mac-lenient", items: out[0].items, ints: [[32, 1 | 2 | 4 | 16 | 32], ...ints] });
  if (live) {
    const sig: [number, string][] = [[3, h(live.creds.scalar("dev.key"))], [4, h(live.creds.der("dev.crt"))], ...common];
    out.push({ name: "sig", items: sig, ints }, { name: "sig-lenient", items: sig, ints: [[32, 2 | 4 | 16 | 32], ...ints] });
  }
  return out;
}

async function loop(o: FuzzOptions, r: Rng, corpus: Corpus, live: Live | undefined, log: (s: string) => void) {
  const now = Math.floor(Date.now() / 1000);
  const fc = new FuzzCore(now);
  const configs = txConfigs(corpus, live);
  const secret = new Uint8Array(Buffer.from("fuzz-secret"));
  const stats: Stats = { execs: 0, traps: 0, hangs: 0, errors: {}, accepted: 0, byTarget: {}, maxMs: 0 };
  const saved: string[] = [];
  const times = corpus.der
    .flatMap((d) => {
      const t = parse(d);
      return t
        ? nodes(t)
            .filter((n) => n.node.tag[0] === 0x17 || n.node.tag[0] === 0x18)
            .map((n) => write(n.node))
        : [];
    })
    .slice(0, 200);
  const derPool = [...corpus.der, ...times];
  log(
    `corpus: ${corpus.der.length} DER (${corpus.messages.length} PKIMessages, ${corpus.responses.length} responses, ${corpus.certs.length} certificates, ${corpus.roots.length} roots), ${corpus.pem.length} PEM, ${times.length} times`,
  );
  const end = performance.now() + o.seconds * 1000;
  const t0 = performance.now();
  let lastReport = t0;

  const save = (c: Case, why: string) => {
    if (o.saveDir === null) return;
    const dir = o.saveDir ?? CASES_DIR;
    mkdirSync(dir, { recursive: true });
    const id = createHash("sha256").update(JSON.stringify(c)).digest("hex").slice(0, 12);
    const file = join(dir, `${c.target}-${id}.json`);
    writeFileSync(file, JSON.stringify({ why, ...c }, null, 1) + "\n");
    saved.push(file);
    log(`saved ${file}: ${why}`);
  };

  while (performance.now() < end) {
    const c = nextCase(r, corpus, derPool, configs, fc, secret, now);
    stats.byTarget[c.target] = (stats.byTarget[c.target] ?? 0) + 1;
    stats.execs++;
    try {
      const res = runCase(fc, c);
      for (const code of res.codes) if (code !== 0) stats.errors[code] = (stats.errors[code] ?? 0) + 1;
      if (res.accepted) stats.accepted++;
      if (res.ms <= HANG_MS) stats.maxMs = Math.max(stats.maxMs, res.ms);
      if (res.ms > HANG_MS) {
        // a pause of the machine (GC, another process) is no hang: it counts when a replay is slow too
        const again = runCase(fc, c);
        if (again.ms > HANG_MS) {
          stats.hangs++;
          save(c, `took ${res.ms.toFixed(0)} ms, then ${again.ms.toFixed(0)} ms`);
        } else log(`one slow call (${res.ms.toFixed(0)} ms, replayed in ${again.ms.toFixed(1)} ms): not counted`);
      }
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof CorePanic || e instanceof HostCrash) {
        stats.traps++;
        save(c, `${(e as Error).name}: ${(e as Error).message}`);
        fc.fresh();
      } else throw e;
    }
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      log(`${stats.execs} execs, ${(stats.execs / ((lastReport - t0) / 1000)).toFixed(0)}/s, ${stats.traps} traps, ${stats.hangs} hangs`);
    }
  }
  return { ...stats, saved };
}

function nextCase(r: Rng, corpus: Corpus, derPool: Uint8Array[], configs: TxConfig[], fc: FuzzCore, secret: Uint8Array, now: number): Case {
  const k = r.next();
  if (k < 0.2) {
    const fn = r.pick(["der_walk", "der_reencode", "der_time"] as const);
    const seed = fn === "der_time" && r.chance(0.8) ? (r.pick(derPool.slice(corpus.der.length)) ?? r.pick(derPool)) : r.pick(derPool);
    return { target: "der", fn, input: h(r.chance(0.05) ? seed : mutate(r, seed, derPool)) };
  }
  if (k < 0.35) {
    const target = r.pick(corpus.certs);
    const pool = new Array(r.int(4))
      .fill(0)
      .map(() => r.pick(corpus.certs))
      .map((c) => (r.chance(0.3) ? mutate(r, c, corpus.certs) : c));
    const anchors = new Array(1 + r.int(3))
      .fill(0)
      .map(() => r.pick(corpus.roots))
      .map((c) => (r.chance(0.1) ? mutate(r, c, corpus.certs) : c));
    const when = r.pick([now, 1657000000, 0, 2 ** 40]);
    return {
      target: "cert",
      input: h(r.chance(0.05) ? target : mutate(r, target, corpus.certs)),
      pool: pool.map(h),
      anchors: anchors.map(h),
      now: when,
      flags: r.int(2),
    };
  }
  if (k < 0.45) {
    const fn = r.pick(["pemOrDer", "pemOrDer", "p256Scalar", "p256Scalar", "readCerts"] as const);
    const seed = fn === "p256Scalar" ? r.pick(corpus.keys) : r.pick(corpus.pem);
    return { target: "pem", fn, input: h(r.chance(0.05) ? seed : mutatePem(r, seed, corpus.pem)) };
  }
  return txCase(r, corpus, configs, fc, secret, now);
}

function mutatePem(r: Rng, b: Uint8Array, pool: Uint8Array[]): Uint8Array {
  if (r.chance(0.5)) return mutate(r, b, pool);
  let s = Buffer.from(b).toString("latin1");
  const lines = s.split("\n");
  switch (r.int(7)) {
    case 0:
      lines.splice(r.int(lines.length), 1);
      s = lines.join("\n");
      break;
    case 1: {
      const i = r.int(lines.length);
      lines.splice(i, 0, lines[i]);
      s = lines.join("\n");
      break;
    }
    case 2:
      s = s.replace(/-----(BEGIN|END) ([A-Z ]+)-----/, (_m, w) => `-----${w} ${r.pick(["CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY", "X", ""])}-----`);
      break;
    case 3: {
      const i = r.int(s.length);
      s = s.slice(0, i) + r.pick(["=", "==", "*", "\0", " ", "\r\n", "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"]) + s.slice(i);
      break;
    }
    case 4:
      s = s.repeat(1 + r.int(20));
      break;
    case 5:
      s = "-----BEGIN CERTIFICATE-----\n" + Buffer.from(r.pick(pool)).toString("base64") + "\n-----END CERTIFICATE-----\n";
      break;
    default:
      s = "-----BEGIN CERTIFICATE-----".repeat(1 + r.int(2000));
      break;
  }
  return new Uint8Array(Buffer.from(s, "latin1"));
}

function txCase(r: Rng, corpus: Corpus, configs: TxConfig[], fc: FuzzCore, secret: Uint8Array, now: number): Case {
  const seed = r.pick(corpus.responses);
  const m = parse(seed);
  const bodyTag = m?.kids?.[1]?.tag[0] ?? 0;
  const op = OP_FOR_BODY[bodyTag] && r.chance(0.9) ? OP_FOR_BODY[bodyTag] : 1 + r.int(6);
  const macSeed = m ? isMacProtected(m) : false;
  const config = macSeed || r.chance(0.6) ? r.pick(configs.filter((c) => c.name.startsWith("mac"))) : r.pick(configs);
  const mac = config.name.startsWith("mac");
  const rngSeed = 1 + r.int(4);
  const c: Case & { target: "tx" } = { target: "tx", config, op, rngSeed, now, inputs: [] };
  // the requests of this transaction, step by step, to answer them (deterministic core: same requests)
  let req = startAndRequest(fc, c);
  for (let step = 0; step < 4 && req; step++) {
    const ids = requestIds(req);
    const base = step === 0 ? seed : r.pick(corpus.responses.filter((x) => [0xb3, 0xba, 0xa1, 0xa3, 0xa8].includes(parse(x)?.kids?.[1]?.tag[0] ?? 0)));
    let input: Uint8Array;
    const mode = r.int(10);
    if (!ids) input = mutate(r, base, corpus.responses);
    else if (mode < 3) {
      const mm = mutate(r, base, corpus.responses);
      input = answerTo(mm, ids, secret, mac) ?? mm;
    } else if (mode < 5) {
      const a = answerTo(base, ids, secret, mac) ?? base;
      input = mutate(r, a, corpus.responses);
    } else if (mode < 9) {
      const a = answerTo(base, ids, secret, mac) ?? base;
      const mm = mutate(r, a, corpus.responses);
      const t = parse(mm);
      input = t && remacNode(t, secret) ? write(t) : mm;
    } else input = answerTo(base, ids, secret, mac) ?? base;
    c.inputs.push(h(input));
    req = continueWith(fc, c);
  }
  return c;
}

// Runs the case's transaction up to its last input; the request now waiting for an answer, or null.
function startAndRequest(fc: FuzzCore, c: Case & { target: "tx" }): Uint8Array | null {
  try {
    const x = fc.core.exports;
    return startTx(fc, c) === Action.SEND ? fc.core.read(x.tx_out(), x.tx_out_len()) : null;
  } catch {
    fc.fresh();
    return null;
  }
}

function continueWith(fc: FuzzCore, c: Case & { target: "tx" }): Uint8Array | null {
  const x = fc.core.exports;
  try {
    const last = unh(c.inputs[c.inputs.length - 1]).subarray(0, fc.core.ioSize);
    fc.core.reset();
    let a = x.tx_input(fc.core.put(last), last.length);
    while (a === Action.WAIT) a = x.tx_poll();
    return a === Action.SEND ? fc.core.read(x.tx_out(), x.tx_out_len()) : null;
  } catch {
    fc.fresh();
    return null;
  } // the trap shows again when runCase replays the case
}
