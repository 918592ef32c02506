// A latency histogram that shards can merge: log-spaced buckets fixed for every run, so the sum of
// two histograms is the histogram of both runs and percentiles come from the merged counts.
// Bucket k holds values in (B(k-1), B(k)] with B(k) = MIN_MS * 2^(k / PER_OCTAVE): 2.2% wide.

export const MIN_MS = 0.01;
export const PER_OCTAVE = 32;
export const SCHEME = `log2/${PER_OCTAVE} from ${MIN_MS} ms`;

export interface HistogramJson {
  scheme: string;
  count: number;
  sum_ms: number;
  min_ms: number | null;
  max_ms: number | null;
  /** bucket index -> count (only buckets that are not empty) */
  buckets: Record<string, number>;
}

export const bucketOf = (ms: number): number => (ms <= MIN_MS ? 0 : Math.ceil(Math.log2(ms / MIN_MS) * PER_OCTAVE - 1e-9));
export const upperOf = (k: number): number => MIN_MS * 2 ** (k / PER_OCTAVE);

export class LatencyHistogram {
  counts = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency ${ms} ms is not a duration`);
    const k = bucketOf(ms);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  merge(o: LatencyHistogram): this {
    for (const [k, n] of o.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + n);
    this.count += o.count;
    this.sum += o.sum;
    this.min = Math.min(this.min, o.min);
    this.max = Math.max(this.max, o.max);
    return this;
  }

  /** Nearest-rank percentile: the upper bound of the bucket holding that rank, never above the
   *  largest value seen. NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (const k of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(k)!;
      if (seen >= rank) return Math.max(this.min, Math.min(upperOf(k), this.max));
    }
    return this.max;
  }

  /** Counts in `bins` equal bins over [0, max]; values above max land in the last bin. */
  bins(bins: number, max: number): number[] {
    const h = new Array<number>(bins).fill(0);
    for (const [k, n] of this.counts) {
      // the bucket's middle (geometric) stands for its values
      const v = k === 0 ? MIN_MS : Math.min(this.max, Math.max(this.min, Math.sqrt(upperOf(k - 1) * upperOf(k))));
      h[Math.min(bins - 1, Math.floor((v / max) * bins))] += n;
    }
    return h;
  }

  toJSON(): HistogramJson {
    const buckets: Record<string, number> = {};
    for (const k of [...this.counts.keys()].sort((a, b) => a - b)) buckets[k] = this.counts.get(k)!;
    const r = (v: number) => (Number.isFinite(v) ? +v.toFixed(3) : null);
    return { scheme: SCHEME, count: this.count, sum_ms: +this.sum.toFixed(3), min_ms: r(this.min), max_ms: r(this.max), buckets };
  }

  /** Reads a histogram written by toJSON, checking that it is one (a shard file may be anything). */
  static fromJSON(j: HistogramJson, where: string): LatencyHistogram {
    if (!j || typeof j !== "object" || j.scheme !== SCHEME) throw new Error(`${where}: histogram scheme is not "${SCHEME}"`);
    const h = new LatencyHistogram();
    let total = 0;
    for (const [key, n] of Object.entries(j.buckets ?? {})) {
      const k = Number(key);
      if (!Number.isInteger(k) || k < 0 || k > 4096 || !Number.isInteger(n) || n < 0) throw new Error(`${where}: bad histogram bucket ${key}: ${n}`);
      if (n) h.counts.set(k, n);
      total += n;
    }
    if (total !== j.count) throw new Error(`${where}: histogram buckets hold ${total} values, count says ${j.count}`);
    h.count = total;
    h.sum = Number(j.sum_ms) || 0;
    h.min = total ? Number(j.min_ms) : Infinity;
    h.max = total ? Number(j.max_ms) : -Infinity;
    if (total && !(h.min <= h.max)) throw new Error(`${where}: histogram min/max are not a range`);
    return h;
  }
}
