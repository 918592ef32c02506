// `openssl cmp` options that shape the request (-reqexts, -policies, -policy_oids, -sans, -days,
// -issuer, -geninfo) and the checks of the answer (-disable_confirm, -ignore_keyusage,
// -partial_chain). The oracle for every encoding is `openssl cmp` 3.0 itself, as a client sending
// the same command line (its request parsed by `openssl asn1parse`, never by our decoder), and as
// the mock server accepting ours; the strict test PKI parses our requests with @peculiar/asn1.
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AsnConvert } from "@peculiar/asn1-schema";
import { cli, withCounter } from "./helpers/cli-run";
import { makeCreds, type Creds, type MockServer, withMockServer } from "./helpers/openssl-cmp";
import { nameDer } from "../host/node/lib/files";
import { CmpError, Device, type Request } from "../host/node/lib/device";
import { children, der, tlv } from "../host/node/lib/der";
import { PKIMessage } from "../host/node/testpki/asn1.js";
import { TestPki } from "../host/node/testpki/index.js";

let creds: Creds;
let out: string;
const f = (n: string) => creds.file(n);
const env = { ...process.env, OPENSSL_CONF: "/dev/null" };
const ossl = (args: string[]) => execFileSync("openssl", args, { cwd: creds.dir, env, stdio: ["ignore", "pipe", "pipe"] }).toString();

const CONF = `
[reqexts]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, cmcRA, 1.3.6.1.5.5.7.3.99
subjectAltName = @alt_names
1.2.3.4.5 = DER:04:03:01:02:03
[alt_names]
DNS.0 = localhost
IP.0 = 127.0.0.1
IP.1 = 2001:db8::8:800:200c:417a
URI.0 = http://192.168.0.2/x
email.0 = a@b.example
dirName.0 = dir_sect
RID.0 = 1.2.3.4
[dir_sect]
C = DE
O = Org
1.OU = Unit one
2.OU = Unit two
CN = dir name
[pols]
certificatePolicies = critical, 1.2.3.4, @polsect, anyPolicy
[polsect]
policyIdentifier = 1.3.6.1.4.1.99.1
CPS.1 = "http://cps.example/cps"
CPS.2 = "http://cps.example/other"
[ku_only]
keyUsage = digitalSignature, decipherOnly
[ku_bc]
keyUsage = digitalSignature
basicConstraints = CA:TRUE, pathlen:3
[ku_again]
keyUsage = critical, keyAgreement
certificatePolicies = 1.2.3.6
[with_san]
subjectAltName = DNS:x.example
[bad_ext]
subjectKeyIdentifier = hash
[bad_ku]
keyUsage = digitalSignatur
[bad_san]
subjectAltName = otherName:1.2.3;UTF8:x
`;

beforeAll(() => {
  creds = makeCreds();
  out = mkdtempSync(join(tmpdir(), "tinycmp-tmpl-"));
  writeFileSync(f("x.cnf"), CONF);
  const key = (n: string) => ossl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${n}.key`]);
  const issue = (n: string, ca: string, extfile: string, ext: string) => {
    key(n);
    ossl(["req", "-new", "-key", `${n}.key`, "-subj", `/CN=tinycmp ${n}`, "-out", `${n}.csr`]);
    ossl([
      "x509",
      "-req",
      "-in",
      `${n}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-days",
      "30",
      "-extfile",
      extfile,
      "-extensions",
      ext,
      "-out",
      `${n}.crt`,
    ]);
  };
  writeFileSync(
    f("more.cnf"),
    [
      "[sub]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid",
      // CMP signers without digitalSignature: an RA (id-kp-cmcRA) and another end entity
      "[nokura]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,keyAgreement\nextendedKeyUsage=1.3.6.1.5.5.7.3.28\nsubjectKeyIdentifier=hash",
      "[nokuee]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,keyAgreement\nsubjectKeyIdentifier=hash\n",
    ].join("\n"),
  );
  // root -> sub CA -> CMP signer (id-kp-cmcRA); another root that signed nothing here
  issue("sub", "root", "more.cnf", "sub");
  issue("subsrv", "sub", "ext.cnf", "ra");
  issue("nokura", "root", "more.cnf", "nokura");
  issue("nokuee", "root", "more.cnf", "nokuee");
  key("root2");
  ossl(["req", "-x509", "-new", "-key", "root2.key", "-subj", "/CN=tinycmp other root", "-days", "30", "-out", "root2.crt"]);
}, 60_000);

