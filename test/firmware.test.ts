// The STM32F405 firmware (host/firmware) in QEMU behind `tinycmp bridge`: both images enrol (ir
// with MAC, ir with the IDevID, kur, each with certConf) against the test PKI and keep the
// credential over a restart of the emulator; a bridge that corrupts, misnumbers, oversizes or
// drops a response, a CA the bridge cannot reach, or a reset in the middle of a transaction, ends
// in the firmware's defined error with the credential intact. Skipped when the ARM toolchain, newlib, QEMU or wasm2c is missing.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFrame, FRAME, FrameReader, FW_ERROR, parseDone, type Fault } from "../host/node/cli/bridge";
import { TestPki } from "../host/node/testpki/index";
import { HttpTransport } from "../host/node/lib/transport";
import * as x509 from "../host/node/testpki/x509.js";
import { execFile, spawnSync } from "node:child_process";
import { boot, buildFirmware, elfOf, elfSizes, factoryFlash, runImage, startQemu, toolchainPresent, type Emulator } from "../scripts/firmware";

describe("bridge framing", () => {
  it("reads frames split anywhere and skips noise and frames failing their CRC", () => {
    const a = encodeFrame(FRAME.REQUEST, 7, Uint8Array.of(1, 2, 3)),
      b = encodeFrame(FRAME.LOG, 0, Buffer.from("hi"));
    const bad = Buffer.from(a);
    bad[6] ^= 0x40; // one payload bit flipped: the CRC refuses it
    const r = new FrameReader();
    const stream = Buffer.concat([Buffer.from([0x00, 0xa5, 0x13]), bad, a, b]);
    const got = [...stream].flatMap((byte) => r.push(Buffer.from([byte])));
    expect(got.map((f) => [f.type, f.seq, [...f.payload]])).toEqual([
      [FRAME.REQUEST, 7, [1, 2, 3]],
      [FRAME.LOG, 0, [0x68, 0x69]],
    ]);
    expect(r.skipped).toBeGreaterThan(0);
  });

  it("parses the device's done frame", () => {
    const p = Buffer.alloc(20 + 2 + 1);
    p[0] = 3;
    p.writeInt32LE(-201, 1);
    p.writeBigUInt64LE(123n, 5);
    p.writeUInt32LE(900, 13);
    p[17] = 0;
    p.writeUInt16LE(2, 18);
    p.write("no", 20);
    p[22] = 9;
    expect(parseDone(p)).toEqual({ op: 3, code: -201, cycles: 123, stackPeak: 900, certConf: false, detail: "no", data: Uint8Array.of(9) });
    expect(() => parseDone(p.subarray(0, 19))).toThrow(/short/);
  });
});

const present = toolchainPresent();

