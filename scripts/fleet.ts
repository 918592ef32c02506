// `npm run fleet`: many simulated devices enroll at once, each with its own instance of the core.
//   npm run fleet -- --devices N --concurrency C [--server URL] [--mac|--sig] [--workers W]
//                    [--report FILE.html] [--json]
// Devices run in worker threads (all cores); the built-in test PKI runs in a thread of its own so
// the CPU time of each side is measured apart (Linux /proc per-thread times).
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Worker } from "node:worker_threads";
import { Device } from "../host/node/device";
import { nameDer, readCerts, readP256Key } from "../host/node/files";
import { HttpTransport } from "../host/node/transport";
import { Progress } from "../host/node/fleet/progress";
import { renderReport } from "../host/node/fleet/report";
import { failuresByReason, histogram, percentile, timeline } from "../host/node/fleet/stats";
import { cpuDelta, machineCpu, threadCpu } from "../host/node/fleet/threads";
import type { DeviceJob, Idevid, Sample } from "../host/node/fleet/types";

const USAGE = `usage: npm run fleet -- --devices N --concurrency C [--server URL] [--mac|--sig] [--workers W]
        [--report FILE.html] [--json] [--implicit-confirm] [--calibrate K]
  against a server: --server URL --ref REF --secret SECRET (--mac) or --cert FILE --key FILE (--sig),
                    --trusted FILE[,FILE] (root of the server's CMP signer)`;

