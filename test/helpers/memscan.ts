// Linear memory actually used by a run of the core: every byte of zero-initialized scratch
// (memory.data(n) buffers) and above the static data is set to a canary before the run, and
// afterwards a byte counts as used when it no longer holds its initial value (canary or data).
// Which bytes are scratch: the release optimizer drops zero runs from the data segments, also
// inside constant tables, so the layout comes from the same entry compiled without optimization
// and static data from 1024 as the optimizing build places it (then the same addresses; one
// segment per memory.data: all-zero segments are scratch). A second
// canary catches bytes written with the first one's value. The core keeps no stack in linear
// memory (runtime stub, no shadow stack): the highest used address is the peak of both.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Core } from "../../host/node/lib/core";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface Segment {
  start: number;
  bytes: Uint8Array;
}

/** Active data segments of a module. */
export function segments(bin: Uint8Array): Segment[] {
  const out: Segment[] = [];
  let p = 8;
  const u = () => {
    let r = 0,
      s = 0,
      b;
    do {
      b = bin[p++];
      r |= (b & 0x7f) << s;
      s += 7;
    } while (b & 0x80);
    return r >>> 0;
  };
  while (p < bin.length) {
    const id = bin[p++],
      size = u(),
      next = p + size;
    if (id === 11) {
      for (let n = u(); n > 0; n--) {
        const flags = u();
        if (flags === 1) {
          p += u();
          continue;
        } // passive
        if (flags === 2) u();
        let start = 0;
        if (bin[p] === 0x41) {
          p++;
          start = u();
        }
        while (bin[p++] !== 0x0b) {
          /* rest of the offset expression */
        }
        const len = u();
        out.push({ start, bytes: bin.subarray(p, p + len) });
        p += len;
      }
    }
    p = next;
  }
  return out;
}

/** Mask of the bytes the core may find in any state (scratch and free memory) for a module
 *  built from `entry` with asconfig target `target`: its unoptimized twin shows the layout. */
export function scratchMask(entry: string, target: string, wasm: string): { mask: Uint8Array; dataEnd: number } {
  const layout = join(root, "build", `${target}.layout.wasm`);
  if (!existsSync(layout) || statSync(layout).mtimeMs < statSync(wasm).mtimeMs) {
    execFileSync(
      join(root, "node_modules/.bin/asc"),
      [entry, "--target", target, "--optimizeLevel", "0", "--shrinkLevel", "0", "--memoryBase", "1024", "--outFile", layout],
      { cwd: root, stdio: "ignore" },
    );
  }
  const mask = new Uint8Array(65536).fill(1);
  let dataEnd = 0;
  for (const s of segments(readFileSync(layout))) {
    dataEnd = Math.max(dataEnd, s.start + s.bytes.length);
    if (s.bytes.some((b) => b !== 0)) mask.fill(0, s.start, s.start + s.bytes.length);
  }
  // the optimized module must have the same layout: its data lies where the twin has data
  for (const s of segments(readFileSync(wasm))) {
    for (let i = 0; i < s.bytes.length; i++) {
      if (s.bytes[i] !== 0 && mask[s.start + i]) throw new Error(`layout of ${wasm} differs from its unoptimized build at ${s.start + i}`);
    }
  }
  return { mask, dataEnd };
}

export const CANARIES = [0xa5, 0x5a];

export interface MemUse {
  used: number;
  highest: number;
  pages: number;
}

export class MemScan {
  private initial: Uint8Array;
  readonly seen: Uint8Array;
  constructor(
    readonly core: Core,
    readonly canary: number,
    mask: Uint8Array,
  ) {
    const mem = new Uint8Array(core.memory.buffer);
    for (let i = 0; i < mem.length; i++) if (mask[i] && mem[i] === 0) mem[i] = canary;
    this.initial = mem.slice();
    this.seen = new Uint8Array(mem.length);
  }

  /** Marks the bytes changed so far (call it after the run, or also in between). */
  sample(): void {
    const mem = new Uint8Array(this.core.memory.buffer);
    for (let i = 0; i < this.initial.length; i++) {
      if (mem[i] !== this.initial[i]) this.seen[i] = 1;
    }
  }

  result(): MemUse {
    this.sample();
    let used = 0,
      highest = 0;
    for (let i = 0; i < this.seen.length; i++)
      if (this.seen[i]) {
        used++;
        highest = i + 1;
      }
    return { used, highest, pages: this.core.memory.buffer.byteLength / 65536 };
  }
}
