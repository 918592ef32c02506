// One thread of the fleet: runs its share of the shard's devices, `concurrency` at a time. Each of
// the `concurrency` lanes holds one Device (one WebAssembly module instance with its own linear
// memory), which runs the operations of one simulated device after another: tx_reset wipes the
// previous transaction's configuration, keys, nonces and results before each (docs/ABI.md), as on
// a device that runs many transactions, so an instance is made once per lane instead of once per
// operation. The lanes share one keep-alive HTTP connection pool. Results go to the main thread in
// batches. Lifecycles of two operations (renew, revoke) run in two phases when the fleet size is
// given: every device enrolls, then (after all threads are done) every device renews or revokes
// at once, as after a CA rollover; with --duration and in mixed fleets each device runs its
// operations one after the other.
import { randomFillSync } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { CmpError, Device, type Request, type Transport } from "../lib/device";
import { HttpTransport, operationUrl, TransportError, type Operation } from "../lib/transport";
import { nameDer } from "../lib/files";
import { ownTid } from "./threads";
import { deviceIndex, identity, lifecycleOf, OPERATIONS, startAt, type Lifecycle } from "./plan";
import type { DeviceJob, Sample } from "./types";

const job = workerData as DeviceJob;
const now = () => performance.timeOrigin + performance.now();
// genm infoType id-it-rootCaCert (RFC 9483 4.3.2, 1.3.6.1.5.5.7.4.20): the OID's contents octets
const ID_IT_ROOT_CA_CERT = Uint8Array.of(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, 0x14);
const PATHS: Record<string, Operation> = { ir: "ir", kur: "kur", rr: "rr", genm: "rootCaKeyUpdate" };
const URLS = Object.fromEntries(Object.entries(PATHS).map(([op, path]) => [op, operationUrl(job.url, path)]));
// one keep-alive pool for all lanes: a connection per lane, reused by the devices that follow
const agent = new (job.url.startsWith("https:") ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: Math.max(1, job.concurrency) });

/** A lane's transport: each operation gets an HttpTransport of its own (its own time limits) on
 *  the shared pool. */
