// The C host (host/c) with the module translated by wasm2c (build/tinycmp-native): CMP
// transactions against `openssl cmp` as mock server (../shared/INTEROP.md; fresh server per case),
// its HTTP client against local Node servers with faults, and its CLI's exit-status rules.
// With WAMR_ROOT / WASM3_ROOT / WASMTIME_ROOT set, those runtimes' binaries run the enrolment case too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeCreds, startServer, type Creds, type MockServer, withMockServer } from "./helpers/openssl-cmp";
import { E_CMP_ERROR_MSG, E_CMP_PROTECTION, E_CMP_REJECTED, E_CMP_UNPROTECTED, E_CMP_WRONG_KEY, E_RANDOM, errorName } from "../host/node/lib/abi";

/** How the C host names a failure: "(error -88 E_CMP_PROTECTION)". */
const failed = (code: number) => `(error ${code} ${errorName(code)})`;

const root = fileURLToPath(new URL("..", import.meta.url));
const build = join(root, "build");
const NATIVE = join(build, "tinycmp-native");

// wasm2c is required (CI installs wabt); only its true absence skips this file, visibly.
const haveWasm2c = spawnSync("sh", ["-c", "command -v wasm2c"]).status === 0;
if (!haveWasm2c) console.warn("test/chost.test.ts skipped: wasm2c not found (apt-get install wabt)");
const suite = haveWasm2c ? describe : describe.skip;

