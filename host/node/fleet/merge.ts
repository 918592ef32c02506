// `tinycmp fleet merge a.json b.json ... [--report all.html] [--json]`: adds up the --json
// summaries of a fleet's shards (one process each, `npm run fleet -- --shard I/N --json`) into the
// summary one run of all devices would print; percentiles come from the merged histograms.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { renderReport } from "./report";
import { mergeSummaries, type Summary } from "./summary";

const USAGE = "usage: tinycmp fleet merge SHARD.json ... [--report FILE.html] [--json]";

/** The last line of a file that is a JSON object (a shard's stdout may carry text before it). */
function lastJson(text: string, where: string): Summary {
  const lines = text
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"));
  if (!lines.length) throw new Error(`${where}: no JSON summary in it`);
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

export async function fleetMain(argv: string[]): Promise<number> {
  if (argv[0] !== "merge") {
    console.error(`tinycmp fleet: unknown subcommand "${argv[0] ?? ""}" (npm run fleet runs a fleet)\n${USAGE}`);
    return 2;
  }
  let a;
  try {
    a = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: { report: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    console.error(`tinycmp fleet merge: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (a.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!a.positionals.length) {
    console.error(`tinycmp fleet merge: no shard summaries given\n${USAGE}`);
    return 2;
  }
  let merged: Summary;
  try {
    merged = mergeSummaries(a.positionals.map((f) => ({ summary: lastJson(readFileSync(f, "utf8"), f), where: f })));
  } catch (e) {
    console.error(`tinycmp fleet merge: ${(e as Error).message}`);
    return 1;
  }
  if (a.values.report) writeFileSync(a.values.report, renderReport(merged));
  if (a.values.json) console.log(JSON.stringify(merged));
  else {
    console.log(`${a.positionals.length} shards, ${merged.devices} devices, scenario ${merged.scenario} against ${merged.server}`);
    console.log(`devices ok ${merged.ok}, failed ${merged.failed} in ${merged.seconds} s: ${merged.per_second} operations/s`);
    for (const [op, s] of Object.entries(merged.operations))
      console.log(`  ${op}: ok ${s.ok}, failed ${s.failed}, p50 ${s.p50_ms ?? "-"} ms, p95 ${s.p95_ms ?? "-"} ms, p99 ${s.p99_ms ?? "-"} ms`);
    for (const [r, n] of Object.entries(merged.failures)) console.log(`  ${n} x ${r}`);
    if (a.values.report) console.log(`report written to ${a.values.report}`);
  }
  return 0;
}
