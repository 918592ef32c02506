// `tinycmp inspect` over every real CMP message in ../shared/vectors: the body type, and the
// protection verified by the core with the secret or signer that vectors/README.md documents.
import { describe, expect, it, vi } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { inspect } from "../host/node/lib/inspect";
import { readCerts } from "../host/node/lib/files";
import { VECTORS } from "./helpers/vectors";
import { E_CERT_EXPIRED } from "../host/node/lib/abi";

// Rows of the table "What each message is": file | body | protection | protected by
const rows = readFileSync(VECTORS + "README.md", "utf8")
  .split("\n")
  .map((l) => /^\| ((?:lwcmpra|rustcrypto-cmpv2|go-pkicmp)\/\S+) \| (\w+) \| ([^|]+) \| ([^|]+) \|$/.exec(l))
  .filter((m): m is RegExpExecArray => m !== null)
  .map(([, file, body, protection, by]) => ({ file, body, protection: protection.trim(), by: by.trim() }));

const ROOT_FILES = readdirSync(VECTORS + "lwcmpra/roots").map((f) => VECTORS + "lwcmpra/roots/" + f);
const roots = ROOT_FILES.map((f) => readCerts(f)[0]);
// the lwcmpra flows were made on 2022-07-27 (their messageTime, 08:47 to 08:52 UTC)
const FLOW_TIME = Date.UTC(2022, 6, 27, 9) / 1000;
const rustSigner = readCerts(VECTORS + "rustcrypto-cmpv2/ec384-server-key.crt")[0];

describe("tinycmp inspect on the shared vectors", () => {
  it("the README lists every message", () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(rows)("$file: $body, protection verifies", ({ file, body, protection, by }) => {
    const msg = new Uint8Array(readFileSync(VECTORS + file));
    const mac = /^PB/.test(protection);
    const secret = mac ? /macCheck=(\S+)/.exec(by)![1] : undefined;
    const srvCert = !mac && file.startsWith("rustcrypto") ? rustSigner : undefined;
    const isResponse = /_(REP|CONFIRM)\.der$/.test(file) && /CMPCA/.test(by);
    // the 2022 flows validate at their own time, given as -attime (inspect never takes messageTime)
    const r = inspect(msg, { secret, srvCert, trusted: file.startsWith("lwcmpra") && isResponse ? roots : undefined, at: FLOW_TIME });
    expect(r.body).toBe(body);
    if (/keyLength read as BITS/.test(by)) {
      // documented producer quirk: not valid per RFC 8018, valid only when keyLength is read as bits
      expect(r.protection.verified).toBe(false);
      expect(r.protection.note).toMatch(/keyLength read as bits/);
    } else {
      expect(r.protection.verified, r.protection.note).toBe(true);
    }
    if (mac) expect(inspect(msg, { secret: secret + "x" }).protection.verified).toBe(false);
    if (file.startsWith("lwcmpra") && isResponse) expect(r.trusted, r.protection.note).toBe(true);
  });

  it("lwcmpra responses are not trusted without their root, nor after the root expired", () => {
    const msg = new Uint8Array(readFileSync(VECTORS + "lwcmpra/Kur/downstream_KEY_UPDATE_REP.der"));
    expect(inspect(msg, { trusted: [rustSigner], at: FLOW_TIME }).trusted).toBe(false);
    expect(inspect(msg, { trusted: roots, at: Date.UTC(2031, 0, 1) / 1000 }).trusted).toBe(false);
  });

  it("validates at the current time unless -attime is given, and says which", () => {
    const msg = new Uint8Array(readFileSync(VECTORS + "lwcmpra/Kur/downstream_KEY_UPDATE_REP.der"));
    const atFlow = inspect(msg, { trusted: roots, at: FLOW_TIME });
    expect(atFlow.trusted).toBe(true);
    expect(atFlow.trustedAt).toEqual({ time: "2022-07-27T09:00:00Z", source: "attime" });
    // in 2031 the signer (valid 2020-09-03 to 2030-09-01) has expired; its messageTime (2022) is
    // inside its validity, and a sender chooses its messageTime: only the clock counts
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.UTC(2031, 0, 1));
      const later = inspect(msg, { trusted: roots });
      expect(later.header.messageTime).toMatch(/^2022-07-27/);
      expect(later.trustedAt).toEqual({ time: "2031-01-01T00:00:00Z", source: "current time" });
      expect(later.trusted).toBe(false);
      expect(later.protection.note).toContain(`signer path check failed (error ${E_CERT_EXPIRED} E_CERT_EXPIRED)`);
    } finally {
      vi.useRealTimers();
    }
    const bin = new URL("../bin/tinycmp.mjs", import.meta.url).pathname;
    const args = ["inspect", VECTORS + "lwcmpra/Kur/downstream_KEY_UPDATE_REP.der", "-trusted", ROOT_FILES.join(",")];
    const run = (...more: string[]) => spawnSync("node", [bin, ...args, ...more], { encoding: "utf8", timeout: 30_000 }).stdout;
    expect(run()).toMatch(/signer trusted at \S+ \(current time\): true/);
    expect(run("-attime", String(Date.UTC(2031, 0, 1) / 1000))).toMatch(/signer trusted at 2031-01-01T00:00:00Z \(attime\): false/);
    expect(run("-attime", String(FLOW_TIME))).toMatch(/signer trusted at 2022-07-27T09:00:00Z \(attime\): true/);
  });

  it("a flipped bit in the protected part is detected", () => {
    const msg = new Uint8Array(readFileSync(VECTORS + "go-pkicmp/cr_golden.der"));
    msg[40] ^= 1;
    expect(inspect(msg, { secret: "pass" }).protection.verified).toBe(false);
  });

  it("the command prints JSON and exits 0, or exits non-zero on a non-message", () => {
    const bin = new URL("../bin/tinycmp.mjs", import.meta.url).pathname;
    const ok = spawnSync("node", [bin, "inspect", VECTORS + "go-pkicmp/ir_golden.der", "-secret", "pass:pass", "--json"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(ok.status).toBe(0);
    const j = JSON.parse(ok.stdout.trim().split("\n").pop()!);
    expect(j).toMatchObject({ body: "ir", protection: { alg: "1.2.840.113533.7.66.13", verified: true }, trusted: null });
    const bad = spawnSync("node", [bin, "inspect", VECTORS + "README.md"], { encoding: "utf8", timeout: 30_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/tinycmp: inspect/);
  });
});
