// The fleet's HTML report: one self-contained file (inline CSS and SVG, no scripts, no external
// resources) with the summary, a latency histogram and a throughput timeline.
import { LatencyHistogram } from "./hist";
import type { Summary } from "./summary";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "-");

interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  /** bar heights, equal-width bins from x0 to x1 */
  series: { values: number[]; color: string; name: string }[];
  x0: number;
  x1: number;
  /** vertical markers (e.g. percentiles) */
  marks?: { x: number; label: string }[];
  stacked?: boolean;
}

/** Round a maximum up to 1, 2 or 5 times a power of ten, for axis ticks. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function barChart(c: Chart): string {
  const W = 760,
    H = 300,
    L = 60,
    R = 16,
    T = 30,
    B = 46;
  const w = W - L - R,
    h = H - T - B;
  const n = Math.max(...c.series.map((s) => s.values.length), 1);
  const tops = Array.from({ length: n }, (_, i) =>
    c.stacked ? c.series.reduce((a, s) => a + (s.values[i] ?? 0), 0) : Math.max(...c.series.map((s) => s.values[i] ?? 0)),
  );
  const yMax = niceMax(Math.max(...tops, 1));
  const bw = w / n;
  const y = (v: number) => T + h - (v / yMax) * h;
  const xOf = (v: number) => L + ((v - c.x0) / (c.x1 - c.x0 || 1)) * w;
  const parts: string[] = [];
  parts.push(`<text x="${L}" y="18" class="t">${esc(c.title)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    parts.push(
      `<line x1="${L}" x2="${L + w}" y1="${y(v)}" y2="${y(v)}" class="g"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toPrecision(3)}</text>`,
    );
  }
  const step = niceMax((c.x1 - c.x0) / 6);
  for (let v = Math.ceil(c.x0 / step) * step; v <= c.x1 + 1e-9; v += step) {
    parts.push(`<text x="${xOf(v)}" y="${T + h + 16}" text-anchor="middle">${+v.toPrecision(4)}</text>`);
  }
  for (let i = 0; i < n; i++) {
    let base = 0;
    for (const s of c.series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      const from = c.stacked ? base : 0;
      parts.push(
        `<rect x="${(L + i * bw).toFixed(2)}" y="${y(from + v).toFixed(2)}" width="${Math.max(bw - (bw > 3 ? 1 : 0), 0.5).toFixed(2)}" height="${(y(from) - y(from + v)).toFixed(2)}" fill="${s.color}"><title>${esc(s.name)}: ${v}</title></rect>`,
      );
      base += v;
    }
  }
  for (const m of c.marks ?? []) {
    const x = xOf(m.x);
    parts.push(`<line x1="${x}" x2="${x}" y1="${T}" y2="${T + h}" class="m"/><text x="${x + 3}" y="${T + 10}" class="ml">${esc(m.label)}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${T + h}" class="a"/><line x1="${L}" x2="${L + w}" y1="${T + h}" y2="${T + h}" class="a"/>`);
  parts.push(`<text x="${L + w / 2}" y="${H - 8}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${T + h / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  const legend =
    c.series.length > 1
      ? c.series
          .map(
            (s, i) =>
              `<rect x="${L + w - 150 + i * 80}" y="8" width="10" height="10" fill="${s.color}"/><text x="${L + w - 136 + i * 80}" y="17">${esc(s.name)}</text>`,
          )
          .join("")
      : "";
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${parts.join("")}${legend}</svg>`;
}

const COLORS = ["#3b6ea5", "#3a8a4f", "#8e44ad", "#b7950b", "#16a085"];

/** The report of one run or of merged shards, from its --json summary (percentiles and charts
 *  from its histograms, so a merged report is drawn from the merged counts). */
