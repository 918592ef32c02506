// `npm run fuzz:native -- --seconds S [--json] [--only der,cert,...] [--jobs N] [--no-live] [--no-nice]`:
// coverage-guided fuzzing at native speed. Builds the libFuzzer harnesses of fuzz/ (make -C fuzz:
// clang, ASan + UBSan, over the wasm2c translation of build/tinycmp.wasm, build/tinycmp-lean.wasm and (DER harness) build/tinycmp-test.wasm,
// and the C host's HTTP and PEM readers), writes seeds (../shared/vectors read at run time, and
// responses captured from `openssl cmp` as mock server and from the test PKI) to
// build/fuzz-native/seeds/, replays the saved regressions (fuzz/regress/), then runs each
// harness for its share of S seconds, --jobs at a time (default 1) under `nice -n 19`, on its corpus
// (build/fuzz-native/corpus/<target>, kept between runs, and fuzz/corpus/<target>).
// Prints execs, execs/s, coverage (edges), crashes and timeouts per target and in total; with
// --json the last line is {"execs","execs_per_s","edges","crashes","timeouts",...}.
// Exits 1 on any crash (trap, sanitizer report, differential disagreement) or timeout.
// `--minimize` instead refreshes the corpus kept in the repository (fuzz/corpus/<target>): the
// inputs of build/fuzz-native/corpus that keep its coverage (libFuzzer -merge=1), at most 2 KiB
// each, no PEM private key, and none that shares 32 bytes with a file of ../shared/vectors
// (read, never copied).
import { spawn, spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Device, type Request } from "../lib/device";
import { HttpTransport } from "../lib/transport";
import { captureLive, emptyCorpus, loadVectors, Recorder, type Corpus, type Live } from "./fuzz-corpus";
import { nodes, parse, pbmAlg, setProtectionAlg, write } from "./fuzz-der";
import { ITEM_CERT, ITEM_INFOTYPE, ITEM_KEY, ITEM_NEWKEY, ITEM_OLDCERT, ITEM_REF, ITEM_SECRET, ITEM_SUBJECT, ITEM_TRUSTED } from "../lib/abi";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const B = join(ROOT, "build/fuzz-native");
const SEEDS = join(B, "seeds");

interface Target {
  name: string;
  share: number;
  maxLen: number;
  dict?: string;
  env?: Record<string, string>;
}
export const TARGETS: Target[] = [
  { name: "der", share: 0.2, maxLen: 8192, dict: "der.dict" },
  { name: "cert", share: 0.2, maxLen: 8192, dict: "der.dict" },
  { name: "path", share: 0.1, maxLen: 4097, dict: "der.dict", env: { TINYCMP_FUZZ_CERTS: join(SEEDS, "path.certs") } },
  { name: "tx", share: 0.2, maxLen: 12000, dict: "der.dict", env: { TINYCMP_FUZZ_TX: join(SEEDS, "tx.cfg") } },
  { name: "tx-lean", share: 0.1, maxLen: 12000, dict: "der.dict", env: { TINYCMP_FUZZ_TX: join(SEEDS, "tx-lean.cfg") } },
  { name: "http", share: 0.1, maxLen: 20000, dict: "http.dict" },
  { name: "pem", share: 0.1, maxLen: 16384, dict: "pem.dict" },
];

export interface Stats {
  execs: number;
  execs_per_s: number;
  edges: number;
  edges_total: number;
  crashes: number;
  timeouts: number;
  cpu_s?: number;
  seconds: number;
  artifacts: string[];
}

const sha = (b: Uint8Array) => createHash("sha1").update(b).digest("hex");
const u8 = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const cat = (...p: Uint8Array[]) => new Uint8Array(Buffer.concat(p));

function putSeeds(t: string, list: Uint8Array[]): number {
  const dir = join(SEEDS, t);
  mkdirSync(dir, { recursive: true });
  for (const b of list) writeFileSync(join(dir, sha(b)), b);
  return list.length;
}