/** One element of `openssl asn1parse -i`: offset, depth, header and content length, tag text. */
interface El {
  off: number;
  depth: number;
  hl: number;
  len: number;
  tag: string;
}
function asn1(file: string): El[] {
  return ossl(["asn1parse", "-inform", "DER", "-in", file, "-i"])
    .split("\n")
    .flatMap((l) => {
      const m = /^\s*(\d+):d=(\d+)\s+hl=(\d+)\s+l=\s*(\d+)\s+(?:prim|cons):\s*(.*?)\s*(?::|$)/.exec(l);
      return m ? [{ off: +m[1], depth: +m[2], hl: +m[3], len: +m[4], tag: m[5].trim() }] : [];
    });
}
/** The bytes of the first element with this tag at this depth (openssl's parse), or undefined. */
function element(file: string, tag: string, depth: number, nth = 0): Buffer | undefined {
  const e = asn1(file).filter((x) => x.tag === tag && x.depth === depth)[nth];
  return e && readFileSync(file).subarray(e.off, e.off + e.hl + e.len);
}
// certTemplate fields (PKIMessage > body > CertReqMessages > CertReqMsg > CertRequest > certTemplate > field)
const templateField = (file: string, n: number) => element(file, `cont [ ${n} ]`, 6);
const hex = (b?: Uint8Array) => (b ? Buffer.from(b).toString("hex") : "absent");

const server = (s: MockServer) => ["-server", `127.0.0.1:${s.port}/pkix/`];
const pbm = ["-ref", "ref", "-secret", "pass:secret"];
const ir = (certout: string) => ["-cmd", "ir", "-newkey", f("rsp.key"), "-subject", "/CN=tinycmp device", "-certout", certout];

/** Sends the same command line with `openssl cmp` and with tinycmp; the request files of each. */
async function both(s: MockServer, name: string, args: string[], n = 1): Promise<{ ossl: string[]; ours: string[] }> {
  const files = (who: string) => Array.from({ length: n }, (_, i) => join(out, `${name}-${who}-${i}.der`));
  const o = files("ossl"),
    t = files("ours");
  ossl(["cmp", "-config", f("x.cnf"), "-section", "", ...server(s), ...pbm, ...ir(join(out, `${name}-o.pem`)), ...args, "-reqout", o.join(",")]);
  const r = await cli([...server(s), ...pbm, ...ir(join(out, `${name}-t.pem`)), "-config", f("x.cnf"), ...args, "-reqout", t.join(",")]);
  expect(r.status, r.stderr).toBe(0);
  return { ossl: o, ours: t };
}

