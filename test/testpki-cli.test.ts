// `tinycmp testpki --dir DIR`: the standalone test PKI for other clients, stopped by SIGTERM.
import { expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Device } from "../host/node/lib/device";
import { nameDer, p256Scalar, readCerts } from "../host/node/lib/files";

it("prints its URL, writes testpki.json and its PEM files, enrolls a client, stops on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tinycmp-testpki-cli-"));
  const bin = new URL("../bin/tinycmp.mjs", import.meta.url).pathname;
  const proc = spawn("node", [bin, "testpki", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    const deadline = Date.now() + 30_000;
    while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`testpki did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const j = JSON.parse(readFileSync(join(dir, "testpki.json"), "utf8"));
    expect(Object.keys(j).sort()).toEqual(["idevid_cert", "idevid_key", "issuing_ca", "manufacturer_root", "ref", "root", "secret", "url"].sort());
    expect(out).toContain(j.url);
    // a device enrolls with the files it wrote: the IDevID signs the ir, the root checks the answer
    const [idevid, ...chain] = readCerts(j.idevid_cert);
    const d = Device.http({ url: `${j.url}/pkix/`, msgTimeoutMs: 10_000 });
    const o = await d.enroll({
      key: p256Scalar(readFileSync(j.idevid_key)),
      cert: idevid,
      extraCerts: chain,
      trusted: readCerts(j.root),
      subject: nameDer("/CN=testpki cli client"),
    });
    d.close();
    expect(o.cert).toBeDefined();
  } finally {
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
  }
  expect(proc.exitCode).toBe(0);
});