async function recordRun(url: string, op: "ir" | "cr" | "kur", req: Request): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const d = new Device(new Recorder(new HttpTransport({ url, msgTimeoutMs: 5000 }), out));
  try {
    await d.run(op, req);
  } catch {
    /* negative answers are seeds too */
  } finally {
    d.close();
  }
  return out;
}

const RSP_OP: Record<number, number> = { 0xa1: 1, 0xa3: 2, 0xa8: 3, 0xac: 5, 0xb6: 6 }; // ip cp kup rp genp -> op
const MAC_OIDS = ["2a864886f67d07420d", "2a864886f70d01050e"];
function isMac(m: Uint8Array): boolean {
  const t = parse(m);
  const alg = t?.kids?.[0]?.kids?.find((f) => f.tag[0] === 0xa1)?.kids?.[0]?.kids?.[0]?.val;
  return !!alg && MAC_OIDS.includes(Buffer.from(alg).toString("hex"));
}

// The lean module has SHA-256 only: a MAC-protected response re-protected with PBM over SHA-256
// (the harness recomputes the MAC itself).
function leanMac(r: Uint8Array): Uint8Array {
  const m = parse(r);
  if (!m?.kids?.[0]?.kids || !isMac(r)) return r;
  setProtectionAlg(m, pbmAlg(new Uint8Array(16).fill(0x5a), 500)); // the fewest PBM iterations the core accepts (docs/SECURITY.md)
  return write(m);
}

function rec(cfg: number, item: number, v: Uint8Array): Uint8Array {
  const h = Buffer.alloc(6);
  h[0] = cfg;
  h[1] = item;
  h.writeUInt32LE(v.length, 2);
  return cat(h, v);
}