describe("certTemplate extensions as openssl cmp sends them", () => {
  it("-reqexts, -policies, -sans, -policy_oids: the extensions are openssl cmp's, byte for byte", async () => {
    await withMockServer(creds, [], async (s) => {
      const cases: [string, string[]][] = [
        ["all", ["-reqexts", "reqexts", "-policies", "pols"]],
        ["order", ["-reqexts", "ku_only", "-sans", "a.example 10.0.0.1", "-policy_oids", "1.2.3.4, 1.2.3.5", "-policy_oids_critical"]],
        ["sans", ["-sans", "a.example,b.example ::1"]],
        ["replace", ["-reqexts", "ku_bc", "-policies", "ku_again"]],
        ["oids", ["-policy_oids", "1.2.3.4"]],
      ];
      for (const [name, args] of cases) {
        const r = await both(s, name, args);
        const theirs = templateField(r.ossl[0], 9),
          ours = templateField(r.ours[0], 9);
        expect(theirs, name).toBeDefined();
        expect(hex(ours), name).toBe(hex(theirs));
      }
    });
  }, 60_000);

  it("mistakes are refused before anything is sent, in one line naming the option", async () => {
    await withCounter(async (port, count) => {
      const base = ["-cmd", "ir", "-server", `127.0.0.1:${port}`, ...pbm, "-newkey", f("rsp.key"), "-subject", "/CN=x", "-certout", join(out, "no.pem")];
      const conf = ["-config", f("x.cnf")];
      const cases: [string[], RegExp][] = [
        [["-reqexts", "reqexts"], /-reqexts reqexts needs -config/],
        [[...conf, "-reqexts", "nosuch"], /-reqexts nosuch: no such section/],
        [[...conf, "-reqexts", "bad_ext"], /-reqexts \[bad_ext\] subjectKeyIdentifier: is not supported/],
        [[...conf, "-reqexts", "bad_ku"], /keyUsage digitalSignatur: not one of/],
        [[...conf, "-reqexts", "bad_san"], /subjectAltName type otherName: is not supported/],
        [[...conf, "-reqexts", "with_san", "-sans", "a.example"], /-sans and a subjectAltName of -reqexts exclude each other/],
        [[...conf, "-policies", "pols", "-policy_oids", "1.2.3"], /-policies and -policy_oids exclude each other/],
        [[...conf, "-reqexts", "ku_again", "-policy_oids", "1.2.3"], /-policy_oids and a certificatePolicies of -reqexts/],
        [["-policy_oids", "1.2.x"], /-policy_oids: "1.2.x" is not a dotted OID/],
        [["-policy_oids_critical"], /-policy_oids_critical needs -policy_oids/],
        [["-days", "abc"], /-days abc: not a whole number/],
        [["-days", "-1"], /-days -1: must be 0\.\.1000000/],
        [["-issuer", "/XX=1"], /-issuer: unknown attribute type "XX"/],
        [["-geninfo", "1.2.3:str:x"], /-geninfo 1\.2\.3:str:x: use OID:int:N/],
        [["-geninfo", "1.2.3:int:1x"], /use OID:int:N/],
        [["-geninfo", "abc:int:1"], /-geninfo: "abc" is not a dotted OID/],
        [["-geninfo", "1.2.3:int:9223372036854775808"], /must fit 64 bits/],
        [["-popo", "2"], /-popo 2 \(keyEncipherment.*cannot decrypt it; use -popo 1/],
        [["-disable_confirm", "-popo", "2"], /^tinycmp: -popo 2/], // the warning only once the request is built
        [["-reqin", f("x.cnf")], /-reqin: .*x\.cnf: not a DER PKIMessage/],
        [["-trusted", f("srv.crt")], /-trusted .*srv\.crt: no self-signed certificate to end a path: give the root, or -partial_chain/],
        [["-out_trusted", f("srv.crt")], /-out_trusted .*: no self-signed certificate .*-partial_chain/],
      ];
      for (const [args, msg] of cases) {
        const r = await cli([...base, ...args]);
        expect(r.status, args.join(" ")).toBe(2);
        expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
        expect(r.stderr, args.join(" ")).toMatch(msg);
      }
      const p10 = await cli([
        "-cmd",
        "p10cr",
        "-server",
        `127.0.0.1:${port}`,
        ...pbm,
        "-newkey",
        f("rsp.key"),
        "-subject",
        "/CN=x",
        "-certout",
        join(out, "no.pem"),
        "-days",
        "3",
      ]);
      expect(p10.status).toBe(2);
      expect(p10.stderr).toMatch(/-days applies to ir, cr and kur, not p10cr/);
      expect(count()).toBe(0);
    });
  });
});

describe("-partial_chain: which -trusted certificates may end a path", () => {
  it("a sub CA ends the path only with -partial_chain; without it, it is an intermediate to a self-signed root", async () => {
    await withMockServer(
      creds,
      [],
      async (s) => {
        const genm = (...args: string[]) => cli([...server(s), "-cert", f("dev.crt"), "-key", f("dev.key"), "-cmd", "genm", ...args]);
        const partial = await genm("-trusted", f("sub.crt"), "-partial_chain");
        expect(partial.status, partial.stderr).toBe(0);
        const viaRoot = await genm("-trusted", `${f("sub.crt")},${f("root.crt")}`);
        expect(viaRoot.status, viaRoot.stderr).toBe(0);
        // without -partial_chain the sub CA no longer ends the path: with a root that did not sign it, refused
        const wrongRoot = await genm("-trusted", `${f("sub.crt")},${f("root2.crt")}`);
        expect(wrongRoot.status).toBe(1);
        expect(wrongRoot.stderr).toMatch(/genm failed: response signer is not trusted/);
        expect((await genm("-trusted", `${f("sub.crt")},${f("root2.crt")}`, "-partial_chain")).status).toBe(0);
      },
      { srv: "subsrv" },
    );
  });
});

/** UTCTime / GeneralizedTime contents of an element (openssl asn1parse prints them) as seconds. */
function times(file: string, within: Buffer): number[] {
  const all = readFileSync(file);
  const start = all.indexOf(within);
  return asn1(file)
    .filter((e) => e.off > start && e.off < start + within.length && /TIME$/.test(e.tag))
    .map((e) => {
      const s = all.subarray(e.off + e.hl, e.off + e.hl + e.len).toString("latin1");
      const y = e.tag === "UTCTIME" ? 2000 + +s.slice(0, 2) : +s.slice(0, 4);
      const r = s.slice(e.tag === "UTCTIME" ? 2 : 4);
      return Date.UTC(y, +r.slice(0, 2) - 1, +r.slice(2, 4), +r.slice(4, 6), +r.slice(6, 8), +r.slice(8, 10)) / 1000;
    });
}
const shape = (file: string, el: Buffer) => {
  const start = readFileSync(file).indexOf(el),
    base = asn1(file).find((e) => e.off === start)!;
  return asn1(file)
    .filter((e) => e.off >= start && e.off < start + el.length)
    .map((e) => `${e.depth - base.depth}:${e.tag}`)
    .join(" ");
};

describe("-days, -issuer, -geninfo as openssl cmp sends them", () => {
  it("certTemplate issuer [3] and validity [4], recipient, generalInfo in every request: as openssl cmp's", async () => {
    await withMockServer(creds, [], async (s) => {
      const r = await both(s, "dig", ["-days", "10", "-issuer", "/CN=tinycmp test root", "-geninfo", "1.2.3.4:int:-5"], 2);
      expect(existsSync(r.ours[1]) && existsSync(r.ossl[1])).toBe(true); // certConf sent by both
      expect(hex(templateField(r.ours[0], 3))).toBe(hex(templateField(r.ossl[0], 3)));
      expect(hex(templateField(r.ours[0], 3))).toContain(Buffer.from(nameDer("/CN=tinycmp test root")).toString("hex"));
      // recipient: the header's second [4] (sender, recipient; transactionID is [4] too)
      expect(hex(element(r.ours[0], "cont [ 4 ]", 2, 1))).toBe(hex(element(r.ossl[0], "cont [ 4 ]", 2, 1)));
      const ours = templateField(r.ours[0], 4)!,
        theirs = templateField(r.ossl[0], 4)!;
      expect(shape(r.ours[0], ours)).toBe(shape(r.ossl[0], theirs)); // [4] { [0] { UTCTime } [1] { UTCTime } }
      expect(shape(r.ours[0], ours)).toBe("0:cont [ 4 ] 1:cont [ 0 ] 2:UTCTIME 1:cont [ 1 ] 2:UTCTIME");
      const [nb, na] = times(r.ours[0], ours);
      expect(na - nb).toBe(10 * 86400);
      expect(Math.abs(nb - Date.now() / 1000)).toBeLessThan(600);
      for (const i of [0, 1]) {
        const g = element(r.ours[i], "cont [ 8 ]", 2);
        expect(g, `request ${i}`).toBeDefined();
        expect(hex(g)).toBe(hex(element(r.ossl[i], "cont [ 8 ]", 2)));
      }
    });
  }, 60_000);

  it("the strict test PKI takes the template (parsed with @peculiar/asn1) and issues for -days", async () => {
    const pki = await TestPki.start({});
    try {
      const { dir, files } = await pki.writeFiles();
      const conf = join(dir, "x.cnf");
      writeFileSync(conf, CONF);
      const req = join(dir, "ir.der"),
        cert = join(dir, "days.crt");
      const r = await cli([
        "-server",
        `${pki.url.replace("http://", "")}/pkix/`,
        "-ref",
        files.ref,
        "-secret",
        `pass:${files.secret}`,
        "-trusted",
        files.root,
        "-cmd",
        "ir",
        "-subject",
        "/CN=days device",
        "-newkeyout",
        join(dir, "days.key"),
        "-certout",
        cert,
        "-days",
        "10",
        "-issuer",
        "/CN=tinycmp Test Issuing CA",
        "-geninfo",
        "1.3.6.1.4.1.99:int:70000",
        "-config",
        conf,
        "-reqexts",
        "ku_only",
        "-sans",
        "d.example",
        "-policy_oids",
        "1.2.3.4",
        "-reqout",
        req,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const validTo = new Date(new X509Certificate(readFileSync(cert)).validTo).getTime() / 1000;
      expect(Math.abs(validTo - (Date.now() / 1000 + 10 * 86400))).toBeLessThan(600);
      const msg = AsnConvert.parse(readFileSync(req), PKIMessage);
      const t = msg.body.ir![0].certReq.certTemplate;
      expect(Buffer.from(AsnConvert.serialize(t.issuer!))).toEqual(Buffer.from(nameDer("/CN=tinycmp Test Issuing CA")));
      expect(t.validity!.notBefore!.utcTime).toBeInstanceOf(Date);
      expect(t.validity!.notAfter!.utcTime!.getTime() - t.validity!.notBefore!.utcTime!.getTime()).toBe(10 * 86400 * 1000);
      expect(t.extensions!.map((e) => `${e.extnID}${e.critical ? "!" : ""}`)).toEqual(["2.5.29.32", "2.5.29.17", "2.5.29.15"]);
      const g = msg.header.generalInfo!;
      expect(g.map((i) => i.infoType)).toEqual(["1.3.6.1.4.1.99"]);
      expect(Buffer.from(g[0].infoValue!).toString("hex")).toBe("0203011170"); // INTEGER 70000
    } finally {
      await pki.close();
    }
  }, 60_000);
});

describe("-disable_confirm and -ignore_keyusage", () => {
  it("-disable_confirm: no certConf, a warning; a certificate for another key is still refused and not written", async () => {
    await withMockServer(creds, [], async (s) => {
      const reqs = [join(out, "dc-0.der"), join(out, "dc-1.der")];
      const r = await cli([...server(s), ...pbm, ...ir(join(out, "dc.pem")), "-disable_confirm", "-reqout", reqs.join(",")]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^tinycmp: warning: -disable_confirm: .*violates RFC 9810/);
      expect(existsSync(reqs[0]) && !existsSync(reqs[1])).toBe(true);
      expect(asn1(reqs[0]).some((e) => e.tag === "cont [ 8 ]" && e.depth === 2)).toBe(false); // no implicitConfirm asked
      // the server answers rsp.crt: not the key of other.key
      const wrong = [join(out, "dcw-0.der"), join(out, "dcw-1.der")];
      const w = await cli([
        ...server(s),
        ...pbm,
        ...ir(join(out, "dcw.pem")).map((a) => (a === f("rsp.key") ? f("other.key") : a)),
        "-disable_confirm",
        "-reqout",
        wrong.join(","),
      ]);
      expect(w.status).toBe(1);
      expect(w.stderr).toMatch(/error -93/);
      expect(existsSync(join(out, "dcw.pem"))).toBe(false);
      expect(existsSync(wrong[1])).toBe(false);
    });
  });

  it("-ignore_keyusage relaxes only the signer's digitalSignature: trust and authorization are still checked", async () => {
    const genm = (s: MockServer, ...args: string[]) => cli([...server(s), "-cert", f("dev.crt"), "-key", f("dev.key"), "-cmd", "genm", ...args]);
    await withMockServer(
      creds,
      [],
      async (s) => {
        const strict = await genm(s, "-trusted", f("root.crt"));
        expect(strict.status).toBe(1);
        expect(strict.stderr).toMatch(/error -57/);
        const relaxed = await genm(s, "-trusted", f("root.crt"), "-ignore_keyusage");
        expect(relaxed.status, relaxed.stderr).toBe(0);
        const other = await genm(s, "-trusted", f("root2.crt"), "-ignore_keyusage");
        expect(other.status).toBe(1);
        expect(other.stderr).toMatch(/not trusted/);
      },
      { srv: "nokura" },
    );
    await withMockServer(
      creds,
      [],
      async (s) => {
        const r = await genm(s, "-trusted", f("root.crt"), "-ignore_keyusage");
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/response signer is neither the issuing CA nor an RA or CA/);
      },
      { srv: "nokuee" },
    );
  });
});

describe("-reqin: a prebuilt request body under a fresh header", () => {
  const hdr = (file: string, n: number) => element(file, `cont [ ${n} ]`, 2);

  it("the body of openssl's ir goes out unchanged under a new transactionID and senderNonce; the answer is checked as usual", async () => {
    const prebuilt = join(out, "prebuilt-ir.der"),
      oldRsp = join(out, "prebuilt-ip.der"),
      otherKey = join(out, "prebuilt-other.der");
    await withMockServer(creds, [], async (s) => {
      ossl(["cmp", "-config", "", ...server(s), ...pbm, ...ir(join(out, "pre.pem")), "-reqout", prebuilt, "-rspout", oldRsp]);
      // a template for other.key: openssl's own client refuses the answer (rsp.crt), but its request is kept
      try {
        ossl([
          "cmp",
          "-config",
          "",
          ...server(s),
          ...pbm,
          ...ir(join(out, "pre2.pem")).map((a) => (a === f("rsp.key") ? f("other.key") : a)),
          "-reqout",
          otherKey,
        ]);
      } catch {
        /* expected */
      }
    });
    await withMockServer(creds, [], async (s) => {
      const sent = [join(out, "reqin-0.der"), join(out, "reqin-1.der")];
      const r = await cli([
        ...server(s),
        ...pbm,
        "-cmd",
        "ir",
        "-reqin",
        prebuilt,
        "-reqin_new_tid",
        "-certout",
        join(out, "reqin.pem"),
        "-reqout",
        sent.join(","),
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(sent[1])).toBe(true); // certConf
      // body [0] byte for byte; transactionID [4] (third [4] of the header) and senderNonce [5] fresh
      expect(hex(element(sent[0], "cont [ 0 ]", 1))).toBe(hex(element(prebuilt, "cont [ 0 ]", 1)));
      expect(hex(element(sent[0], "cont [ 4 ]", 2, 2))).not.toBe(hex(element(prebuilt, "cont [ 4 ]", 2, 2)));
      expect(hex(hdr(sent[0], 5))).not.toBe(hex(hdr(prebuilt, 5)));
      expect(new X509Certificate(readFileSync(join(out, "reqin.pem"))).raw.equals(new X509Certificate(readFileSync(f("rsp.crt"))).raw)).toBe(true);
      // a certificate for another key than the template's publicKey: refused, nothing written
      const w = await cli([...server(s), ...pbm, "-cmd", "ir", "-reqin", otherKey, "-certout", join(out, "reqin-w.pem")]);
      expect(w.status).toBe(1);
      expect(w.stderr).toMatch(/error -93/);
      expect(existsSync(join(out, "reqin-w.pem"))).toBe(false);
    });
    // the old exchange's answer, replayed: its transactionID and recipNonce are the old request's, not ours
    const replay = await cli([...pbm, "-cmd", "ir", "-reqin", prebuilt, "-rspin", oldRsp, "-certout", join(out, "replay.pem")]);
    expect(replay.status).toBe(1);
    expect(replay.stderr).toMatch(/transactionID|recipNonce/);
    expect(existsSync(join(out, "replay.pem"))).toBe(false);
    // the body must be the request of -cmd
    await withCounter(async (port, count) => {
      const r = await cli(["-server", `127.0.0.1:${port}`, ...pbm, "-cmd", "cr", "-reqin", prebuilt, "-certout", join(out, "x.pem")]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/-reqin: .*its body \[0\] is not a cr \[2\]/);
      expect(count()).toBe(0);
    });
  }, 60_000);
});

describe("the core's items behind these options refuse what would slip past them", () => {
  const LEAN_WASM = join(__dirname, "..", "build", "tinycmp-lean.wasm");
  const refused = async (d: Device, op: "ir" | "cr" | "genm", req: Request) => {
    const e = await Promise.resolve()
      .then(() => d.run(op, req))
      .catch((x) => x);
    expect(e).toBeInstanceOf(CmpError);
    return e as CmpError;
  };
  const base = { ref: "ref", secret: "secret", subject: nameDer("/CN=x") };

  it("GENINFO must be an InfoTypeAndValue; the lean module refuses ISSUER, GENINFO, REQIN and DAYS", async () => {
    let sent = 0;
    const d = new Device({
      transfer: async () => {
        sent++;
        return new Uint8Array(0);
      },
    });
    const e = await refused(d, "genm", { ...base, generalInfo: [Uint8Array.of(0x04, 0x01, 0x00)] });
    expect(e.code).toBe(-82); // E_CMP_CONFIG
    d.close();
    const lean = new Device(
      {
        transfer: async () => {
          sent++;
          return new Uint8Array(0);
        },
      },
      { wasm: LEAN_WASM },
    );
    for (const req of [
      { issuer: nameDer("/CN=i") },
      { generalInfo: [Uint8Array.of(0x30, 0x03, 0x06, 0x01, 0x2a)] },
      { reqin: Uint8Array.of(0x30, 0x00) },
      { days: 1 },
    ]) {
      expect((await refused(lean, "ir", { ...base, ...req })).code, Object.keys(req)[0]).toBe(-20); // E_ARG
    }
    lean.close();
    expect(sent).toBe(0);
  });

  it("REQIN: a body of another request, a second CertReqMsg or a certReqId other than 0 is refused before sending", async () => {
    const prebuilt = new Uint8Array(readFileSync(join(out, "prebuilt-ir.der"))); // written by the -reqin test above
    const top = tlv(prebuilt, 0),
      [hdr, body] = children(prebuilt, top);
    const reqs = children(prebuilt, children(prebuilt, body)[0]);
    const msg = prebuilt.slice(reqs[0].start, reqs[0].end);
    const pkiMessage = (bodyContent: Uint8Array) => der(0x30, prebuilt.slice(hdr.start, hdr.end), der(0xa0, der(0x30, bodyContent)));
    const twoMsgs = pkiMessage(Buffer.concat([msg, msg]));
    // certReqId 1: CertReqMsg { CertRequest { INTEGER 0 ... } }: the INTEGER's value octet
    const m = tlv(msg, 0),
      certReq = children(msg, m)[0],
      id = children(msg, certReq)[0];
    const other = new Uint8Array(msg);
    other[id.value] = 1;
    let sent = 0;
    const d = new Device({
      transfer: async () => {
        sent++;
        return new Uint8Array(0);
      },
    });
    for (const [what, reqin, op] of [
      ["an ir for cr", prebuilt, "cr"],
      ["two CertReqMsgs", twoMsgs, "ir"],
      ["certReqId 1", pkiMessage(other), "ir"],
      ["no PKIMessage", Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00), "ir"],
    ] as const) {
      const e = await refused(d, op, { ref: "ref", secret: "secret", reqin });
      expect(e.code, what).toBe(-82);
      expect(e.detail, what).toMatch(/REQIN is not a PKIMessage whose body is the request of this operation/);
    }
    // the same message rebuilt unchanged is taken (the refusals above are for what was changed)
    expect(await d.run("ir", { ref: "ref", secret: "secret", reqin: pkiMessage(msg) }).catch((x) => (x as CmpError).code)).not.toBe(-82);
    d.close();
    expect(sent).toBe(1);
  });
});
