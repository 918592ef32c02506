// `npm run fleet`: many simulated devices run CMP lifecycles at once, each lane of a device thread
// with its own instance of the core, reset between the devices it runs (device-worker.ts). Devices run in worker threads (all cores); the built-in test PKI runs in a
// thread of its own so the CPU time of each side is measured apart (Linux /proc per-thread times).
// A fleet too large for one machine is cut into shards (--shard I/N), one process each, and the
// shards' --json summaries are added up by `tinycmp fleet merge`.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { readFileSync, writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Worker } from "node:worker_threads";
import { Device } from "../lib/device";
import { nameDer, readCerts, readP256Key, secretArg } from "../lib/files";
import { Progress } from "./progress";
import { renderReport } from "./report";
import { addSample, newTally, summarize, type RunInfo } from "./summary";
import { FleetMetrics, publish } from "./metrics";
import { deviceIndex, identity, parseMix, parseShard, SCENARIOS, shardSize, type Scenario } from "./plan";
import { cpuDelta, machineCpu, threadCpu } from "./threads";
import type { DeviceJob, Idevid, Sample } from "./types";

const USAGE = `usage: npm run fleet -- (--devices N | --duration S) [--concurrency C] [--workers W]
        [--scenario enroll|renew|revoke|root-update|mixed] [--mix enroll=70,renew=20,revoke=5,root-update=5]
        [--mac|--sig] [--shard I/N] [--rate R] [--ramp S] [--metrics FILE|HOST:PORT]
        [--report FILE.html] [--json] [--implicit-confirm] [--calibrate K] [--response-protection signature|mac]
  --response-protection: how the built-in test PKI protects responses to MAC-protected requests
  against a server: --server URL --ref REF --secret SECRET (--mac; {i} in REF or SECRET is the
                    device index; SECRET may be pass:, env: or file:) or --cert FILE --key FILE
                    (--sig), --trusted FILE[,FILE] (root of the server's CMP signer)
  --devices N: the whole fleet's size; with --shard I/N this process runs devices I, I+N, ...`;

