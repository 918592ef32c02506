// Messages between the fleet's threads.
import type { Lifecycle, Scenario } from "./plan";

export interface Idevid {
  cert: Uint8Array;
  chain: Uint8Array[];
  key: Uint8Array;
}

/** What one device thread is asked to do. */
export interface DeviceJob {
  /** the server's URL; one ending in /.well-known/cmp gets each operation's path (RFC 9483 6.1) */
  url: string;
  mode: "mac" | "sig";
  /** may hold `{i}`, replaced by the device index */
  ref?: string;
  secret?: string;
  trusted: Uint8Array[];
  implicitConfirm: boolean;
  shard: { index: number; count: number };
  /** this thread is worker `worker` of `workers`: it runs the shard's devices j = worker, worker + workers, ... */
  worker: number;
  workers: number;
  /** devices in the whole fleet (all shards), or run until durationMs has passed */
  devices?: number;
  durationMs?: number;
  concurrency: number;
  /** operations started per second by this thread (with ramp-up), or unlimited */
  rate?: number;
  rampSeconds: number;
  scenario: Scenario;
  mix?: [Lifecycle, number][];
  msgTimeoutMs: number;
  totalTimeoutMs: number;
  /** signature protection: each device's IDevID by device index, or one for all */
  idevids?: Record<number, Idevid>;
  idevid?: Idevid;
}

/** One operation of one device: start (ms since 1970, fractional), duration, and why it failed. */
export interface Sample {
  op: string;
  start: number;
  ms: number;
  failure?: string;
}
