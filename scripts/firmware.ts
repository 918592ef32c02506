// `npm run firmware [-- --json]`: builds both firmware images (host/firmware: the full and lean
// release modules as wasm2c C for the STM32F405), starts the built-in test PKI, boots each image
// in QEMU (netduinoplus2, `-icount shift=0`: the virtual clock advances 1 ns per instruction, so
// the firmware's SysTick counts instructions) behind `tinycmp bridge`, and runs ir with MAC, ir
// with the IDevID signature and kur, each with certConf; then stops the emulator, boots it again
// on the same flash and shows the credential survived. Prints a table; with --json the last line
// is an array of {module, elf, flash_bytes, ram_bytes, stack_peak_bytes, ok, failed, instructions}
// (also written to build/firmware/report.json for `npm run footprint` and `npm run boards`).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bridge, type BridgeOptions } from "../host/node/cli/bridge";
import { Core } from "../host/node/lib/core";
import { Flash } from "../host/node/lib/flash";
import { KIND, Store, TAG } from "../host/node/lib/store";
import { TestPki } from "../host/node/testpki/index";
import * as x509 from "../host/node/testpki/x509.js";

const root = fileURLToPath(new URL("..", import.meta.url));
export const MODULES = ["full", "lean"] as const;
export type Module = (typeof MODULES)[number];
export const elfOf = (m: Module) => join(root, "build/firmware", `tinycmp-fw-${m}.elf`);
/** Cycles of the firmware's 168 MHz SysTick per instruction under -icount shift=0 (1 ns each). */
export const CYCLES_PER_INSTRUCTION = 0.168;

/** True when the cross compiler, newlib, QEMU and wasm2c are installed. */
export function toolchainPresent(): boolean {
  const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
  return (
    ok("arm-none-eabi-gcc", ["--version"]) &&
    ok("qemu-system-arm", ["--version"]) &&
    ok("wasm2c", ["--version"]) &&
    spawnSync("arm-none-eabi-gcc", ["-print-file-name=libc.a"], { encoding: "utf8" }).stdout.trim() !== "libc.a"
  );
}