const { values: o } = parseArgs({
  options: {
    devices: { type: "string" },
    duration: { type: "string" },
    concurrency: { type: "string" },
    workers: { type: "string" },
    scenario: { type: "string", default: "enroll" },
    mix: { type: "string", default: "enroll=70,renew=20,revoke=5,root-update=5" },
    shard: { type: "string", default: "0/1" },
    rate: { type: "string" },
    ramp: { type: "string", default: "0" },
    metrics: { type: "string" },
    "response-protection": { type: "string", default: "signature" },
    server: { type: "string" },
    mac: { type: "boolean", default: false },
    sig: { type: "boolean", default: false },
    ref: { type: "string" },
    secret: { type: "string" },
    trusted: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    "implicit-confirm": { type: "boolean", default: false },
    "msg-timeout": { type: "string", default: "30000" },
    calibrate: { type: "string", default: "400" },
    report: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (o.help) {
  console.log(USAGE);
  process.exit(0);
}
const usage = (msg: string): never => {
  console.error(`fleet: ${msg}\n${USAGE}`);
  process.exit(2);
};
const num = (name: string, v: string | undefined, min: number, integer = true) => {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min)
    usage(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}`);
  return n;
};
if (o.mac && o.sig) usage("--mac and --sig exclude each other");
if (o.devices !== undefined && o.duration !== undefined) usage("--devices and --duration exclude each other");
const scenario = o.scenario as Scenario;
if (!SCENARIOS.includes(scenario)) usage(`--scenario must be one of ${SCENARIOS.join(", ")}`);
let shard = { index: 0, count: 1 };
let mix: ReturnType<typeof parseMix> | undefined;
try {
  shard = parseShard(o.shard!);
  if (scenario === "mixed") mix = parseMix(o.mix!);
} catch (e) {
  usage((e as Error).message);
}
const durationMs = o.duration !== undefined ? num("duration", o.duration, 0.001, false) * 1000 : undefined;
const devices = durationMs === undefined ? num("devices", o.devices ?? "100", 1) : undefined;
const inShard = devices === undefined ? Infinity : shardSize(shard, devices);
if (inShard === 0) usage(`shard ${shard.index}/${shard.count} of ${devices} devices is empty`);
const workers = Math.min(num("workers", o.workers ?? String(availableParallelism()), 1), inShard);
const concurrency = Math.max(num("concurrency", o.concurrency ?? String(16 * workers), 1), workers);
const rate = o.rate !== undefined ? num("rate", o.rate, 0.001, false) : undefined;
const rampSeconds = num("ramp", o.ramp, 0, false);
const mode: "mac" | "sig" = o.sig ? "sig" : "mac";
const responseProtection = o["response-protection"] as "signature" | "mac";
if (responseProtection !== "signature" && responseProtection !== "mac") usage("--response-protection must be signature or mac");
if (o.server && o["response-protection"] !== "signature") usage("--response-protection is for the built-in test PKI");
const msgTimeoutMs = num("msg-timeout", o["msg-timeout"], 1);
const say = (text: string) => (o.json ? process.stderr : process.stdout).write(text + "\n");
const tsxApi = import.meta.resolve("tsx/esm/api");
const version = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version as string;
// the command line as given, secrets masked
const command = ["npm run fleet --", ...process.argv.slice(2).map((a, i, all) => (all[i - 1] === "--secret" && !/^(env|file):/.test(a) ? "***" : a))].join(" ");

/** A worker thread running a TypeScript file (tsx registered inside the thread). */
function tsWorker(file: string, workerData: unknown): Worker {
  const url = new URL(file, import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((t) => { t.register(); return import(${JSON.stringify(url)}); });`, { eval: true, workerData });
}

/** Resolves with the first message for which `pick` returns a value; rejects on a thread error. */
function receive<T>(w: Worker, pick: (m: any) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      const v = pick(m);
      if (v === undefined) return;
      w.off("message", onMessage);
      resolve(v);
    };
    w.on("message", onMessage);
    w.once("error", reject);
  });
}

// --- memory of one device instance: RSS with K instances alive minus RSS with none -----------
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
async function memoryPerDevice(k: number): Promise<{ perDeviceKiB: number; wasmKiB: number }> {
  if (k < 4) return { perDeviceKiB: NaN, wasmKiB: NaN };
  // each instance builds a MAC-protected ir (new key, POP, PBM) up to the point of sending it, so
  // its memory is touched as in a real enrollment (a lane's Device; the lanes share one HTTP pool)
  const stop = { transfer: () => Promise.reject(new Error("calibration")) };
  const build = (d: Device) => d.enroll({ op: "ir", ref: "calibration", secret: "calibration", subject: nameDer("/CN=calibration") }).catch(() => undefined);
  await build(new Device(stop)); // compile and warm up outside the measurement
  const alive: { device: Device }[] = [];
  const rssWith = async (n: number) => {
    while (alive.length < n) {
      const device = new Device(stop);
      await build(device);
      alive.push({ device });
    }
    gc();
    return process.memoryUsage().rss;
  };
  // the slope between k/4 and k instances: one-off growth of the heaps cancels out
  const before = await rssWith(Math.floor(k / 4));
  const after = await rssWith(k);
  const wasmKiB = alive[0].device.core.memory.buffer.byteLength / 1024;
  return { perDeviceKiB: (after - before) / 1024 / (k - Math.floor(k / 4)), wasmKiB };
}
const mem = await memoryPerDevice(num("calibrate", o.calibrate, 0));

