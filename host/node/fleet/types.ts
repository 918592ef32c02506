// Messages between the fleet's threads.

export interface Idevid {
  cert: Uint8Array;
  chain: Uint8Array[];
  key: Uint8Array;
}

/** What one device thread is asked to do. */
export interface DeviceJob {
  url: string;
  mode: "mac" | "sig";
  ref?: string;
  secret?: string;
  trusted: Uint8Array[];
  implicitConfirm: boolean;
  /** index of this thread's first device in the fleet */
  first: number;
  count: number;
  concurrency: number;
  msgTimeoutMs: number;
  totalTimeoutMs: number;
  /** one IDevID per device (sig) */
  idevids?: Idevid[];
}

/** One device's enrollment: start (ms since 1970, fractional), duration, and why it failed. */
export interface Sample {
  start: number;
  ms: number;
  failure?: string;
}
