// Progress on stderr: a bar redrawn in place on a terminal, otherwise a plain line now and then.

export class Progress {
  private last = 0;
  private readonly tty = !!process.stderr.isTTY;
  constructor(
    readonly total: number,
    private readonly t0: number,
  ) {}

  update(ok: number, failed: number, force = false): void {
    const now = performance.now();
    const every = this.tty ? 100 : 2000;
    if (!force && now - this.last < every) return;
    this.last = now;
    const done = ok + failed;
    const s = (now - this.t0) / 1000;
    const rate = s > 0 ? done / s : 0;
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    // total 0: unknown (a run of given duration)
    const stats = this.total
      ? `${done}/${this.total} ok ${ok} failed ${failed} ${rate.toFixed(0)}/s ${s.toFixed(1)}s eta ${eta.toFixed(0)}s`
      : `${done} ok ${ok} failed ${failed} ${rate.toFixed(0)}/s ${s.toFixed(1)}s`;
    if (this.tty) {
      const width = Math.max(10, Math.min(40, (process.stderr.columns ?? 80) - stats.length - 4));
      const fill = Math.round((done / Math.max(1, this.total)) * width);
      process.stderr.write(`\r[${"#".repeat(fill)}${".".repeat(width - fill)}] ${stats}\x1b[K`);
    } else {
      process.stderr.write(`fleet: ${stats}\n`);
    }
  }

  end(): void {
    if (this.tty) process.stderr.write("\n");
  }
}