// --- the server: the built-in test PKI in its own thread, or the one given ---------------------
let pki: Worker | undefined;
let pkiTid: number | undefined;
let url: string, ref: string | undefined, secret: string | undefined, trusted: Uint8Array[];
let idevids: Record<number, Idevid> | undefined;
let idevid: Idevid | undefined;
let prepSeconds = 0;
if (o.server) {
  url = o.server.includes("://") ? o.server : `http://${o.server}`;
  ref = o.ref;
  try {
    secret = o.secret === undefined || !/^(pass|env|file):/.test(o.secret) ? o.secret : secretArg(o.secret);
  } catch (e) {
    usage((e as Error).message);
  }
  trusted = o.trusted ? readCerts(...o.trusted.split(",")) : [];
  if (mode === "mac" && (ref === undefined || secret === undefined)) usage("--server with --mac needs --ref and --secret");
  if (mode === "sig") {
    if (!o.cert || !o.key) usage("--server with --sig needs --cert and --key (one IDevID shared by all devices)");
    const chain = readCerts(o.cert!);
    idevid = { cert: chain[0], chain: chain.slice(1), key: readP256Key(o.key!) };
  }
} else {
  pki = tsWorker("./pki-worker.ts", { rootRollover: scenario === "root-update" || scenario === "mixed", responseProtection });
  const r = await receive(pki, (m) => (m.ready ? m : undefined));
  pkiTid = r.tid;
  url = `${r.url}/.well-known/cmp`;
  ref = r.ref;
  secret = r.secret;
  trusted = [r.root];
  if (mode === "sig") {
    if (devices === undefined) usage("--sig with the built-in test PKI needs --devices (each device's IDevID is made beforehand)");
    const t = performance.now();
    const serials = Array.from({ length: inShard }, (_, j) => identity(deviceIndex(shard, j)).serialNumber);
    say(`creating ${inShard} IDevIDs at the test PKI's manufacturer CA ...`);
    pki.postMessage({ idevids: serials });
    const list: Idevid[] = await receive(pki, (m) => m.idevids);
    idevids = Object.fromEntries(list.map((d, j) => [deviceIndex(shard, j), d]));
    prepSeconds = (performance.now() - t) / 1000;
  }
}
const serverName = o.server ? new URL(url).host : `built-in test PKI${responseProtection === "mac" ? " (MAC-protected responses)" : ""}`;

// --- live metrics ---------------------------------------------------------------------------------
const metrics = new FleetMetrics({ scenario, ...(shard.count > 1 ? { shard: `${shard.index}/${shard.count}` } : {}) });
const published = o.metrics ? await publish(metrics, o.metrics) : undefined;
if (published?.url) say(`metrics at ${published.url}`);

// --- device threads ------------------------------------------------------------------------------
const threads: Worker[] = [];
for (let w = 0; w < workers; w++) {
  const job: DeviceJob = {
    url,
    mode,
    ref,
    secret,
    trusted,
    implicitConfirm: o["implicit-confirm"]!,
    shard,
    worker: w,
    workers,
    devices,
    durationMs,
    concurrency: Math.floor(concurrency / workers) + (w < concurrency % workers ? 1 : 0),
    rate: rate !== undefined ? rate / workers : undefined,
    rampSeconds,
    scenario,
    mix,
    msgTimeoutMs,
    totalTimeoutMs: 4 * msgTimeoutMs,
    idevid,
    // this thread's devices only
    idevids: idevids && Object.fromEntries(Object.entries(idevids).filter((_, j) => j % workers === w)),
  };
  threads.push(tsWorker("./device-worker.ts", job));
}
const ready = await Promise.all(threads.map((t) => receive(t, (m) => (m.ready ? m : undefined))));
const deviceTids = new Set(ready.map((r) => r.tid as number));

