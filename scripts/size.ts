// `npm run size [-- --json]`: bytes and gzip bytes of the built modules.
import { existsSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const modules = ["build/tinycmp.wasm", "build/tinycmp-lean.wasm"].filter((m) => existsSync(m));
const rows = modules.map((module) => {
  const bin = readFileSync(module);
  return { module, bytes: bin.length, gzip: gzipSync(bin, { level: 9 }).length };
});
for (const r of rows) console.log(`${r.module.padEnd(24)} ${String(r.bytes).padStart(7)} B  gzip ${String(r.gzip).padStart(7)} B`);
if (process.argv.includes("--json")) console.log(JSON.stringify(rows));
