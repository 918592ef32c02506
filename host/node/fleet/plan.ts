// Which devices a fleet process simulates, who they are, what they do and when they start.
// Everything is derived from the device index, so shards never collide and a rerun of a shard
// simulates the same devices.

export const SCENARIOS = ["enroll", "renew", "revoke", "root-update", "mixed"] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** A device's own lifecycle (mixed draws one of these per device). */
export type Lifecycle = Exclude<Scenario, "mixed">;
export const LIFECYCLES: readonly Lifecycle[] = ["enroll", "renew", "revoke", "root-update"];

/** The CMP operations of each lifecycle, in order: renew and revoke first enroll (RFC 9483 4.1.1),
 *  then update the key (kur, RFC 9483 4.1.3) or revoke (rr, RFC 9483 4.2); root-update asks for
 *  the root CA certificate update (genm rootCaCert, RFC 9483 4.3.2). */
export const OPERATIONS: Record<Lifecycle, readonly ("ir" | "kur" | "rr" | "genm")[]> = {
  enroll: ["ir"],
  renew: ["ir", "kur"],
  revoke: ["ir", "rr"],
  "root-update": ["genm"],
};

/** `I/N`: shard I (0-based) of N. */
export function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = Number(m?.[1]),
    count = Number(m?.[2]);
  if (!m || count < 1 || index >= count || !Number.isSafeInteger(count)) throw new Error(`--shard "${s}" is not I/N with 0 <= I < N`);
  return { index, count };
}

/** `enroll=70,renew=20,revoke=5,root-update=5`: shares in percent of the devices (sum 100). */
export function parseMix(s: string): [Lifecycle, number][] {
  const out: [Lifecycle, number][] = [];
  for (const part of s.split(",")) {
    const [name, v] = part.split("=");
    const n = Number(v);
    if (!LIFECYCLES.includes(name as Lifecycle)) throw new Error(`--mix: "${name}" is not one of ${LIFECYCLES.join(", ")}`);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--mix: share of ${name} must be a whole percentage`);
    if (out.some(([k]) => k === name)) throw new Error(`--mix: ${name} given twice`);
    out.push([name as Lifecycle, n]);
  }
  const total = out.reduce((a, [, n]) => a + n, 0);
  if (total !== 100) throw new Error(`--mix: shares add up to ${total}, not 100`);
  return out;
}

/** The lifecycle of device `index` in a mixed fleet: a fixed scramble of the index picks a
 *  percentile, so every 100 consecutive devices hold the shares exactly and a rerun is the same. */
export function lifecycleOf(index: number, mix: [Lifecycle, number][]): Lifecycle {
  const slot = ((index % 100) * 37) % 100; // 37 is prime to 100: a permutation of 0..99
  let acc = 0;
  for (const [name, n] of mix) {
    acc += n;
    if (slot < acc) return name;
  }
  return mix[mix.length - 1][0];
}

/** Global device index of the j-th device (0-based) of shard `index` of `count`. */
export const deviceIndex = (shard: { index: number; count: number }, j: number) => shard.index + shard.count * j;

/** Devices in a shard when the fleet has `devices` in all. */
export const shardSize = (shard: { index: number; count: number }, devices: number) => Math.max(0, Math.ceil((devices - shard.index) / shard.count));

/** Identity of device `index`: subject, IDevID serial number, MAC reference (a `{i}` in the
 *  reference or secret given stands for the index, for CAs that know one reference per device). */
export function identity(index: number, ref?: string, secret?: string) {
  const sub = (s: string | undefined) => s?.replaceAll("{i}", String(index));
  return { subject: `/CN=fleet device ${index}`, serialNumber: `FLEET-${index}`, ref: sub(ref), secret: sub(secret) };
}

/** Seconds after the start at which the k-th start (0-based) is due at `rate` per second, with the
 *  rate rising linearly from 0 over `rampSeconds` (starts so far: rate t^2 / 2 ramp). */
export function startAt(k: number, rate: number, rampSeconds: number): number {
  if (!(rate > 0)) return 0;
  const inRamp = (rate * rampSeconds) / 2;
  if (k < inRamp) return Math.sqrt((2 * rampSeconds * k) / rate);
  return rampSeconds + (k - inRamp) / rate;
}
