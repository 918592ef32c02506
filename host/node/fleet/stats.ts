// Summary statistics of a fleet run: percentiles, failures by reason, a throughput timeline.
import type { Sample } from "./types";

/** Nearest-rank percentile of sorted values (RFC-free, the usual definition). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function failuresByReason(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.failure) out[s.failure] = (out[s.failure] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** Completions (ok and failed) per bin of `binMs` from t0, by end time. */
export function timeline(samples: Sample[], t0: number, binMs: number): { ok: number[]; failed: number[] } {
  let last = 0;
  for (const s of samples) last = Math.max(last, s.start + s.ms - t0);
  const bins = Math.max(1, Math.ceil(last / binMs));
  const ok = new Array<number>(bins).fill(0);
  const failed = new Array<number>(bins).fill(0);
  for (const s of samples) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((s.start + s.ms - t0) / binMs)));
    (s.failure ? failed : ok)[i]++;
  }
  return { ok, failed };
}

/** Latency histogram over [0, max] in `bins` equal bins; values above max land in the last. */
export function histogram(sorted: ArrayLike<number>, bins: number, max: number): number[] {
  const h = new Array<number>(bins).fill(0);
  for (let i = 0; i < sorted.length; i++) h[Math.min(bins - 1, Math.floor((sorted[i] / max) * bins))]++;
  return h;
}
