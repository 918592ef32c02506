// `openssl cmp` command lines with the binary swapped: the options scripts use, OpenSSL's config
// file and name syntax (openssl itself is the oracle for names), and errors that say what to fix,
// found before anything is sent.
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, withCounter } from "./helpers/cli-run";
import { CmpError, Device } from "../host/node/lib/device";
import { nameDer, sansDer } from "../host/node/lib/files";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { makeCreds, type Creds, type MockServer, withMockServer } from "./helpers/openssl-cmp";
import { E_CMP_CONFIG } from "../host/node/lib/abi";
import { expectCode } from "./helpers/codes";

let creds: Creds;
let out: string;
const f = (n: string) => creds.file(n);
const ossl = (args: string[]) =>
  execFileSync("openssl", args, { cwd: creds.dir, env: { ...process.env, OPENSSL_CONF: "/dev/null" }, stdio: ["ignore", "pipe", "pipe"] });

beforeAll(() => {
  creds = makeCreds();
  out = mkdtempSync(join(tmpdir(), "tinycmp-cliopt-"));
  ossl(["pkey", "-in", "rsp.key", "-pubout", "-out", "pubkey.pem"]);
  writeFileSync(f("ra_cert.pem"), readFileSync(f("dev.crt")));
  writeFileSync(f("capubs.pem"), readFileSync(f("root.crt")));
}, 30_000);

const oneLine = (r: { stderr: string }) => expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
const server = (s: MockServer) => ["-server", `127.0.0.1:${s.port}`, "-path", "pkix/"];
const pbm = ["-ref", "ref", "-secret", "pass:secret"];

