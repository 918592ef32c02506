// `npm run footprint [-- --json] [-- --write]`: footprint figures of the module and the C host.
// - release module bytes and gzip;
// - linear memory used at peak by an ir+certConf and a signed kur+certConf whose responses are
//   ~9 KiB (large RSA-4096 certificates in extraCerts), against `openssl cmp` as mock server, for
//   the full and the lean module (the lean one signs its ir: openssl answers PBM with
//   HMAC-SHA1): scratch and free memory filled with canaries before the run (test/helpers/memscan.ts,
//   two canaries), bytes changed afterwards, the highest one, and where static data ends;
// - the native binaries' text/data/bss (`size`);
// - under WAMR (build/tinycmp-wamr, built with WAMR_ROOT): the runtime pool's high mark for an ir
//   with app heap 0 and the smallest wasm stack (TINYCMP_STACK, to 16 B) that still passes ir (PBM),
//   signed ir and kur (lean: the signed two), per module; the pool holds runtime structures and
//   the wasm stack, NOT the linear memory and the module buffer, which come on top;
// - under wasm3 (build/tinycmp-wasm3, built with WASM3_ROOT): the same with its heap high mark
//   (the heap holds the linear memory; the module bytes stay in the host's buffer);
// - the firmware images (host/firmware) of the last `npm run firmware`: flash, RAM, stack peak,
//   instructions per signed ir + certConf.
// --write replaces the block between the footprint markers in README.md and docs/PORTING.md.
import { execFileSync, spawnSync, execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { Device, type Transport } from "../host/node/lib/device";
import { HttpTransport } from "../host/node/lib/transport";
import { makeCreds, startServer, type Creds } from "../test/helpers/openssl-cmp";
import { CANARIES, MemScan, scratchMask } from "../test/helpers/memscan";
import type { FirmwareRow } from "./firmware";

const FILLERS = Number(process.env.FILLERS ?? 6);
const root = fileURLToPath(new URL("..", import.meta.url));
const build = join(root, "build");
const wasmFile = join(build, "tinycmp.wasm");

interface Touch {
  used: number;
  highest: number;
  data_end: number;
  response_bytes: number;
  error?: string;
}

const MODULES = [
  { name: "full", wasm: wasmFile, entry: "assembly/abi.ts", target: "release" },
  { name: "lean", wasm: join(build, "tinycmp-lean.wasm"), entry: "assembly/lean.ts", target: "lean" },
];
type Module = (typeof MODULES)[number];

async function measure(creds: Creds, extra: string[], req: object, m: Module): Promise<Touch> {
  const { mask, dataEnd } = scratchMask(m.entry, m.target, m.wasm);
  let used = 0,
    highest = 0,
    biggest = 0,
    error: string | undefined;
  const seen = new Uint8Array(65536);
  for (const canary of CANARIES) {
    const s = await startServer(creds, extra);
    const inner = new HttpTransport({ url: s.url });
    const transport: Transport = {
      async transfer(r) {
        const rsp = await inner.transfer(r);
        biggest = Math.max(biggest, rsp.length);
        return rsp;
      },
      close() {
        inner.close();
      },
    };
    const device = new Device(transport, { wasm: m.wasm });
    const scan = new MemScan(device.core, canary, mask);
    try {
      await device.enroll(req as any);
    } catch (e) {
      error = (e as Error).message;
    } finally {
      device.close();
      await s.stop();
    }
    scan.result();
    scan.seen.forEach((v, i) => {
      if (v) seen[i] = 1;
    });
  }
  seen.forEach((v, i) => {
    if (v) {
      used++;
      highest = i + 1;
    }
  });
  return { used, highest, data_end: dataEnd, response_bytes: biggest, ...(error ? { error } : {}) };
}

function sizeOf(file: string) {
  if (!existsSync(file)) return undefined;
  const out = spawnSync("size", [file], { encoding: "utf8" }).stdout.split("\n")[1]?.trim().split(/\s+/);
  return out ? { file: file.replace(root, ""), text: +out[0], data: +out[1], bss: +out[2] } : undefined;
}

// One transaction under a runtime binary (build/tinycmp-wamr or -wasm3) with TINYCMP_STATS=1:
// whether it passed, and the figure its adapter prints (`high mark N`).
function runStats(binary: string, wasm: string, creds: Creds, port: number, stack: number, args: string[]): Promise<{ ok: boolean; mark?: number }> {
  return new Promise((resolve) => {
    execFile(
      join(build, binary),
      ["-wasm", wasm, "-server", `127.0.0.1:${port}/pkix/`, ...args],
      { cwd: creds.dir, env: { ...process.env, TINYCMP_STACK: String(stack), TINYCMP_STATS: "1" } },
      (err, _o, stderr) => {
        const m = /high mark (\d+)/.exec(stderr);
        resolve({ ok: !err, mark: m ? +m[1] : undefined });
      },
    );
  });
}

// ir with PBM (full module only: openssl's mock server answers PBM with HMAC-SHA1, which the lean
// module refuses), ir signed with the device key, kur signed with the issued key.
const RUNS = {
  pbmIr: ["-cmd", "ir", "-ref", "ref", "-secret", "pass:secret", "-newkey", "rsp.key", "-subject", "/CN=tinycmp device", "-certout", "w.crt"],
  signedIr: [
    "-cmd",
    "ir",
    "-key",
    "dev.key",
    "-cert",
    "dev.crt",
    "-trusted",
    "root.crt",
    "-newkey",
    "rsp.key",
    "-subject",
    "/CN=tinycmp device",
    "-certout",
    "w.crt",
  ],
  kur: ["-cmd", "kur", "-key", "rsp.key", "-cert", "rsp.crt", "-oldcert", "rsp.crt", "-trusted", "root.crt", "-newkey", "rsp.key", "-certout", "w.crt"],
};

interface RuntimeFigures {
  module: string;
  module_bytes: number;
  high_mark_default_stack?: number;
  default_stack: number;
  smallest_stack?: number;
  high_mark_smallest_stack?: number;
  error?: string;
}

// The high mark (WAMR: pool; wasm3: heap) with the default stack, and the smallest stack (to 16 B)
// that passes every transaction of the module, with its high mark.
async function runtimeFigures(binary: string, creds: Creds, m: Module, defaultStack: number): Promise<RuntimeFigures> {
  const runs = m.name === "lean" ? [RUNS.signedIr, RUNS.kur] : [RUNS.pbmIr, RUNS.signedIr, RUNS.kur];
  const all = async (stack: number) => {
    let mark = 0;
    for (const args of runs) {
      const s = await startServer(creds);
      try {
        const r = await runStats(binary, m.wasm, creds, s.port, stack, args);
        if (!r.ok) return { ok: false, mark };
        mark = Math.max(mark, r.mark ?? 0);
      } finally {
        await s.stop();
      }
    }
    return { ok: true, mark };
  };
  const base: RuntimeFigures = { module: m.name, module_bytes: readFileSync(m.wasm).length, default_stack: defaultStack };
  const first = await all(defaultStack);
  if (!first.ok) return { ...base, error: `a transaction failed with a ${defaultStack} B stack` };
  let lo = 0,
    hi = defaultStack;
  while (hi - lo > 16) {
    const mid = ((lo + hi) >> 5) << 4;
    if ((await all(mid)).ok) hi = mid;
    else lo = mid;
  }
  const small = await all(hi);
  return { ...base, high_mark_default_stack: first.mark, smallest_stack: hi, high_mark_smallest_stack: small.mark };
}

async function runtimes(binary: string, creds: Creds, defaultStack: number): Promise<RuntimeFigures[] | undefined> {
  if (!existsSync(join(build, binary))) return undefined;
  const out: RuntimeFigures[] = [];
  for (const m of MODULES.filter((x) => existsSync(x.wasm))) out.push(await runtimeFigures(binary, creds, m, defaultStack));
  return out;
}

// The firmware figures of the last `npm run firmware` (build/firmware/report.json), if any.
export function firmwareReport(): FirmwareRow[] | undefined {
  const f = join(build, "firmware/report.json");
  return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
}

async function main() {
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
  // few but large certificates (RSA-4096): at most 16 extraCerts
  execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", "-out", "fill.key"], { cwd: creds.dir, env, stdio: "ignore" });
  for (let i = 0; i < FILLERS; i++) {
    execFileSync("openssl", ["req", "-x509", "-new", "-key", "fill.key", "-subj", `/CN=filler ${i}`, "-days", "30", "-out", `fill${i}.crt`], {
      cwd: creds.dir,
      env,
      stdio: "ignore",
    });
    extra += readFileSync(creds.file(`fill${i}.crt`), "utf8");
  }
  writeFileSync(creds.file("extra8k.pem"), extra);
  const mac = { op: "ir", secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt") };
  const signedIr = {
    op: "ir",
    key: creds.scalar("dev.key"),
    cert: creds.der("dev.crt"),
    newKey: creds.scalar("rsp.key"),
    subject: creds.subjectDer("rsp.crt"),
    trusted: [creds.der("root.crt")],
  };
  const kur = {
    op: "kur",
    key: creds.scalar("rsp.key"),
    cert: creds.der("rsp.crt"),
    oldCert: creds.der("rsp.crt"),
    subject: creds.subjectDer("rsp.crt"),
    newKey: creds.scalar("rsp.key"),
    trusted: [creds.der("root.crt")],
  };
  const big = ["-rsp_extracerts", "extra8k.pem"];
  const memory: { module: string; transaction: string; figures: Touch }[] = [];
  for (const m of MODULES.filter((x) => existsSync(x.wasm))) {
    memory.push({
      module: m.name,
      transaction: m.name === "lean" ? "ir (signed) + certConf" : "ir (PBM) + certConf",
      figures: await measure(creds, big, m.name === "lean" ? signedIr : mac, m),
    });
    memory.push({ module: m.name, transaction: "kur (signed) + certConf", figures: await measure(creds, big, kur, m) });
  }
  const natives = ["tinycmp-native", "tinycmp-wamr", "tinycmp-wamr-capi", "tinycmp-wasm3"].map((n) => sizeOf(join(build, n))).filter(Boolean);
  const w = await runtimes("tinycmp-wamr", creds, 16384);
  const w3 = await runtimes("tinycmp-wasm3", creds, 32768);
  const fw = firmwareReport();
  const report = { modules, linear_memory: memory, native: natives, wamr: w, wasm3: w3, firmware: fw };
  writeFileSync(join(build, "footprint.json"), JSON.stringify(report)); // read by npm run boards
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const runtimeRows = (name: string, what: string, onTop: string, figures: RuntimeFigures[] | undefined, absent: string) =>
    figures
      ? figures.flatMap((f) =>
          f.error
            ? [`| ${name}, ${f.module} module | FAILS: ${f.error} |`]
            : [
                `| ${name} ${what}, ${f.module} module, ${f.default_stack} B stack | ${f.high_mark_default_stack} B |`,
                `| ${name} smallest stack passing ${f.module === "lean" ? "signed ir and kur" : "ir (PBM), signed ir and kur"}, ${f.module} module | ${f.smallest_stack} B (${what} ${f.high_mark_smallest_stack} B) |`,
                `| ${name} RAM, ${f.module} module: ${what} at that stack + ${onTop} | ${f.high_mark_smallest_stack! + (onTop.includes("64 KiB") ? 65536 : 0) + f.module_bytes} B |`,
              ],
        )
      : [`| ${name} | not measured (${absent}) |`];
  const lines = [
    "| figure | value |",
    "|---|---|",
    ...modules.map((m) => `| module \`${m.module}\` | ${m.bytes} B (gzip ${m.gzip} B) |`),
    ...memory.map(({ module, transaction, figures: f }) =>
      f.error
        ? `| ${module} module, ${transaction}, ${f.response_bytes} B response | FAILS: ${f.error} |`
        : `| ${module} module, ${transaction}, ${f.response_bytes} B response: linear memory used | ${f.used} B, highest address ${f.highest} (static data ends at ${f.data_end}; page 65536) |`,
    ),
    ...natives.map((n) => `| \`${n!.file}\` text/data/bss | ${n!.text} / ${n!.data} / ${n!.bss} B |`),
    ...runtimeRows("WAMR", "pool high mark", "64 KiB linear memory + module (not in the pool)", w, "build/tinycmp-wamr absent: set WAMR_ROOT"),
    ...runtimeRows("wasm3", "heap high mark", "module (the heap holds the linear memory)", w3, "build/tinycmp-wasm3 absent: set WASM3_ROOT"),
    ...(fw ?? []).flatMap((r) => [
      `| firmware \`${r.elf}\` (STM32F405, wasm2c ${r.module} module): flash / RAM (data + bss + stack) / stack peak | ${r.flash_bytes} / ${r.ram_bytes} / ${r.stack_peak_bytes} B |`,
      `| firmware ${r.module}: instructions per signed ir + certConf (QEMU -icount), time at 168 MHz (1 instruction per cycle) | ${r.instructions["ir-sig"]} (${(r.instructions["ir-sig"] / 168e6).toFixed(2)} s)${r.failed.length ? ` FAILED: ${r.failed.join(", ")}` : ""} |`,
    ]),
    ...(fw ? [] : ["| firmware | not measured (run npm run firmware first) |"]),
  ];
  const table = lines.join("\n");
  console.log(table);
  if (process.argv.includes("--write")) {
    const stamp = `<!-- footprint: generated by npm run footprint -- --write -->`;
    for (const f of ["README.md", "docs/PORTING.md"]) {
      const p = join(root, f);
      const doc = readFileSync(p, "utf8");
      writeFileSync(p, doc.replace(/<!-- footprint[\s\S]*?<!-- \/footprint -->/, `${stamp}\n${table}\n<!-- /footprint -->`));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
