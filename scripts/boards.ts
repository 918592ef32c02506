// `npm run boards [-- --json] [-- --module FILE]`: checks the built module each board profile in
// boards/*.json picks ("module": "full", the default, build/tinycmp.wasm, or "lean",
// build/tinycmp-lean.wasm; --module FILE checks that file for every board): its imports are in the ABI
// (docs/ABI.md) and provided by the board's host, the WebAssembly features it uses are supported
// by the board's runtime (wabt's wasm-validate with each missing feature disabled), its linear
// memory and size are within the board's budgets, the flash slots fit the board's flash, and the
// RAM measured for its runtime (ramMeasured: firmware ELF sizes; WAMR pool + linear memory +
// module) is within its RAM budget.
// Prints a table (or a JSON array) and exits 1 when some board does not fit.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sigText, wasmInfo } from "./wasminfo";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Features wasm-validate enables by default, by its flag names. */
export const FEATURES = ["mutable-globals", "sign-extension", "saturating-float-to-int", "bulk-memory", "multi-value", "reference-types", "simd"];
/** The credential store (docs/STORE.md): slot 0 IDevID, A/B pairs for the credential, the trust
 *  anchors and the transaction state: seven slots of at least 4 KiB. */
const MIN_SLOTS = 7,
  MIN_SLOT_BYTES = 4096;

export interface Slot {
  offset: number;
  size: number;
}
export interface Board {
  board: string;
  description?: string;
  runtime: string;
  features: string[];
  host_imports: string[];
  memory_pages: number;
  stack_bytes: number;
  ram_bytes: number;
  ram_budget_bytes?: number;
  flash_bytes?: number;
  module_budget_bytes: number;
  transport: string;
  module?: "full" | "lean";
  flash: { region_offset?: number; region_bytes: number; erase_block_bytes?: number; slots: Slot[]; backing?: string };
  /** wasm2c-firmware: the image whose ELF sizes are its RAM */
  firmware_elf?: string;
}
export interface BoardResult {
  board: string;
  runtime: string;
  fits: boolean;
  module_bytes: number;
  module_budget_bytes: number;
  memory_pages: number;
  memory_pages_max: number;
  memory_pages_allowed: number;
  features_used: string[];
  features_missing: string[];
  imports: string[];
  slots: number;
  slot_bytes: number;
  problems: string[];
  module?: string;
  /** RAM the runtime needs, from measured figures (see ramMeasured), and how it was obtained */
  ram_measured_bytes?: number;
  ram_source: string;
  ram_budget: number;
}

/** Measured RAM of a board's runtime with its module: the firmware ELF's data + bss + stack
 *  (host/firmware); from `npm run footprint` (build/footprint.json), the WAMR pool high mark plus
 *  the 64 KiB linear memory and the module bytes (the pool holds neither), or the wasm3 heap high
 *  mark (linear memory included) plus the module bytes; undefined when nothing was measured. */
export function ramMeasured(b: Board, moduleBytes: number): { bytes?: number; source: string } {
  if (b.runtime === "wasm2c-firmware" && b.firmware_elf) {
    const elf = join(root, b.firmware_elf);
    const r = spawnSync("arm-none-eabi-size", ["-A", elf], { encoding: "utf8" });
    if (r.status !== 0) return { source: `${b.firmware_elf} not built (npm run firmware)` };
    const sec = (n: string) => Number(new RegExp(`^\\${n}\\s+(\\d+)`, "m").exec(r.stdout)?.[1] ?? 0);
    return { bytes: sec(".data") + sec(".bss") + sec(".stack"), source: `${b.firmware_elf}: data + bss + stack` };
  }
  const runtime = b.runtime === "wamr" ? "wamr" : b.runtime === "wasm3" ? "wasm3" : undefined;
  if (!runtime) return { source: `${b.runtime}: not measured here` };
  const f = join(root, "build/footprint.json");
  const rows: { module: string; module_bytes: number; high_mark_smallest_stack?: number; smallest_stack?: number }[] =
    (existsSync(f) ? JSON.parse(readFileSync(f, "utf8"))[runtime] : undefined) ?? [];
  const m = Array.isArray(rows) ? rows.find((x) => x.module === (b.module ?? "full") && x.module_bytes === moduleBytes) : undefined;
  if (!m || m.high_mark_smallest_stack === undefined)
    return { source: `${runtime} not measured for this module (npm run footprint with build/tinycmp-${runtime})` };
  return runtime === "wamr"
    ? {
        bytes: m.high_mark_smallest_stack + 65536 + moduleBytes,
        source: `WAMR pool high mark at a ${m.smallest_stack} B stack (npm run footprint) + 64 KiB linear memory + module`,
      }
    : { bytes: m.high_mark_smallest_stack + moduleBytes, source: `wasm3 heap high mark at a ${m.smallest_stack} B stack (npm run footprint) + module` };
}