describe("openssl cmp command lines", () => {
  // acme2certifier's CMPv2 handler: an RA enrolling a public key it holds no private key for
  const acme = (s: MockServer, popo: string, certout: string) =>
    `-cmd ir -server 127.0.0.1:${s.port} -path pkix/ -ref ref -secret pass:secret -recipient /C=DE/CN=tst_sub_ca -newkey ${f("pubkey.pem")} -cert ${f("ra_cert.pem")} -trusted ${f("capubs.pem")} -popo ${popo} -subject /CN=test-cert -extracertsout ${join(out, "ca_certs.pem")} -certout ${certout}`.split(
      " ",
    );

  it("the acme2certifier line works verbatim: public -newkey, -popo 0 (raVerified)", async () => {
    const certout = join(out, "test-cert.pem");
    await withMockServer(creds, ["-accept_raverified"], async (s) => {
      const r = await cli(acme(s, "0", certout));
      expect(r.status, r.stderr).toBe(0);
    });
    expect(new X509Certificate(readFileSync(certout)).raw.equals(new X509Certificate(readFileSync(f("rsp.crt"))).raw)).toBe(true);
    expect(readFileSync(join(out, "ca_certs.pem"), "latin1")).toContain("BEGIN CERTIFICATE");
  });

  it("raVerified is refused by a server that does not accept it, and -popo -1 sends no POPO", async () => {
    for (const popo of ["0", "-1"]) {
      await withMockServer(creds, [], async (s) => {
        const r = await cli(acme(s, popo, join(out, `nopop${popo}.pem`)));
        expect(r.status).toBe(1);
        oneLine(r);
        expect(r.stderr).toMatch(/badPOP/);
      });
    }
  });

  it("the request carries raVerified [0] NULL and the given public key", async () => {
    const req = join(out, "ra-req.der");
    await withMockServer(creds, ["-accept_raverified"], async (s) => {
      const r = await cli([...acme(s, "0", join(out, "ra.pem")), "-reqout", req]);
      expect(r.status, r.stderr).toBe(0);
    });
    const der = readFileSync(req);
    const spki = new Uint8Array(Buffer.from(readFileSync(f("pubkey.pem"), "latin1").replace(/-----[A-Z ]+-----|\s/g, ""), "base64"));
    expect(der.includes(Buffer.from(spki.subarray(spki.length - 65)))).toBe(true);
    const asn1 = ossl(["asn1parse", "-inform", "DER", "-in", req]).toString();
    expect(asn1).toMatch(/cont \[ 0 \]\s*\n[^\n]*cont \[ 1 \]|prim: cont \[ 0 \]/);
  });

  it("a certificate for another public key than -newkey's is refused, nothing written", async () => {
    ossl(["pkey", "-in", "other.key", "-pubout", "-out", "otherpub.pem"]);
    const certout = join(out, "wrongkey.pem");
    await withMockServer(creds, ["-accept_raverified"], async (s) => {
      const r = await cli(acme(s, "0", certout).map((a) => (a === f("pubkey.pem") ? f("otherpub.pem") : a)));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/error -93/);
    });
    expect(existsSync(certout)).toBe(false);
  });

  it("the core refuses NEWPUBKEY with a signature POPO, in p10cr, or malformed, before sending", async () => {
    const spki = new Uint8Array(Buffer.from(readFileSync(f("pubkey.pem"), "latin1").replace(/-----[A-Z ]+-----|\s/g, ""), "base64"));
    let sent = 0;
    const device = new Device({
      transfer: async () => {
        sent++;
        return new Uint8Array(0);
      },
    });
    const base = { ref: "ref", secret: "secret", subject: nameDer("/CN=x") };
    const refused = async (req: Parameters<Device["run"]>[1], op: "ir" | "p10cr" = "ir") => {
      const e = await device.run(op, req).catch((x) => x);
      expect(e).toBeInstanceOf(CmpError);
      expectCode((e as CmpError).code, E_CMP_CONFIG);
    };
    await refused({ ...base, newPublicKey: spki }); // default POPO: signature
    await refused({ ...base, newPublicKey: spki, popo: 1 });
    await refused({ ...base, newPublicKey: spki, popo: 0 }, "p10cr");
    await refused({ ...base, newPublicKey: new Uint8Array([...spki, 0]), popo: 0 }); // trailing byte
    await refused({ ...base, newPublicKey: spki.subarray(0, spki.length - 1), popo: 0 }); // truncated
    const noBitString = new Uint8Array(spki);
    noBitString[spki.length - 68] = 0x04; // BIT STRING -> OCTET STRING
    await refused({ ...base, newPublicKey: noBitString, popo: 0 });
    expect(sent).toBe(0);
    device.close();
  });

  it("a public -newkey with a signature POPO is a usage error naming -popo", async () => {
    const r = await cli(["-cmd", "ir", "-server", "127.0.0.1:1", ...pbm, "-newkey", f("pubkey.pem"), "-subject", "/CN=x", "-certout", join(out, "x.pem")]);
    expect(r.status).toBe(2);
    oneLine(r);
    expect(r.stderr).toMatch(/public key.*-popo 0/);
    expect(
      (await cli(["-cmd", "ir", "-server", "127.0.0.1:1", ...pbm, "-newkey", f("rsp.key"), "-subject", "/CN=x", "-certout", join(out, "x.pem"), "-popo", "2"]))
        .stderr,
    ).toMatch(/-popo 2.*not supported/);
  });

  it("-config/-section: OpenSSL config file values, the command line wins, [default] fills in", async () => {
    const conf = join(out, "cmp.cnf");
    writeFileSync(
      conf,
      [
        "# as openssl cmp reads it",
        "dir = " + creds.dir,
        "[default]",
        "msg_timeout = 10",
        "HOME = .            # a setting of another tool: ignored",
        "[ir-common]",
        "cmd = ir",
        "ref = ref",
        'secret = "pass:secret"',
        "newkey = ${dir}/rsp.key",
        "subject = /CN=from \\",
        "  config",
        "implicit_confirm = 0",
        "[mine]",
        "certout = " + join(out, "conf.pem"),
      ].join("\n"),
    );
    await withMockServer(creds, [], async (s) => {
      const r = await cli([...server(s), "-config", conf, "-section", "ir-common, mine"]);
      expect(r.status, r.stderr).toBe(0);
      // the command line wins over the file
      const r2 = await cli([...server(s), "-config", conf, "-section", "ir-common,mine", "-secret", "pass:wrong"]);
      expect(r2.status).toBe(1);
      expect(r2.stderr).toMatch(/MAC does not verify: wrong secret or reference\?/);
    });
    writeFileSync(join(out, "bad.cnf"), "[cmp]\nmsg_timout = 5\n");
    const typo = await cli(["-config", join(out, "bad.cnf"), "-cmd", "genm"]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/unknown option msg_timout in section \[cmp\]/);
    expect((await cli(["-config", conf, "-section", "nosuch"])).stderr).toMatch(/no such section/);
  });

  it("-secret takes precedence over -cert/-key (MAC), -cert naming the sender, as in openssl cmp", async () => {
    const req = join(out, "mac-sender.der");
    await withMockServer(creds, [], async (s) => {
      const r = await cli([...server(s), ...pbm, "-cert", f("dev.crt"), "-key", f("dev.key"), "-cmd", "genm", "-reqout", req]);
      expect(r.status, r.stderr).toBe(0);
    });
    const asn1 = ossl(["asn1parse", "-inform", "DER", "-in", req]).toString();
    expect(asn1).toMatch(/:tinycmp idevid/); // sender: the subject of -cert
    expect(asn1).toMatch(/:password based MAC/); // PBM protection, not a signature
  });

  it("-msg_timeout 0 and -total_timeout 0 mean no limit; non-numbers are refused", async () => {
    await withMockServer(creds, [], async (s) => {
      const r = await cli([
        ...server(s),
        ...pbm,
        "-cmd",
        "ir",
        "-newkey",
        f("rsp.key"),
        "-subject",
        "/CN=x",
        "-certout",
        join(out, "t0.pem"),
        "-msg_timeout",
        "0",
        "-total_timeout",
        "0",
      ]);
      expect(r.status, r.stderr).toBe(0);
    });
    for (const bad of ["abc", "1.5", "-3", ""]) {
      const r = await cli(["-cmd", "genm", "-server", "127.0.0.1:1", ...pbm, "-msg_timeout", bad]);
      expect(r.status, bad).toBe(2);
      oneLine(r);
    }
  });

  it("-trusted takes OpenSSL's list syntax (commas and/or spaces); a file with no certificate is an error", async () => {
    const list = `${f("other.crt")}, ${f("srv.crt")} ${f("root.crt")}`;
    await withMockServer(creds, [], async (s) => {
      const r = await cli([
        ...server(s),
        "-cert",
        f("dev.crt"),
        "-key",
        f("dev.key"),
        "-trusted",
        list,
        "-cmd",
        "cr",
        "-newkey",
        f("rsp.key"),
        "-subject",
        "/CN=x",
        "-certout",
        join(out, "tl.pem"),
      ]);
      expect(r.status, r.stderr).toBe(0);
    });
    await withCounter(async (port, count) => {
      const r = await cli(["-cmd", "genm", "-server", `127.0.0.1:${port}`, ...pbm, "-trusted", `${f("root.crt")},${f("rsp.key")}`]);
      expect(r.status).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(/-trusted: .*rsp\.key: no certificate found/);
      expect(count()).toBe(0);
    });
  });

  it("-revreason -1 sends no reasonCode; 7 and 11 are refused", async () => {
    await withMockServer(creds, [], async (s) => {
      for (const [reason, has] of [
        ["-1", false],
        ["1", true],
      ] as const) {
        const req = join(out, `rr${reason}.der`);
        const r = await cli([
          ...server(s),
          "-cert",
          f("dev.crt"),
          "-key",
          f("dev.key"),
          "-trusted",
          f("root.crt"),
          "-cmd",
          "rr",
          "-oldcert",
          f("rsp.crt"),
          "-revreason",
          reason,
          "-reqout",
          req,
        ]);
        expect(r.status, r.stderr).toBe(0);
        // id-ce-reasonCode 2.5.29.21 (RFC 5280 5.3.1)
        expect(readFileSync(req).includes(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x15])), reason).toBe(has);
      }
    });
    for (const bad of ["7", "11", "-2"]) expect((await cli(["-cmd", "rr", "-server", "127.0.0.1:1", ...pbm, "-revreason", bad])).status).toBe(2);
  });

  it("subject names: every attribute OpenSSL knows and '+' for multi-valued RDNs, encoded as openssl encodes them", () => {
    const subj =
      "/C=DE/ST=Bayern/L=M\\/nchen/O=Org/OU=Unit/CN=a+UID=u1/serialNumber=123/emailAddress=a@b.c/title=T/GN=G/SN=S" +
      "/street=Main 1/postalCode=80331/DC=example/initials=I/pseudonym=P/dnQualifier=q/businessCategory=B/description=D" +
      "/name=N/role=R/organizationIdentifier=VATDE-1/telephoneNumber=\\+49 1/postOfficeBox=1/generationQualifier=Jr" +
      "/jurisdictionC=DE/unstructuredName=un";
    ossl(["req", "-new", "-key", "rsp.key", "-multivalue-rdn", "-subj", subj, "-outform", "DER", "-out", "subj.der"]);
    const csr = new Uint8Array(readFileSync(f("subj.der")));
    // CertificationRequestInfo: version, subject (RFC 2986 4.1)
    const info = csr.subarray(4);
    const nameStart = 4 + (info[1] & 0x80 ? 2 + (info[1] & 0x7f) : 2) + 3;
    const len = csr[nameStart + 1] & 0x80 ? (csr[nameStart + 2] << 8) + csr[nameStart + 3] + 4 : csr[nameStart + 1] + 2;
    expect(Buffer.from(nameDer(subj)).toString("hex")).toBe(Buffer.from(csr.subarray(nameStart, nameStart + len)).toString("hex"));
    // a dotted OID names any other attribute (UTF8String); openssl skips unregistered ones
    expect(Buffer.from(nameDer("/1.2.3.4=v")).toString("hex")).toBe("300c310a300806032a03040c0176");
    expect(() => nameDer("/XX=1")).toThrow(/unknown attribute type "XX"/);
    expect(() => nameDer("/C=DEU")).toThrow(/two-letter/);
    expect(() => nameDer("/serialNumber=ä")).toThrow(/PrintableString/);
  });

  it("-sans: DNS names, IPv4/IPv6 addresses, URIs and e-mail addresses, as @peculiar/x509 encodes them; RFC 4514 names too", () => {
    const cases: [string, x509.JsonGeneralName[]][] = [
      [
        "a.example b.example",
        [
          { type: "dns", value: "a.example" },
          { type: "dns", value: "b.example" },
        ],
      ],
      [
        "10.0.0.1,::1",
        [
          { type: "ip", value: "10.0.0.1" },
          { type: "ip", value: "::1" },
        ],
      ],
      [
        "2001:db8::8:800:200c:417a fe80::1:2:3:4 1::",
        [
          { type: "ip", value: "2001:db8::8:800:200c:417a" },
          { type: "ip", value: "fe80::1:2:3:4" },
          { type: "ip", value: "1::" },
        ],
      ],
      [
        "https://x.example/p u@x.example",
        [
          { type: "url", value: "https://x.example/p" },
          { type: "email", value: "u@x.example" },
        ],
      ],
    ];
    for (const [text, json] of cases) {
      expect(Buffer.from(sansDer(text)).toString("hex"), text).toBe(Buffer.from(new x509.GeneralNames(json).rawData).toString("hex"));
    }
    // an IPv4-mapped IPv6 address: ::ffff:c000:201
    expect(Buffer.from(sansDer("::ffff:192.0.2.1")).toString("hex")).toBe("30128710" + "00".repeat(10) + "ffffc0000201");
    expect(() => sansDer("bücher.example")).toThrow(/not ASCII/);
    expect(Buffer.from(nameDer("CN=x, O=y")).toString("hex")).toBe(Buffer.from(new x509.Name("CN=x, O=y").toArrayBuffer()).toString("hex"));
  });

  it("-expect_sender: a response from another sender is refused before the core takes it", async () => {
    await withMockServer(creds, [], async (s) => {
      const ok = await cli([
        ...server(s),
        "-cert",
        f("dev.crt"),
        "-key",
        f("dev.key"),
        "-trusted",
        f("root.crt"),
        "-cmd",
        "genm",
        "-expect_sender",
        "/CN=tinycmp test server",
      ]);
      expect(ok.status, ok.stderr).toBe(0);
      const bad = await cli([
        ...server(s),
        "-cert",
        f("dev.crt"),
        "-key",
        f("dev.key"),
        "-trusted",
        f("root.crt"),
        "-cmd",
        "genm",
        "-expect_sender",
        "/CN=someone else",
      ]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/-expect_sender/);
    });
  });

  it("-out_trusted: the new certificate must chain to it; -srvcert pins the response signer", async () => {
    await withMockServer(creds, [], async (s) => {
      const args = [...server(s), ...pbm, "-cmd", "ir", "-newkey", f("rsp.key"), "-subject", "/CN=x"];
      const good = await cli([...args, "-out_trusted", f("root.crt"), "-certout", join(out, "ot.pem")]);
      expect(good.status, good.stderr).toBe(0);
      // other.crt is no root: it may end a path only with -partial_chain, and rsp.crt does not chain to it
      const wrong = await cli([...args, "-out_trusted", f("other.crt"), "-partial_chain", "-certout", join(out, "ot2.pem")]);
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toMatch(/does not chain to -out_trusted/);
      expect(existsSync(join(out, "ot2.pem"))).toBe(false);
      const pinned = await cli([...server(s), "-cert", f("dev.crt"), "-key", f("dev.key"), "-srvcert", f("srv.crt"), "-cmd", "genm"]);
      expect(pinned.status, pinned.stderr).toBe(0);
      const other = await cli([...server(s), "-cert", f("dev.crt"), "-key", f("dev.key"), "-srvcert", f("other.crt"), "-cmd", "genm"]);
      expect(other.status).toBe(1);
    });
  });

  it("accepted no-ops", async () => {
    await withMockServer(creds, [], async (s) => {
      const r = await cli([
        ...server(s),
        ...pbm,
        "-cmd",
        "ir",
        "-newkey",
        f("rsp.key"),
        "-keyform",
        "PEM",
        "-certform",
        "PEM",
        "-batch",
        "-san_nodefault",
        "-keep_alive",
        "1",
        "-digest",
        "sha256",
        "-mac",
        "hmac-sha1",
        "-subject",
        "/CN=x",
        "-certout",
        join(out, "noop.pem"),
      ]);
      expect(r.status, r.stderr).toBe(0);
    });
  });

  it("-proxy: the request goes to the proxy in absolute form; -no_proxy bypasses it", async () => {
    await withMockServer(creds, [], async (s) => {
      let seen = "";
      const proxy = http.createServer((q, r) => {
        seen = q.url ?? "";
        const u = new URL(q.url!);
        const fwd = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: q.method, headers: q.headers }, (res) => {
          r.writeHead(res.statusCode!, res.headers);
          res.pipe(r);
        });
        q.pipe(fwd);
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
      try {
        const r = await cli([...server(s), ...pbm, "-cmd", "genm", "-proxy", `127.0.0.1:${(proxy.address() as any).port}`]);
        expect(r.status, r.stderr).toBe(0);
        expect(seen).toBe(`http://127.0.0.1:${s.port}/pkix/`);
        seen = "";
        const r2 = await cli([...server(s), ...pbm, "-cmd", "genm", "-proxy", "127.0.0.1:1", "-no_proxy", "localhost,127.0.0.1"]);
        expect(r2.status, r2.stderr).toBe(0);
        expect(seen).toBe("");
      } finally {
        proxy.closeAllConnections();
        proxy.close();
      }
    });
  });
});

