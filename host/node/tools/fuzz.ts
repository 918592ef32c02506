// `npm run fuzz -- --seconds S [--json] [--seed N] [--no-live] [--save-dir D]`: runs the mutation
// fuzzer (host/node/tools/fuzzer.ts) for S seconds and prints what it found; exits 1 on any trap or hang.
import { parseArgs } from "node:util";
import { errorName } from "../lib/abi";
import { runFuzz } from "./fuzzer";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    json: { type: "boolean" },
    seed: { type: "string" },
    "no-live": { type: "boolean" },
    "save-dir": { type: "string" },
  },
});
const seconds = Number(values.seconds);
const log = (s: string) => console.error(s);
const t = performance.now();
const seed = values.seed ? Number(values.seed) : Date.now() % 2 ** 31;
log(`seed ${seed} (repeat with --seed ${seed})`);
const res = await runFuzz({ seconds, seed, live: !values["no-live"], saveDir: values["save-dir"], log });
const secs = (performance.now() - t) / 1000;
console.log(
  `execs ${res.execs} (${Object.entries(res.byTarget)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}), ${(res.execs / seconds).toFixed(0)} execs/s over ${seconds} s (${secs.toFixed(1)} s with capture)`,
);
console.log(`accepted ${res.accepted}, traps ${res.traps}, hangs ${res.hangs}, slowest input ${res.maxMs.toFixed(1)} ms`);
console.log(
  `errors seen: ${Object.entries(res.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${/^-\d+$/.test(k) ? errorName(Number(k)) : k}:${v}`)
    .join(" ")}`,
);
if (values.json) console.log(JSON.stringify({ execs: res.execs, traps: res.traps, hangs: res.hangs, errors: res.errors }));
process.exit(res.traps + res.hangs > 0 ? 1 : 0);