const tally = newTally();
const cpu0 = threadCpu();
const machine0 = machineCpu();
const cpuProcess0 = process.cpuUsage();
const t0 = performance.now();
const epoch = performance.timeOrigin + t0;
const progress = new Progress(devices === undefined ? 0 : inShard, t0);
const done = () => tally.devicesOk + tally.devicesFailed;
let phaseDone = 0;
const finished = threads.map((t) => {
  t.on("message", (m: { samples?: Sample[]; devicesOk?: number; devicesFailed?: number; phaseDone?: number }) => {
    if (m.phaseDone && ++phaseDone === threads.length) threads.forEach((x) => x.postMessage({ phase2: true }));
    if (!m.samples) return;
    for (const s of m.samples) {
      addSample(tally, s);
      metrics.observe(s);
    }
    tally.devicesOk += m.devicesOk!;
    tally.devicesFailed += m.devicesFailed!;
    metrics.devicesDone(m.devicesOk!, m.devicesFailed!);
    progress.update(tally.devicesOk, tally.devicesFailed);
  });
  t.postMessage({ go: true });
  return receive(t, (m) => (m.done ? m : undefined));
});
const ticker = setInterval(() => progress.update(tally.devicesOk, tally.devicesFailed), 250);
const doneMsgs = await Promise.all(finished);
clearInterval(ticker);
const wallMs = performance.now() - t0;
const cpu = cpuDelta(cpu0, threadCpu());
const machine1 = machineCpu();
const cpuProcess = process.cpuUsage(cpuProcess0);
tally.devices = done();
progress.update(tally.devicesOk, tally.devicesFailed, true);
progress.end();
await Promise.all(threads.map((t) => t.terminate()));
let pkiRequests: number | undefined;
if (pki) {
  pki.postMessage({ stop: true });
  pkiRequests = (await receive(pki, (m) => (m.stopped ? m : undefined))).requests;
  await pki.terminate();
}
await published?.stop();

// --- summary -------------------------------------------------------------------------------------
const sum = (f: (t: { tid: number; name: string }) => boolean) => cpu.filter(f).reduce((a, t) => a + t.ms, 0);
const pkiThreadMs = sum((t) => t.tid === pkiTid);
const deviceMs = sum((t) => deviceTids.has(t.tid));
const totalMs = cpu.length ? sum(() => true) : (cpuProcess.user + cpuProcess.system) / 1000;
const cores = availableParallelism();
const n = Math.max(
  1,
  [...tally.ops.values()].reduce((a, s) => a + s.ok.count + s.failed.count, 0),
);
const pkiUtil = pkiThreadMs / wallMs;
const machineUtil = totalMs / (cores * wallMs);
// everything on the machine, other processes included (a shared machine slows the fleet down)
const systemUtil = machine0 && machine1 ? (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total) : NaN;
// Throughput each resource would allow on its own, from the CPU time per operation: the test
// PKI answers on one thread; the devices run on min(W, cores) threads; everything shares the cores.
const bounds: Record<string, number> = {};
if (cpu.length) {
  if (pki) bounds["test PKI thread"] = (1000 * n) / Math.max(pkiThreadMs, 1);
  bounds["device threads"] = (1000 * n * Math.min(workers, cores)) / Math.max(deviceMs, 1);
  bounds[`CPU (${cores} cores, both sides)`] = (1000 * n * cores) / Math.max(totalMs, 1);
}
const limits = Object.entries(bounds).sort((a, b) => a[1] - b[1]);
let bottleneck: string;
if (!limits.length) bottleneck = "unknown (no per-thread CPU times on this system)";
else if (rate !== undefined) bottleneck = `--rate ${rate}/s (the machine allows ~${limits[0][1].toFixed(0)}/s)`;
else if (o.server && machineUtil < 0.5) bottleneck = "the server or the network: this machine is not saturated";
else {
  bottleneck = `${limits[0][0]} (allows ~${limits[0][1].toFixed(0)}/s; next ${limits[1]?.[0] ?? "-"} ~${limits[1]?.[1].toFixed(0) ?? "-"}/s)`;
  if (systemUtil > 0.9 && machineUtil < 0.75)
    bottleneck += `; the machine was shared: ${(systemUtil * 100).toFixed(0)}% busy, ${(machineUtil * 100).toFixed(0)}% of it by the fleet`;
}
if (process.env.FLEET_THREADS)
  console.error(
    cpu
      .filter((t) => t.ms > 0)
      .map((t) => `${t.tid} ${t.name} ${t.ms}${t.tid === pkiTid ? " PKI" : ""}${deviceTids.has(t.tid) ? " DEV" : ""}`)
      .join("\n"),
  );