describe("errors that say what to fix", () => {
  it("an unwritable -certout is found before the request is sent (no key is lost)", async () => {
    await withCounter(async (port, count) => {
      const base = ["-cmd", "ir", "-server", `127.0.0.1:${port}`, ...pbm, "-subject", "/CN=x", "-newkeyout", join(out, "lost.key")];
      for (const certout of [join(out, "no-such-dir", "c.pem"), out]) {
        const r = await cli([...base, "-certout", certout]);
        expect(r.status).toBe(2);
        oneLine(r);
        expect(r.stderr).toMatch(/^tinycmp: -certout .*(no such directory|is a directory)/);
      }
      const key = await cli([...base.slice(0, -2), "-newkeyout", join(out, "nodir", "k.pem"), "-certout", join(out, "c.pem")]);
      expect(key.stderr).toMatch(/-newkeyout/);
      const missing = await cli(["-cmd", "genm", "-server", `127.0.0.1:${port}`, ...pbm, "-cert", join(out, "absent.pem"), "-key", f("dev.key")]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/^tinycmp: -cert .*absent\.pem: cannot be read \(no such file\)/);
      const wrongFormat = await cli(["-cmd", "genm", "-server", `127.0.0.1:${port}`, "-cert", f("dev.key"), "-key", f("dev.key")]);
      expect(wrongFormat.status).toBe(2);
      expect(wrongFormat.stderr).toMatch(/-cert: .*no certificate found/);
      const secretFile = await cli(["-cmd", "genm", "-server", `127.0.0.1:${port}`, "-ref", "r", "-secret", `file:${join(out, "absent")}`]);
      expect(secretFile.stderr).toMatch(/-secret .*cannot be read/);
      expect(count()).toBe(0);
      expect(existsSync(join(out, "lost.key"))).toBe(false);
    });
  });

  it("a 404 shows the URL; a wrong password says so; never 'tinycmp failed'", async () => {
    await withCounter(async (port) => {
      const r = await cli(["-cmd", "genm", "-server", `127.0.0.1:${port}`, "-path", "wrong/place", ...pbm]);
      expect(r.status).toBe(1);
      oneLine(r);
      expect(r.stderr).toContain(`HTTP 404 Not Found from http://127.0.0.1:${port}/wrong/place`);
    });
    await withMockServer(creds, [], async (s) => {
      const r = await cli([...server(s), "-ref", "ref", "-secret", "pass:wrong", "-cmd", "genm"]);
      expect(r.status).toBe(1);
      oneLine(r);
      expect(r.stderr).toBe("tinycmp: genm failed: MAC does not verify: wrong secret or reference?\n");
    });
    for (const args of [["testpki", "--bogus"], ["inspect", join(out, "absent.der")], ["-bogus"], []]) {
      const r = await cli(args);
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(r.stderr).not.toMatch(/tinycmp failed|(\w+: )\1/);
    }
  });

  it("a TLS server without -tls_used says so", async () => {
    const srv = https.createServer({ cert: readFileSync(f("srv.crt")), key: readFileSync(f("srv.key")) }, (_q, r) => {
      r.writeHead(404);
      r.end();
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    try {
      const r = await cli(["-cmd", "genm", "-server", `127.0.0.1:${(srv.address() as any).port}`, ...pbm, "-msg_timeout", "5"]);
      expect(r.status).toBe(1);
      oneLine(r);
      expect(r.stderr).toMatch(/give -tls_used/);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
    await withMockServer(creds, [], async (s) => {
      const r = await cli([...server(s), ...pbm, "-cmd", "genm", "-tls_used", "-msg_timeout", "5"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/does not speak TLS: leave out -tls_used/);
    });
  });

  it("inspect shows the PKIStatus, failInfo and statusString of error and rejection messages", async () => {
    const err = join(out, "err-rsp.der"),
      rej = join(out, "rej-rsp.der");
    const ir = ["-cmd", "ir", "-newkey", f("rsp.key"), "-subject", "/CN=x", "-certout", join(out, "e.pem")];
    await withMockServer(creds, ["-send_error"], async (s) => {
      await cli([...server(s), ...pbm, ...ir, "-rspout", err]);
    });
    await withMockServer(creds, ["-pkistatus", "2", "-failure", "9", "-statusstring", "not today"], async (s) => {
      await cli([...server(s), ...pbm, ...ir, "-rspout", rej]);
    });
    const r = await cli(["inspect", err, "-secret", "pass:secret"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /: error\n  PKIStatus: rejection, failInfo: badRequest, statusString: "error processing message"\n  errorCode: \d+, errorDetails: /,
    );
    const j = await cli(["inspect", rej, "--json"]);
    expect(JSON.parse(j.stdout)).toMatchObject({ body: "ip", status: { status: "rejection", failInfo: ["badPOP"], statusString: ["not today"] } });
  });
});