describe.skipIf(!present)("firmware in QEMU", () => {
  let pki: TestPki;
  beforeAll(async () => {
    buildFirmware();
    pki = await TestPki.start();
  }, 300_000);
  afterAll(async () => {
    await pki?.close();
  });

  const budgets = { full: { ram: 96 * 1024, flash: 160 * 1024 }, lean: { ram: 88 * 1024, flash: 112 * 1024 } };

  for (const module of ["full", "lean"] as const) {
    it(`${module} image: ir (MAC), ir (IDevID), kur with certConf, credential kept over a reboot; within budget`, async () => {
      const r = await runImage(pki, module);
      expect(r.failed, JSON.stringify(r.details)).toEqual([]);
      expect(r.ok).toEqual(["ir-mac", "certConf (ir-mac)", "ir-sig", "certConf (ir-sig)", "kur", "certConf (kur)", "reboot keeps the credential"]);
      expect(r.ram_bytes).toBeLessThanOrEqual(budgets[module].ram);
      expect(r.flash_bytes).toBeLessThanOrEqual(budgets[module].flash);
      const { stack_bytes } = elfSizes(elfOf(module));
      expect(r.stack_peak_bytes).toBeGreaterThan(0);
      expect(r.stack_peak_bytes).toBeLessThan(stack_bytes);
      for (const op of ["ir-mac", "ir-sig", "kur"]) expect(r.instructions[op]).toBeGreaterThan(1_000_000);
      // no allocator: nothing in the image can call malloc (no _sbrk is provided either)
      const syms = spawnSync("arm-none-eabi-nm", [elfOf(module)], { encoding: "utf8" }).stdout;
      expect(syms).not.toMatch(/ (malloc|_malloc_r|calloc|realloc|_sbrk)$/m);
    }, 600_000);
  }

  it("an image over its RAM budget fails the link", () => {
    const out = mkdtempSync(join(tmpdir(), "tinycmp-fw-over-"));
    try {
      const elf = join(out, "tinycmp-fw-lean.elf");
      // a 20 KiB stack puts the lean image (64 KiB page + buffers) over its 88 KiB budget
      const r = spawnSync("make", ["-s", "-C", join(__dirname, "../host/firmware"), `OUT=${out}`, "STACK_SIZE=20480", elf], { encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/RAM over its budget/);
      const ok = spawnSync("make", ["-s", "-C", join(__dirname, "../host/firmware"), `OUT=${out}`, "STACK_SIZE=4096", elf], { encoding: "utf8" });
      expect(ok.status, ok.stderr).toBe(0); // the control: the same image with its usual stack links
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);

  it("bad frames, a silent bridge and a reset mid-transaction: defined errors, credential intact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-fw-fault-"));
    let fault: Fault | "reset";
    let emu: Emulator | undefined;
    let down = false; // the CA unreachable from the gateway
    // a connection per request, as a gateway without keep-alive: no socket outlives a fault case
    const once = async (r: Uint8Array) => {
      const t = new HttpTransport({ url: pki.url, msgTimeoutMs: 20_000 });
      try {
        return await t.transfer(r);
      } finally {
        t.close();
      }
    };
    const start = () =>
      boot(elfOf("lean"), dir, {
        server: { transfer: (r) => (down ? Promise.reject(new Error("connect ECONNREFUSED")) : once(r)) },
        fault: () => {
          const f = fault;
          fault = undefined;
          if (f === "reset") {
            void emu!.stop();
            return "drop";
          } // power cut while the request is out
          return f;
        },
      });
    try {
      await factoryFlash(pki, dir, `FW-fault-${process.pid}`);
      emu = await start();
      expect(emu.bridge.banner).toMatch(/lean module.*SEED FROM THE BRIDGE/);
      const name = new Uint8Array(new x509.Name("CN=fw fault").toArrayBuffer());
      // the operations that must succeed get a device-side deadline of 120 s per exchange: the
      // emulated clock runs by instruction count, and a loaded CI machine slows the CA's answer
      expect((await emu.bridge.command("ir-mac", { ref: pki.ref, secret: pki.secret, subject: name, timeout: 120 })).code).toBe(0);
      const status = async () => Buffer.from((await emu!.bridge.command("status")).data);
      const cred = await status();
      expect(new X509Certificate(cred).subject).toContain("fw fault");
      const cases: [Fault, number][] = [
        ["corrupt", FW_ERROR.FRAME],
        ["wrong-seq", FW_ERROR.SEQUENCE],
        ["garbage", FW_ERROR.TOO_LONG],
        ["drop", FW_ERROR.TIMEOUT],
      ];
      for (const [f, code] of cases) {
        fault = f;
        const d = await emu.bridge.command("kur", { timeout: 2 });
        expect([f, d.code, d.certConf]).toEqual([f, code, false]);
        expect(d.detail.length).toBeGreaterThan(0);
        expect((await status()).equals(cred)).toBe(true);
      }
      down = true;
      const unreachable = await emu.bridge.command("kur", { timeout: 5 });
      expect([unreachable.code, unreachable.detail]).toEqual([FW_ERROR.TRANSPORT, "the bridge could not reach the CA"]);
      expect((await status()).equals(cred)).toBe(true);
      down = false;
      fault = "reset";
      await expect(emu.bridge.command("kur", { timeout: 30 })).rejects.toThrow(/closed/);
      await emu.stop();
      emu = await start();
      expect((await status()).equals(cred)).toBe(true);
      // and the device renews normally afterwards (a new pending key replaces the abandoned one)
      const d = await emu.bridge.command("kur", { timeout: 120 });
      expect([d.code, d.certConf]).toEqual([0, true]);
      const renewed = await status();
      expect(renewed.equals(cred)).toBe(false);
      expect(new X509Certificate(renewed).subject).toContain("fw fault");
    } finally {
      await emu?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it("tinycmp bridge (the CLI) serves the device and runs its commands", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-fw-cli-"));
    const q = await startQemu(elfOf("lean"), dir);
    try {
      await factoryFlash(pki, dir, `FW-cli-${process.pid}`);
      const cli = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile("node", [join(__dirname, "../bin/tinycmp.mjs"), "bridge", ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
          );
        });
      expect((await cli(["--server", pki.url])).code).toBe(2); // no --serial
      const r = await cli([
        "--serial",
        `tcp:127.0.0.1:${q.port}`,
        "--server",
        pki.url,
        "--cmd",
        "status",
        "--cmd",
        "ir-mac",
        "--ref",
        pki.ref,
        "--secret",
        `pass:${pki.secret}`,
        "--subject",
        "CN=fw cli",
        "--cmd",
        "status",
      ]);
      expect(r.stderr).toMatch(/device: tinycmp firmware, lean module/);
      const lines = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.cmd, l.code])).toEqual([
        ["status", -120],
        ["ir-mac", 0],
        ["status", 0],
      ]); // E_STORE_EMPTY first
      expect(lines[1].certConf).toBe(true);
      expect(new X509Certificate(Buffer.from(lines[2].cert, "base64")).subject).toContain("fw cli");
      expect(r.code).toBe(1); // the first status failed
    } finally {
      await q.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
