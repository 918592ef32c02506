// Crash proof of the agent (docs/STORE.md, "Crash proof"): `tinycmp agent` runs as a child
// process over a store directory and is killed with SIGKILL, at random moments and at each store
// system call in turn (strace -P <slot files> -e inject=SYSCALL:signal=KILL:when=N: the Nth
// openat, pwrite64, fsync or rename of a slot file, slot-N.tmp or the directory), during ir,
// kur, ir and kur with polling, provisioning and decommissioning against the built-in test PKI.
// After each kill a reader independent of the core (the record format of docs/STORE.md parsed
// here, keys and chains checked with node:crypto) checks the store: the credential's private key
// matches its certificate, the chain verifies to the root, the credential is not older than
// before (generation and certificate), nothing the agent reported done is missing. Then the agent
// restarts on that store (one run, no kill) and must reach the operation's end state: enrolled,
// provisioned, decommissioned. Counts: kills, lost, mismatched, rolledBack, stuck.
// Usage: npm run crash [-- --json] [--random N] [--max-per-syscall N] [--workers N] [--scenario NAME]...
//        [--min-kills N] (exit status 1 also when fewer kills landed)
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { X509Certificate, createECDH, createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestPki } from "../testpki/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const SYSCALLS = ["openat", "pwrite64", "fsync", "rename"] as const;
const RUN_TIMEOUT_MS = 60_000;

export interface CrashCounts {
  kills: number;
  lost: number;
  mismatched: number;
  rolledBack: number;
  stuck: number;
}
export interface CrashResult extends CrashCounts {
  runs: number;
  seconds: number;
  scenarios: Record<string, CrashCounts & { syscallKills: number; randomKills: number }>;
  failures: string[];
}

// ---- an independent reader of the store (docs/STORE.md: record, items, A/B by generation) ----
const MAGIC = 0x31534354;
const SLOTS: Record<number, number[]> = { 1: [0], 2: [1, 2], 3: [3, 4], 4: [5, 6] };
type Items = [number, Buffer][];
interface Rec {
  generation: number;
  items: Items;
}

function readRecord(dir: string, kind: number): Rec | undefined {
  let best: Rec | undefined;
  for (const s of SLOTS[kind]) {
    let b: Buffer;
    try {
      b = readFileSync(join(dir, `slot-${s}.bin`));
    } catch {
      continue;
    }
    if (b.length < 32 || b.readUInt32LE(0) !== MAGIC || b.readUInt32LE(4) !== kind) continue;
    const n = b.readUInt32LE(12);
    if (n > b.length - 32 || n > 4064) continue;
    const sum = createHash("sha256")
      .update(b.subarray(0, 16 + n))
      .digest()
      .subarray(0, 16);
    if (!sum.equals(b.subarray(16 + n, 32 + n))) continue;
    const items: Items = [];
    for (let o = 16; o + 3 <= 16 + n; ) {
      const len = b.readUInt16LE(o + 1);
      items.push([b[o], b.subarray(o + 3, o + 3 + len)]);
      o += 3 + len;
    }
    const generation = b.readUInt32LE(8);
    if (!best || ((generation - best.generation) | 0) > 0) best = { generation, items };
  }
  return best;
}
const item = (r: Rec | undefined, tag: number) => r?.items.find(([t]) => t === tag)?.[1];
const itemsOf = (r: Rec | undefined, tag: number) => (r?.items ?? []).filter(([t]) => t === tag).map(([, v]) => v);

/** Why a key + certificate + chain is not a working credential, or undefined when it is. */
function credentialFault(key: Buffer | undefined, cert: Buffer | undefined, chain: Buffer[], anchor: X509Certificate): string | undefined {
  if (key?.length !== 32 || !cert) return "key or certificate missing";
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(key);
  const point = ecdh.getPublicKey();
  const x = new X509Certificate(cert);
  const spki = x.publicKey.export({ type: "spki", format: "der" });
  if (!spki.subarray(spki.length - 65).equals(point)) return "the private key is not the certificate's";
  let c = x;
  for (const next of chain.map((d) => new X509Certificate(d))) {
    if (c.raw.equals(anchor.raw)) break;
    if (!c.checkIssued(next) || !c.verify(next.publicKey)) return `the chain breaks at ${c.subject}`;
    c = next;
  }
  return c.raw.equals(anchor.raw) || (c.checkIssued(anchor) && c.verify(anchor.publicKey)) ? undefined : "the chain does not reach the root";
}

