// What a fleet run counts (the tally) and the summary it prints with --json. A shard's summary
// carries its raw tally (histograms, counters, timeline, CPU times), so `tinycmp fleet merge`
// adds shards together and derives the same summary a single run of all devices would print.
import { LatencyHistogram, type HistogramJson } from "./hist";
import type { Sample } from "./types";

export const TIMELINE_BIN_MS = 1000;

export interface Tally {
  devices: number;
  devicesOk: number;
  devicesFailed: number;
  /** per operation (ir, kur, rr, genm): latencies of the ok and of the failed ones */
  ops: Map<string, { ok: LatencyHistogram; failed: LatencyHistogram }>;
  failures: Map<string, number>;
  /** completions per second of wall-clock time (ms since 1970 / 1000), by end time */
  timeline: Map<number, { ok: number; failed: number }>;
  firstStart: number;
  lastEnd: number;
}

export function newTally(): Tally {
  return { devices: 0, devicesOk: 0, devicesFailed: 0, ops: new Map(), failures: new Map(), timeline: new Map(), firstStart: Infinity, lastEnd: -Infinity };
}

export function opStats(t: Tally, op: string) {
  let s = t.ops.get(op);
  if (!s) t.ops.set(op, (s = { ok: new LatencyHistogram(), failed: new LatencyHistogram() }));
  return s;
}

/** One operation's sample. */
export function addSample(t: Tally, s: Sample): void {
  const st = opStats(t, s.op);
  (s.failure ? st.failed : st.ok).add(s.ms);
  if (s.failure) t.failures.set(`${s.op}: ${s.failure}`, (t.failures.get(`${s.op}: ${s.failure}`) ?? 0) + 1);
  const end = s.start + s.ms;
  const bin = Math.floor(end / TIMELINE_BIN_MS);
  const b = t.timeline.get(bin) ?? { ok: 0, failed: 0 };
  if (s.failure) b.failed++;
  else b.ok++;
  t.timeline.set(bin, b);
  t.firstStart = Math.min(t.firstStart, s.start);
  t.lastEnd = Math.max(t.lastEnd, end);
}

/** Fields of the summary that describe the run rather than count it. */
export interface RunInfo {
  scenario: string;
  mode: string;
  server: string;
  version: string;
  command: string;
  started: string;
  shard?: { index: number; count: number };
  workers: number;
  concurrency: number;
  rate?: number;
  implicit_confirm: boolean;
  /** peak RSS (MB) and memory per device instance (KiB) */
  rss_mb: number;
  device_kib: number;
  device_wasm_kib: number;
  idevid_prep_seconds: number;
  pki_requests?: number;
  cpu_cores: number;
  /** CPU ms used in all, per side (devices, test PKI, the rest of the process) */
  cpu_ms: { devices: number; pki?: number; other: number };
  machine_busy: number;
  bottleneck?: string;
  limit_per_second?: Record<string, number>;
}

const r = (v: number, d = 2) => (Number.isFinite(v) ? +v.toFixed(d) : null);

export function opsTotal(t: Tally): { ok: number; failed: number } {
  let ok = 0,
    failed = 0;
  for (const s of t.ops.values()) {
    ok += s.ok.count;
    failed += s.failed.count;
  }
  return { ok, failed };
}

