// `npm run fleet`: fleets against the built-in test PKI and against one test PKI shared by four
// shard processes, their JSON summaries, merge, HTML reports and OpenMetrics output.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestPki } from "../host/node/testpki/index";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Name } from "@peculiar/x509";
import { PKIMessage } from "../host/node/testpki/asn1";
import { mergeSummaries, type Summary } from "../host/node/fleet/summary";
import { LatencyHistogram } from "../host/node/fleet/hist";
import { FleetMetrics, publish } from "../host/node/fleet/metrics";
import { lifecycleOf, parseMix, parseShard, startAt } from "../host/node/fleet/plan";

const TIMEOUT = 240_000; // each fleet is its own process; a shared machine is slow
const dir = mkdtempSync(join(tmpdir(), "fleet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the fleet in a process of its own; resolves with its exit status, stdout and stderr. */
function fleet(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("npx", ["tsx", "host/node/fleet/main.ts", "--calibrate", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "",
      stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), TIMEOUT - 10_000);
    p.on("error", reject);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
const lastJson = (stdout: string): Summary => JSON.parse(stdout.trim().split("\n").pop()!);

it(
  "50 devices on 2 worker threads enroll with 0 failures; summary and a self-contained report",
  async () => {
    const report = join(dir, "report.html");
    const r = await fleet(["--devices", "50", "--workers", "2", "--concurrency", "8", "--calibrate", "20", "--json", "--report", report]);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const s = lastJson(r.stdout);
    expect(s).toMatchObject({ devices: 50, ok: 50, failed: 0, operations_ok: 50, workers: 2, mode: "mac", scenario: "enroll", failures: {} });
    for (const k of ["per_second", "p50_ms", "p95_ms", "p99_ms", "rss_mb", "device_kib"] as const) {
      expect(typeof s[k], k).toBe("number");
      expect(s[k], k).toBeGreaterThan(0);
    }
    expect(s.p50_ms!).toBeLessThanOrEqual(s.p95_ms!);
    expect(s.p95_ms!).toBeLessThanOrEqual(s.p99_ms!);
    expect(s.pki_requests).toBe(100); // ir and certConf per device
    expect(s.histogram.count).toBe(50);
    expect(s.operations.ir.ok).toBe(50);
    expect(s.timeline.ok.reduce((a, b) => a + b, 0)).toBe(50);
    expect(r.stderr).toMatch(/fleet: 50\/50 ok 50 failed 0/); // plain progress lines (stderr is no terminal)

    const html = readFileSync(report, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain("<svg");
    expect(html).toContain("Operation latency");
    expect(html).toContain("Throughput");
    for (const field of [s.started, s.version, "built-in test PKI", "scenario enroll", "--devices 50"]) expect(html).toContain(field);
    expect(html).not.toMatch(/NaN|undefined/);
    expect(html).not.toMatch(/https?:\/\//i); // opens offline: nothing fetched
    expect(html).not.toMatch(/<(script|link|img|iframe)\b[^>]*\b(src|href)=/i);
  },
  TIMEOUT,
);

describe("four shards as separate processes against one test PKI", () => {
  let pki: TestPki;
  const subjects: string[] = [];
  let root: string;
  beforeAll(async () => {
    pki = await TestPki.start({ rootRollover: true });
    root = join(dir, "root.pem");
    writeFileSync(root, pki.root.certPem);
    // every ir the test PKI receives: its subject, to check the shards' identities independently
    const handle = pki.responder.handle.bind(pki.responder);
    pki.responder.handle = (der: Uint8Array) => {
      const m = AsnConvert.parse(der, PKIMessage);
      const ir = m.body.ir?.[0];
      if (ir) subjects.push(new Name(AsnConvert.serialize(ir.certReq.certTemplate.subject!)).toString());
      return handle(der);
    };
  });
  afterAll(() => pki?.close());
  const server = () => ["--server", `${pki.url}/.well-known/cmp`, "--ref", pki.ref, "--secret", pki.secret, "--trusted", root];
  const expected = (n: number) => Array.from({ length: n }, (_, i) => `CN=fleet device ${i}`).sort();

  it(
    "merged totals equal one run of all devices; identities from the device index never collide",
    async () => {
      const N = 4,
        devices = 22; // shards of 6, 6, 5 and 5 devices
      const files = Array.from({ length: N }, (_, i) => join(dir, `shard${i}.json`));
      const metricsFile = join(dir, "shard0.metrics");
      const runs = await Promise.all(
        files.map((_, i) =>
          fleet([
            ...server(),
            "--devices",
            String(devices),
            "--shard",
            `${i}/${N}`,
            "--workers",
            "1",
            "--concurrency",
            "3",
            "--json",
            ...(i === 0 ? ["--metrics", metricsFile] : []),
          ]),
        ),
      );
      runs.forEach((r, i) => {
        expect(r.status, r.stderr).toBe(0);
        writeFileSync(files[i], r.stdout);
      });
      const shards = runs.map((r) => lastJson(r.stdout));
      expect(shards.map((s) => s.devices)).toEqual([6, 6, 5, 5]);
      expect(shards.map((s) => (s as { shard?: string }).shard)).toEqual(["0/4", "1/4", "2/4", "3/4"]);
      // each device enrolled exactly once, the shards together are devices 0..21
      expect([...subjects].sort()).toEqual(expected(devices));

      // the OpenMetrics file of shard 0 counts what its summary counts
      const om = readFileSync(metricsFile, "utf8");
      expect(om.endsWith("# EOF\n")).toBe(true);
      expect(om).toContain('tinycmp_fleet_devices_total{scenario="enroll",shard="0/4",result="ok"} 6');
      expect(om).toContain('tinycmp_fleet_operations_total{scenario="enroll",shard="0/4",operation="ir",result="ok"} 6');
      expect(om).toContain('tinycmp_fleet_operation_duration_seconds_bucket{scenario="enroll",shard="0/4",operation="ir",result="ok",le="+Inf"} 6');
      expect(om).toMatch(/# TYPE tinycmp_fleet_operation_duration_seconds histogram/);

      const report = join(dir, "all.html");
      const m = spawnSync("node", ["bin/tinycmp.mjs", "fleet", "merge", ...files, "--report", report, "--json"], { encoding: "utf8", timeout: 60_000 });
      expect(m.status, m.stderr).toBe(0);
      const merged = lastJson(m.stdout);

      subjects.length = 0;
      const one = await fleet([...server(), "--devices", String(devices), "--workers", "2", "--concurrency", "6", "--json"]);
      expect(one.status, one.stderr).toBe(0);
      const single = lastJson(one.stdout);
      expect([...subjects].sort()).toEqual(expected(devices)); // a rerun is the same devices

      const totals = (s: Summary) => ({
        devices: s.devices,
        ok: s.ok,
        failed: s.failed,
        operations_ok: s.operations_ok,
        operations_failed: s.operations_failed,
        ops: Object.fromEntries(Object.entries(s.operations).map(([k, v]) => [k, [v.ok, v.failed, v.histogram.count]])),
        failures: s.failures,
        histogram: s.histogram.count,
        timeline: s.timeline.ok.reduce((a, b) => a + b, 0),
        scenario: s.scenario,
        mode: s.mode,
        server: s.server,
      });
      expect(totals(merged)).toEqual(totals(single));
      expect(totals(merged)).toMatchObject({ devices: devices, ok: devices, operations_ok: devices });
      expect((merged as { shards?: number }).shards).toBe(4);
      // percentiles come from the merged histogram: the sum of the shards' buckets
      const sumOfShards = new LatencyHistogram();
      shards.forEach((s, i) => sumOfShards.merge(LatencyHistogram.fromJSON(s.histogram, files[i])));
      expect(merged.histogram).toEqual(sumOfShards.toJSON());
      expect(merged.p50_ms).toBe(+sumOfShards.percentile(50).toFixed(2));
      expect(merged.p99_ms).toBe(+sumOfShards.percentile(99).toFixed(2));
      expect(merged.max_ms).toBe(+Math.max(...shards.map((s) => s.max_ms!)).toFixed(2));
      expect(merged.cpu_ms.devices).toBeCloseTo(
        shards.reduce((a, s) => a + s.cpu_ms.devices, 0),
        6,
      );
      const html = readFileSync(report, "utf8");
      expect(html).toContain("22 devices");
      expect(html).toContain("--shard 3/4");
      expect(html).not.toMatch(/NaN|undefined/);

      // a shard given twice, shards of different runs, a summary that does not add up: refused
      const dup = spawnSync("node", ["bin/tinycmp.mjs", "fleet", "merge", files[0], files[1], files[0]], { encoding: "utf8", timeout: 60_000 });
      expect(dup.status).toBe(1);
      expect(dup.stderr).toMatch(/shard 0 is also in .*shard0\.json: its devices would count twice/);
      const w = (s: Summary) => ({ summary: s, where: "x" });
      expect(() => mergeSummaries([w(shards[0]), w({ ...shards[1], scenario: "renew" })])).toThrow(/scenario "renew" differs/);
      expect(() => mergeSummaries([w(shards[0]), w({ ...shards[1], shard: "1/5" } as Summary)])).toThrow(/shard count differs/);
      expect(() => mergeSummaries([w({ ...shards[0], ok: shards[0].ok + 1 })])).toThrow(/ok \+ failed is not devices/);
      const lying = structuredClone(shards[1]);
      lying.operations.ir.ok += 5;
      lying.operations_ok += 5;
      expect(() => mergeSummaries([w(lying)])).toThrow(/ir counts differ from its histograms/);
      const padded = structuredClone(shards[2]);
      padded.histogram.buckets["9999999"] = 1;
      padded.operations.ir.histogram.buckets["9999999"] = 1;
      padded.operations.ir.histogram.count++;
      padded.operations.ir.ok++;
      padded.operations_ok++;
      expect(() => mergeSummaries([w(padded)])).toThrow(/bad histogram bucket/);
      // one shard alone merges into itself
      const self = mergeSummaries([w(shards[0])]);
      expect([self.devices, self.ok, self.p50_ms, self.p99_ms, self.histogram]).toEqual([
        shards[0].devices,
        shards[0].ok,
        shards[0].p50_ms,
        shards[0].p99_ms,
        shards[0].histogram,
      ]);
    },
    2 * TIMEOUT,
  );

  it(
    "mixed lifecycles: each device enrolls, renews (kur), revokes (rr) or asks for the root update (genm) per its share",
    async () => {
      const devices = 16;
      const revokedBefore = pki.revoked().length;
      const r = await fleet([
        ...server(),
        "--devices",
        String(devices),
        "--scenario",
        "mixed",
        "--mix",
        "enroll=25,renew=25,revoke=25,root-update=25",
        "--workers",
        "1",
        "--concurrency",
        "4",
        "--json",
      ]);
      expect(r.status, r.stderr).toBe(0);
      const s = lastJson(r.stdout);
      // the shares of every 100 consecutive devices hold exactly; count 16 from the rule itself
      const mix = parseMix("enroll=25,renew=25,revoke=25,root-update=25");
      const per = { enroll: 0, renew: 0, revoke: 0, "root-update": 0 };
      for (let i = 0; i < devices; i++) per[lifecycleOf(i, mix)]++;
      expect(Object.values(per).every((n) => n > 0)).toBe(true);
      expect(s.operations.ir.ok).toBe(per.enroll + per.renew + per.revoke);
      expect(s.operations.kur.ok).toBe(per.renew);
      expect(s.operations.rr.ok).toBe(per.revoke);
      expect(s.operations.genm.ok).toBe(per["root-update"]);
      expect(s).toMatchObject({ devices, ok: devices, failed: 0, operations_failed: 0 });
      expect(pki.revoked().length - revokedBefore).toBe(per.revoke); // the CA really revoked them
    },
    TIMEOUT,
  );

  it(
    "renew: every device enrolls, then all run kur; a wrong secret fails every device and the report shows why",
    async () => {
      const renew = fleet([...server(), "--devices", "6", "--scenario", "renew", "--workers", "2", "--concurrency", "4", "--json"]);
      const report = join(dir, "failed.html");
      const bad = fleet([
        "--server",
        `${pki.url}/.well-known/cmp`,
        "--ref",
        pki.ref,
        "--secret",
        "pass:not-the-secret-x9",
        "--trusted",
        root,
        "--devices",
        "5",
        "--workers",
        "1",
        "--json",
        "--report",
        report,
      ]);
      const [r, f] = await Promise.all([renew, bad]);
      expect(r.status, r.stderr).toBe(0);
      const s = lastJson(r.stdout);
      expect([s.operations.ir.ok, s.operations.kur.ok, s.ok]).toEqual([6, 6, 6]);
      expect(f.status).toBe(1);
      const fs = lastJson(f.stdout);
      expect(fs).toMatchObject({ devices: 5, ok: 0, failed: 5, operations_failed: 5, p50_ms: null });
      expect(Object.values(fs.failures).reduce((a, b) => a + b, 0)).toBe(5);
      expect(Object.keys(fs.failures)[0]).toMatch(/^ir: CmpError: /);
      const html = readFileSync(report, "utf8");
      expect(html).toContain("all 5 devices failed");
      expect(html).toContain(Object.keys(fs.failures)[0].replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`));
      expect(html).toContain("ir failed"); // the failed operations' latencies are charted
      expect(html).not.toMatch(/NaN|undefined/);
      expect(html).not.toContain("not-the-secret-x9"); // the secret is not in the command line shown
    },
    TIMEOUT,
  );

  it(
    "the Kubernetes Indexed Job example of docs/fleet.md is a valid command line (its $(VAR) expanded)",
    async () => {
      const doc = readFileSync("docs/fleet.md", "utf8");
      const args: string[] = JSON.parse(/^\s*args: (\[.*\])$/m.exec(doc)![1]);
      const env: Record<string, string> = { CA_URL: `${pki.url}/.well-known/cmp`, CMP_REF: pki.ref, JOB_COMPLETION_INDEX: "3" };
      // a fleet of 24 instead of a million (shard 3 of 8: devices 3, 11, 19), the CA here, metrics on a free port
      const local = args
        .map((a) => a.replace(/\$\((\w+)\)/g, (_, v) => env[v]))
        .map((a) => ({ "1000000": "24", "/etc/tinycmp/root.pem": root, "0.0.0.0:9464": "127.0.0.1:0" })[a] ?? a);
      expect(local).toContain("env:CMP_SECRET");
      subjects.length = 0;
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn("npx", ["tsx", "host/node/fleet/main.ts", ...local], { env: { ...process.env, CMP_SECRET: pki.secret } });
        let stdout = "",
          stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        p.on("close", (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
      expect(lastJson(r.stdout)).toMatchObject({ devices: 3, ok: 3, shard: "3/8", rate: 25 });
      expect(subjects.sort()).toEqual(["CN=fleet device 11", "CN=fleet device 19", "CN=fleet device 3"]);
    },
    TIMEOUT,
  );

  it(
    "--duration with --rate and ramp-up starts no more operations than the schedule allows",
    async () => {
      // rate 5/s, ramp 1 s: starts at 0, 0.63, 0.89 s in the ramp, then every 0.2 s from 1.1 s: 8 before 2 s
      const r = await fleet([...server(), "--duration", "2", "--rate", "5", "--ramp", "1", "--workers", "1", "--concurrency", "8", "--json"]);
      expect(r.status, r.stderr).toBe(0);
      const s = lastJson(r.stdout);
      expect(s.devices).toBeGreaterThanOrEqual(1);
      expect(s.devices).toBeLessThanOrEqual(8);
      expect(s).toMatchObject({ ok: s.devices, rate: 5 });
    },
    TIMEOUT,
  );
});

it("--metrics HOST:PORT serves OpenMetrics text on GET /metrics, other paths 404", async () => {
  const m = new FleetMetrics({ scenario: "enroll" });
  m.observe({ op: "ir", start: 0, ms: 7 });
  m.observe({ op: "ir", start: 0, ms: 70_000, failure: "x" });
  m.devicesDone(1, 1);
  const p = await publish(m, ":0");
  try {
    const r = await fetch(p.url!);
    expect(r.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    const text = await r.text();
    expect(text).toContain('tinycmp_fleet_operation_duration_seconds_bucket{scenario="enroll",operation="ir",result="ok",le="0.005"} 0\n');
    expect(text).toContain('tinycmp_fleet_operation_duration_seconds_bucket{scenario="enroll",operation="ir",result="ok",le="0.01"} 1\n');
    // 70 s is above every finite bucket: only +Inf counts it
    expect(text).toContain('tinycmp_fleet_operation_duration_seconds_bucket{scenario="enroll",operation="ir",result="failed",le="60"} 0\n');
    expect(text).toContain('tinycmp_fleet_operation_duration_seconds_bucket{scenario="enroll",operation="ir",result="failed",le="+Inf"} 1\n');
    expect(text).toContain('tinycmp_fleet_operation_duration_seconds_sum{scenario="enroll",operation="ir",result="failed"} 70\n');
    expect(text).toContain('tinycmp_fleet_devices_total{scenario="enroll",result="failed"} 1\n');
    expect(text.endsWith("# EOF\n")).toBe(true);
    expect((await fetch(p.url!.replace("/metrics", "/other"))).status).toBe(404);
  } finally {
    await p.stop();
  }
});

it("plan: shards, mixes and the start schedule", () => {
  expect(parseShard("3/4")).toEqual({ index: 3, count: 4 });
  for (const bad of ["4/4", "-1/4", "1/0", "a/b", "1/2/3", "1"]) expect(() => parseShard(bad), bad).toThrow(/I\/N/);
  expect(() => parseMix("enroll=50,renew=40")).toThrow(/add up to 90/);
  expect(() => parseMix("enroll=50,bogus=50")).toThrow(/not one of/);
  expect(() => parseMix("enroll=50,enroll=50")).toThrow(/twice/);
  const mix = parseMix("enroll=70,renew=20,revoke=5,root-update=5");
  const counts: Record<string, number> = {};
  for (let i = 200; i < 300; i++) counts[lifecycleOf(i, mix)] = (counts[lifecycleOf(i, mix)] ?? 0) + 1;
  expect(counts).toEqual({ enroll: 70, renew: 20, revoke: 5, "root-update": 5 });
  // no ramp: evenly spaced; ramp: starts accumulate as rate t^2 / (2 ramp)
  expect([0, 1, 2].map((k) => startAt(k, 4, 0))).toEqual([0, 0.25, 0.5]);
  expect(startAt(5, 10, 1)).toBeCloseTo(1, 9); // 10 * 1^2 / 2 = 5 starts by the end of the ramp
  expect(startAt(2, 10, 1)).toBeCloseTo(Math.sqrt(0.4), 9);
  expect(startAt(15, 10, 1)).toBeCloseTo(2, 9);
  expect(startAt(1000, 0, 0)).toBe(0); // no --rate: no pacing
});

it("histogram: buckets of at most 2.2%, percentiles by nearest rank, merge is addition", () => {
  const a = new LatencyHistogram(),
    b = new LatencyHistogram(),
    both = new LatencyHistogram();
  const values = Array.from({ length: 1000 }, (_, i) => 0.5 + ((i * 7919) % 1000) * 3.1);
  values.forEach((v, i) => {
    (i % 3 ? a : b).add(v);
    both.add(v);
  });
  expect(a.merge(b).toJSON()).toEqual(both.toJSON());
  const sorted = [...values].sort((x, y) => x - y);
  for (const p of [1, 50, 90, 99, 100]) {
    const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1];
    const est = both.percentile(p);
    expect(est).toBeGreaterThanOrEqual(exact);
    expect(est / exact).toBeLessThanOrEqual(1.022);
  }
  expect(new LatencyHistogram().percentile(50)).toBeNaN();
  expect(() => a.add(NaN)).toThrow(RangeError);
  expect(() => a.add(-1)).toThrow(RangeError);
  const j = both.toJSON();
  expect(() => LatencyHistogram.fromJSON({ ...j, scheme: "linear" }, "x")).toThrow(/scheme/);
  expect(() => LatencyHistogram.fromJSON({ ...j, count: j.count + 1 }, "x")).toThrow(/hold 1000 values, count says 1001/);
  expect(() => LatencyHistogram.fromJSON({ ...j, buckets: { ...j.buckets, "5": -1 } }, "x")).toThrow(/bad histogram bucket/);
});
