// Flash emulation for the core's env.flash_* imports (docs/STORE.md): numbered slots of NOR
// flash, erased to 0xFF, each byte written at most once per erase. In memory, or backed by one
// file per slot in a directory. Fault injection: power cut at the Nth write or erase (that
// operation, torn after its first k bytes, and everything after it are lost: the import throws
// PowerCut, the running core is dead; a "reboot" is a new Core over the same Flash).
//
// File-backed slots are durable before the core counts a record as written, and a slot file is
// never truncated in place: a changed slot goes to the file when the core reads flash again (it
// reads every record back before it reports the write done, docs/STORE.md) as a new file
// slot-N.tmp, fsync, rename over slot-N.bin, fsync of the directory. A kill or a power cut (page
// cache lost) leaves each slot file as it was at one of those points, never torn or empty.
// Slot files are 0600 in a 0700 directory: they hold private keys.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

export const SLOT_COUNT = 7;
export const SLOT_SIZE = 4096;

/** Thrown by a flash operation at the injected power cut: the device stops there. */
export class PowerCut extends Error {}

export interface FlashOptions {
  slots?: number;
  slotSize?: number;
  /** Directory with one file per slot (slot-N.bin), created when absent. */
  dir?: string;
}

export interface Fault {
  /** Cut power during the Nth write or erase counted from now (1 = the next one). */
  at: number;
  /** Bytes of that operation that land before the cut (default 0; >= its length: all land). */
  tear?: number;
}

export class Flash {
  readonly slots: Uint8Array[];
  readonly slotSize: number;
  private readonly dir?: string;
  private fault?: Fault;
  /** Writes and erases done since the last resetCounter(). */
  ops = 0;
  /** Lengths of the writes done (erases count as slotSize), for choosing tear points. */
  sizes: number[] = [];
  /** Set once the injected cut happened: every later operation throws PowerCut. */
  dead = false;
  /** Slots changed in memory and not yet in their files. */
  private readonly dirty = new Set<number>();
  /** The last error of a slot file (ENOSPC, EACCES...), for the host's message; cleared by a good sync. */
  ioError?: Error;

  constructor(opts: FlashOptions = {}) {
    this.slotSize = opts.slotSize ?? SLOT_SIZE;
    this.dir = opts.dir;
    if (this.dir) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      if ((statSync(this.dir).mode & 0o077) !== 0) chmodSync(this.dir, 0o700); // a store made by an older version
    }
    this.slots = Array.from({ length: opts.slots ?? SLOT_COUNT }, (_, i) => {
      const b = new Uint8Array(this.slotSize).fill(0xff); // a missing or short file reads as erased
      const f = this.file(i);
      if (f && existsSync(f)) {
        b.set(readFileSync(f).subarray(0, this.slotSize));
        if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
      } else if (f) this.dirty.add(i);
      return b;
    });
    if (!this.sync()) throw this.ioError;
  }

  private file(slot: number): string | undefined {
    return this.dir ? join(this.dir, `slot-${slot}.bin`) : undefined;
  }

  private persist(slot: number): void {
    if (this.dir) this.dirty.add(slot);
  }

  /**
   * Writes the changed slots to their files (new file, fsync, rename, fsync of the directory);
   * false when that failed (the error in ioError; the files keep their last durable content).
   */
  sync(): boolean {
    if (!this.dir || this.dirty.size === 0) return true;
    try {
      for (const slot of [...this.dirty].sort((a, b) => a - b)) {
        const f = this.file(slot)!,
          tmp = join(this.dir, `slot-${slot}.tmp`);
        const fd = openSync(tmp, "w", 0o600);
        try {
          for (let o = 0; o < this.slotSize; ) o += writeSync(fd, this.slots[slot], o, this.slotSize - o, o);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, f);
        this.dirty.delete(slot);
      }
      const d = openSync(this.dir, "r");
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
      this.ioError = undefined;
      return true;
    } catch (e) {
      this.ioError = e as Error;
      return false;
    }
  }

  /** Arm a power cut (counted from now); undefined disarms. */
  inject(fault?: Fault): void {
    this.fault = fault ? { ...fault } : undefined;
  }

  resetCounter(): void {
    this.ops = 0;
    this.sizes = [];
  }

  /** The device boots again: power is back, no fault armed. */
  reboot(): void {
    this.dead = false;
    this.fault = undefined;
  }

  /** A copy of every slot (to restore a scenario's starting point). */
  snapshot(): Uint8Array[] {
    return this.slots.map((s) => s.slice());
  }

  restore(image: Uint8Array[]): void {
    image.forEach((s, i) => {
      this.slots[i].set(s);
      this.persist(i);
    });
    this.sync();
  }

  private inRange(slot: number, offset: number, len: number): boolean {
    return slot >= 0 && slot < this.slots.length && offset >= 0 && len >= 0 && offset + len <= this.slotSize;
  }

  // Counts one write/erase of n bytes; returns how many land, or -1 when all land and no cut.
  private step(n: number): number {
    if (this.dead) throw new PowerCut("flash used after the power cut");
    this.ops++;
    this.sizes.push(n);
    if (this.fault && --this.fault.at === 0) {
      this.dead = true;
      return Math.max(0, Math.min(n, this.fault.tear ?? 0));
    }
    return -1;
  }

  read(slot: number, offset: number, out: Uint8Array): boolean {
    if (this.dead) throw new PowerCut("flash used after the power cut");
    if (!this.inRange(slot, offset, out.length) || !this.sync()) return false;
    out.set(this.slots[slot].subarray(offset, offset + out.length));
    return true;
  }

  /** Programs erased bytes; false (nothing written) when a byte is not erased or out of range. */
  write(slot: number, offset: number, data: Uint8Array): boolean {
    if (!this.inRange(slot, offset, data.length)) return false;
    const s = this.slots[slot];
    for (let i = 0; i < data.length; i++) if (s[offset + i] !== 0xff) return false;
    const land = this.step(data.length);
    s.set(land < 0 ? data : data.subarray(0, land), offset);
    this.persist(slot);
    if (land >= 0) this.sync(); // what landed before the cut stays
    if (land >= 0) throw new PowerCut(`power cut during write ${this.ops} after ${land} bytes`);
    return true;
  }

  erase(slot: number): boolean {
    if (!this.inRange(slot, 0, 0)) return false;
    const land = this.step(this.slotSize);
    this.slots[slot].fill(0xff, 0, land < 0 ? this.slotSize : land);
    this.persist(slot);
    if (land >= 0) this.sync();
    if (land >= 0) throw new PowerCut(`power cut during erase ${this.ops} after ${land} bytes`);
    return true;
  }
}
