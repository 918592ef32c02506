// Memory of a transaction: an ir + certConf and a signed kur whose responses are ~8 KiB (large
// RSA-4096 certificates in extraCerts) run in the one 64 KiB page; the used memory is measured
// with canaries (test/helpers/memscan.ts).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device, type Transport } from "../host/node/lib/device";
import { HttpTransport } from "../host/node/lib/transport";
import { MemScan, scratchMask } from "./helpers/memscan";
import { makeCreds, startServer, type Creds, type MockServer } from "./helpers/openssl-cmp";

const env = { ...process.env, OPENSSL_CONF: "/dev/null" };

/** A PEM file of the root and `n` self-signed RSA-4096 certificates (about 1.3 KiB each). */
export function bigExtraCerts(creds: Creds, n: number): string {
  execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", "-out", "fill.key"], { cwd: creds.dir, env, stdio: "ignore" });
  let pem = readFileSync(creds.file("root.crt"), "utf8");
  for (let i = 0; i < n; i++) {
    execFileSync(
      "openssl",
      ["req", "-x509", "-new", "-key", "fill.key", "-subj", `/CN=tinycmp filler certificate ${i}`, "-days", "30", "-out", `fill${i}.crt`],
      { cwd: creds.dir, env, stdio: "ignore" },
    );
    pem += readFileSync(creds.file(`fill${i}.crt`), "utf8");
  }
  writeFileSync(creds.file("extra8k.pem"), pem);
  return "extra8k.pem";
}

/** Runs one transaction against `url` with canaries in memory: the outcome, memory use, largest response. */
export async function measured(url: string, req: object, wasm = "build/tinycmp.wasm", entry = "assembly/abi.ts", target = "release", canary = 0xa5) {
  const { mask } = scratchMask(entry, target, wasm);
  const inner = new HttpTransport({ url });
  let biggest = 0;
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
  const device = new Device(transport, { wasm });
  const scan = new MemScan(device.core, canary, mask);
  try {
    const outcome = await device.enroll(req as any);
    return { outcome, mem: scan.result(), biggest };
  } finally {
    device.close();
  }
}

describe("a transaction with an 8 KiB response fits one page", () => {
  let creds: Creds, srv: MockServer;
  beforeAll(async () => {
    creds = makeCreds();
    const extra = bigExtraCerts(creds, 6);
    srv = await startServer(creds, ["-rsp_extracerts", extra]);
  }, 60000);
  afterAll(async () => {
    await srv?.stop();
  });

  it("ir with PBM and certConf", async () => {
    const { outcome, mem, biggest } = await measured(srv.url, {
      op: "ir",
      secret: "secret",
      ref: "ref",
      newKey: creds.scalar("rsp.key"),
      subject: creds.subjectDer("rsp.crt"),
    });
    expect(biggest).toBeGreaterThanOrEqual(8000);
    expect(outcome.cert).toEqual(creds.der("rsp.crt"));
    expect(outcome.extraCerts.length).toBeGreaterThanOrEqual(6);
    expect(outcome.extraCerts).toContainEqual(creds.der("fill4.crt"));
    expect(mem.pages).toBe(1);
    expect(mem.highest).toBeLessThanOrEqual(65536);
    console.log(`ir + certConf, ${biggest} B response: ${mem.used} B used, highest address ${mem.highest}`);
  });

  it("kur signed with the current key, chain validated", async () => {
    const { outcome, mem, biggest } = await measured(srv.url, {
      op: "kur",
      key: creds.scalar("rsp.key"),
      cert: creds.der("rsp.crt"),
      oldCert: creds.der("rsp.crt"),
      subject: creds.subjectDer("rsp.crt"),
      newKey: creds.scalar("rsp.key"),
      trusted: [creds.der("root.crt")],
    });
    expect(biggest).toBeGreaterThanOrEqual(8000);
    expect(outcome.cert).toEqual(creds.der("rsp.crt"));
    expect(outcome.chain[outcome.chain.length - 1]).toEqual(creds.der("root.crt"));
    expect(outcome.extraCerts).toContainEqual(creds.der("fill4.crt"));
    expect(mem.pages).toBe(1);
    console.log(`kur + certConf, ${biggest} B response: ${mem.used} B used, highest address ${mem.highest}`);
  });
});
