// One thread of the fleet: runs its share of devices, `concurrency` at a time. Each device is its
// own Device (one WebAssembly module instance with its own 64 KiB memory) created when its turn
// comes and closed after its enrollment. Results go to the main thread in batches.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { CmpError, Device } from "../device";
import { TransportError } from "../transport";
import { nameDer } from "../files";
import { ownTid } from "./threads";
import type { DeviceJob, Sample } from "./types";

const job = workerData as DeviceJob;
const now = () => performance.timeOrigin + performance.now();

let batch: Sample[] = [];
const flush = () => {
  if (batch.length) parentPort!.postMessage({ samples: batch });
  batch = [];
};
const timer = setInterval(flush, 100);

/** The reason a device failed, as it will be grouped in the summary. */
function reason(e: unknown): string {
  if (e instanceof CmpError) return `CmpError: ${e.detail}`;
  if (e instanceof TransportError) return `TransportError: ${e.message}`;
  return `${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? String(e)}`;
}

async function enrollOne(i: number): Promise<void> {
  const index = job.first + i;
  const start = now();
  const device = Device.http({ url: job.url, msgTimeoutMs: job.msgTimeoutMs, totalTimeoutMs: job.totalTimeoutMs });
  let failure: string | undefined;
  try {
    const common = { subject: nameDer(`/CN=fleet device ${index}`), trusted: job.trusted, implicitConfirm: job.implicitConfirm };
    const out = job.mode === "sig"
      ? await device.enroll({ op: "ir", key: job.idevids![i].key, cert: job.idevids![i].cert, extraCerts: job.idevids![i].chain, ...common })
      : await device.enroll({ op: "ir", ref: job.ref, secret: job.secret, ...common });
    if (!out.cert) failure = "no certificate in the response";
  } catch (e) {
    failure = reason(e);
  } finally {
    device.close();
  }
  batch.push({ start, ms: now() - start, ...(failure ? { failure } : {}) });
}

// wait for the start signal, so that thread start-up is not counted
parentPort!.postMessage({ ready: true, tid: ownTid() });
await new Promise((resolve) => parentPort!.on("message", (m) => m.go && resolve(undefined)));
const elu0 = performance.eventLoopUtilization();
let next = 0;
const lane = async () => {
  while (next < job.count) await enrollOne(next++);
};
await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, job.count)) }, lane));
clearInterval(timer);
flush();
parentPort!.postMessage({ done: true, elu: performance.eventLoopUtilization(elu0).utilization });
// stays alive (listening) until the main thread has read this thread's CPU time and ends it