const { values: o } = parseArgs({
  options: {
    devices: { type: "string", default: "100" },
    concurrency: { type: "string" },
    workers: { type: "string" },
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
const int = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
if (o.mac && o.sig) {
  console.error("--mac and --sig exclude each other");
  process.exit(2);
}
const devices = int("devices", o.devices, 1);
const workers = Math.min(int("workers", o.workers ?? String(availableParallelism()), 1), devices);
const concurrency = Math.max(int("concurrency", o.concurrency ?? String(16 * workers), 1), workers);
const mode: "mac" | "sig" = o.sig ? "sig" : "mac";
const msgTimeoutMs = int("msg-timeout", o["msg-timeout"], 1);
const say = (text: string) => (o.json ? process.stderr : process.stdout).write(text + "\n");
const tsxApi = import.meta.resolve("tsx/esm/api");

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
  // its memory is touched as in a real enrollment; the HTTP transport is kept alive beside it
  const stop = { transfer: () => Promise.reject(new Error("calibration")) };
  const build = (d: Device) => d.enroll({ op: "ir", ref: "calibration", secret: "calibration", subject: nameDer("/CN=calibration") }).catch(() => undefined);
  await build(new Device(stop)); // compile and warm up outside the measurement
  const alive: { device: Device; transport: HttpTransport }[] = [];
  const rssWith = async (n: number) => {
    while (alive.length < n) {
      const device = new Device(stop);
      await build(device);
      alive.push({ device, transport: new HttpTransport({ url: "http://127.0.0.1:9/" }) });
    }
    gc();
    return process.memoryUsage().rss;
  };
  // the slope between k/4 and k instances: one-off growth of the heaps cancels out
  const before = await rssWith(Math.floor(k / 4));
  const after = await rssWith(k);
  const wasmKiB = alive[0].device.core.memory.buffer.byteLength / 1024;
  alive.forEach((a) => a.transport.close());
  return { perDeviceKiB: (after - before) / 1024 / (k - Math.floor(k / 4)), wasmKiB };
}
const mem = await memoryPerDevice(int("calibrate", o.calibrate, 0));

// --- the server: the built-in test PKI in its own thread, or the one given ---------------------
let pki: Worker | undefined;
let pkiTid: number | undefined;
let url: string, ref: string | undefined, secret: string | undefined, trusted: Uint8Array[];
let idevids: Idevid[] | undefined;
let prepSeconds = 0;
if (o.server) {
  url = o.server.includes("://") ? o.server : `http://${o.server}`;
  ref = o.ref;
  secret = o.secret;
  trusted = o.trusted ? readCerts(...o.trusted.split(",")) : [];
  if (mode === "mac" && (ref === undefined || secret === undefined)) {
    console.error("--server with --mac needs --ref and --secret");
    process.exit(2);
  }
  if (mode === "sig") {
    if (!o.cert || !o.key) {
      console.error("--server with --sig needs --cert and --key (one IDevID shared by all devices)");
      process.exit(2);
    }
    const chain = readCerts(o.cert);
    const one = { cert: chain[0], chain: chain.slice(1), key: readP256Key(o.key) };
    idevids = Array.from({ length: devices }, () => one);
  }
} else {
  pki = tsWorker("../host/node/fleet/pki-worker.ts", {});
  const r = await receive(pki, (m) => (m.ready ? m : undefined));
  pkiTid = r.tid;
  url = `${r.url}/.well-known/cmp/initialization`;
  ref = r.ref;
  secret = r.secret;
  trusted = [r.root];
  if (mode === "sig") {
    const t = performance.now();
    say(`creating ${devices} IDevIDs at the test PKI's manufacturer CA ...`);
    pki.postMessage({ idevids: devices });
    idevids = await receive(pki, (m) => m.idevids);
    prepSeconds = (performance.now() - t) / 1000;
  }
}

// --- device threads ------------------------------------------------------------------------------
const threads: Worker[] = [];
const samples: Sample[] = [];
let ok = 0;
let failed = 0;
let first = 0;
for (let w = 0; w < workers; w++) {
  const count = Math.floor(devices / workers) + (w < devices % workers ? 1 : 0);
  const job: DeviceJob = {
    url, mode, ref, secret, trusted,
    implicitConfirm: o["implicit-confirm"]!,
    first, count,
    concurrency: Math.floor(concurrency / workers) + (w < concurrency % workers ? 1 : 0),
    msgTimeoutMs,
    totalTimeoutMs: 4 * msgTimeoutMs,
    idevids: idevids?.slice(first, first + count),
  };
  threads.push(tsWorker("../host/node/fleet/device-worker.ts", job));
  first += count;
}
const ready = await Promise.all(threads.map((t) => receive(t, (m) => (m.ready ? m : undefined))));
const deviceTids = new Set(ready.map((r) => r.tid as number));

const cpu0 = threadCpu();
const machine0 = machineCpu();
const cpuProcess0 = process.cpuUsage();
const t0 = performance.now();
const epoch = performance.timeOrigin + t0;
const progress = new Progress(devices, t0);
const finished = threads.map((t) => {
  t.on("message", (m: { samples?: Sample[] }) => {
    if (!m.samples) return;
    for (const s of m.samples) {
      samples.push(s);
      if (s.failure) failed++;
      else ok++;
    }
    progress.update(ok, failed);
  });
  t.postMessage({ go: true });
  return receive(t, (m) => (m.done ? m : undefined));
});
const ticker = setInterval(() => progress.update(ok, failed), 250);
const done = await Promise.all(finished);
clearInterval(ticker);
const wallMs = performance.now() - t0;
const cpu = cpuDelta(cpu0, threadCpu());
const machine1 = machineCpu();
const cpuProcess = process.cpuUsage(cpuProcess0);
progress.update(ok, failed, true);
progress.end();
await Promise.all(threads.map((t) => t.terminate()));
let pkiRequests: number | undefined;
if (pki) {
  pki.postMessage({ stop: true });
  pkiRequests = (await receive(pki, (m) => (m.stopped ? m : undefined))).requests;
  await pki.terminate();
}

// --- summary -------------------------------------------------------------------------------------
const latencies = Float64Array.from(samples.filter((s) => !s.failure).map((s) => s.ms)).sort();
const p = (q: number) => +percentile(latencies, q).toFixed(2);
const lastEnd = samples.reduce((a, s) => Math.max(a, s.start + s.ms), epoch);
const runSeconds = (lastEnd - epoch) / 1000;
const sum = (f: (t: { tid: number; name: string }) => boolean) => cpu.filter(f).reduce((a, t) => a + t.ms, 0);
const pkiThreadMs = sum((t) => t.tid === pkiTid);
const deviceMs = sum((t) => deviceTids.has(t.tid));
const totalMs = cpu.length ? sum(() => true) : (cpuProcess.user + cpuProcess.system) / 1000;
const cores = availableParallelism();
const per = (ms: number) => +(ms / Math.max(1, samples.length)).toFixed(3);
const pkiUtil = pkiThreadMs / wallMs;
const machineUtil = totalMs / (cores * wallMs);
// everything on the machine, other processes included (a shared machine slows the fleet down)
const systemUtil = machine0 && machine1 ? (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total) : NaN;
// Throughput each resource would allow on its own, from the CPU time per enrollment: the test
// PKI answers on one thread; the devices run on min(W, cores) threads; everything shares the cores.
const n = Math.max(1, samples.length);
const bounds: Record<string, number> = {};
if (cpu.length) {
  if (pki) bounds["test PKI thread"] = (1000 * n) / Math.max(pkiThreadMs, 1);
  bounds["device threads"] = (1000 * n * Math.min(workers, cores)) / Math.max(deviceMs, 1);
  bounds[`CPU (${cores} cores, both sides)`] = (1000 * n * cores) / Math.max(totalMs, 1);
}
const limits = Object.entries(bounds).sort((a, b) => a[1] - b[1]);
let bottleneck: string;
if (!limits.length) bottleneck = "unknown (no per-thread CPU times on this system)";
else if (o.server && machineUtil < 0.5) bottleneck = "the server or the network: this machine is not saturated";
else {
  bottleneck = `${limits[0][0]} (allows ~${limits[0][1].toFixed(0)}/s; next ${limits[1]?.[0] ?? "-"} ~${limits[1]?.[1].toFixed(0) ?? "-"}/s)`;
  if (systemUtil > 0.9 && machineUtil < 0.75) bottleneck += `; the machine was shared: ${(systemUtil * 100).toFixed(0)}% busy, ${(machineUtil * 100).toFixed(0)}% of it by the fleet`;
}
if (process.env.FLEET_THREADS) console.error(cpu.filter((t) => t.ms > 0).map((t) => `${t.tid} ${t.name} ${t.ms}${t.tid === pkiTid ? " PKI" : ""}${deviceTids.has(t.tid) ? " DEV" : ""}`).join("\n"));

const failures = failuresByReason(samples);
const summary = {
  devices,
  ok,
  failed,
  per_second: +(ok / Math.max(runSeconds, 1e-3)).toFixed(1),
  p50_ms: p(50),
  p95_ms: p(95),
  p99_ms: p(99),
  max_ms: latencies.length ? +latencies[latencies.length - 1].toFixed(2) : NaN,
  rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  device_kib: +mem.perDeviceKiB.toFixed(1),
  device_wasm_kib: mem.wasmKiB,
  mode,
  server: o.server ? new URL(url).host : "built-in test PKI",
  workers,
  concurrency,
  implicit_confirm: o["implicit-confirm"]!,
  seconds: +runSeconds.toFixed(3),
  idevid_prep_seconds: +prepSeconds.toFixed(3),
  pki_requests: pkiRequests,
  cpu_cores: cores,
  cpu_ms_per_enrollment_devices: per(deviceMs),
  cpu_ms_per_enrollment_pki: pki ? per(pkiThreadMs) : undefined,
  cpu_ms_per_enrollment_other: per(totalMs - deviceMs - pkiThreadMs),
  pki_thread_busy: pki ? +pkiUtil.toFixed(3) : undefined,
  device_threads_busy: +(deviceMs / (workers * wallMs)).toFixed(3),
  device_event_loop_busy: +(done.reduce((a, d) => a + d.elu, 0) / workers).toFixed(3),
  fleet_cpu_busy: +machineUtil.toFixed(3),
  machine_busy: +systemUtil.toFixed(3),
  limit_per_second: Object.fromEntries(limits.map(([k, v]) => [k, +v.toFixed(1)])),
  bottleneck,
  failures,
};

const lines = [
  `devices ${devices} (${mode}, ${workers} worker threads, concurrency ${concurrency}) against ${summary.server}`,
  `ok ${ok}, failed ${failed} in ${runSeconds.toFixed(2)} s: ${summary.per_second} enrollments/s`,
  `latency p50 ${summary.p50_ms} ms, p95 ${summary.p95_ms} ms, p99 ${summary.p99_ms} ms, max ${summary.max_ms} ms`,
  `memory: peak RSS ${summary.rss_mb} MB; per device instance ` +
    (Number.isFinite(mem.perDeviceKiB)
      ? `${summary.device_kib} KiB (RSS growth from ${Math.floor(Number(o.calibrate) / 4)} to ${o.calibrate} instances alive, each after building an ir; its linear memory is ${mem.wasmKiB} KiB, of which RSS counts the pages touched)`
      : "not measured (--calibrate K, K >= 4)"),
  `CPU per enrollment: devices ${summary.cpu_ms_per_enrollment_devices} ms` +
    (pki ? `, test PKI ${summary.cpu_ms_per_enrollment_pki} ms (its thread busy ${(pkiUtil * 100).toFixed(0)}%)` : "") +
    `, other threads (GC, compiler, crypto jobs, main) ${summary.cpu_ms_per_enrollment_other} ms`,
  `CPU: the fleet used ${(machineUtil * 100).toFixed(0)}% of ${cores} cores` + (Number.isFinite(systemUtil) ? `, the machine was ${(systemUtil * 100).toFixed(0)}% busy in all` : ""),
  `bottleneck: ${bottleneck}`,
];
if (prepSeconds) lines.push(`(IDevIDs made beforehand in ${prepSeconds.toFixed(1)} s, not counted)`);
if (failed) lines.push("failures:", ...Object.entries(failures).map(([r, n]) => `  ${n} x ${r}`));
say(lines.join("\n"));

if (o.report) {
  const histMax = Math.max(1, percentile(latencies, 99.5) * 1.05 || 1);
  const binMs = Math.max(100, Math.ceil((runSeconds * 1000) / 120 / 100) * 100);
  writeFileSync(o.report, renderReport({
    summary: Object.fromEntries(Object.entries(summary).filter(([k]) => k !== "failures")),
    histogram: histogram(latencies, 60, histMax),
    histMaxMs: histMax,
    p50: summary.p50_ms,
    p95: summary.p95_ms,
    p99: summary.p99_ms,
    timeline: timeline(samples, epoch, binMs),
    binMs,
    failures,
  }));
  say(`report written to ${o.report}`);
}
if (o.json) console.log(JSON.stringify(summary));
process.exit(failed === 0 ? 0 : 1);
