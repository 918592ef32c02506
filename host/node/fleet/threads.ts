// CPU time per thread from Linux /proc (utime + stime of /proc/<pid>/task/<tid>/stat), so the fleet
// can tell how much the test PKI and the devices each cost. Elsewhere every reading is undefined.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface ThreadCpu {
  tid: number;
  name: string;
  ms: number;
}

function parseStat(text: string): { name: string; ms: number } | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < 0) return undefined;
  const rest = text.slice(close + 2).split(" "); // rest[0] is field 3 (state)
  return { name: text.slice(open + 1, close), ms: (Number(rest[11]) + Number(rest[12])) * TICK_MS };
}

/** The calling thread's id (Linux), or undefined. */
export function ownTid(): number | undefined {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return undefined;
  }
}

/** CPU time of every thread of this process, or [] where /proc is missing. */
export function threadCpu(): ThreadCpu[] {
  try {
    const out: ThreadCpu[] = [];
    for (const t of readdirSync("/proc/self/task")) {
      try {
        const s = parseStat(readFileSync(`/proc/self/task/${t}/stat`, "latin1"));
        if (s) out.push({ tid: Number(t), ...s });
      } catch {
        // the thread ended meanwhile
      }
    }
    return out;
  } catch {
    return [];
  }
}

/** CPU ms used per thread between two readings (threads that started meanwhile count from 0). */
export function cpuDelta(before: ThreadCpu[], after: ThreadCpu[]): ThreadCpu[] {
  const base = new Map(before.map((t) => [t.tid, t.ms]));
  return after.map((t) => ({ ...t, ms: t.ms - (base.get(t.tid) ?? 0) }));
}

/** Busy and total CPU ms of the whole machine (all processes) from /proc/stat, or undefined. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync("/proc/stat", "latin1").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3] + (f[4] ?? 0); // idle + iowait
    return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
  } catch {
    return undefined;
  }
}
