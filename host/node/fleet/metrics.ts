// The fleet's live metrics in the OpenMetrics text format (OpenMetrics 1.0, as scraped by
// Prometheus): operations and devices done, and an operation latency histogram, refreshed while the
// run goes on. `--metrics FILE` rewrites a file every second (write, then rename: a reader never
// sees half of it); `--metrics HOST:PORT` (or `:PORT`, on 127.0.0.1) serves GET /metrics.
import { createServer, type Server } from "node:http";
import { renameSync, writeFileSync } from "node:fs";
import type { Sample } from "./types";

export const CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/** bucket upper bounds in seconds (le) */
const LE = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface OpSeries {
  buckets: number[]; // one per LE, not cumulative
  count: number;
  sum: number;
}

export class FleetMetrics {
  private readonly ops = new Map<string, OpSeries>(); // key: op \0 result
  private devices = { ok: 0, failed: 0 };
  constructor(private readonly labels: Record<string, string> = {}) {}

  observe(s: Sample): void {
    const key = `${s.op}\0${s.failure ? "failed" : "ok"}`;
    let o = this.ops.get(key);
    if (!o) this.ops.set(key, (o = { buckets: new Array(LE.length).fill(0), count: 0, sum: 0 }));
    const sec = s.ms / 1000;
    const i = LE.findIndex((le) => sec <= le);
    if (i >= 0) o.buckets[i]++;
    o.count++;
    o.sum += sec;
  }

  devicesDone(ok: number, failed: number): void {
    this.devices.ok += ok;
    this.devices.failed += failed;
  }

  render(): string {
    const lab = (extra: Record<string, string>) => {
      const all = { ...this.labels, ...extra };
      const parts = Object.entries(all).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
      return parts.length ? `{${parts.join(",")}}` : "";
    };
    const out: string[] = [];
    out.push("# TYPE tinycmp_fleet_devices counter", "# HELP tinycmp_fleet_devices Simulated devices whose lifecycle is done, by result.");
    for (const result of ["ok", "failed"] as const) out.push(`tinycmp_fleet_devices_total${lab({ result })} ${this.devices[result]}`);
    const keys = [...this.ops.keys()].sort();
    out.push("# TYPE tinycmp_fleet_operations counter", "# HELP tinycmp_fleet_operations CMP operations (transactions) done, by operation and result.");
    for (const k of keys) {
      const [operation, result] = k.split("\0");
      out.push(`tinycmp_fleet_operations_total${lab({ operation, result })} ${this.ops.get(k)!.count}`);
    }
    out.push(
      "# TYPE tinycmp_fleet_operation_duration_seconds histogram",
      "# UNIT tinycmp_fleet_operation_duration_seconds seconds",
      "# HELP tinycmp_fleet_operation_duration_seconds Duration of a CMP transaction, first request to last response.",
    );
    for (const k of keys) {
      const [operation, result] = k.split("\0");
      const o = this.ops.get(k)!;
      let cum = 0;
      LE.forEach((le, i) => {
        cum += o.buckets[i];
        out.push(`tinycmp_fleet_operation_duration_seconds_bucket${lab({ operation, result, le: String(le) })} ${cum}`);
      });
      out.push(`tinycmp_fleet_operation_duration_seconds_bucket${lab({ operation, result, le: "+Inf" })} ${o.count}`);
      out.push(`tinycmp_fleet_operation_duration_seconds_count${lab({ operation, result })} ${o.count}`);
      out.push(`tinycmp_fleet_operation_duration_seconds_sum${lab({ operation, result })} ${+o.sum.toFixed(6)}`);
    }
    out.push("# EOF");
    return out.join("\n") + "\n";
  }
}

/** Publishes `metrics` at `target` (a file, or HOST:PORT / :PORT for an HTTP endpoint). */
export async function publish(metrics: FleetMetrics, target: string): Promise<{ url?: string; stop: () => Promise<void> }> {
  const m = /^([\w.-]*|\[[0-9a-f:]+\]):(\d+)$/i.exec(target);
  if (m) {
    const server: Server = createServer((req, res) => {
      if (req.method !== "GET" || (req.url ?? "/").split("?")[0] !== "/metrics") {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("GET /metrics\n");
        return;
      }
      res.writeHead(200, { "Content-Type": CONTENT_TYPE }).end(metrics.render());
    });
    const host = m[1] ? m[1].replace(/^\[|\]$/g, "") : "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(Number(m[2]), host, () => resolve());
    });
    const addr = server.address() as { address: string; port: number };
    return {
      url: `http://${addr.address.includes(":") ? `[${addr.address}]` : addr.address}:${addr.port}/metrics`,
      stop: () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  const write = () => {
    writeFileSync(`${target}.tmp`, metrics.render());
    renameSync(`${target}.tmp`, target);
  };
  write();
  const timer = setInterval(write, 1000);
  return {
    stop: async () => {
      clearInterval(timer);
      write();
    },
  };
}
