// `npm run startup [-- --runs N] [--json]`: start-up time and peak RSS of the installed `tinycmp`
// command beside Node itself and `openssl cmp`, each run N times in turn (median). The package
// layout (bin/, dist/, build/*.wasm) is copied to a temp dir, so the compiled CLI runs as after
// `npm install`, with this checkout's node_modules for the runtime dependencies. Needs GNU time
// (/usr/bin/time, Debian package "time") for the RSS.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 10;
const dir = mkdtempSync(join(tmpdir(), "tinycmp-startup-"));
for (const p of ["bin/tinycmp.mjs", "dist", "build/tinycmp.wasm", "build/tinycmp-lean.wasm", "package.json"])
  cpSync(join(root, p), join(dir, p), { recursive: true });
symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
const bin = join(dir, "bin/tinycmp.mjs");
const refused = ["-cmd", "genm", "-server", "127.0.0.1:1", "-ref", "r", "-secret", "pass:s"];
const commands = [
  ["node -e 0", ["node", "-e", "0"]],
  ["tinycmp -help", ["node", bin, "-help"]],
  ["openssl cmp -help", ["openssl", "cmp", "-help"]],
  ["tinycmp -cmd genm (connection refused)", ["node", bin, ...refused]],
  ["openssl cmp -cmd genm (connection refused)", ["openssl", "cmp", ...refused]],
];
const samples = commands.map(() => []);
for (let i = 0; i < runs; i++) {
  commands.forEach(([, argv], k) => {
    const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %M %U %S", ...argv], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, OPENSSL_CONF: "/dev/null" },
    });
    const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr ?? "");
    if (!m) throw new Error(`${argv.join(" ")}: no measurement (is GNU time installed?) ${r.error ?? r.stderr}`);
    samples[k].push([Number(m[1]), Number(m[2]), Number(m[3]) + Number(m[4])]);
  });
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = commands.map(([name], k) => ({
  command: name,
  seconds: median(samples[k].map((s) => s[0])),
  cpuSeconds: median(samples[k].map((s) => s[2])),
  rssMB: median(samples[k].map((s) => s[1])) / 1024,
}));
if (process.argv.includes("--json")) console.log(JSON.stringify(rows));
else {
  console.log(`| command (median of ${runs}) | wall s | CPU s | peak RSS MB |\n|---|---|---|---|`);
  for (const r of rows) console.log(`| \`${r.command}\` | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${r.rssMB.toFixed(0)} |`);
}
