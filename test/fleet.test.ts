// `npm run fleet`: a small fleet against the built-in test PKI, its JSON summary and HTML report.
import { expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

it("50 devices on 2 worker threads enroll with 0 failures; summary and a self-contained report", () => {
  const dir = mkdtempSync(join(tmpdir(), "fleet-"));
  try {
    const report = join(dir, "report.html");
    const r = spawnSync("npx", ["tsx", "scripts/fleet.ts", "--devices", "50", "--workers", "2", "--concurrency", "8", "--calibrate", "20", "--json", "--report", report], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const s = JSON.parse(lines[lines.length - 1]);
    expect(s).toMatchObject({ devices: 50, ok: 50, failed: 0, workers: 2, mode: "mac", failures: {} });
    for (const k of ["per_second", "p50_ms", "p95_ms", "p99_ms", "rss_mb", "device_kib"]) {
      expect(typeof s[k], k).toBe("number");
      expect(s[k], k).toBeGreaterThan(0);
    }
    expect(s.p50_ms).toBeLessThanOrEqual(s.p95_ms);
    expect(s.p95_ms).toBeLessThanOrEqual(s.p99_ms);
    expect(s.pki_requests).toBe(100); // ir and certConf per device
    expect(r.stderr).toMatch(/fleet: 50\/50 ok 50 failed 0/); // plain progress lines (stderr is no terminal)

    const html = readFileSync(report, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain("<svg");
    expect(html).toContain("Enrollment latency");
    expect(html).toContain("Throughput");
    expect(html).not.toMatch(/https?:\/\//i); // opens offline: nothing fetched
    expect(html).not.toMatch(/<(script|link|img|iframe)\b[^>]*\b(src|href)=/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
