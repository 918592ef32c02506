// `tinycmp bridge`: the gateway side of the firmware's serial link (host/firmware/protocol.md).
// It connects to the device's USART (QEMU's `-serial tcp:HOST:PORT,server=on`), answers the
// device's hello with the time (and, only when the banner asks for it, the emulator's seed),
// forwards each framed CMP request to the CA over HTTP and frames the response back, and passes
// the gateway's commands to the device. It never looks inside a CMP message: the device's core
// decides everything; the bridge moves bytes.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { crc32 } from "node:zlib";
import type { Transport } from "../lib/device.js";
import { HttpTransport } from "../lib/transport.js";

export const FRAME = { SOF: 0xa5, HELLO: 0x48, BOOT: 0x42, CMD: 0x43, REQUEST: 0x51, RESPONSE: 0x52, TRANSPORT_ERROR: 0x45, LOG: 0x4c, DONE: 0x44 } as const;
export const COMMAND = { "ir-mac": 1, "ir-sig": 2, kur: 3, status: 4, reset: 5 } as const;
export type Command = keyof typeof COMMAND;
/** Errors of the firmware host (host/firmware/main.c); the core's own codes are in docs/ABI.md. */
export const FW_ERROR = { TIMEOUT: -200, FRAME: -201, SEQUENCE: -202, TRANSPORT: -203, TOO_LONG: -204, TRAP: -205, PROTOCOL: -206, CMD: -207 } as const;
/** The banner of an image that takes its randomness seed from the bridge (QEMU test build only). */
export const SEED_BANNER = "SEED FROM THE BRIDGE";

export interface Done {
  op: number;
  code: number;
  /** SysTick cycles at 168 MHz spent inside the core (QEMU -icount shift=0: cycles * 1000 / 168 = instructions) */
  cycles: number;
  stackPeak: number;
  certConf: boolean;
  detail: string;
  data: Uint8Array;
}

/** What the bridge does with one request (tests of the device's error handling). */
export type Fault = "drop" | "corrupt" | "wrong-seq" | "garbage" | undefined;

export interface BridgeOptions {
  /** tcp:HOST:PORT of the device's serial line */
  serial: string;
  /** CA URL, or any transport (tests) */
  server: string | Transport;
  /** seconds since 1970 given to the device at boot; default the system clock */
  now?: () => number;
  log?: (line: string) => void;
  fault?: (seq: number, request: Uint8Array) => Fault;
  connectTimeoutMs?: number;
}

export function encodeFrame(type: number, seq: number, payload: Uint8Array): Buffer {
  if (payload.length > 0xffff) throw new Error("frame payload above 65535 bytes");
  const body = Buffer.concat([Buffer.from([type, seq & 0xff, payload.length & 0xff, payload.length >> 8]), payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body) >>> 0);
  return Buffer.concat([Buffer.from([FRAME.SOF]), body, crc]);
}

/** Frame types a device sends. */
const DEVICE_TYPES: ReadonlySet<number> = new Set([FRAME.HELLO, FRAME.REQUEST, FRAME.LOG, FRAME.DONE]);

/** Splits a byte stream into frames; bytes before a start byte, a start byte followed by a type the
 *  device does not send, and frames failing their CRC are skipped (resynchronising byte by byte). */
export class FrameReader {
  private buf = Buffer.alloc(0);
  skipped = 0;
  constructor(private readonly types: ReadonlySet<number> = DEVICE_TYPES) {}
  push(chunk: Buffer): { type: number; seq: number; payload: Buffer }[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: { type: number; seq: number; payload: Buffer }[] = [];
    for (;;) {
      const i = this.buf.indexOf(FRAME.SOF);
      if (i < 0) {
        this.skipped += this.buf.length;
        this.buf = Buffer.alloc(0);
        return out;
      }
      if (i > 0) {
        this.skipped += i;
        this.buf = this.buf.subarray(i);
      }
      if (this.buf.length >= 2 && !this.types.has(this.buf[1])) {
        // noise, not a frame
        this.skipped++;
        this.buf = this.buf.subarray(1);
        continue;
      }
      if (this.buf.length < 5) return out;
      const n = this.buf.readUInt16LE(3);
      if (this.buf.length < 5 + n + 4) return out;
      const body = this.buf.subarray(1, 5 + n);
      if (crc32(body) >>> 0 !== this.buf.readUInt32LE(5 + n)) {
        // not a frame: resynchronise after this byte
        this.skipped++;
        this.buf = this.buf.subarray(1);
        continue;
      }
      out.push({ type: body[0], seq: body[1], payload: Buffer.from(body.subarray(4)) });
      this.buf = this.buf.subarray(5 + n + 4);
    }
  }
}

