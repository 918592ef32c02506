// The native fuzz harnesses of fuzz/ (libFuzzer over the wasm2c translation, `npm run fuzz:native`)
// as a test: they build, every saved regression input and the kept corpus replay without a
// crash, the tx harness's answered and re-MACed seeds get through the protection check to DONE
// (the point of recomputing the MAC), the same response without the recomputed MAC is refused,
// and the certificate differential reports a differing field. Fuzzing itself is the time-boxed
// check of .ci/run (`npx tsx host/node/tools/fuzz-native.ts --seconds 90 --json`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGETS, writeSeeds } from "../host/node/tools/fuzz-native";
import { parse, write, type Node } from "../host/node/tools/fuzz-der";

const root = fileURLToPath(new URL("..", import.meta.url));
const B = join(root, "build/fuzz-native");
const SEEDS = join(B, "seeds");

// clang with libFuzzer is required (CI installs clang, libclang-rt-14-dev, libssl-dev); only its
// true absence skips this file, visibly
const haveClang = spawnSync("sh", ["-c", "command -v clang && command -v wasm2c"]).status === 0;
if (!haveClang) console.warn("test/fuzz-native.test.ts skipped: clang or wasm2c not found (apt-get install clang libclang-rt-14-dev wabt libssl-dev)");
const suite = haveClang ? describe : describe.skip;

function harness(name: string, args: string[], env: Record<string, string> = {}) {
  const t = TARGETS.find((x) => x.name === name)!;
  const r = spawnSync(join(B, name), [`-artifact_prefix=${ART}/`, ...args], { env: { ...process.env, ...t.env, ...env }, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const ART = mkdtempSync(join(tmpdir(), "tinycmp-nfuzz-")); // inputs and crash files (the deliberate finding below)
const files = (d: string) => (existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : []);

suite("native fuzz harnesses (fuzz/)", () => {
  beforeAll(async () => {
    const mk = spawnSync("make", ["-s", "-C", join(root, "fuzz")], { encoding: "utf8", timeout: 900_000 });
    expect(mk.status, mk.stderr).toBe(0);
    await writeSeeds(true, () => {});
  }, 960_000);
  afterAll(() => rmSync(ART, { recursive: true, force: true }));

  it("replays every saved regression input and the kept corpus without a crash", () => {
    let n = 0;
    for (const t of TARGETS) {
      const inputs = [...files(join(root, "fuzz/regress", t.name)), ...files(join(root, "fuzz/corpus", t.name))];
      if (!inputs.length) continue;
      const r = harness(t.name, inputs);
      expect(r.code, `${t.name}: ${r.out.slice(-2000)}`).toBe(0);
      n += inputs.length;
    }
    expect(n).toBeGreaterThan(0);
  }, 300_000);

  it("answered, re-MACed seeds get through the protection check: DONE after ip and after pkiConf, a pollReq after an ip waiting", () => {
    for (const name of ["tx", "tx-lean"]) {
      const r = harness(name, ["-runs=0", join(SEEDS, name)]);
      expect(r.code, r.out.slice(-2000)).toBe(0);
      const m = r.out.match(/first (\d+) (\d+) (\d+) (\d+) (\d+); pkiConf (\d+) (\d+) (\d+) (\d+) (\d+); pollRep (\d+) (\d+) (\d+) (\d+) (\d+);/);
      expect(m, r.out.slice(-2000)).not.toBeNull();
      const [, firstSend, , firstDone, , , , , confDone, , , pollSend, , pollDone] = m!.map(Number);
      // the lean module asks for no implicitConfirm (certConf then follows: SEND) and does not poll
      if (name === "tx") expect(firstDone, `${name} DONE on a first response`).toBeGreaterThan(0);
      else expect(firstSend, `${name} certConf after a first response`).toBeGreaterThan(0);
      expect(confDone, `${name} DONE on a pkiConf`).toBeGreaterThan(0);
      if (name === "tx") expect(pollSend + pollDone, `${name} after pollReq`).toBeGreaterThan(0);
    }
  }, 300_000);

  it("a changed pkiConf header is accepted with the MAC recomputed and refused without it", () => {
    const outcome = (input: Uint8Array) => {
      const dir = mkdtempSync(join(ART, "in-"));
      writeFileSync(join(dir, "in"), input);
      const r = harness("tx", ["-runs=0", dir]);
      expect(r.code, r.out.slice(-2000)).toBe(0);
      return r.out
        .match(/pkiConf (\d+) (\d+) (\d+) (\d+) (\d+);/)!
        .slice(1)
        .map(Number);
    };
    const REMAC = 3 | (1 << 2),
      NO_REMAC = 1 | (1 << 2); // answered, in the pkiConf state, with / without the MAC recomputed
    const seed = files(join(SEEDS, "tx"))
      .map((f) => new Uint8Array(readFileSync(f)))
      .filter((b) => b[0] === 0 && b[1] === REMAC && parse(b.subarray(2))?.kids?.[1]?.tag[0] === 0xb3)
      .find((b) => outcome(b)[2] > 0);
    expect(seed, "a pkiConf seed that completes the transaction").toBeDefined();
    const m = parse(seed!.subarray(2))!;
    const hdr = m.kids![0].kids!;
    // freeText [7] PKIFreeText (RFC 9810 5.1.1), before generalInfo [8] when there is one
    const free: Node = {
      tag: new Uint8Array([0xa7]),
      kids: [{ tag: new Uint8Array([0x30]), kids: [{ tag: new Uint8Array([0x0c]), val: new Uint8Array([0x78]) }] }],
    };
    const at = hdr.findIndex((f) => f.tag[0] === 0xa8);
    hdr.splice(at < 0 ? hdr.length : at, 0, free);
    const changed = write(m);
    const withMac = outcome(new Uint8Array([0, REMAC, ...changed])),
      without = outcome(new Uint8Array([0, NO_REMAC, ...changed]));
    expect(withMac[2], "DONE with the MAC recomputed").toBeGreaterThan(0);
    expect(without[2], "DONE without it").toBe(0);
    expect(without[3], "FAILED without it").toBeGreaterThan(0);
  }, 300_000);

  it("the certificate differential reports a decoded field that differs from OpenSSL's", () => {
    const r = harness("cert", ["-runs=0", join(SEEDS, "cert")], { TINYCMP_FUZZ_SKEW: "1" });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("validity times differ");
    const ok = harness("cert", ["-runs=0", join(SEEDS, "cert")]);
    expect(ok.code, ok.out.slice(-2000)).toBe(0);
    expect(ok.out).toMatch(/both accept [1-9]/);
  }, 120_000);
});