// ---- the agent as a child process ----
interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runAgent(bundle: string, args: string[], opts: { strace?: { dir: string; syscall: string; n: number }; killAfterMs?: number }): Promise<Run> {
  let cmd = process.execPath,
    argv = [bundle, ...args];
  if (opts.strace) {
    const { dir, syscall, n } = opts.strace;
    const paths = [dir, ...[0, 1, 2, 3, 4, 5, 6].flatMap((i) => [`slot-${i}.bin`, `slot-${i}.tmp`].map((f) => join(dir, f)))];
    argv = [
      "-f",
      "-qq",
      "-o",
      "/dev/null",
      ...paths.flatMap((p) => ["-P", p]),
      "-e",
      `trace=${syscall}`,
      "-e",
      `inject=${syscall}:signal=KILL:when=${n}`,
      cmd,
      ...argv,
    ];
    cmd = "strace";
  }
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "",
      stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", (e) => (stderr += String(e)));
    const timers = [setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS)];
    if (opts.killAfterMs !== undefined) timers.push(setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs));
    child.on("close", (code, signal) => {
      timers.forEach(clearTimeout);
      // strace reports the tracee's death by signal as its own exit status 128 + 9
      const killed = signal === "SIGKILL" || (opts.strace && code === 137);
      resolve({ code: killed ? null : code, signal: killed ? "SIGKILL" : signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

// ---- scenarios ----
interface Scenario {
  name: string;
  base: string; // store image to start from
  args: string[];
  /** checks the store right after a kill; returns a list of [counter, message] */
  afterKill(dir: string, run: Run): [keyof CrashCounts, string][];
  /** checks the store after the restart (which exited with run.code) */
  afterRestart(dir: string, run: Run, killed: string): [keyof CrashCounts, string][];
  setup?(): void;
}

type Options = {
  random?: number;
  maxPerSyscall?: number;
  only?: string[];
  workers?: number;
  /** The store system calls to kill at (default openat, pwrite64, fsync, rename). */
  syscalls?: string[];
  log?: (s: string) => void;
  /** Changes a source file of the agent before bundling (tests: a mutation the harness must catch). */
  mutate?: (path: string, source: string) => string;
};
const NAMES = ["provision", "ir", "ir-poll", "ir-poll-confirm", "kur", "kur-poll", "decommission"];

export async function runCrash(opts: Options = {}): Promise<CrashResult> {
  const t0 = Date.now();
  if (spawnSync("strace", ["-V"]).status !== 0) throw new Error("host/node/tools/crash.ts needs strace (Debian: apt-get install strace)");
  // three levels below the root, as host/node/lib/core.ts is, so the bundled core finds build/tinycmp.wasm
  const bundle = join(root, "build", "crash", "agent", opts.mutate ? "agent-mutant.mjs" : "agent.mjs");
  // the agent as one JavaScript file: a child starts in about the time of Node itself
  const { build } = await import("esbuild");
  const mutate = opts.mutate;
  await build({
    entryPoints: [join(root, "host/node/cli/agent-main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    packages: "external",
    logLevel: "warning",
    plugins: mutate
      ? [
          {
            name: "mutate",
            setup: (b) => b.onLoad({ filter: /host\/node\/.*\.ts$/ }, (a) => ({ contents: mutate(a.path, readFileSync(a.path, "utf8")), loader: "ts" })),
          },
        ]
      : [],
  });
  // workers (default 2, one per core), each with its own test PKI, share the scenarios out
  const names = NAMES.filter((n) => !opts.only?.length || opts.only.includes(n));
  const w = Math.max(1, Math.min(opts.workers ?? 2, names.length));
  const parts = await Promise.all(
    Array.from({ length: w }, (_, i) =>
      worker(
        bundle,
        names.filter((_, j) => j % w === i),
        opts,
      ),
    ),
  );
  const result: CrashResult = { kills: 0, lost: 0, mismatched: 0, rolledBack: 0, stuck: 0, runs: 0, seconds: 0, scenarios: {}, failures: [] };
  for (const p of parts) {
    for (const k of ["kills", "lost", "mismatched", "rolledBack", "stuck", "runs"] as const) result[k] += p[k];
    Object.assign(result.scenarios, p.scenarios);
    result.failures.push(...p.failures);
  }
  result.seconds = Math.round((Date.now() - t0) / 1000);
  return result;
}

async function worker(bundle: string, names: string[], opts: Options): Promise<CrashResult> {
  const log = opts.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), "tinycmp-crash-"));
  const pki = await TestPki.start();
  try {
    return await proof();
  } finally {
    await pki.close();
    rmSync(work, { recursive: true, force: true });
  }

  async function proof(): Promise<CrashResult> {
    const anchor = new X509Certificate(pki.root.der);
    const dev = await pki.createIdevid("SN-CRASH");
    const idevidRoot = new X509Certificate(dev.chain.at(-1)!);
    const files = join(work, "files");
    mkdirSync(files);
    const pem = (d: Uint8Array, label = "CERTIFICATE") =>
      `-----BEGIN ${label}-----\n${Buffer.from(d).toString("base64").replace(/.{64}/g, "$&\n")}\n-----END ${label}-----\n`;
    writeFileSync(join(files, "idevid.key"), dev.keyPem);
    writeFileSync(join(files, "idevid.pem"), dev.certPem);
    writeFileSync(join(files, "chain.pem"), dev.chain.join(""));
    writeFileSync(join(files, "root.pem"), pem(pki.root.der));
    const config = (name: string, extra: Record<string, unknown> = {}) => {
      const f = join(files, `${name}.json`);
      writeFileSync(
        f,
        JSON.stringify({ url: pki.url, subject: "/CN=crash device", trusted: join(files, "root.pem"), backoffBase: 0.05, backoffMax: 0.2, ...extra }),
      );
      return f;
    };
    const idevidCert = new X509Certificate(dev.certPem).raw;
    const provisionArgs = ["--provision", join(files, "idevid.key"), join(files, "idevid.pem"), join(files, "chain.pem")];

    // base store images, made by the agent itself
    const images = join(work, "images");
    const image = (name: string) => join(images, name);
    mkdirSync(image("empty"), { recursive: true, mode: 0o700 });
    const must = async (dir: string, args: string[]) => {
      const r = await runAgent(bundle, ["--store", dir, ...args], {});
      if (r.code !== 0) throw new Error(`preparing ${dir}: ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    };
    await must(image("provisioned"), provisionArgs);
    // valid for longer than any run of this harness; renewShare 0.9999 makes kur due at once
    pki.configure({ validitySeconds: 4 * 3600 });
    cpSync(image("provisioned"), image("enrolled"), { recursive: true });
    await must(image("enrolled"), ["--once", "--config", config("ir")]);
    pki.reset();

    const cred = (dir: string) => readRecord(dir, 2);
    const revoked = () => new Set(pki.revoked().map((r) => r.serialNumber.toLowerCase().replace(/^0+/, "")));
    const serialOf = (der: Buffer) => new X509Certificate(der).serialNumber.toLowerCase().replace(/^0+/, "");
    // the certificates the killed run reported done (ir.done / kur.done lines) must be in the store
    const reported = (run: Run) =>
      [...run.stdout.matchAll(/"event":"(?:ir|kur)\.done".*?"serial":"([0-9A-Fa-f]+)"/g)].map((m) => m[1].toLowerCase().replace(/^0+/, ""));

    // the credential part of every check: key/cert/chain, never older than base, reported ones kept
    function credChecks(dir: string, baseDir: string, run: Run | undefined, must: boolean): [keyof CrashCounts, string][] {
      const out: [keyof CrashCounts, string][] = [];
      const now = cred(dir),
        before = cred(baseDir);
      if (!now) {
        if (before || must) out.push(["lost", "no credential"]);
        return out;
      }
      const fault = credentialFault(item(now, 1), item(now, 2), itemsOf(now, 3), anchor);
      if (fault) out.push(["mismatched", fault]);
      if (before) {
        const d = (now.generation - before.generation) | 0;
        if (d < 0 || (d === 0 && !item(now, 2)!.equals(item(before, 2)!))) out.push(["rolledBack", `generation ${now.generation} after ${before.generation}`]);
      }
      for (const s of run ? reported(run) : []) {
        if (serialOf(item(now, 2)!) !== s) out.push(["lost", `reported serial ${s} is not the stored credential`]);
      }
      return out;
    }
    const idevidChecks = (dir: string, must: boolean): [keyof CrashCounts, string][] => {
      const r = readRecord(dir, 1);
      if (!r) return must ? [["lost", "no IDevID"]] : [];
      const f = credentialFault(item(r, 1), item(r, 2), itemsOf(r, 3), idevidRoot);
      if (f) return [["mismatched", `IDevID: ${f}`]];
      return item(r, 2)!.equals(idevidCert) ? [] : [["mismatched", "another IDevID"]];
    };
    const enrolledAfter = (dir: string, run: Run, base: string): [keyof CrashCounts, string][] => {
      const out = credChecks(dir, base, undefined, true);
      if (run.code !== 0) out.push(["stuck", `restart exited ${run.code ?? run.signal}: ${run.stderr.trim().split("\n").pop()}`]);
      return out;
    };
    const poll = () => pki.configure({ pollCount: 2, checkAfter: 0 });

    const scenarios: Scenario[] = [
      {
        name: "provision",
        base: "empty",
        args: provisionArgs,
        afterKill: (dir) => idevidChecks(dir, false),
        afterRestart: (dir, run) => [
          ...idevidChecks(dir, true),
          ...(run.code === 0 ? [] : [["stuck", `--provision again exited ${run.code}: ${run.stderr.trim()}`] as [keyof CrashCounts, string]]),
        ],
      },
      {
        name: "ir",
        base: "provisioned",
        args: ["--once", "--config", config("ir")],
        afterKill: (d, r) => [...idevidChecks(d, true), ...credChecks(d, image("provisioned"), r, false)],
        afterRestart: (d, r) => enrolledAfter(d, r, image("provisioned")),
      },
      {
        name: "ir-poll",
        base: "provisioned",
        args: ["--once", "--config", config("ir")],
        setup: poll,
        afterKill: (d, r) => credChecks(d, image("provisioned"), r, false),
        afterRestart: (d, r) => enrolledAfter(d, r, image("provisioned")),
      },
      {
        name: "ir-poll-confirm",
        base: "provisioned",
        args: ["--once", "--config", config("irc", { implicitConfirm: false })],
        setup: poll,
        afterKill: (d, r) => credChecks(d, image("provisioned"), r, false),
        afterRestart: (d, r) => enrolledAfter(d, r, image("provisioned")),
      },
      {
        name: "kur",
        base: "enrolled",
        args: ["--once", "--config", config("kur", { renewShare: 0.9999 })],
        setup: () => pki.configure({ validitySeconds: 600 }),
        afterKill: (d, r) => credChecks(d, image("enrolled"), r, true),
        afterRestart: (d, r) => enrolledAfter(d, r, image("enrolled")),
      },
      {
        name: "kur-poll",
        base: "enrolled",
        args: ["--once", "--config", config("kur", { renewShare: 0.9999 })],
        setup: () => {
          pki.configure({ validitySeconds: 600 });
          poll();
        },
        afterKill: (d, r) => credChecks(d, image("enrolled"), r, true),
        afterRestart: (d, r) => enrolledAfter(d, r, image("enrolled")),
      },
      {
        name: "decommission",
        base: "enrolled",
        args: ["--decommission", "--config", config("ir")],
        afterKill: (d) => {
          const out = credChecks(d, image("enrolled"), undefined, true);
          if (!out.length && !item(cred(d), 2)!.equals(item(cred(image("enrolled")), 2)!)) out.push(["rolledBack", "the credential changed"]);
          return out;
        },
        afterRestart: (d, run) => {
          const out = credChecks(d, image("enrolled"), undefined, true);
          const st = readRecord(d, 4),
            c = item(cred(d), 2);
          const done = !!c && !!item(st, 19)?.equals(createHash("sha256").update(c).digest()) && !!item(st, 20);
          if (run.code !== 0 || !done || !revoked().has(serialOf(c!)))
            out.push(["stuck", `--decommission again: exit ${run.code}, store ${done ? "done" : "not done"}: ${run.stderr.trim()}`]);
          return out;
        },
      },
    ];

    const result: CrashResult = { kills: 0, lost: 0, mismatched: 0, rolledBack: 0, stuck: 0, runs: 0, seconds: 0, scenarios: {}, failures: [] };
    let case_ = 0;
    for (const sc of scenarios.filter((s) => names.includes(s.name))) {
      const counts = { kills: 0, lost: 0, mismatched: 0, rolledBack: 0, stuck: 0, syscallKills: 0, randomKills: 0 };
      result.scenarios[sc.name] = counts;
      const fresh = () => {
        const dir = join(work, `case-${++case_}`);
        cpSync(image(sc.base), dir, { recursive: true });
        return dir;
      };
      const note = (dir: string, what: string, found: [keyof CrashCounts, string][]) => {
        for (const [k, msg] of found) {
          counts[k]++;
          result[k]++;
          result.failures.push(`${sc.name} ${what}: ${k}: ${msg}`);
        }
        rmSync(dir, { recursive: true, force: true });
      };
      const once = async (what: string, o: Parameters<typeof runAgent>[2], dir: string): Promise<Run> => {
        pki.reset();
        sc.setup?.();
        result.runs++;
        const run = await runAgent(bundle, ["--store", dir, ...sc.args], o);
        if (run.signal !== "SIGKILL") return run;
        counts.kills++;
        result.kills++;
        const found = sc.afterKill(dir, run);
        result.runs++;
        const again = await runAgent(bundle, ["--store", dir, ...sc.args], {});
        note(dir, what, [...found, ...sc.afterRestart(dir, again, what)]);
        return run;
      };
      // one unkilled run: its duration spreads the random kills
      const dir0 = fresh();
      const plain = await once("plain", {}, dir0);
      note(dir0, "plain run", plain.code === 0 ? [] : [["stuck", `exit ${plain.code}: ${plain.stderr.trim()}`]]);
      // at each store system call
      for (const syscall of opts.syscalls ?? SYSCALLS) {
        for (let n = 1; n <= (opts.maxPerSyscall ?? 40); n++) {
          const dir = fresh();
          const r = await once(`${syscall} #${n}`, { strace: { dir, syscall, n } }, dir);
          if (r.signal !== "SIGKILL") {
            rmSync(dir, { recursive: true, force: true });
            break; // the run made fewer such calls
          }
          counts.syscallKills++;
        }
      }
      // at random moments, until that many kills landed (a kill after the run's end misses)
      const want = opts.random ?? 12;
      for (let i = 0; counts.randomKills < want && i < want * 3; i++) {
        const dir = fresh();
        const at = Math.round(Math.random() * plain.ms);
        const r = await once(`random ${at} ms`, { killAfterMs: at }, dir);
        if (r.signal === "SIGKILL") counts.randomKills++;
        else rmSync(dir, { recursive: true, force: true });
      }
      log(`${sc.name}: ${JSON.stringify(counts)}`);
    }
    return result;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const val = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const only = argv.flatMap((a, i) => (argv[i - 1] === "--scenario" ? [a] : []));
  const json = argv.includes("--json");
  const r = await runCrash({
    random: val("--random"),
    maxPerSyscall: val("--max-per-syscall"),
    workers: val("--workers"),
    only,
    log: json ? undefined : console.log,
  });
  if (json) console.log(JSON.stringify(r, null, 2));
  else {
    console.log(
      `kills ${r.kills}, lost ${r.lost}, mismatched ${r.mismatched}, rolled back ${r.rolledBack}, stuck ${r.stuck} (${r.runs} agent runs, ${r.seconds} s)`,
    );
    for (const f of r.failures.slice(0, 20)) console.log(`  ${f}`);
  }
  process.exitCode = r.lost + r.mismatched + r.rolledBack + r.stuck === 0 && r.kills >= (val("--min-kills") ?? 1) ? 0 : 1;
}