export function parseDone(p: Uint8Array): Done {
  const b = Buffer.from(p);
  if (b.length < 20) throw new Error("short done frame");
  const dl = b.readUInt16LE(18);
  return {
    op: b[0],
    code: b.readInt32LE(1),
    cycles: Number(b.readBigUInt64LE(5)),
    stackPeak: b.readUInt32LE(13),
    certConf: b[17] === 1,
    detail: b.subarray(20, 20 + dl).toString("latin1"),
    data: new Uint8Array(b.subarray(20 + dl)),
  };
}

export interface CommandArgs {
  ref?: string;
  secret?: string;
  /** DER Name for ir */
  subject?: Uint8Array;
  /** seconds the device waits for each response (1..255, default 30) */
  timeout?: number;
}

function item(tag: number, v: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag, v.length & 0xff, v.length >> 8]), v]);
}

export class Bridge {
  banner = "";
  readonly requests: { seq: number; request: Uint8Array; fault: Fault }[] = [];
  private readonly reader = new FrameReader();
  private readonly transport: Transport;
  private cmdSeq = 0;
  private pending?: { resolve: (d: Done) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  private helloWaiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: BridgeOptions,
  ) {
    this.transport = typeof opts.server === "string" ? new HttpTransport({ url: opts.server }) : opts.server;
    socket.on("data", (c) => {
      for (const f of this.reader.push(c)) void this.frame(f.type, f.seq, f.payload);
    });
    socket.on("close", () => this.fail(new Error("serial line closed (device gone)")));
    socket.on("error", (e) => this.fail(e));
  }

  /** Connects to tcp:HOST:PORT, retrying until the emulator listens (bounded). */
  static async connect(opts: BridgeOptions): Promise<Bridge> {
    const m = /^tcp:([^:]+):(\d+)$/.exec(opts.serial);
    if (!m) throw new Error(`--serial must be tcp:HOST:PORT, not ${opts.serial}`);
    const deadline = Date.now() + (opts.connectTimeoutMs ?? 10_000);
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(Number(m[2]), m[1], () => {
            c.removeAllListeners("error");
            resolve(c);
          });
          c.once("error", reject);
        });
        return new Bridge(s, opts);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`cannot connect to ${opts.serial}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private fail(e: Error): void {
    this.closed = true;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private send(type: number, seq: number, payload: Uint8Array): void {
    if (!this.closed) this.socket.write(encodeFrame(type, seq, payload));
  }

  private async frame(type: number, seq: number, payload: Buffer): Promise<void> {
    if (type === FRAME.HELLO) {
      this.banner = payload.toString("latin1");
      this.log(`device: ${this.banner}`);
      const t = Buffer.alloc(8);
      t.writeBigInt64LE(BigInt(Math.floor((this.opts.now ?? (() => Date.now() / 1000))())));
      // the seed only to an image that announces it has no RNG (the QEMU test build)
      const seed = this.banner.includes(SEED_BANNER) ? randomBytes(32) : Buffer.alloc(0);
      this.send(FRAME.BOOT, 0, Buffer.concat([t, seed]));
      seed.fill(0);
      for (const w of this.helloWaiters.splice(0)) w();
    } else if (type === FRAME.LOG) {
      this.log(`device: ${payload.toString("latin1")}`);
    } else if (type === FRAME.REQUEST) {
      const fault = this.opts.fault?.(seq, payload);
      this.requests.push({ seq, request: new Uint8Array(payload), fault });
      if (fault === "drop") return;
      let type = FRAME.RESPONSE as number,
        body: Uint8Array;
      try {
        body = await this.transport.transfer(new Uint8Array(payload));
      } catch (e) {
        type = FRAME.TRANSPORT_ERROR;
        body = Buffer.from(String((e as Error).message));
      }
      const f = encodeFrame(type, fault === "wrong-seq" ? seq + 1 : seq, body);
      if (fault === "corrupt") f[f.length - 1] ^= 0x01;
      if (fault === "garbage") f.writeUInt16LE(0xffff, 3); // a length no device buffer holds
      if (!this.closed) this.socket.write(f);
    } else if (type === FRAME.DONE) {
      const p = this.pending;
      this.pending = undefined;
      if (p) {
        clearTimeout(p.timer);
        p.resolve(parseDone(payload));
      }
    }
  }

  /** Resolves once the device has said hello (and got its boot frame). */
  hello(timeoutMs = 30_000): Promise<string> {
    if (this.banner) return Promise.resolve(this.banner);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no hello from the device")), timeoutMs);
      this.helloWaiters.push(() => {
        clearTimeout(t);
        resolve(this.banner);
      });
    });
  }

  /** Runs one command on the device; resolves with its result frame. */
  command(cmd: Command, args: CommandArgs = {}, timeoutMs = 300_000): Promise<Done> {
    if (this.pending) return Promise.reject(new Error("a command is already running"));
    if (this.closed) return Promise.reject(new Error("serial line closed"));
    const enc = new TextEncoder();
    const parts: Buffer[] = [Buffer.from([COMMAND[cmd], Math.max(1, Math.min(255, args.timeout ?? 30))])];
    if (args.ref !== undefined) parts.push(item(1, enc.encode(args.ref)));
    if (args.secret !== undefined) parts.push(item(2, enc.encode(args.secret)));
    if (args.subject) parts.push(item(3, args.subject));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer from the device to ${cmd}`)), timeoutMs);
      this.pending = { resolve, reject, timer };
      this.send(FRAME.CMD, ++this.cmdSeq & 0xff, Buffer.concat(parts));
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
    this.transport.close?.();
  }
}

