// `npm run footprint [-- --json] [-- --write]`: footprint figures of the module and the C host.
// - release module bytes and gzip;
// - linear memory written by an ir+certConf (PBM) and a signed kur with an ~8 KiB response (extra
//   certificates), against `openssl cmp` as mock server: bytes that differ from the module's
//   initial memory image, sampled after every step and inside every import call (scratch wiped
//   back to zero between samples is not counted, so this is a lower bound), and the highest
//   address written;
// - the native binaries' text/data/bss (`size`);
// - under WAMR (build/tinycmp-wamr, built with WAMR_ROOT): the runtime pool's high mark for an ir
//   with app heap 0 and the smallest wasm stack (TINYCMP_STACK) that still passes.
// --write replaces the block between the footprint markers in docs/PORTING.md.
import { execFileSync, spawnSync, execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { Device, type Transport } from "../host/node/device";
import { HttpTransport } from "../host/node/transport";
import { makeCreds, startServer, type Creds } from "../test/openssl-cmp";

const FILLERS = Number(process.env.FILLERS ?? 5);
const root = fileURLToPath(new URL("..", import.meta.url));
const build = join(root, "build");
const wasmFile = join(build, "tinycmp.wasm");

interface Touch { touched: number; highest: number; response_bytes: number; error?: string }

async function measure(creds: Creds, extra: string[], op: "ir" | "kur", req: object): Promise<Touch> {
  const s = await startServer(creds, extra);
  let initial: Uint8Array | undefined;
  const seen = new Uint8Array(65536);
  let device: Device | undefined;
  const sample = () => {
    if (!device) return;
    const mem = new Uint8Array(device.core.memory.buffer);
    initial ??= mem.slice();
    for (let i = 0; i < mem.length; i++) if (mem[i] !== initial[i]) seen[i] = 1;
  };
  let biggest = 0;
  const inner = new HttpTransport({ url: s.url });
  const transport: Transport = {
    async transfer(r) { sample(); const rsp = await inner.transfer(r); biggest = Math.max(biggest, rsp.length); return rsp; },
    close() { inner.close(); },
  };
  device = new Device(transport, {
    random: (out) => { sample(); require_crypto().randomFillSync(out); return true; },
    now: () => { sample(); return Date.now() / 1000; },
  });
  initial = new Uint8Array(device.core.memory.buffer).slice();
  let error: string | undefined;
  try {
    await device.enroll({ ...req, op } as any);
    sample();
  } catch (e) {
    error = (e as Error).message;
  } finally { device.close(); await s.stop(); }
  let touched = 0, highest = 0;
  for (let i = 0; i < seen.length; i++) if (seen[i]) { touched++; highest = i + 1; }
  return { touched, highest, response_bytes: biggest, ...(error ? { error } : {}) };
}

let cryptoMod: typeof import("node:crypto") | undefined;
function require_crypto() { return cryptoMod!; }

function sizeOf(file: string) {
  if (!existsSync(file)) return undefined;
  const out = spawnSync("size", [file], { encoding: "utf8" }).stdout.split("\n")[1]?.trim().split(/\s+/);
  return out ? { file: file.replace(root, ""), text: +out[0], data: +out[1], bss: +out[2] } : undefined;
}

function runWamr(creds: Creds, port: number, stack: number): Promise<{ ok: boolean; pool?: number }> {
  return new Promise((resolve) => {
    execFile(join(build, "tinycmp-wamr"), ["-wasm", wasmFile, "-cmd", "ir", "-server", `127.0.0.1:${port}/pkix/`,
      "-ref", "ref", "-secret", "pass:secret", "-newkey", "rsp.key", "-subject", "/CN=tinycmp device", "-certout", "w.crt"],
    { cwd: creds.dir, env: { ...process.env, TINYCMP_STACK: String(stack), TINYCMP_STATS: "1" } }, (err, _o, stderr) => {
      const m = /high mark (\d+)/.exec(stderr);
      resolve({ ok: !err, pool: m ? +m[1] : undefined });
    });
  });
}

async function wamr(creds: Creds) {
  if (!existsSync(join(build, "tinycmp-wamr"))) return undefined;
  const once = async (stack: number) => { const s = await startServer(creds); try { return await runWamr(creds, s.port, stack); } finally { await s.stop(); } };
  const base = await once(16384);
  if (!base.ok) return { error: "ir under WAMR failed with a 16 KiB stack" };
  let lo = 256, hi = 16384; // smallest passing stack, to 256 B
  while (hi - lo > 256) { const mid = ((lo + hi) >> 9) << 8; if ((await once(mid)).ok) hi = mid; else lo = mid; }
  const small = await once(hi);
  return { pool_high_mark_16k_stack: base.pool, smallest_stack: hi, pool_high_mark_smallest_stack: small.pool };
}

async function main() {
  cryptoMod = await import("node:crypto");
  const bin = readFileSync(wasmFile);
  const lean = join(build, "tinycmp-lean.wasm");
  const modules = [wasmFile, lean].filter(existsSync).map((f) => {
    const b = readFileSync(f);
    return { module: f.replace(root, ""), bytes: b.length, gzip: gzipSync(b, { level: 9 }).length };
  });
  void bin;
  const creds = makeCreds();
  // ~8 KiB response: the root plus distinct filler certificates in extraCerts (openssl drops duplicates)
  const env = { ...process.env, OPENSSL_CONF: "/dev/null" };
  let extra = readFileSync(creds.file("root.crt"), "utf8");
  // few but large certificates (RSA-4096): the core keeps a bounded number of extraCerts
  execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", "-out", "fill.key"],
    { cwd: creds.dir, env, stdio: "ignore" });
  for (let i = 0; i < FILLERS; i++) {
    execFileSync("openssl", ["req", "-x509", "-new", "-key", "fill.key", "-subj", `/CN=filler ${i}`, "-days", "30",
      "-out", `fill${i}.crt`], { cwd: creds.dir, env, stdio: "ignore" });
    extra += readFileSync(creds.file(`fill${i}.crt`), "utf8");
  }
  writeFileSync(creds.file("extra8k.pem"), extra);
  const mac = { secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt") };
  const irMem = await measure(creds, [], "ir", mac);
  const kurReq = {
    key: creds.scalar("rsp.key"), cert: creds.der("rsp.crt"), oldCert: creds.der("rsp.crt"), subject: creds.subjectDer("rsp.crt"),
    newKey: creds.scalar("rsp.key"), trusted: [creds.der("root.crt")],
  };
  const kurMem = await measure(creds, ["-rsp_extracerts", "extra8k.pem"], "kur", kurReq);
  // the largest response that passes, when the ~8 KiB one does not
  let kurFit: Touch | undefined;
  for (let n = FILLERS - 1; kurMem.error && n >= 0 && !(kurFit && !kurFit.error); n--) {
    writeFileSync(creds.file("extra-n.pem"), extra.split(/(?=-----BEGIN CERTIFICATE)/).slice(0, n + 1).join(""));
    kurFit = await measure(creds, ["-rsp_extracerts", "extra-n.pem"], "kur", kurReq);
  }
  const natives = ["tinycmp-native", "tinycmp-wamr", "tinycmp-wamr-capi", "tinycmp-wasm3"].map((n) => sizeOf(join(build, n))).filter(Boolean);
  const w = await wamr(creds);
  const report = { modules, linear_memory: { ir_certconf_pbm: irMem, kur_signed_8k: kurMem, kur_largest_passing: kurFit }, native: natives, wamr: w };
  if (process.argv.includes("--json")) { console.log(JSON.stringify(report, null, 2)); return; }
  const lines = [
    "| figure | value |", "|---|---|",
    ...modules.map((m) => `| module \`${m.module}\` | ${m.bytes} B (gzip ${m.gzip} B) |`),
    `| linear memory written, ir + certConf (PBM) | ${irMem.touched} B, highest address ${irMem.highest} (of 65536) |`,
    kurMem.error
      ? `| kur (signed) with a ${kurMem.response_bytes} B response | FAILS: ${kurMem.error} |`
      : `| linear memory written, kur (signed), ${kurMem.response_bytes} B response | ${kurMem.touched} B, highest address ${kurMem.highest} |`,
    ...(kurFit && !kurFit.error ? [`| linear memory written, kur (signed), ${kurFit.response_bytes} B response (largest passing) | ${kurFit.touched} B, highest address ${kurFit.highest} |`] : []),
    ...natives.map((n) => `| \`${n!.file}\` text/data/bss | ${n!.text} / ${n!.data} / ${n!.bss} B |`),
    ...(w && "smallest_stack" in w ? [
      `| WAMR pool high mark (module + instance + exec env + 64 KiB memory), heap 0, 16 KiB stack | ${w.pool_high_mark_16k_stack} B |`,
      `| WAMR smallest wasm stack passing an ir | ${w.smallest_stack} B (pool high mark ${w.pool_high_mark_smallest_stack} B) |`] : [
      `| WAMR | not measured (${w ? (w as any).error : "build/tinycmp-wamr absent: set WAMR_ROOT"}) |`]),
  ];
  const table = lines.join("\n");
  console.log(table);
  if (process.argv.includes("--write")) {
    const p = join(root, "docs/PORTING.md");
    const doc = readFileSync(p, "utf8");
    const stamp = `<!-- footprint: generated by npm run footprint -- --write -->`;
    writeFileSync(p, doc.replace(/<!-- footprint[^]*?<!-- \/footprint -->/, `${stamp}\n${table}\n<!-- /footprint -->`));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