/** Seeds and harness configuration under build/fuzz-native/seeds (rewritten on every run). */
export async function writeSeeds(live: boolean, log: (s: string) => void): Promise<void> {
  rmSync(SEEDS, { recursive: true, force: true });
  const corpus: Corpus = loadVectors(emptyCorpus());
  let cap: Live | undefined;
  const extra: { conf: Uint8Array[]; wait: Uint8Array[] } = { conf: [], wait: [] };
  if (live) {
    cap = await captureLive(corpus, log);
    // MAC-protected ir transactions of the test PKI for the new key the harness configures: one
    // without implicitConfirm (ip, then pkiConf) and one that polls (waiting, pollRep, ip)
    const pki = cap.pki,
      url = pki.url + "/pkix/";
    const base: Request = {
      secret: pki.secret,
      ref: pki.ref,
      newKey: cap.creds.scalar("rsp.key"),
      subject: cap.creds.subjectDer("rsp.crt"),
      trusted: [new Uint8Array(new X509Certificate(pki.root.certPem).raw)],
    };
    pki.configure({ grantImplicitConfirm: false, responseProtection: "mac" });
    extra.conf = await recordRun(url, "ir", base);
    pki.reset();
    pki.configure({ pollCount: 2, checkAfter: 0, responseProtection: "mac" });
    extra.wait = await recordRun(url, "ir", base);
    pki.reset();
    for (const r of [...extra.conf, ...extra.wait]) corpus.responses.push(r), corpus.der.push(r);
    log(`test PKI: ${extra.conf.length + extra.wait.length} more responses for the pkiConf and pollRep states`);
    if (!extra.conf.length || !extra.wait.length)
      log(
        "warning: no prefix response captured: the tx harnesses will not reach the pkiConf and pollRep states (run the capture without nice: the harnesses are niced already)",
      );
  }
  try {
    const times = corpus.der.flatMap((d) => {
      const t = parse(d);
      return t
        ? nodes(t)
            .filter((n) => n.node.tag[0] === 0x17 || n.node.tag[0] === 0x18)
            .map((n) => write(n.node))
        : [];
    });
    const uniq = (l: Uint8Array[]) => [...new Map(l.map((b) => [sha(b), b])).values()];
    const n: Record<string, number> = {};
    n.der = putSeeds(
      "der",
      uniq([...corpus.der, ...times.slice(0, 64)]).filter((b) => b.length <= 8192),
    );
    n.cert = putSeeds("cert", corpus.certs);
    n.path = putSeeds(
      "path",
      corpus.certs.flatMap((c) => [cat(new Uint8Array([0]), c), cat(new Uint8Array([3]), c)]),
    );
    // tx: selector octets (docs in fuzz/tx.c) and the response
    const tx: Uint8Array[] = [];
    for (const r of corpus.responses) {
      const body = parse(r)?.kids?.[1]?.tag[0] ?? 0;
      const op = RSP_OP[body] ?? 1;
      const cfg = isMac(r) ? 0 : 2;
      tx.push(cat(new Uint8Array([op - 1 + (cfg << 3), 3]), r), cat(new Uint8Array([op - 1 + ((cfg | 1) << 3), 3 | (3 << 2)]), r));
      if (body === 0xb3) tx.push(cat(new Uint8Array([0, 3 | (1 << 2)]), r)); // pkiConf after ip + certConf
      if (body === 0xba || body === 0xa1) tx.push(cat(new Uint8Array([0, 3 | (2 << 2)]), r)); // pollRep / ip after pollReq
    }
    n.tx = putSeeds("tx", tx);
    putSeeds(
      "tx-lean",
      tx.map((b) => cat(b.subarray(0, 2), leanMac(b.subarray(2)))),
    );
    const http: Uint8Array[] = [];
    for (const r of corpus.responses.slice(0, 8)) {
      const body = Buffer.from(r).toString("latin1");
      const ok = (extra: string) => `HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\n${extra}\r\n`;
      http.push(u8(ok(`Content-Length: ${r.length}\r\n`) + body));
      http.push(u8(ok(`Content-Length: ${r.length}\r\n`) + body + ok(`Content-Length: ${r.length}\r\n`) + body));
      http.push(u8(ok("Connection: close\r\n") + body));
      http.push(u8(`HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp; charset=binary\r\n\r\n` + body));
      http.push(u8(ok("Transfer-Encoding: chunked\r\n") + `${r.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`));
    }
    http.push(u8("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/\r\nContent-Length: 0\r\n\r\n"), u8("HTTP/1.1 500 Oops\r\n\r\n"));
    n.http = putSeeds("http", http);
    n.pem = putSeeds("pem", [...corpus.pem, ...corpus.keys, u8("/CN=tinycmp device/O=Example\\/Org"), u8("1.2.840.10045.3.1.7"), u8("caCerts")]);
    log(
      `seeds: ${Object.entries(n)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );

    // path: the certificates of the live capture and the vectors' roots (anchors: the self-issued ones)
    const certs = cap ? ["root.crt", "srv.crt", "srvrsa.crt", "srvee.crt", "rsp.crt", "dev.crt", "other.crt"].map((f) => cap!.creds.der(f)) : [];
    if (cap) certs.push(new Uint8Array(new X509Certificate(cap.pki.root.certPem).raw));
    writeFileSync(join(SEEDS, "path.certs"), cat(...certs, ...corpus.roots, ...corpus.certs.slice(0, 16)));

    // tx: configuration records (fuzz/tx.c): 0 every configuration, 1 MAC, 2 signature
    const cfg: Uint8Array[] = [],
      leanCfg: Uint8Array[] = [];
    const now = Buffer.alloc(8);
    now.writeBigUInt64LE(BigInt(Math.floor(Date.now() / 1000)));
    cfg.push(rec(0, 100, now));
    cfg.push(rec(1, ITEM_REF, u8("ref")), rec(1, ITEM_SECRET, u8("fuzz-secret")));
    cfg.push(rec(0, ITEM_INFOTYPE, new Uint8Array([0x2b, 6, 1, 5, 5, 7, 4, 17])));
    if (cap) {
      const c = cap.creds;
      cfg.push(rec(0, ITEM_NEWKEY, c.scalar("rsp.key")), rec(0, ITEM_SUBJECT, c.subjectDer("rsp.crt")), rec(0, ITEM_OLDCERT, c.der("rsp.crt")));
      cfg.push(rec(0, ITEM_TRUSTED, c.der("root.crt")), rec(0, ITEM_TRUSTED, new Uint8Array(new X509Certificate(cap.pki.root.certPem).raw)));
      cfg.push(rec(2, ITEM_KEY, c.scalar("dev.key")), rec(2, ITEM_CERT, c.der("dev.crt")));
      if (extra.conf[0]) cfg.push(rec(0, 101, extra.conf[0]));
      if (extra.wait[0]) cfg.push(rec(0, 102, extra.wait[0]));
      if (extra.conf[0]) leanCfg.push(rec(0, 101, leanMac(extra.conf[0])));
      if (extra.wait[0]) leanCfg.push(rec(0, 102, leanMac(extra.wait[0])));
    } else {
      cfg.push(rec(0, ITEM_NEWKEY, new Uint8Array(32).fill(0x11)), rec(0, ITEM_SUBJECT, new Uint8Array([0x30, 0])));
    }
    for (const r of corpus.roots.slice(-4)) cfg.push(rec(0, ITEM_TRUSTED, r));
    writeFileSync(join(SEEDS, "tx.cfg"), cat(...cfg));
    writeFileSync(join(SEEDS, "tx-lean.cfg"), cat(...cfg.filter((r) => r[1] !== 101 && r[1] !== 102), ...leanCfg));
  } finally {
    await cap?.stop();
  }
}

function parseLog(text: string): Omit<Stats, "seconds" | "artifacts"> {
  const num = (re: RegExp) => {
    const m = text.match(re);
    return m ? Number(m[1]) : 0;
  };
  const covs = [...text.matchAll(/\bcov: (\d+)/g)];
  const crashed =
    /ERROR: (libFuzzer: (deadly signal|crash|out-of-memory|fuzz target exited)|AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error:/.test(
      text,
    );
  return {
    execs: num(/stat::number_of_executed_units: (\d+)/),
    execs_per_s: num(/stat::average_exec_per_sec: +(\d+)/),
    edges: covs.length ? Number(covs[covs.length - 1][1]) : 0,
    edges_total: num(/Loaded 1 modules +\((\d+) inline 8-bit counters\)/), // instrumented in the code under test
    crashes: crashed ? 1 : 0,
    timeouts: /ERROR: libFuzzer: timeout/.test(text) ? 1 : 0,
  };
}

function run(cmd: string[], env: Record<string, string>, logFile: string): Promise<{ text: string; code: number; cpu?: number }> {
  const time = existsSync("/usr/bin/time");
  const argv = time ? ["/usr/bin/time", "-f", "CPU %U %S", ...cmd] : cmd;
  return new Promise((resolve) => {
    // no 4 KiB fill of every allocation (libFuzzer copies each input: a debugging aid, not a check)
    // and a 16 MiB quarantine of freed memory (use-after-free still caught; fewer fresh pages)
    const asan = { ASAN_OPTIONS: `max_malloc_fill_size=0:quarantine_size_mb=16${process.env.ASAN_OPTIONS ? `:${process.env.ASAN_OPTIONS}` : ""}` };
    const p = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...asan, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    p.stdout.on("data", (d) => (text += d));
    p.stderr.on("data", (d) => (text += d));
    p.on("close", (code) => {
      writeFileSync(logFile, text);
      const m = text.match(/CPU ([\d.]+) ([\d.]+)\s*$/);
      resolve({ text, code: code ?? 1, cpu: m ? Number(m[1]) + Number(m[2]) : undefined });
    });
  });
}

const files = (d: string) => (existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : []);

function vectorWindows(): Set<string> {
  const w = new Set<string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) {
        if (f.name !== "wycheproof") walk(p);
        continue;
      }
      const b = readFileSync(p);
      for (let i = 0; i + 32 <= b.length; i++) w.add(b.subarray(i, i + 32).toString("latin1"));
    }
  };
  walk(fileURLToPath(new URL("../../../../shared/vectors/", import.meta.url)));
  return w;
}

export async function minimize(t: Target, windows: Set<string>): Promise<number> {
  const from = join(B, "corpus", t.name),
    to = join(ROOT, "fuzz/corpus", t.name),
    tmp = join(B, "merge", t.name);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const small = join(B, "merge", `${t.name}-in`);
  rmSync(small, { recursive: true, force: true });
  mkdirSync(small, { recursive: true });
  for (const f of [...files(from), ...files(to)]) {
    let b: Buffer;
    try {
      b = readFileSync(f);
    } catch {
      continue;
    } // replaced by a running fuzzer meanwhile

    // no PEM private key in the repository, even a throwaway one of a live capture
    if (b.length > 2048 || b.includes("PRIVATE KEY")) continue;
    let shared = false;
    for (let i = 0; i + 32 <= b.length && !shared; i++) shared = windows.has(b.subarray(i, i + 32).toString("latin1"));
    if (!shared) writeFileSync(join(small, sha(b)), b);
  }
  const r = await run([join(B, t.name), "-merge=1", tmp, small], t.env ?? {}, join(B, "logs", `${t.name}-merge.log`));
  if (r.code !== 0) throw new Error(`merge of ${t.name} failed: ${join(B, "logs", `${t.name}-merge.log`)}`);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const f of files(tmp)) writeFileSync(join(to, f.split("/").pop()!), readFileSync(f));
  return files(to).length;
}

export async function fuzzTarget(t: Target, seconds: number, nice: boolean): Promise<Stats> {
  const corpus = join(B, "corpus", t.name),
    art = join(B, "artifacts");
  mkdirSync(corpus, { recursive: true });
  mkdirSync(art, { recursive: true });
  mkdirSync(join(B, "logs"), { recursive: true });
  const pre = nice ? ["nice", "-n", "19"] : [];
  const opts = [
    `-max_len=${t.maxLen}`,
    "-timeout=10",
    "-reload=0",
    "-rss_limit_mb=1536",
    "-print_final_stats=1",
    `-artifact_prefix=${art}/${t.name}-`,
    ...(t.dict ? [`-dict=${join(ROOT, "fuzz", t.dict)}`] : []),
  ];
  const exe = join(B, t.name);
  // saved regressions first: each input run once
  const regress = files(join(ROOT, "fuzz/regress", t.name));
  let bad = 0;
  const artifacts: string[] = [];
  if (regress.length) {
    const r = await run([...pre, exe, ...opts, ...regress], t.env ?? {}, join(B, "logs", `${t.name}-regress.log`));
    if (r.code !== 0) {
      bad = 1;
      artifacts.push(`regression replay failed: ${join(B, "logs", `${t.name}-regress.log`)}`);
    }
  }
  const dirs = [corpus, join(SEEDS, t.name), join(ROOT, "fuzz/corpus", t.name)].filter(existsSync);
  const r = await run([...pre, exe, ...opts, `-max_total_time=${Math.max(1, Math.round(seconds))}`, ...dirs], t.env ?? {}, join(B, "logs", `${t.name}.log`));
  const s = parseLog(r.text);
  // interrupted (SIGINT: exit status 72 after the final stats) is the end of a run, not a crash
  if (r.code !== 0 && !s.crashes && !s.timeouts && !/libFuzzer: run interrupted/.test(r.text)) s.crashes = 1;
  for (const m of r.text.matchAll(/Test unit written to (\S+)/g)) artifacts.push(m[1]);
  return { ...s, crashes: s.crashes + bad, cpu_s: r.cpu, seconds, artifacts };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      json: { type: "boolean" },
      only: { type: "string" },
      jobs: { type: "string", default: "1" },
      "no-live": { type: "boolean" },
      minimize: { type: "boolean" },
      "no-nice": { type: "boolean" },
      "no-build": { type: "boolean" },
    },
  });
  const log = (s: string) => console.error(s);
  const seconds = Number(values.seconds);
  const only = values.only ? values.only.split(",") : null;
  const targets = TARGETS.filter((t) => !only || only.includes(t.name));
  if (!targets.length) {
    log(`no such target; targets: ${TARGETS.map((t) => t.name).join(", ")}`);
    process.exit(2);
  }
  if (!values["no-build"]) {
    const mk = spawnSync("make", ["-s", "-C", join(ROOT, "fuzz"), ...targets.map((t) => join(B, t.name))], { stdio: ["ignore", "inherit", "inherit"] });
    if (mk.status !== 0) {
      log("building the harnesses failed (needs clang with libFuzzer, wabt, libssl-dev)");
      process.exit(2);
    }
  }
  const t0 = performance.now();
  await writeSeeds(!values["no-live"], log);
  if (values.minimize) {
    const windows = vectorWindows();
    mkdirSync(join(B, "logs"), { recursive: true });
    for (const t of targets) log(`${t.name}: ${await minimize(t, windows)} inputs kept in fuzz/corpus/${t.name}`);
    process.exit(0);
  }
  log(`seeds ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const share = targets.reduce((a, t) => a + t.share, 0);
  const per: Record<string, Stats> = {};
  const jobs = Math.max(1, Math.min(Number(values.jobs), targets.length));
  const queue = [...targets];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const s = await fuzzTarget(t, (seconds * jobs * t.share) / share, !values["no-nice"]);
      per[t.name] = s;
      const cpu = s.cpu_s ? `, ${Math.round(s.execs / s.cpu_s)} execs per CPU-second` : "";
      console.log(
        `${t.name.padEnd(8)} execs ${s.execs}, ${s.execs_per_s} execs/s${cpu}, edges ${s.edges} of ${s.edges_total}, crashes ${s.crashes}, timeouts ${s.timeouts}`,
      );
      for (const a of s.artifacts) console.log(`  ${a}`);
    }
  };
  await Promise.all(new Array(jobs).fill(0).map(worker));
  const all = Object.values(per);
  const total = {
    execs: all.reduce((a, s) => a + s.execs, 0),
    execs_per_s: 0,
    edges: all.reduce((a, s) => a + s.edges, 0),
    crashes: all.reduce((a, s) => a + s.crashes, 0),
    timeouts: all.reduce((a, s) => a + s.timeouts, 0),
  };
  const secs = all.reduce((a, s) => a + s.seconds, 0) / jobs;
  total.execs_per_s = Math.round(total.execs / Math.max(secs, 1));
  console.log(
    `total    execs ${total.execs}, ${total.execs_per_s} execs/s over ${secs.toFixed(0)} s, edges ${total.edges} (sum over the harnesses), crashes ${total.crashes}, timeouts ${total.timeouts}`,
  );
  // every run appended to build/fuzz-native/history.jsonl: cumulative counts are sums of runs made
  appendFileSync(
    join(B, "history.jsonl"),
    JSON.stringify({
      date: new Date().toISOString(),
      argv: process.argv.slice(2),
      ...total,
      targets: Object.fromEntries(
        Object.entries(per).map(([k, s]) => [k, { execs: s.execs, edges: s.edges, edges_total: s.edges_total, crashes: s.crashes, cpu_s: s.cpu_s }]),
      ),
    }) + "\n",
  );
  if (values.json)
    console.log(
      JSON.stringify({
        ...total,
        targets: Object.fromEntries(
          Object.entries(per).map(([k, s]) => [
            k,
            {
              execs: s.execs,
              execs_per_s: s.execs_per_s,
              edges: s.edges,
              edges_total: s.edges_total,
              crashes: s.crashes,
              timeouts: s.timeouts,
              cpu_s: s.cpu_s,
            },
          ]),
        ),
      }),
    );
  process.exit(total.crashes + total.timeouts > 0 ? 1 : 0);
}