const BRIDGE_USAGE = `usage: tinycmp bridge --serial tcp:HOST:PORT --server URL [--cmd ir-mac|ir-sig|kur|status ...]
       [--ref REF] [--secret pass:S|env:VAR] [--subject DN] [--timeout SECONDS]
Serves the device on the serial line: boot frame, CMP requests forwarded to URL. With --cmd, runs
those commands on the device in order (one JSON line each) and exits; without, serves until stopped.`;

/** `tinycmp bridge ...`: exit 0, 1 when a command failed, 2 on bad usage. */
export async function bridgeMain(argv: string[]): Promise<number> {
  const one = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const cmds = argv.flatMap((a, i) => (a === "--cmd" ? [argv[i + 1]] : []));
  const serial = one("--serial"),
    server = one("--server");
  if (!serial || !server || cmds.some((c) => !(c in COMMAND))) {
    console.error(BRIDGE_USAGE);
    return 2;
  }
  let secret = one("--secret");
  if (secret?.startsWith("env:")) secret = process.env[secret.slice(4)];
  else if (secret?.startsWith("pass:")) secret = secret.slice(5);
  else if (secret !== undefined) {
    console.error("--secret must be pass:SECRET or env:VARIABLE");
    return 2;
  }
  const dn = one("--subject");
  const { Name } = await import("../testpki/x509.js");
  const subject = dn ? new Uint8Array(new Name(dn).toArrayBuffer()) : undefined;
  const bridge = await Bridge.connect({ serial, server, log: (l) => console.error(l) });
  await bridge.hello();
  if (cmds.length === 0) {
    await new Promise<void>((r) => {
      process.once("SIGINT", r);
      process.once("SIGTERM", r);
    });
    bridge.close();
    return 0;
  }
  let failed = false;
  for (const c of cmds as Command[]) {
    const d = await bridge.command(c, { ref: one("--ref"), secret, subject, timeout: Number(one("--timeout") ?? 30) });
    failed ||= d.code !== 0;
    console.log(
      JSON.stringify({
        cmd: c,
        code: d.code,
        detail: d.detail,
        certConf: d.certConf,
        cycles: d.cycles,
        stack_peak_bytes: d.stackPeak,
        ...(c === "status" && d.code === 0 ? { cert: Buffer.from(d.data).toString("base64") } : {}),
      }),
    );
  }
  bridge.close();
  return failed ? 1 : 0;
}