export function renderReport(s: Summary): string {
  const ops = Object.entries(s.operations);
  const hists = ops.map(([op, o]) => ({ op, ok: LatencyHistogram.fromJSON(o.histogram, op), failed: LatencyHistogram.fromJSON(o.failed_histogram, op) }));
  const all = new LatencyHistogram();
  for (const h of hists) all.merge(h.ok).merge(h.failed);
  const charts: string[] = [];
  if (all.count === 0) {
    charts.push("<p>No operation completed: nothing to chart.</p>");
  } else {
    const histMax = Math.max(1, all.percentile(99.5) * 1.05);
    const series = hists.flatMap((h, i) => [
      ...(h.ok.count ? [{ values: h.ok.bins(60, histMax), color: COLORS[i % COLORS.length], name: `${h.op} ok` }] : []),
      ...(h.failed.count ? [{ values: h.failed.bins(60, histMax), color: "#c0392b", name: `${h.op} failed` }] : []),
    ]);
    const okAll = new LatencyHistogram();
    for (const h of hists) okAll.merge(h.ok);
    charts.push(
      barChart({
        title: "Operation latency",
        xLabel: "latency (ms)",
        yLabel: "operations",
        series,
        x0: 0,
        x1: histMax,
        stacked: true,
        marks: okAll.count
          ? [
              { x: okAll.percentile(50), label: "p50" },
              { x: okAll.percentile(95), label: "p95" },
              { x: okAll.percentile(99), label: "p99" },
            ].filter((m) => m.x <= histMax)
          : [],
      }),
    );
    const binMs = Math.max(1, Math.ceil(s.timeline.ok.length / 120)) * s.timeline.bin_ms;
    const per = Math.round(binMs / s.timeline.bin_ms);
    const group = (v: number[]) =>
      Array.from({ length: Math.ceil(v.length / per) }, (_, i) => (v.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) * 1000) / binMs);
    charts.push(
      barChart({
        title: "Throughput",
        xLabel: "time since start (s)",
        yLabel: "operations per second",
        series: [
          { values: group(s.timeline.ok), color: "#3a8a4f", name: "ok" },
          { values: group(s.timeline.failed), color: "#c0392b", name: "failed" },
        ],
        x0: 0,
        x1: (Math.ceil(s.timeline.ok.length / per) * binMs) / 1000,
        stacked: true,
      }),
    );
  }
  const cell = (v: unknown) =>
    esc(typeof v === "number" ? (Number.isFinite(v) ? String(+v.toFixed(3)) : "-") : v === null || v === undefined ? "-" : String(v));
  const rows = Object.entries(s)
    .filter(([k, v]) => typeof v !== "object" && k !== "command")
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${cell(v)}</td></tr>`)
    .join("");
  const opRows = ops
    .map(
      ([op, o]) =>
        `<tr><td>${esc(op)}</td><td>${o.ok}</td><td>${o.failed}</td><td>${cell(o.per_second)}</td><td>${cell(o.p50_ms)}</td><td>${cell(o.p95_ms)}</td><td>${cell(o.p99_ms)}</td><td>${cell(o.max_ms)}</td></tr>`,
    )
    .join("");
  const fails = Object.entries(s.failures);
  const failTable = fails.length
    ? `<table><tr><th>operations</th><th>reason</th></tr>${fails.map(([r, n]) => `<tr><td>${n}</td><td>${esc(r)}</td></tr>`).join("")}</table>`
    : "<p>No failures.</p>";
  const title = s.ok + s.failed === 0 ? "no device completed" : s.ok === 0 ? `all ${s.failed} devices failed` : `${fmt(Number(s.per_second))} operations/s`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tinycmp fleet report</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:820px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}th,td{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left;font-weight:normal}
th{color:#555}svg{display:block;margin:8px 0;font-size:11px}svg text{fill:#333}svg .t{font-size:13px;font-weight:bold}
svg .g{stroke:#e4e4e4}svg .a{stroke:#444}svg .m{stroke:#d35400;stroke-dasharray:4 3}svg .ml{fill:#d35400}
pre{white-space:pre-wrap;background:#f6f6f6;padding:6px}
</style></head><body>
<h1>tinycmp fleet: ${esc(String(s.devices))} devices, scenario ${esc(s.scenario)}: ${esc(title)}</h1>
<table>
<tr><th>date</th><td>${esc(s.started)}</td></tr>
<tr><th>tinycmp version</th><td>${esc(s.version)}</td></tr>
<tr><th>server</th><td>${esc(s.server)}</td></tr>
<tr><th>scenario</th><td>${esc(s.scenario)} (${esc(s.mode)})</td></tr>
<tr><th>ok / failed devices</th><td>${s.ok} / ${s.failed}</td></tr>
</table>
<h2>Command line</h2>
<pre>${esc(s.command)}</pre>
${charts.join("\n")}
<h2>Operations</h2>
<table><tr><th>operation</th><th>ok</th><th>failed</th><th>ok per s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>${opRows}</table>
<h2>Failures</h2>
${failTable}
<h2>Summary</h2>
<table>${rows}</table>
</body></html>
`;
}