const info: RunInfo = {
  scenario: scenario === "mixed" ? `mixed ${o.mix}` : scenario,
  mode,
  server: serverName,
  version,
  command,
  started: new Date(Number.isFinite(tally.firstStart) ? tally.firstStart : epoch).toISOString(),
  ...(shard.count > 1 ? { shard } : {}),
  workers,
  concurrency,
  rate,
  implicit_confirm: o["implicit-confirm"]!,
  rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  device_kib: +mem.perDeviceKiB.toFixed(1),
  device_wasm_kib: mem.wasmKiB,
  idevid_prep_seconds: +prepSeconds.toFixed(3),
  pki_requests: pkiRequests,
  cpu_cores: cores,
  cpu_ms: { devices: deviceMs, ...(pki ? { pki: pkiThreadMs } : {}), other: totalMs - deviceMs - pkiThreadMs },
  machine_busy: +systemUtil.toFixed(3),
  limit_per_second: Object.fromEntries(limits.map(([k, v]) => [k, +v.toFixed(1)])),
  bottleneck,
};
const summary = {
  ...summarize(tally, info),
  pki_thread_busy: pki ? +pkiUtil.toFixed(3) : undefined,
  device_threads_busy: +(deviceMs / (workers * wallMs)).toFixed(3),
  device_event_loop_busy: +(doneMsgs.reduce((a, d) => a + d.elu, 0) / workers).toFixed(3),
  fleet_cpu_busy: +machineUtil.toFixed(3),
};

const opLines = Object.entries(summary.operations).map(
  ([op, s]) =>
    `  ${op}: ok ${s.ok}, failed ${s.failed}, ${s.per_second}/s, p50 ${s.p50_ms ?? "-"} ms, p95 ${s.p95_ms ?? "-"} ms, p99 ${s.p99_ms ?? "-"} ms, max ${s.max_ms ?? "-"} ms`,
);
const lines = [
  `devices ${tally.devices}${shard.count > 1 ? ` (shard ${shard.index}/${shard.count})` : ""}, scenario ${info.scenario} (${mode}, ${workers} worker threads, concurrency ${concurrency}${rate !== undefined ? `, rate ${rate}/s` : ""}) against ${serverName}`,
  `devices ok ${tally.devicesOk}, failed ${tally.devicesFailed} in ${summary.seconds} s: ${summary.per_second} operations/s`,
  ...opLines,
  `memory: peak RSS ${summary.rss_mb} MB; per device instance ` +
    (Number.isFinite(mem.perDeviceKiB)
      ? `${summary.device_kib} KiB (RSS growth from ${Math.floor(Number(o.calibrate) / 4)} to ${o.calibrate} instances alive, each after building an ir; its linear memory is ${mem.wasmKiB} KiB, of which RSS counts the pages touched); this run kept ${concurrency} alive, one per lane`
      : "not measured (--calibrate K, K >= 4)"),
  `CPU per operation: devices ${summary.cpu_ms_per_enrollment_devices} ms` +
    (pki ? `, test PKI ${summary.cpu_ms_per_enrollment_pki} ms (its thread busy ${(pkiUtil * 100).toFixed(0)}%)` : "") +
    `, other threads (GC, compiler, crypto jobs, main) ${summary.cpu_ms_per_enrollment_other} ms`,
  `CPU: the fleet used ${(machineUtil * 100).toFixed(0)}% of ${cores} cores` +
    (Number.isFinite(systemUtil) ? `, the machine was ${(systemUtil * 100).toFixed(0)}% busy in all` : ""),
  `bottleneck: ${bottleneck}`,
];
if (prepSeconds) lines.push(`(IDevIDs made beforehand in ${prepSeconds.toFixed(1)} s, not counted)`);
if (tally.devicesFailed) lines.push("failures:", ...Object.entries(summary.failures).map(([r, k]) => `  ${k} x ${r}`));
say(lines.join("\n"));

if (o.report) {
  writeFileSync(o.report, renderReport(summary));
  say(`report written to ${o.report}`);
}
if (o.json) console.log(JSON.stringify(summary));
process.exit(tally.devicesFailed === 0 && tally.devices > 0 ? 0 : 1);
