// The fuzzer (host/node/tools/fuzz.ts) as a test: every saved regression case replays without a trap or
// hang, and a bounded run (about 20 s, live capture from openssl cmp and the test PKI included)
// finds no trap and no hang. Longer runs: `npm run fuzz -- --seconds 60 --json`.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CASES_DIR, FuzzCore, runCase, runFuzz, type Case } from "../host/node/tools/fuzzer";

describe("fuzz", () => {
  const cases = readdirSync(CASES_DIR).filter((f) => f.endsWith(".json"));
  it(`replays ${cases.length} saved regression cases without a trap or hang`, () => {
    for (const f of cases) {
      const c = JSON.parse(readFileSync(CASES_DIR + f, "utf8")) as Case;
      const fc = new FuzzCore("now" in c ? c.now : Math.floor(Date.now() / 1000));
      const r = runCase(fc, c);
      expect(r.ms, f).toBeLessThan(1000);
      expect(fc.core.memory.buffer.byteLength).toBe(65536);
    }
  });

  it("a 20 s run: 0 traps, 0 hangs, memory one page", async () => {
    const res = await runFuzz({ seconds: 20, seed: 20260101, saveDir: null });
    console.log(
      `fuzz: ${res.execs} execs (${JSON.stringify(res.byTarget)}), accepted ${res.accepted}, ${Object.keys(res.errors).length} distinct errors, slowest ${res.maxMs.toFixed(1)} ms`,
    );
    expect(res.execs).toBeGreaterThan(1000);
    expect(Object.keys(res.errors).length).toBeGreaterThan(10);
    expect(res.traps).toBe(0);
    expect(res.hangs).toBe(0);
  }, 90_000);
});