export function buildFirmware(): void {
  const r = spawnSync("make", ["-s", "-C", join(root, "host/firmware")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`firmware build failed:\n${r.stdout}${r.stderr}`);
}

/** Sizes from the ELF: section sums, checked against the linker's own __flash_used/__ram_used. */
export function elfSizes(elf: string): { flash_bytes: number; ram_bytes: number; stack_bytes: number } {
  const r = spawnSync("arm-none-eabi-size", ["-A", elf], { encoding: "utf8" });
  const sec = new Map<string, number>();
  for (const l of r.stdout.split("\n")) {
    const m = /^(\.\S+)\s+(\d+)\s+(\d+)/.exec(l);
    if (m) sec.set(m[1], Number(m[2]));
  }
  const s = (n: string) => sec.get(n) ?? 0;
  const flash = s(".text") + s(".ARM.exidx") + s(".data");
  const ram = s(".stack") + s(".data") + s(".bss");
  const nm = spawnSync("arm-none-eabi-nm", [elf], { encoding: "utf8" }).stdout;
  const sym = (n: string) => parseInt(new RegExp(`^([0-9a-f]+) \\w ${n}$`, "m").exec(nm)?.[1] ?? "-1", 16);
  if (sym("__flash_used") !== flash || sym("__ram_used") !== ram) {
    throw new Error(`${elf}: section sizes (flash ${flash}, RAM ${ram}) disagree with the linker's (${sym("__flash_used")}, ${sym("__ram_used")})`);
  }
  return { flash_bytes: flash, ram_bytes: ram, stack_bytes: s(".stack") };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** The factory: the IDevID (key, certificate, chain) and the PKI's root as trust anchor, written
 *  into the slot files the QEMU image reads through semihosting (slot-N.bin, docs/STORE.md). */
export async function factoryFlash(pki: TestPki, dir: string, serial: string): Promise<void> {
  const dev = await pki.createIdevid(serial);
  const der = (p: string) => new Uint8Array(new X509Certificate(p).raw);
  const d = Buffer.from(createPrivateKey(dev.keyPem).export({ format: "jwk" }).d!, "base64url");
  const store = new Store(new Core({ flash: new Flash({ dir }) }));
  store.provision(d, der(dev.certPem), dev.chain.map(der));
  store.save(KIND.TRUST, [[TAG.ANCHOR, pki.root.der]]);
}

export interface Qemu {
  qemu: ChildProcess;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts QEMU with an image, its flash in dir (the working directory, for semihosting) and its
 *  USART1 on tcp:127.0.0.1:port (QEMU waits for the bridge before it runs the image). */
export async function startQemu(elf: string, dir: string): Promise<Qemu> {
  const port = await freePort();
  const qemu = spawn(
    "qemu-system-arm",
    [
      "-M",
      "netduinoplus2",
      "-nographic",
      "-monitor",
      "none",
      "-icount",
      "shift=0",
      "-semihosting-config",
      "enable=on,target=native",
      "-serial",
      `tcp:127.0.0.1:${port},server=on,wait=on`,
      "-kernel",
      elf,
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  qemu.stdout!.on("data", (c) => {
    out += c;
  });
  qemu.stderr!.on("data", (c) => {
    out += c;
  });
  const exited = new Promise<void>((r) => qemu.once("exit", () => r()));
  return {
    qemu,
    port,
    output: () => out,
    stop: async () => {
      if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill("SIGKILL");
      await exited;
    },
  };
}

export interface Emulator {
  qemu: ChildProcess;
  bridge: Bridge;
  port: number;
  stop(): Promise<void>;
}

/** Boots an image in QEMU with its flash in dir and connects a bridge to its USART. */
export async function boot(elf: string, dir: string, bridge: Omit<BridgeOptions, "serial">): Promise<Emulator> {
  const q = await startQemu(elf, dir);
  try {
    const b = await Bridge.connect({ ...bridge, serial: `tcp:127.0.0.1:${q.port}`, connectTimeoutMs: 20_000 });
    await b.hello(60_000);
    return {
      qemu: q.qemu,
      bridge: b,
      port: q.port,
      stop: async () => {
        b.close();
        await q.stop();
      },
    };
  } catch (e) {
    await q.stop();
    throw new Error(`${(e as Error).message}; qemu: ${q.output().trim()}`);
  }
}

export interface ImageResult {
  module: Module;
  elf: string;
  flash_bytes: number;
  ram_bytes: number;
  stack_peak_bytes: number;
  ok: string[];
  failed: string[];
  instructions: Record<string, number>;
  details: Record<string, string>;
}
/** One image in build/firmware/report.json: the result without its per-operation details. */
export type FirmwareRow = Omit<ImageResult, "details">;

/** Runs the operations on one image and the reboot; every outcome checked against the PKI. */
export async function runImage(pki: TestPki, module: Module): Promise<ImageResult> {
  const elf = elfOf(module);
  const sizes = elfSizes(elf);
  const res: ImageResult = {
    module,
    elf: elf.slice(root.length),
    flash_bytes: sizes.flash_bytes,
    ram_bytes: sizes.ram_bytes,
    stack_peak_bytes: 0,
    ok: [],
    failed: [],
    instructions: {},
    details: {},
  };
  const dir = mkdtempSync(join(tmpdir(), `tinycmp-fw-${module}-`));
  const issuing = new X509Certificate(pki.issuingCa.der);
  const subject = (cn: string) => new Uint8Array(new x509.Name(`CN=${cn}`).toArrayBuffer());
  const record = (op: string, pass: boolean, detail = "") => {
    (pass ? res.ok : res.failed).push(op);
    if (detail) res.details[op] = detail;
  };
  let emu: Emulator | undefined;
  try {
    await factoryFlash(pki, dir, `FW-${module}-${process.pid}`);
    emu = await boot(elf, dir, { server: pki.url });
    const status = async () => {
      const s = await emu!.bridge.command("status");
      return s.code === 0 ? new X509Certificate(s.data) : undefined;
    };
    const enrol = async (op: string, cmd: "ir-mac" | "ir-sig" | "kur", cn: string, previous?: X509Certificate) => {
      // a device-side deadline of 120 s per exchange: idle emulated time runs at the host's pace
      // (-icount), and on a loaded machine the bridge and the CA can take longer than the default 30 s
      const opts = { subject: subject(cn), timeout: 120 };
      const d = await emu!.bridge.command(cmd, cmd === "ir-mac" ? { ref: pki.ref, secret: pki.secret, ...opts } : opts);
      res.stack_peak_bytes = Math.max(res.stack_peak_bytes, d.stackPeak);
      res.instructions[op] = Math.round(d.cycles / CYCLES_PER_INSTRUCTION);
      const cert = d.code === 0 ? await status() : undefined;
      // the stored credential is a new certificate from the issuing CA, for the name asked for
      const good = !!cert && cert.verify(issuing.publicKey) && cert.subject.includes(cn) && (!previous || cert.serialNumber !== previous.serialNumber);
      record(op, good, good ? "" : `code ${d.code}: ${d.detail}`);
      if (op !== "kur" || good) record(`certConf (${op})`, d.certConf && good);
      return cert;
    };
    const c1 = await enrol("ir-mac", "ir-mac", `fw ${module} mac`);
    const c2 = await enrol("ir-sig", "ir-sig", `fw ${module} idevid`, c1);
    const c3 = await enrol("kur", "kur", `fw ${module} idevid`, c2);
    await emu.stop();
    emu = await boot(elf, dir, { server: pki.url }); // a new emulator process on the same flash
    const after = await status();
    record("reboot keeps the credential", !!c3 && !!after && after.raw.equals(c3.raw));
  } catch (e) {
    record("run", false, (e as Error).message);
  } finally {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

async function main(): Promise<number> {
  const json = process.argv.includes("--json");
  if (!toolchainPresent()) {
    console.error("firmware: needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm and wabt (apt-get install)");
    return 2;
  }
  buildFirmware();
  const pki = await TestPki.start();
  const results: ImageResult[] = [];
  try {
    for (const m of MODULES) results.push(await runImage(pki, m));
  } finally {
    await pki.close();
  }
  const mhz = 168;
  console.log("image  flash B  RAM B   stack B  operations                            instructions (time at 168 MHz, 1 instruction/cycle)");
  for (const r of results) {
    const ins = Object.entries(r.instructions)
      .map(([k, v]) => `${k} ${v} (${(v / (mhz * 1e6)).toFixed(3)} s)`)
      .join(", ");
    console.log(
      `${r.module.padEnd(6)} ${String(r.flash_bytes).padStart(7)} ${String(r.ram_bytes).padStart(6)} ${String(r.stack_peak_bytes).padStart(8)}  ` +
        `${r.ok.length} ok, ${r.failed.length} failed${r.failed.length ? ` (${r.failed.join("; ")})` : ""}  ${ins}`,
    );
    for (const [op, d] of Object.entries(r.details)) console.log(`       ${op}: ${d}`);
  }
  const rows: FirmwareRow[] = results.map(({ details: _d, ...r }) => r);
  writeFileSync(join(root, "build/firmware/report.json"), JSON.stringify(rows)); // read by npm run footprint and boards
  if (json) console.log(JSON.stringify(rows));
  return results.every((r) => r.failed.length === 0) ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
