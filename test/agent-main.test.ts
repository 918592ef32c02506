// `tinycmp agent` (host/node/cli/agent-main.ts): configuration checked key by key (exit status 2 naming
// the key, before the store is touched), usage errors, subjects as the CLI reads them, idempotent
// provisioning, `--once` with nothing to do, a store that cannot be written.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { ConfigError, agentMain, loadConfig, parseArgs } from "../host/node/cli/agent-main";
import { nameDer } from "../host/node/lib/files";
import { buildRequest } from "../host/node/cli/cli";
import { TestPki } from "../host/node/testpki/index";

let pki: TestPki;
let dir: string;
beforeAll(async () => {
  pki = await TestPki.start();
  dir = mkdtempSync(join(tmpdir(), "tinycmp-agent-main-"));
  writeFileSync(join(dir, "root.pem"), pki.root.certPem);
});
afterAll(async () => {
  await pki?.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const config = (o: unknown, name = "c.json") => file(name, typeof o === "string" ? o : JSON.stringify(o));

/** agentMain in this process: exit status and what it printed. */
async function agent(...argv: string[]) {
  const out: string[] = [],
    err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((s) => void out.push(String(s)));
  const error = vi.spyOn(console, "error").mockImplementation((s) => void err.push(String(s)));
  try {
    return { code: await agentMain(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("agent configuration", () => {
  const good = { url: "http://127.0.0.1:1/pkix/", subject: "CN=x" };
  const refused: [unknown, RegExp][] = [
    ['{ "url": ', /malformed JSON/],
    ["[1]", /must be a JSON object/],
    [{ ...good, renewshare: 0.5 }, /unknown key "renewshare"/],
    [{ ...good, renewShare: "0.5" }, /"renewShare" must be a number between 0 and 1/],
    [{ ...good, renewShare: 0 }, /"renewShare"/],
    [{ ...good, renewShare: 1 }, /"renewShare"/],
    [{ ...good, renewShare: 1.5 }, /"renewShare"/],
    [{ ...good, renewShare: -0.1 }, /"renewShare"/],
    [{ ...good, url: "ca.example/pkix" }, /"url" must be an http:\/\/ or https:\/\/ URL/],
    [{ ...good, url: "ftp://ca.example/" }, /"url"/],
    [{ ...good, url: 42 }, /"url" must be a string/],
    [{ ...good, attempts: 0 }, /"attempts"/],
    [{ ...good, attempts: 2.5 }, /"attempts"/],
    [{ ...good, backoffBase: -1 }, /"backoffBase"/],
    [{ ...good, checkInterval: null }, /"checkInterval"/],
    [{ ...good, implicitConfirm: "yes" }, /"implicitConfirm" must be true or false/],
    [{ ...good, subject: "/CN" }, /"subject" must be a distinguished name/],
    [{ ...good, subject: 7 }, /"subject"/],
    [{ ...good, trusted: 5 }, /"trusted"/],
    [{ ...good, trusted: "/nonexistent/root.pem" }, /"trusted": cannot read/],
    [{ ...good, ref: "r" }, /"ref" and "secret" go together/],
    [{ subject: "CN=x" }, /no CMP server/],
  ];
  refused.forEach(([c, why], i) => {
    it(`refuses ${JSON.stringify(c)} naming the key, exit 2, store untouched`, async () => {
      const store = join(dir, `untouched-${i}`);
      const r = await agent("--store", store, "--once", "--config", config(c));
      expect(r.code).toBe(2);
      expect(r.err.split("\n")[0]).toMatch(why);
      expect(existsSync(store)).toBe(false);
    });
  });

  it("a missing configuration file and a trusted file without a certificate: exit 2", async () => {
    expect((await agent("--store", join(dir, "s0"), "--config", join(dir, "nope.json"))).err).toMatch(/cannot read the configuration file .*nope.json: ENOENT/);
    const r = await agent("--store", join(dir, "s0"), "--config", config({ ...good, trusted: file("empty.pem", "no certificate here") }));
    expect([r.code, r.err.split("\n")[0]]).toEqual([2, expect.stringMatching(/empty.pem holds no PEM certificate/)]);
  });

  it("accepts every documented key; subjects parse as the CLI's do", () => {
    const c = loadConfig(
      config({
        url: "https://ca.example/.well-known/cmp",
        subject: "/CN=device-42/O=Acme/C=DE",
        trusted: join(dir, "root.pem"),
        renewShare: 0.333,
        implicitConfirm: true,
        attempts: 5,
        backoffBase: 2,
        backoffMax: 300,
        checkInterval: 3600,
        resumeWithin: 600,
        ref: "r",
        secret: "s",
      }),
      {},
    );
    expect(c.trusted).toEqual([pki.root.der]);
    // the CLI's parser (openssl's /type=value syntax and its string types)
    expect(Buffer.from(nameDer(c.subject))).toEqual(
      Buffer.from(buildRequest("ir", { subject: c.subject, secret: "pass:s", newkeyout: "k", certout: "c" }).subject!),
    );
    expect(loadConfig(config({}), { TINYCMP_URL: "http://127.0.0.1:9/" }).url).toBe("http://127.0.0.1:9/");
    expect(() => loadConfig(config({}), { TINYCMP_URL: "127.0.0.1:9" })).toThrow(/"url"/);
  });

  it("unknown options and missing values are usage errors (exit 2)", async () => {
    for (const argv of [
      ["--store", "x", "--onse"],
      ["--store"],
      ["--once"],
      ["--store", "x", "--config"],
      ["--store", "x", "--provision", "k.pem"],
      ["--store", "x", "--once", "--decommission"],
      ["--store", "x", "extra"],
    ]) {
      expect(() => parseArgs(argv), argv.join(" ")).toThrow(ConfigError);
      const r = await agent(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toMatch(/usage: tinycmp agent/);
    }
  });
});

describe("agent command", () => {
  it("provisioning twice says what exists; another IDevID is refused; a key that is not the certificate's too", async () => {
    const dev = await pki.createIdevid("SN-M1"),
      other = await pki.createIdevid("SN-M2");
    const key = file("m1.key", dev.keyPem),
      cert = file("m1.pem", dev.certPem),
      chain = file("m1-chain.pem", dev.chain.join(""));
    const store = join(dir, "prov");
    expect(await agent("--store", store, "--provision", file("m2.key", other.keyPem), cert)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/does not match the certificate/),
    });
    const first = await agent("--store", store, "--provision", key, cert, chain);
    expect(first.code).toBe(0);
    expect(statSync(store).mode & 0o777).toBe(0o700);
    for (let i = 0; i < 7; i++) expect(statSync(join(store, `slot-${i}.bin`)).mode & 0o777, `slot ${i}`).toBe(0o600);
    const again = await agent("--store", store, "--provision", key, cert, chain);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ event: "idevid.provisioned", store: "already provisioned with this IDevID" });
    const before = readFileSync(join(store, "slot-0.bin"));
    const another = await agent("--store", store, "--provision", file("m2.key", other.keyPem), file("m2.pem", other.certPem));
    expect(another.code).toBe(2);
    expect(another.err).toMatch(/already holds an IDevID \(.*SN-M1.*serial/);
    expect(another.err).not.toMatch(/tinycmp failed|-126/);
    expect(readFileSync(join(store, "slot-0.bin"))).toEqual(before);

    // enrolled, then --once has nothing to do and says so
    const c = config({ url: pki.url, subject: "/CN=agent main", trusted: join(dir, "root.pem") }, "run.json");
    expect((await agent("--store", store, "--once", "--config", c)).code).toBe(0);
    const idle = await agent("--store", store, "--once", "--config", c);
    expect(idle.code).toBe(0);
    const line = JSON.parse(idle.out);
    expect(line).toMatchObject({ event: "idle", store: expect.stringMatching(/nothing to do/) });
    expect(Date.parse(line.renewAt)).toBeGreaterThan(Date.now());
    expect(line.subject).toContain("CN=agent main");

    // decommission, then again: it says what the store holds
    const d1 = await agent("--store", store, "--decommission", "--config", c);
    expect(d1.code).toBe(0);
    const d2 = await agent("--store", store, "--decommission", "--config", c);
    expect(d2.code).toBe(0);
    expect(d2.out).toMatch(/already decommissioned/);
    const once = await agent("--store", store, "--once", "--config", c);
    expect(once.code).toBe(2);
    expect(once.out).toMatch(/"event":"agent.stopped.permanent".*provision the device again/);
  });

  it("--once on a 0-byte slot file when the disk is full: one clear line, no trap", async () => {
    const dev = await pki.createIdevid("SN-M3");
    const store = join(dir, "full");
    expect((await agent("--store", store, "--provision", file("m3.key", dev.keyPem), file("m3.pem", dev.certPem))).code).toBe(0);
    writeFileSync(join(store, "slot-5.bin"), ""); // as a kill of an older version left it
    symlinkSync("/dev/full", join(store, "slot-5.tmp")); // every write of that slot: ENOSPC
    const c = config({ url: pki.url, subject: "CN=full", trusted: join(dir, "root.pem") }, "full.json");
    const r = await agent("--store", store, "--once", "--config", c);
    expect(r.code).toBe(1); // a restart may find space
    expect(r.err).toMatch(/the store .*full cannot be written \(ENOSPC: no space left on device/);
    expect(new X509Certificate(dev.certPem)).toBeDefined();
  });
});