class LaneTransport implements Transport {
  current?: HttpTransport;
  transfer(request: Uint8Array): Promise<Uint8Array> {
    return this.current!.transfer(request);
  }
}
interface Lane {
  device: Device;
  transport: LaneTransport;
}
const lanePool: Lane[] = [];
// the core's entropy (env.random: keys, nonces, salts) from node:crypto 4 KiB at a time, each
// octet handed out once: one system call per many requests instead of one per request
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolAt = POOL_SIZE;
function random(out: Uint8Array): boolean {
  if (out.length > POOL_SIZE) return (randomFillSync(out), true);
  if (poolAt + out.length > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  out.set(pool.subarray(poolAt, poolAt + out.length));
  pool.fill(0, poolAt, poolAt + out.length);
  poolAt += out.length;
  return true;
}
const newLane = (): Lane => {
  const transport = new LaneTransport();
  return { device: new Device(transport, { random }), transport };
};

let batch: Sample[] = [];
let devicesOk = 0;
let devicesFailed = 0;
const flush = () => {
  if (batch.length || devicesOk || devicesFailed) parentPort!.postMessage({ samples: batch, devicesOk, devicesFailed });
  batch = [];
  devicesOk = devicesFailed = 0;
};
const timer = setInterval(flush, 100);

/** The reason an operation failed, as it will be grouped in the summary. */
function reason(e: unknown): string {
  if (e instanceof CmpError) return `CmpError: ${e.detail}`;
  if (e instanceof TransportError) return `TransportError: ${e.message}`;
  return `${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? String(e)}`;
}

/** What a device holds between its operations. */
interface DeviceState {
  index: number;
  lifecycle: Lifecycle;
  cert?: Uint8Array;
  key?: Uint8Array;
  failed: boolean;
}

// the pacing of starts (--rate with ramp-up), shared by all lanes of this thread
let t0 = 0;
let starts = 0;
async function paced(): Promise<void> {
  if (!job.rate) return;
  const due = t0 + startAt(starts++, job.rate, job.rampSeconds) * 1000;
  const wait = due - now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}

async function runOp(lane: Lane, d: DeviceState, op: "ir" | "kur" | "rr" | "genm", pace = true): Promise<void> {
  if (pace) await paced();
  const start = now();
  const { device } = lane;
  lane.transport.current = new HttpTransport({ url: URLS[op], msgTimeoutMs: job.msgTimeoutMs, totalTimeoutMs: job.totalTimeoutMs, agent });
  const id = identity(d.index, job.ref, job.secret);
  let failure: string | undefined;
  try {
    const trusted = job.trusted;
    const idevid = job.idevid ?? job.idevids?.[d.index];
    // ir and genm are protected by the shared secret or the IDevID; kur and rr by the certificate
    // being updated or revoked (RFC 9483 4.1.3, 4.2)
    const initial: Request = job.mode === "sig" ? { key: idevid!.key, cert: idevid!.cert, extraCerts: idevid!.chain } : { ref: id.ref, secret: id.secret };
    const own: Request = { key: d.key, cert: d.cert, oldCert: d.cert };
    const common = { trusted, implicitConfirm: job.implicitConfirm };
    if (op === "ir" || op === "kur") {
      const out = await device.enroll({ op, subject: nameDer(id.subject), ...common, ...(op === "ir" ? initial : own) });
      if (!out.cert || !out.newKey) failure = "no certificate in the response";
      else {
        d.cert = out.cert;
        d.key = out.newKey;
      }
    } else if (op === "rr") {
      await device.revoke({ ...own, trusted });
    } else {
      const out = await device.general({ ...initial, trusted, infoTypes: [ID_IT_ROOT_CA_CERT] });
      if (!out.genp.length) failure = "genp without an InfoTypeAndValue";
    }
  } catch (e) {
    failure = reason(e);
    // anything but a refused transaction or a failed exchange (a trap in the core): a new instance
    if (!(e instanceof CmpError) && !(e instanceof TransportError)) Object.assign(lane, newLane());
  } finally {
    lane.transport.current = undefined;
  }
  batch.push({ op, start, ms: now() - start, ...(failure ? { failure } : {}) });
  if (failure) d.failed = true;
}

const lifecycle = (index: number): Lifecycle => (job.scenario === "mixed" ? lifecycleOf(index, job.mix!) : job.scenario);
const finish = (d: DeviceState) => (d.failed ? devicesFailed++ : devicesOk++);

// wait for the start signal, so that thread start-up is not counted
parentPort!.postMessage({ ready: true, tid: ownTid() });
const signal = (key: string) => new Promise((resolve) => parentPort!.on("message", (m) => m[key] && resolve(undefined)));
await signal("go");
const elu0 = performance.eventLoopUtilization();
t0 = now();
const deadline = job.durationMs === undefined ? Infinity : t0 + job.durationMs;
// this thread's devices: j = worker, worker + workers, ... of the shard
let nextJ = job.worker;
const left = () => now() < deadline && (job.devices === undefined || deviceIndex(job.shard, nextJ) < job.devices);
const take = (): number | undefined => {
  if (!left()) return undefined;
  nextJ += job.workers;
  return deviceIndex(job.shard, nextJ - job.workers);
};
const phased = job.durationMs === undefined && (job.scenario === "renew" || job.scenario === "revoke");
const lanes = async (work: (lane: Lane) => Promise<boolean>) => {
  await Promise.all(
    Array.from({ length: Math.max(1, job.concurrency) }, async (_, i) => {
      const lane = (lanePool[i] ??= newLane());
      while (await work(lane));
    }),
  );
};
// a device is taken when its first operation is due, so --duration stops starting devices in time
if (!phased) {
  await lanes(async (lane) => {
    if (!left()) return false;
    await paced();
    const index = take();
    if (index === undefined) return false;
    const d: DeviceState = { index, lifecycle: lifecycle(index), failed: false };
    for (const [i, op] of OPERATIONS[d.lifecycle].entries()) {
      await runOp(lane, d, op, i > 0);
      if (d.failed) break;
    }
    finish(d);
    return true;
  });
} else {
  // phase 1: every device enrolls; phase 2 (after every thread's phase 1): kur or rr at once
  const held: DeviceState[] = [];
  await lanes(async (lane) => {
    if (!left()) return false;
    await paced();
    const index = take();
    if (index === undefined) return false;
    const d: DeviceState = { index, lifecycle: job.scenario as Lifecycle, failed: false };
    await runOp(lane, d, "ir", false);
    if (d.failed) finish(d);
    else held.push(d);
    return true;
  });
  flush();
  parentPort!.postMessage({ phaseDone: 1 });
  await signal("phase2");
  let k = 0;
  await lanes(async (lane) => {
    const d = held[k++];
    if (!d) return false;
    await runOp(lane, d, OPERATIONS[d.lifecycle][1]);
    finish(d);
    return true;
  });
}
clearInterval(timer);
agent.destroy();
flush();
parentPort!.postMessage({ done: true, elu: performance.eventLoopUtilization(elu0).utilization });
// stays alive (listening) until the main thread has read this thread's CPU time and ends it
