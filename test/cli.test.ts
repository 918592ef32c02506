// The `tinycmp` CLI against `openssl cmp` 3.0 as mock server (../shared/INTEROP.md): the same
// options as `openssl cmp`, exit status 0 on success, one line naming the failure otherwise.
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { cli } from "./helpers/cli-run";
import { makeCreds, type Creds, type MockServer, withMockServer } from "./helpers/openssl-cmp";

let creds: Creds;
let out: string;
beforeAll(() => {
  creds = makeCreds();
  out = mkdtempSync(join(tmpdir(), "tinycmp-cli-"));
}, 30_000);

const withServer = <T>(extra: string[], f: (s: MockServer) => Promise<T>, opts = {}) => withMockServer(creds, extra, f, opts);

const f = (n: string) => creds.file(n);
const server = (s: MockServer) => ["-server", `127.0.0.1:${s.port}/pkix/`, "-msg_timeout", "10", "-total_timeout", "60"];
const pbm = () => ["-ref", "ref", "-secret", "pass:secret"];
const enroll = (cmd: string, certout: string) => ["-cmd", cmd, "-newkey", f("rsp.key"), "-subject", "/CN=tinycmp device", "-certout", certout];
const sameCert = (file: string, name: string) =>
  expect(new X509Certificate(readFileSync(file)).raw.equals(new X509Certificate(readFileSync(f(name))).raw)).toBe(true);

describe("tinycmp CLI against openssl cmp", () => {
  it("ir with PBM writes the certificate, caPubs and extraCerts", async () => {
    const cert = join(out, "ir.pem"),
      capubs = join(out, "capubs.pem"),
      extra = join(out, "extra.pem");
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", cert), "-cacertsout", capubs, "-extracertsout", extra]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/ir done: subject "CN=tinycmp device"/);
    });
    sameCert(cert, "rsp.crt");
    sameCert(capubs, "root.crt");
    sameCert(extra, "root.crt");
  });

  it("ir with implicit confirm granted", async () => {
    await withServer(["-grant_implicitconf"], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "ic.pem")), "-implicit_confirm"]);
      expect(r.status, r.stderr).toBe(0);
    });
  });

  it("polling until the certificate comes", async () => {
    await withServer(["-poll_count", "2", "-check_after", "1"], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "poll.pem"))]);
      expect(r.status, r.stderr).toBe(0);
    });
  });

  it("a wrong secret fails with one line and status 1", async () => {
    await withServer([], async (s) => {
      const r = await cli([...server(s), "-ref", "ref", "-secret", "pass:wrong", ...enroll("ir", join(out, "x.pem"))]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^tinycmp: ir failed: /);
    });
  });

  it("a rejection names PKIStatus, failInfo and statusString", async () => {
    await withServer(["-pkistatus", "2", "-failure", "9", "-statusstring", "not today"], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "rej.pem"))]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/rejection/);
      expect(r.stderr).toMatch(/badPOP/);
      expect(r.stderr).toMatch(/not today/);
      expect(existsSync(join(out, "rej.pem"))).toBe(false);
    });
  });

  it("an error message from the server fails the command", async () => {
    await withServer(["-send_error"], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "err.pem"))]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^tinycmp: ir failed: .*error/);
    });
  });

  it("an unprotected positive response is refused", async () => {
    await withServer(["-send_unprotected"], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "unp.pem"))]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/protect/i);
    });
  });

  it("a certificate for another key is refused (the core made a new key, the server ignored it)", async () => {
    await withServer([], async (s) => {
      const r = await cli([
        ...server(s),
        ...pbm(),
        "-cmd",
        "ir",
        "-subject",
        "/CN=x",
        "-certout",
        join(out, "other.pem"),
        "-newkeyout",
        join(out, "other.key"),
      ]);
      expect(r.status).toBe(1);
      expect(existsSync(join(out, "other.pem"))).toBe(false);
      expect(existsSync(join(out, "other.key"))).toBe(false);
    });
  });

  it("-reqout/-rspout record the messages, -rspin replays them offline", async () => {
    const req = [0, 1].map((i) => join(out, `req${i}.der`)),
      rsp = [0, 1].map((i) => join(out, `rsp${i}.der`));
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "rec.pem")), "-reqout", req.join(","), "-rspout", rsp.join(",")]);
      expect(r.status, r.stderr).toBe(0);
    });
    const ins = await cli(["inspect", rsp[0], "-secret", "pass:secret", "--json"]);
    expect(JSON.parse(ins.stdout)).toMatchObject({ body: "ip", protection: { verified: true } });
    // replayed responses belong to another transaction: the core must refuse them
    const replay = await cli([...pbm(), ...enroll("ir", join(out, "replay.pem")), "-rspin", rsp.join(",")]);
    expect(replay.status).toBe(1);
    expect(replay.stderr).toMatch(/transactionID|nonce/i);
  });

  it("usage errors exit 2 with the usage text", async () => {
    const r = await cli(["-cmd", "ir", "-server", "127.0.0.1:1"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no protection/);
    expect((await cli(["-bogus"])).status).toBe(2);
  });

  it("the installed command runs: exit status of a failed connection", () => {
    const bin = new URL("../bin/tinycmp.mjs", import.meta.url).pathname;
    const r = spawnSync("node", [bin, "-cmd", "genm", "-server", "127.0.0.1:1", ...pbm(), "-msg_timeout", "5"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tinycmp: genm failed: .*ECONNREFUSED/);
  });
});