/** The import rows of docs/ABI.md (`env.name` -> signature), plus env.panic which it documents apart. */
export function abiImports(): Map<string, string> {
  const doc = readFileSync(join(root, "docs/ABI.md"), "utf8");
  const section = doc.split(/^## /m).find((s) => s.startsWith("Imports")) ?? "";
  const rows = new Map<string, string>([["env.panic", "(i32, i32) -> nil"]]);
  for (const line of section.split("\n")) {
    const m = /^\| `([^`]+)` \| `([^`]+)` \|/.exec(line);
    if (m) rows.set(m[1], m[2]);
  }
  return rows;
}

/** Features (of FEATURES) the module needs: those whose disabling makes wasm-validate fail. */
export function featuresUsed(file: string): string[] | undefined {
  const probe = spawnSync("wasm-validate", ["--version"]);
  if (probe.status !== 0) return undefined;
  return FEATURES.filter((f) => spawnSync("wasm-validate", [`--disable-${f}`, file]).status !== 0);
}

export function checkBoard(b: Board, file: string, bin: Uint8Array, used: string[] | undefined, abi: Map<string, string>): BoardResult {
  const info = wasmInfo(bin);
  const problems: string[] = [];
  // imports: in the ABI with its signature, and provided by this board's host
  for (const i of info.imports) {
    const key = `${i.module}.${i.name}`;
    const sig = i.sig ? sigText(i.sig) : i.kind;
    if (!abi.has(key)) problems.push(`import ${key} is not in docs/ABI.md`);
    else if (abi.get(key) !== sig) problems.push(`import ${key} is ${sig}, ABI says ${abi.get(key)}`);
    if (i.module !== "env" || !b.host_imports.includes(i.name)) problems.push(`host does not provide ${key}`);
  }
  // features
  const missing = used ? used.filter((f) => !b.features.includes(f)) : [];
  if (!used) problems.push("features not checked: wasm-validate (wabt) not found");
  for (const f of missing) problems.push(`uses ${f}, which ${b.runtime} on this board lacks`);
  // memory and size
  // the initial pages must fit; pages above them are only grown on demand (the full module for a
  // response above its 16 KiB I/O buffer, docs/ABI.md), and a host that refuses gets an error
  const pages = info.memory?.initial ?? Infinity;
  if (!info.memory || info.memory.maximum === undefined) problems.push("linear memory has no maximum");
  else if (pages > b.memory_pages) problems.push(`memory of ${pages} pages > ${b.memory_pages}`);
  if (bin.length > b.module_budget_bytes) problems.push(`module ${bin.length} B > budget ${b.module_budget_bytes} B`);
  // flash slots: inside the region and the flash, no overlap, erase-block aligned, enough of them
  const f = b.flash;
  const lo = f.region_offset ?? 0,
    hi = lo + f.region_bytes;
  if (b.flash_bytes !== undefined && hi > b.flash_bytes) problems.push(`flash region ends at ${hi} > flash ${b.flash_bytes}`);
  const slots = [...f.slots].sort((x, y) => x.offset - y.offset);
  slots.forEach((s, k) => {
    if (s.offset < lo || s.offset + s.size > hi) problems.push(`slot at ${s.offset} (+${s.size}) outside the flash region`);
    if (k > 0 && slots[k - 1].offset + slots[k - 1].size > s.offset) problems.push(`slots at ${slots[k - 1].offset} and ${s.offset} overlap`);
    if (f.erase_block_bytes && (s.offset % f.erase_block_bytes || s.size % f.erase_block_bytes))
      problems.push(`slot at ${s.offset} not aligned to the ${f.erase_block_bytes} B erase block`);
    if (s.size < MIN_SLOT_BYTES) problems.push(`slot at ${s.offset} smaller than ${MIN_SLOT_BYTES} B`);
  });
  if (slots.length < MIN_SLOTS) problems.push(`${slots.length} flash slots < ${MIN_SLOTS}`);
  // RAM: measured figures against the budget
  const ram = ramMeasured(b, bin.length);
  const budget = b.ram_budget_bytes ?? b.ram_bytes;
  if (ram.bytes !== undefined && ram.bytes > budget) problems.push(`RAM ${ram.bytes} B (${ram.source}) > budget ${budget} B`);
  void file;
  return {
    board: b.board,
    runtime: b.runtime,
    fits: problems.length === 0,
    module_bytes: bin.length,
    module_budget_bytes: b.module_budget_bytes,
    memory_pages: info.memory?.initial ?? 0,
    memory_pages_max: info.memory?.maximum ?? 0,
    memory_pages_allowed: b.memory_pages,
    features_used: used ?? [],
    features_missing: missing,
    imports: info.imports.map((i) => `${i.module}.${i.name}`),
    slots: slots.length,
    slot_bytes: slots.reduce((n, s) => n + s.size, 0),
    problems,
    ram_measured_bytes: ram.bytes,
    ram_source: ram.source,
    ram_budget: budget,
  };
}

export function loadBoards(dir = join(root, "boards")): Board[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")) as Board);
}

export const MODULES: Record<string, string> = { full: "build/tinycmp.wasm", lean: "build/tinycmp-lean.wasm" };

/** Every board against its module (or `file` for all). */
export function checkAll(file?: string): BoardResult[] {
  const abi = abiImports();
  const cache = new Map<string, { bin: Uint8Array; used: string[] | undefined }>();
  return loadBoards().map((b) => {
    const f = file ?? join(root, MODULES[b.module ?? "full"] ?? MODULES.full);
    if (!cache.has(f)) cache.set(f, { bin: readFileSync(f), used: featuresUsed(f) });
    const { bin, used } = cache.get(f)!;
    return { ...checkBoard(b, f, bin, used, abi), module: file ?? b.module ?? "full" };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mi = process.argv.indexOf("--module");
  const results = checkAll(mi > 0 ? process.argv[mi + 1] : undefined);
  if (process.argv.includes("--json")) console.log(JSON.stringify(results, null, 2));
  else {
    const row = (c: string[]) => console.log(c.map((x, i) => x.padEnd([18, 16, 5, 15, 7, 26, 12, 6, 15][i] ?? 0)).join(" "));
    row(["board", "runtime", "fits", "module/budget", "pages", "features used", "slots", "module", "RAM/budget"]);
    for (const r of results) {
      row([
        r.board,
        r.runtime,
        r.fits ? "yes" : "NO",
        `${r.module_bytes}/${r.module_budget_bytes}`,
        `${r.memory_pages}/${r.memory_pages_allowed}`,
        r.features_used.join(",") || "mvp",
        `${r.slots}×${r.slot_bytes / r.slots}`,
        r.module ?? "",
        r.ram_measured_bytes === undefined ? "not measured" : `${r.ram_measured_bytes}/${r.ram_budget}`,
      ]);
      if (r.ram_measured_bytes === undefined) console.log(`    (RAM: ${r.ram_source})`);
      for (const p of r.problems) console.log(`    - ${p}`);
    }
  }
  process.exit(results.every((r) => r.fits) ? 0 : 1);
}