/** The --json summary (one JSON object): headline figures first, then the raw tally. */
export function summarize(t: Tally, info: RunInfo) {
  const all = new LatencyHistogram();
  for (const s of t.ops.values()) all.merge(s.ok);
  const seconds = t.lastEnd > t.firstStart ? (t.lastEnd - t.firstStart) / 1000 : 0;
  const { ok: opsOk, failed: opsFailed } = opsTotal(t);
  const n = Math.max(1, opsOk + opsFailed);
  const bins = [...t.timeline.keys()];
  const first = bins.length ? Math.min(...bins) : 0;
  const last = bins.length ? Math.max(...bins) : -1;
  const timeline = { start_ms: first * TIMELINE_BIN_MS, bin_ms: TIMELINE_BIN_MS, ok: [] as number[], failed: [] as number[] };
  for (let b = first; b <= last; b++) {
    timeline.ok.push(t.timeline.get(b)?.ok ?? 0);
    timeline.failed.push(t.timeline.get(b)?.failed ?? 0);
  }
  const operations = Object.fromEntries(
    [...t.ops.entries()].sort().map(([op, s]) => [
      op,
      {
        ok: s.ok.count,
        failed: s.failed.count,
        per_second: r(s.ok.count / Math.max(seconds, 1e-3), 1),
        p50_ms: r(s.ok.percentile(50)),
        p95_ms: r(s.ok.percentile(95)),
        p99_ms: r(s.ok.percentile(99)),
        max_ms: r(s.ok.max),
        histogram: s.ok.toJSON(),
        failed_histogram: s.failed.toJSON(),
      },
    ]),
  );
  return {
    devices: t.devices,
    ok: t.devicesOk,
    failed: t.devicesFailed,
    operations_ok: opsOk,
    operations_failed: opsFailed,
    per_second: r(opsOk / Math.max(seconds, 1e-3), 1),
    p50_ms: r(all.percentile(50)),
    p95_ms: r(all.percentile(95)),
    p99_ms: r(all.percentile(99)),
    max_ms: r(all.max),
    scenario: info.scenario,
    mode: info.mode,
    server: info.server,
    version: info.version,
    command: info.command,
    started: info.started,
    ...(info.shard ? { shard: `${info.shard.index}/${info.shard.count}` } : {}),
    workers: info.workers,
    concurrency: info.concurrency,
    ...(info.rate !== undefined ? { rate: info.rate } : {}),
    implicit_confirm: info.implicit_confirm,
    seconds: r(seconds, 3),
    rss_mb: info.rss_mb,
    device_kib: info.device_kib,
    device_wasm_kib: info.device_wasm_kib,
    idevid_prep_seconds: info.idevid_prep_seconds,
    ...(info.pki_requests !== undefined ? { pki_requests: info.pki_requests } : {}),
    cpu_cores: info.cpu_cores,
    cpu_ms_per_enrollment_devices: r(info.cpu_ms.devices / n, 3),
    ...(info.cpu_ms.pki !== undefined ? { cpu_ms_per_enrollment_pki: r(info.cpu_ms.pki / n, 3) } : {}),
    cpu_ms_per_enrollment_other: r(info.cpu_ms.other / n, 3),
    cpu_ms: info.cpu_ms,
    machine_busy: info.machine_busy,
    ...(info.limit_per_second ? { limit_per_second: info.limit_per_second } : {}),
    ...(info.bottleneck ? { bottleneck: info.bottleneck } : {}),
    failures: Object.fromEntries([...t.failures.entries()].sort((a, b) => b[1] - a[1])),
    operations,
    histogram: all.toJSON(),
    timeline,
  };
}

export type Summary = ReturnType<typeof summarize>;

const need = (c: boolean, msg: string) => {
  if (!c) throw new Error(msg);
};
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;

/** Reads one summary back into a tally (checking it adds up) and its run info. */
export function readSummary(s: Summary, where: string): { tally: Tally; info: RunInfo } {
  need(!!s && typeof s === "object" && typeof s.operations === "object" && typeof s.timeline === "object", `${where}: not a fleet --json summary`);
  for (const k of ["devices", "ok", "failed", "operations_ok", "operations_failed"] as const) need(isCount(s[k]), `${where}: ${k} is not a count`);
  need(s.ok + s.failed === s.devices, `${where}: ok + failed is not devices`);
  const t = newTally();
  t.devices = s.devices;
  t.devicesOk = s.ok;
  t.devicesFailed = s.failed;
  let okSum = 0,
    failedSum = 0;
  for (const [op, o] of Object.entries(s.operations)) {
    const ok = LatencyHistogram.fromJSON(o.histogram as HistogramJson, `${where} ${op}`);
    const failed = LatencyHistogram.fromJSON(o.failed_histogram as HistogramJson, `${where} ${op} failed`);
    need(ok.count === o.ok && failed.count === o.failed, `${where}: ${op} counts differ from its histograms`);
    t.ops.set(op, { ok, failed });
    okSum += ok.count;
    failedSum += failed.count;
  }
  need(okSum === s.operations_ok && failedSum === s.operations_failed, `${where}: operation counts do not add up`);
  let fsum = 0;
  for (const [reason, n] of Object.entries(s.failures ?? {})) {
    need(isCount(n), `${where}: failure count of "${reason}" is not a count`);
    t.failures.set(reason, n);
    fsum += n;
  }
  need(fsum === s.operations_failed, `${where}: failures by reason do not add up to operations_failed`);
  const tl = s.timeline;
  need(
    Number.isFinite(tl.start_ms) && tl.bin_ms === TIMELINE_BIN_MS && Array.isArray(tl.ok) && Array.isArray(tl.failed) && tl.ok.length === tl.failed.length,
    `${where}: bad timeline`,
  );
  tl.ok.forEach((ok, i) => {
    need(isCount(ok) && isCount(tl.failed[i]), `${where}: bad timeline bin ${i}`);
    if (ok || tl.failed[i]) t.timeline.set(tl.start_ms / TIMELINE_BIN_MS + i, { ok, failed: tl.failed[i] });
  });
  const started = Date.parse(s.started);
  need(Number.isFinite(started), `${where}: started is not a date`);
  t.firstStart = okSum + failedSum ? started : Infinity;
  t.lastEnd = okSum + failedSum ? started + Number(s.seconds) * 1000 : -Infinity;
  let shard: RunInfo["shard"];
  if (s.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(String(s.shard));
    need(!!m && Number(m[1]) < Number(m[2]), `${where}: bad shard "${s.shard}"`);
    shard = { index: Number(m![1]), count: Number(m![2]) };
  }
  const info: RunInfo = {
    scenario: s.scenario,
    mode: s.mode,
    server: s.server,
    version: s.version,
    command: s.command,
    started: s.started,
    shard,
    workers: s.workers,
    concurrency: s.concurrency,
    rate: s.rate,
    implicit_confirm: s.implicit_confirm,
    rss_mb: s.rss_mb,
    device_kib: s.device_kib,
    device_wasm_kib: s.device_wasm_kib,
    idevid_prep_seconds: s.idevid_prep_seconds,
    pki_requests: s.pki_requests,
    cpu_cores: s.cpu_cores,
    cpu_ms: s.cpu_ms,
    machine_busy: s.machine_busy,
  };
  return { tally: t, info };
}