describe("tinycmp CLI: signature protection and the other operations", () => {
  const idevid = () => ["-cert", f("dev.crt"), "-key", f("dev.key"), "-trusted", f("root.crt")];

  for (const rsa of [false, true]) {
    it(`ir signed with the IDevID, ${rsa ? "RSA" : "EC"}-signed responses checked against -trusted`, async () => {
      const cert = join(out, `sig-ir-${rsa}.pem`),
        chain = join(out, `sig-chain-${rsa}.pem`);
      await withServer(
        [],
        async (s) => {
          const r = await cli([...server(s), ...idevid(), ...enroll("ir", cert), "-chainout", chain]);
          expect(r.status, r.stderr).toBe(0);
        },
        { rsa },
      );
      sameCert(cert, "rsp.crt");
      expect(readFileSync(chain, "utf8")).toContain("BEGIN CERTIFICATE");
    });
  }

  it("ir signed but the signer is not under -trusted: refused", async () => {
    await withServer([], async (s) => {
      const r = await cli([
        ...server(s),
        "-cert",
        f("dev.crt"),
        "-key",
        f("dev.key"),
        "-trusted",
        f("other.crt"),
        "-partial_chain",
        ...enroll("ir", join(out, "untrusted.pem")),
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/not trusted/);
    });
  });

  it("implicit confirm requested, not granted: certConf sent, still success", async () => {
    const rsp = [0, 1].map((i) => join(out, `icn${i}.der`));
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...pbm(), ...enroll("ir", join(out, "icn.pem")), "-implicit_confirm", "-rspout", rsp.join(",")]);
      expect(r.status, r.stderr).toBe(0);
    });
    expect(JSON.parse((await cli(["inspect", rsp[1], "--json"])).stdout).body).toBe("pkiconf");
  });

  it("cr signed", async () => {
    const cert = join(out, "cr.pem");
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...idevid(), ...enroll("cr", cert)]);
      expect(r.status, r.stderr).toBe(0);
    });
    sameCert(cert, "rsp.crt");
  });

  it("kur signed with the current key (-oldcert defaults to -cert)", async () => {
    const cert = join(out, "kur.pem");
    await withServer([], async (s) => {
      const r = await cli([
        ...server(s),
        "-cert",
        f("rsp.crt"),
        "-key",
        f("rsp.key"),
        "-trusted",
        f("root.crt"),
        "-cmd",
        "kur",
        "-newkey",
        f("rsp.key"),
        "-certout",
        cert,
      ]);
      expect(r.status, r.stderr).toBe(0);
    });
    sameCert(cert, "rsp.crt");
  });

  it("p10cr with -csr, and with a request the core builds", async () => {
    execFileSync("openssl", ["req", "-new", "-key", "rsp.key", "-subj", "/CN=tinycmp device", "-out", "cli.csr"], {
      cwd: creds.dir,
      env: { ...process.env, OPENSSL_CONF: "/dev/null" },
    });
    for (const extra of [
      ["-csr", f("cli.csr")],
      ["-newkey", f("rsp.key"), "-subject", "/CN=tinycmp device"],
    ]) {
      const cert = join(out, `p10cr-${extra[0]}.pem`);
      await withServer([], async (s) => {
        // a cp carries no caPubs: the certificate validates to -trusted
        const r = await cli([...server(s), ...pbm(), "-trusted", f("root.crt"), "-cmd", "p10cr", ...extra, "-certout", cert]);
        expect(r.status, r.stderr).toBe(0);
      });
      sameCert(cert, "rsp.crt");
    }
  });

  it("rr with a reason, and rr of a certificate the server does not know", async () => {
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...pbm(), "-cmd", "rr", "-oldcert", f("rsp.crt"), "-revreason", "1"]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/rr done/);
    });
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...pbm(), "-cmd", "rr", "-oldcert", f("other.crt")]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^tinycmp: rr failed: /);
    });
  });

  it("genm with -infotype, signed", async () => {
    await withServer([], async (s) => {
      const r = await cli([...server(s), ...idevid(), "-cmd", "genm", "-infotype", "caCerts"]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/genm done: caCerts: no value/); // openssl 3.0 echoes the infoType
    });
  });
});