const binaries: [string, string][] = [["wasm2c", NATIVE]];
if (process.env.WAMR_ROOT) binaries.push(["wamr", join(build, "tinycmp-wamr")], ["wasm-c-api/wamr", join(build, "tinycmp-wamr-capi")]);
if (process.env.WASM3_ROOT) binaries.push(["wasm3", join(build, "tinycmp-wasm3")]);
if (process.env.WASMTIME_ROOT) binaries.push(["wasm-c-api/wasmtime", join(build, "tinycmp-wasmtime")]);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}
function run(args: string[], opts: { bin?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  const t = performance.now();
  return new Promise((resolve) => {
    execFile(
      opts.bin ?? NATIVE,
      ["-wasm", join(build, "tinycmp.wasm"), ...args],
      { cwd: opts.cwd ?? creds.dir, env: { ...process.env, ...opts.env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr, ms: performance.now() - t }),
    );
  });
}

let creds: Creds;
const pemDer = (file: string) => new Uint8Array(new X509Certificate(readFileSync(file)).raw);

const withServer = <T>(extra: string[], f: (s: MockServer) => Promise<T>, opts = {}) => withMockServer(creds, extra, f, opts);
const server = (s: MockServer | number, path = "/pkix/") => `127.0.0.1:${typeof s === "number" ? s : s.port}${path}`;
const mac = ["-ref", "ref", "-secret", "pass:secret"];
const ir = (s: MockServer, extra: string[] = []) => [
  "-cmd",
  "ir",
  "-server",
  server(s),
  ...mac,
  "-newkey",
  "rsp.key",
  "-subject",
  "/CN=tinycmp device",
  "-certout",
  "out.crt",
  ...extra,
];

suite("C host (wasm2c) against openssl cmp", () => {
  beforeAll(() => {
    const r = spawnSync("make", ["-C", join(root, "host/c")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`make -C host/c failed:\n${r.stdout}\n${r.stderr}`);
    creds = makeCreds();
  }, 120_000);

  for (const [name, bin] of binaries) {
    it(`ir with PBM (${name}): exit 0, the certificate is rsp_cert, caPubs written`, async () => {
      await withServer([], async (s) => {
        const r = await run([...ir(s), "-cacertsout", "ca.crt"], { bin });
        expect(r.code, r.stderr).toBe(0);
        expect(pemDer(join(creds.dir, "out.crt"))).toEqual(creds.der("rsp.crt"));
        expect(pemDer(join(creds.dir, "ca.crt"))).toEqual(creds.der("root.crt"));
      });
    });
  }

  it("-newkeyout: the generated key is written 0600, only after the certificate was accepted", async () => {
    const { TestPki } = await import("../host/node/testpki/index");
    const pki = await TestPki.start();
    try {
      const dir = mkdtempSync(join(tmpdir(), "tinycmp-newkey-"));
      const u = new URL(pki.url);
      const args = [
        "-cmd",
        "ir",
        "-server",
        `${u.host}${u.pathname}`,
        "-ref",
        pki.ref,
        "-secret",
        `pass:${pki.secret}`,
        "-subject",
        "/CN=c host newkey",
        "-trusted",
        join(dir, "root.pem"),
        "-certout",
        "new.crt",
        "-newkeyout",
        "new.key",
      ];
      writeFileSync(join(dir, "root.pem"), pki.root.certPem);
      const r = await run(args, { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(join(dir, "new.key")).mode & 0o777).toBe(0o600);
      pki.configure({ reject: { status: 2 } });
      const refused = await run(
        args.map((a) => (a === "new.key" ? "refused.key" : a)),
        { cwd: dir },
      );
      expect(refused.code).toBe(1);
      expect(existsSync(join(dir, "refused.key"))).toBe(false);
    } finally {
      await pki.close();
    }
  });

  it("wrong secret: exit 1, one line naming the MAC failure", async () => {
    await withServer([], async (s) => {
      const r = await run(ir(s).map((a) => (a === "pass:secret" ? "pass:wrong" : a)));
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr.startsWith(`tinycmp: ir failed ${failed(E_CMP_PROTECTION)}`), r.stderr).toBe(true);
    });
  });

  it("-server host:port with -path, as openssl cmp takes them; non-numbers refused", async () => {
    await withServer([], async (s) => {
      const r = await run([
        "-cmd",
        "ir",
        "-server",
        `127.0.0.1:${s.port}`,
        "-path",
        "pkix/",
        ...mac,
        "-newkey",
        "rsp.key",
        "-subject",
        "/CN=tinycmp device",
        "-certout",
        "path.crt",
        "-msg_timeout",
        "20",
      ]);
      expect(r.code, r.stderr).toBe(0);
    });
    for (const bad of [
      ["-msg_timeout", "abc"],
      ["-total_timeout", "-1"],
      ["-revreason", "7"],
      ["-revreason", "x"],
    ]) {
      const r = await run(["-cmd", "genm", "-server", "127.0.0.1:1", ...mac, ...bad]);
      expect(r.code, bad.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("-secret env: reads the secret from the environment", async () => {
    await withServer([], async (s) => {
      const r = await run(
        ir(s).map((a) => (a === "pass:secret" ? "env:CMP_SECRET" : a)),
        { env: { CMP_SECRET: "secret" } },
      );
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it("implicit confirm granted: one message only (server stops after one)", async () => {
    await withServer(["-grant_implicitconf", "-max_msgs", "1"], async (s) => {
      const r = await run(ir(s, ["-implicit_confirm"]));
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it("implicit confirm requested but not granted: certConf sent, exit 0", async () => {
    await withServer([], async (s) => {
      const r = await run(ir(s, ["-implicit_confirm"]));
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it("rejection: exit 1 with status and statusString in the line", async () => {
    await withServer(["-pkistatus", "2", "-failure", "9", "-statusstring", "no way"], async (s) => {
      const r = await run(ir(s));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(failed(E_CMP_REJECTED));
      expect(r.stderr).toMatch(/no way/);
    });
  });

  it("-send_error: exit 1, error message reported", async () => {
    await withServer(["-send_error"], async (s) => {
      const r = await run(ir(s));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(failed(E_CMP_ERROR_MSG));
    });
  });

  it("polling: -poll_count 2 -check_after 1 waits and then enrols", async () => {
    await withServer(["-poll_count", "2", "-check_after", "1"], async (s) => {
      const r = await run(ir(s));
      expect(r.code, r.stderr).toBe(0);
      expect(r.ms).toBeGreaterThan(900); // at least one checkAfter of 1 s
      expect(pemDer(join(creds.dir, "out.crt"))).toEqual(creds.der("rsp.crt"));
    });
  });

  it("-send_unprotected: unprotected positive response refused", async () => {
    await withServer(["-send_unprotected"], async (s) => {
      const r = await run(ir(s));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(failed(E_CMP_UNPROTECTED));
    });
  });

  it("a certificate for another key (generated new key) is refused", async () => {
    await withServer([], async (s) => {
      const r = await run(ir(s).filter((a, i, all) => a !== "-newkey" && all[i - 1] !== "-newkey"));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(failed(E_CMP_WRONG_KEY));
    });
  });

  it("cr with PBM", async () => {
    await withServer([], async (s) => {
      // a cp carries no caPubs: the certificate validates to -trusted
      const r = await run(ir(s, ["-trusted", "root.crt"]).map((a) => (a === "ir" ? "cr" : a)));
      expect(r.code, r.stderr).toBe(0);
      expect(pemDer(join(creds.dir, "out.crt"))).toEqual(creds.der("rsp.crt"));
    });
  });

  it("genm with PBM: the genp's infoTypes on stdout", async () => {
    await withServer([], async (s) => {
      const r = await run(["-cmd", "genm", "-server", server(s), ...mac, "-infotype", "caCerts"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("infoType 1.3.6.1.5.5.7.4.17\n");
    });
  });

  it("rr with PBM: revokes rsp_cert", async () => {
    await withServer([], async (s) => {
      const r = await run(["-cmd", "rr", "-server", server(s), ...mac, "-oldcert", "rsp.crt", "-revreason", "1"]);
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it("rr for another certificate: the server's error is reported", async () => {
    await withServer([], async (s) => {
      const r = await run(["-cmd", "rr", "-server", server(s), ...mac, "-oldcert", "dev.crt"]);
      expect(r.code).toBe(1);
    });
  });

  it("keep-alive: ir and certConf go over one connection (counting proxy)", async () => {
    await withServer([], async (s) => {
      let sockets = 0,
        requests = 0;
      const proxy = createServer((req, res) => {
        requests++;
        const up = request({ host: "127.0.0.1", port: s.port, path: "/pkix/", method: "POST", headers: req.headers }, (ur) => {
          res.writeHead(ur.statusCode!, { "content-type": ur.headers["content-type"]!, "content-length": ur.headers["content-length"]! });
          ur.pipe(res);
        });
        req.pipe(up);
      });
      proxy.on("connection", () => sockets++);
      const port = await listen(proxy);
      try {
        const r = await run(ir(s).map((a) => (a === server(s) ? server(port) : a)));
        expect(r.code, r.stderr).toBe(0);
        expect(requests).toBe(2);
        expect(sockets).toBe(1);
      } finally {
        proxy.close();
        proxy.closeAllConnections();
      }
    });
  });

  it("no entropy: exit 1 with E_RANDOM, nothing sent", async () => {
    const r = await run(["-cmd", "ir", "-server", server(1), ...mac, "-certout", "x.crt"], { env: { TINYCMP_ENTROPY: "none" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(failed(E_RANDOM));
  });

  const signedBy = (key: string, cert: string) => ["-key", key, "-cert", cert, "-trusted", "root.crt"];
  const enrol = (cmd: string, s: MockServer, extra: string[]) => [
    "-cmd",
    cmd,
    "-server",
    server(s),
    "-newkey",
    "rsp.key",
    "-subject",
    "/CN=tinycmp device",
    "-certout",
    "out.crt",
    ...extra,
  ];

  for (const rsa of [false, true]) {
    it(`ir signed with the IDevID, ${rsa ? "RSA" : "ECDSA"}-signed responses: chain written`, async () => {
      const s = await startServer(creds, [], { rsa });
      try {
        const r = await run(enrol("ir", s, [...signedBy("dev.key", "dev.crt"), "-chainout", "chain.pem"]));
        expect(r.code, r.stderr).toBe(0);
        expect(pemDer(join(creds.dir, "out.crt"))).toEqual(creds.der("rsp.crt"));
        expect(readFileSync(join(creds.dir, "chain.pem"), "utf8").match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThanOrEqual(1);
      } finally {
        await s.stop();
      }
    });
  }

  it("cr signed", async () => {
    await withServer([], async (s) => {
      const r = await run(enrol("cr", s, signedBy("dev.key", "dev.crt")));
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it("kur signed with the current key: oldCertID and subject default to -cert", async () => {
    await withServer([], async (s) => {
      const r = await run(["-cmd", "kur", "-server", server(s), ...signedBy("rsp.key", "rsp.crt"), "-newkey", "rsp.key", "-certout", "out.crt"]);
      expect(r.code, r.stderr).toBe(0);
      expect(pemDer(join(creds.dir, "out.crt"))).toEqual(creds.der("rsp.crt"));
    });
  });

  it("rr and genm signed", async () => {
    await withServer([], async (s) => {
      const r = await run(["-cmd", "rr", "-server", server(s), ...signedBy("rsp.key", "rsp.crt"), "-oldcert", "rsp.crt"]);
      expect(r.code, r.stderr).toBe(0);
      const g = await run(["-cmd", "genm", "-server", server(s), ...signedBy("dev.key", "dev.crt")]);
      expect(g.code, g.stderr).toBe(0);
    });
  });

  it("a response signer that does not chain to -trusted is refused", async () => {
    await withServer([], async (s) => {
      const r = await run(enrol("ir", s, ["-key", "dev.key", "-cert", "dev.crt", "-trusted", "dev.crt"]));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/signer/);
    });
  });

  it("p10cr with PBM: the core builds the CSR from -newkey/-subject, or takes -csr (PEM)", async () => {
    spawnSync("openssl", ["req", "-new", "-key", "rsp.key", "-subj", "/CN=tinycmp device", "-out", "rsp.csr.pem"], {
      cwd: creds.dir,
      env: { ...process.env, OPENSSL_CONF: "/dev/null" },
    });
    for (const extra of [
      ["-newkey", "rsp.key", "-subject", "/CN=tinycmp device"],
      ["-csr", "rsp.csr.pem"],
    ]) {
      await withServer([], async (s) => {
        const r = await run(["-cmd", "p10cr", "-server", server(s), ...mac, "-trusted", "root.crt", ...extra, "-certout", "out.crt"]);
        expect(r.code, r.stderr).toBe(0);
        expect(pemDer(join(creds.dir, "out.crt"))).toEqual(creds.der("rsp.crt"));
      });
    }
  });

  it("-issuer, -days, -geninfo and -disable_confirm: the ir as openssl asn1parse reads it, no certConf", async () => {
    await withServer([], async (s) => {
      // a forwarder that keeps each request the C host sends
      const sent: Buffer[] = [];
      const fwd = createServer((q, r) => {
        const body: Buffer[] = [];
        q.on("data", (d) => body.push(d)).on("end", () => {
          sent.push(Buffer.concat(body));
          const up = request({ host: "127.0.0.1", port: s.port, path: q.url, method: "POST", headers: { "content-type": "application/pkixcmp" } }, (res) => {
            r.writeHead(res.statusCode!, res.headers);
            res.pipe(r);
          });
          up.end(Buffer.concat(body));
        });
      });
      const port = await listen(fwd);
      try {
        const r = await run([
          ...ir(s).map((a) => (a === server(s) ? server(port) : a)),
          "-issuer",
          "/CN=tinycmp test root",
          "-days",
          "10",
          "-geninfo",
          "1.2.3.4:int:-5",
          "-disable_confirm",
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/warning: -disable_confirm/);
      } finally {
        fwd.closeAllConnections();
        fwd.close();
      }
      expect(sent).toHaveLength(1); // the ir; no certConf
      writeFileSync(join(creds.dir, "c-ir.der"), sent[0]);
      const asn1 = spawnSync("openssl", ["asn1parse", "-inform", "DER", "-in", "c-ir.der", "-i"], { cwd: creds.dir, encoding: "utf8" }).stdout;
      // header: recipient is the issuer; generalInfo [8] { { 1.2.3.4, INTEGER -5 } }
      expect(asn1).toMatch(
        /d=2 .*cont \[ 4 \]\s*\n.*\n.*\n.*\n.*\n.*UTF8STRING\s*:tinycmp device\s*\n.*d=2 .*cont \[ 4 \]\s*\n.*\n.*\n.*\n.*\n.*UTF8STRING\s*:tinycmp test root/,
      );
      expect(sent[0].toString("hex")).toContain("a80c300a300806032a03040201fb");
      // certTemplate: issuer [3], validity [4] { [0] UTCTime, [1] UTCTime } before subject [5]
      expect(asn1).toMatch(
        /d=6 .*cont \[ 3 \]\s*\n(.*\n){4}.*:tinycmp test root\s*\n.*d=6 .*cont \[ 4 \]\s*\n.*d=7 .*cont \[ 0 \]\s*\n.*UTCTIME.*\n.*d=7 .*cont \[ 1 \]\s*\n.*UTCTIME.*\n.*d=6 .*cont \[ 5 \]/,
      );
    });
  });
});

function listen(s: Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as any).port)));
}

suite("C host HTTP client and CLI refusals", () => {
  let srv: Server, port: number;
  let behave: (req: any, res: any) => void = () => {};
  beforeAll(async () => {
    if (!existsSync(NATIVE)) {
      const r = spawnSync("make", ["-C", join(root, "host/c")], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
    }
    if (!creds) creds = makeCreds();
    srv = createServer((req, res) => req.on("data", () => {}).on("end", () => behave(req, res)));
    port = await listen(srv);
  }, 120_000);
  afterAll(() => {
    srv?.closeAllConnections();
    srv?.close();
  });

  const post = (extra: string[] = []) => run(["-cmd", "genm", "-server", `127.0.0.1:${port}/pkix/`, ...mac, ...extra]);

  it("sends POST with application/pkixcmp and Content-Length to the path", async () => {
    let seen: any;
    behave = (req, res) => {
      seen = { method: req.method, url: req.url, type: req.headers["content-type"], len: req.headers["content-length"] };
      res.writeHead(500).end();
    };
    const r = await post();
    expect(r.code).toBe(1);
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/pkix/");
    expect(seen.type).toBe("application/pkixcmp");
    expect(Number(seen.len)).toBeGreaterThan(100);
    expect(r.stderr).toMatch(/HTTP status 500/);
  });

  it("refuses a redirect", async () => {
    behave = (_req, res) => res.writeHead(302, { location: "http://example.com/" }).end();
    const r = await post();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/redirect refused/);
  });

  it("refuses a wrong Content-Type", async () => {
    behave = (_req, res) => res.writeHead(200, { "content-type": "text/html", "content-length": 2 }).end("hi");
    const r = await post();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Content-Type/);
  });

  it("refuses an oversize response by its Content-Length", async () => {
    behave = (_req, res) => {
      res.writeHead(200, { "content-type": "application/pkixcmp", "content-length": 1_000_000 });
      res.write(Buffer.alloc(1000));
    };
    const r = await post();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exceeds the limit/);
  });

  it("times out on a stalled server (-msg_timeout 1)", async () => {
    behave = () => {};
    const r = await post(["-msg_timeout", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out/);
    expect(r.ms).toBeLessThan(5000);
  });

  it("times out in a stalled body", async () => {
    behave = (_req, res) => {
      res.writeHead(200, { "content-type": "application/pkixcmp", "content-length": 100 });
      res.write(Buffer.alloc(10));
    };
    const r = await post(["-msg_timeout", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out/);
  });

  it("-msg_timeout 0 is no limit; -total_timeout bounds the whole call", async () => {
    behave = () => {};
    const r = await post(["-msg_timeout", "0", "-total_timeout", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("tinycmp: -total_timeout exceeded\n");
  });

  it("a garbage CMP body is refused by the core (exit 1)", async () => {
    behave = (_req, res) => res.writeHead(200, { "content-type": "application/pkixcmp", "content-length": 4 }).end(Buffer.from([0x30, 2, 1, 0]));
    const r = await post();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tinycmp: genm failed \(error -\d+ E_[A-Z_]+\)/);
  });

  it("connection refused: exit 1", async () => {
    const s = createServer();
    const dead = await listen(s);
    await new Promise((r) => s.close(r)); // a port nobody listens on any more
    const r = await run(["-cmd", "genm", "-server", `127.0.0.1:${dead}`, ...mac]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connect: Connection refused/);
  });

  it("usage and input errors exit 2 with one line", async () => {
    const cases = [
      ["-cmd", "xx", "-server", "127.0.0.1:1"],
      ["-cmd", "ir", "-server", "127.0.0.1:1", ...mac], // no -certout
      ["-cmd", "genm", "-server", "nowhere", ...mac], // no port
      ["-cmd", "genm", "-server", "127.0.0.1:1", "-secret", "plain"],
      ["-cmd", "ir", "-server", "127.0.0.1:1", "-key", "root.crt", "-certout", "x"],
      ["-cmd", "ir", "-server", "127.0.0.1:1", "-subject", "CN=no-slash", "-certout", "x"],
      ["-cmd", "genm", "-server", "127.0.0.1:1", "-bogus", "1"],
    ];
    for (const c of cases) {
      const r = await run(c);
      expect(r.code, c.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), c.join(" ")).toHaveLength(1);
    }
  });

  it("flash slots, randomness and clock of host/c/host.c (test/c/flash_test.c)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-flash-"));
    const exe = join(dir, "flash_test");
    const cc = spawnSync(
      "cc",
      ["-std=c99", "-Wall", "-Werror", "-I", join(root, "host/c"), join(root, "test/c/flash_test.c"), join(root, "host/c/host.c"), "-o", exe],
      { encoding: "utf8" },
    );
    expect(cc.status, cc.stderr).toBe(0);
    const r = spawnSync(exe, [dir], { encoding: "utf8" });
    expect(r.stdout.trim()).toBe("ok");
    expect(readFileSync(join(dir, "store", "slot1.bin")).length).toBe(4096);
  });

  it("its PEM, key, certificate, name and OID readers survive 20,000 mutated inputs under ASan and UBSan (test/c/pem_fuzz.c)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-pemfuzz-"));
    const exe = join(dir, "pem_fuzz");
    const cc = spawnSync(
      "cc",
      [
        "-std=c99",
        "-g",
        "-O1",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-I",
        join(root, "host/c"),
        join(root, "test/c/pem_fuzz.c"),
        join(root, "host/c/pem.c"),
        "-o",
        exe,
      ],
      { encoding: "utf8" },
    );
    expect(cc.status, cc.stderr).toBe(0);
    spawnSync("openssl", ["pkey", "-in", "rsp.key", "-outform", "DER", "-out", join(dir, "rsp.p8.der")], {
      cwd: creds.dir,
      env: { ...process.env, OPENSSL_CONF: "/dev/null" },
    });
    writeFileSync(join(dir, "dn.txt"), "/CN=tinycmp device/O=Acme/C=DE");
    writeFileSync(join(dir, "oid.txt"), "1.3.6.1.5.5.7.4.17");
    const seeds = [
      join(creds.dir, "rsp.key"),
      join(creds.dir, "rsp.crt"),
      join(creds.dir, "root.crt"),
      join(dir, "rsp.p8.der"),
      join(dir, "dn.txt"),
      join(dir, "oid.txt"),
    ];
    const r = spawnSync(exe, seeds, { encoding: "utf8", timeout: 120_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("ok 20000");
  }, 180_000);

  it("reads keys as PKCS#8 and SEC 1, PEM and DER", async () => {
    const dir = creds.dir;
    spawnSync("openssl", ["ec", "-in", "rsp.key", "-out", "rsp.sec1.pem"], { cwd: dir, env: { ...process.env, OPENSSL_CONF: "/dev/null" } });
    spawnSync("openssl", ["pkey", "-in", "rsp.key", "-outform", "DER", "-out", "rsp.p8.der"], { cwd: dir, env: { ...process.env, OPENSSL_CONF: "/dev/null" } });
    spawnSync("openssl", ["ec", "-in", "rsp.key", "-outform", "DER", "-out", "rsp.sec1.der"], { cwd: dir, env: { ...process.env, OPENSSL_CONF: "/dev/null" } });
    for (const k of ["rsp.key", "rsp.sec1.pem", "rsp.p8.der", "rsp.sec1.der"]) {
      await withServer([], async (s) => {
        const r = await run(ir(s).map((a) => (a === "rsp.key" ? k : a)));
        expect(r.code, `${k}: ${r.stderr}`).toBe(0);
      });
    }
    writeFileSync(join(dir, "bad.key"), "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n");
    const r = await run(["-cmd", "ir", "-server", "127.0.0.1:1", ...mac, "-newkey", "bad.key", "-certout", "x"]);
    expect(r.code).toBe(2);
  });
});