/** Adds shards together. They must be distinct shards of one run: the same scenario, mode, server
 *  and shard count, each shard index once (a shard given twice would count its devices twice). */
export function mergeSummaries(list: { summary: Summary; where: string }[]): Summary {
  need(list.length > 0, "nothing to merge");
  const read = list.map((x) => ({ ...readSummary(x.summary, x.where), where: x.where }));
  const first = read[0].info;
  const seen = new Map<number, string>();
  for (const { info, where } of read) {
    for (const k of ["scenario", "mode", "server", "implicit_confirm"] as const) {
      need(info[k] === first[k], `${where}: ${k} "${info[k]}" differs from ${read[0].where} ("${first[k]}"): not shards of one run`);
    }
    need((info.shard?.count ?? 1) === (first.shard?.count ?? 1), `${where}: shard count differs from ${read[0].where}`);
    const idx = info.shard?.index ?? 0;
    need(!seen.has(idx), `${where}: shard ${idx} is also in ${seen.get(idx)}: its devices would count twice`);
    seen.set(idx, where);
  }
  const t = newTally();
  const sum = (f: (i: RunInfo) => number | undefined) => read.reduce((a, x) => a + (f(x.info) ?? 0), 0);
  for (const { tally: s } of read) {
    t.devices += s.devices;
    t.devicesOk += s.devicesOk;
    t.devicesFailed += s.devicesFailed;
    for (const [op, o] of s.ops) {
      const m = opStats(t, op);
      m.ok.merge(o.ok);
      m.failed.merge(o.failed);
    }
    for (const [reason, n] of s.failures) t.failures.set(reason, (t.failures.get(reason) ?? 0) + n);
    for (const [bin, b] of s.timeline) {
      const m = t.timeline.get(bin) ?? { ok: 0, failed: 0 };
      m.ok += b.ok;
      m.failed += b.failed;
      t.timeline.set(bin, m);
    }
    t.firstStart = Math.min(t.firstStart, s.firstStart);
    t.lastEnd = Math.max(t.lastEnd, s.lastEnd);
  }
  const kibs = read.map((x) => x.info.device_kib).filter((v) => Number.isFinite(v));
  const hasPki = read.some((x) => x.info.cpu_ms?.pki !== undefined);
  const info: RunInfo = {
    ...first,
    version: [...new Set(read.map((x) => x.info.version))].join(", "),
    command: read.map((x) => x.info.command).join("\n"),
    started: new Date(Number.isFinite(t.firstStart) ? t.firstStart : Date.parse(first.started)).toISOString(),
    shard: undefined,
    workers: sum((i) => i.workers),
    concurrency: sum((i) => i.concurrency),
    rate: read.some((x) => x.info.rate !== undefined) ? sum((i) => i.rate) : undefined,
    rss_mb: Math.max(...read.map((x) => x.info.rss_mb)),
    device_kib: kibs.length ? +(kibs.reduce((a, b) => a + b, 0) / kibs.length).toFixed(1) : NaN,
    idevid_prep_seconds: sum((i) => i.idevid_prep_seconds),
    pki_requests: read.some((x) => x.info.pki_requests !== undefined) ? sum((i) => i.pki_requests) : undefined,
    cpu_cores: sum((i) => i.cpu_cores),
    cpu_ms: { devices: sum((i) => i.cpu_ms?.devices), ...(hasPki ? { pki: sum((i) => i.cpu_ms?.pki) } : {}), other: sum((i) => i.cpu_ms?.other) },
    machine_busy: Math.max(...read.map((x) => x.info.machine_busy ?? NaN)),
  };
  const out = summarize(t, info);
  return { ...out, shards: read.length } as Summary;
}

export type { Sample };
