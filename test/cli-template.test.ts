// `openssl cmp` options that shape the request (-reqexts, -policies, -policy_oids, -sans, -days,
// -issuer, -geninfo) and the checks of the answer (-disable_confirm, -ignore_keyusage,
// -partial_chain). The oracle for every encoding is `openssl cmp` 3.0 itself, as a client sending
// the same command line (its request parsed by `openssl asn1parse`, never by our decoder), and as
// the mock server accepting ours; the strict test PKI parses our requests with @peculiar/asn1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AsnConvert } from "@peculiar/asn1-schema";
import { cli } from "./cli-run";
import { makeCreds, type Creds, type MockServer, withMockServer } from "./openssl-cmp";
import { nameDer } from "../host/node/files";
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
}, 30_000);

/** One element of `openssl asn1parse -i`: offset, depth, header and content length, tag text. */
interface El { off: number; depth: number; hl: number; len: number; tag: string }
function asn1(file: string): El[] {
  return ossl(["asn1parse", "-inform", "DER", "-in", file, "-i"]).split("\n").flatMap((l) => {
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
  const o = files("ossl"), t = files("ours");
  ossl(["cmp", "-config", f("x.cnf"), "-section", "", ...server(s), ...pbm, ...ir(join(out, `${name}-o.pem`)), ...args, "-reqout", o.join(",")]);
  const r = await cli([...server(s), ...pbm, ...ir(join(out, `${name}-t.pem`)), "-config", f("x.cnf"), ...args, "-reqout", t.join(",")]);
  expect(r.status, r.stderr).toBe(0);
  return { ossl: o, ours: t };
}

/** A plain HTTP server counting requests, answering 404: shows whether anything was sent. */
async function withCounter<T>(fn: (port: number, count: () => number) => Promise<T>): Promise<T> {
  let n = 0;
  const srv = http.createServer((q, r) => { n++; r.writeHead(404); r.end(); });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  try { return await fn((srv.address() as any).port, () => n); } finally { srv.closeAllConnections(); srv.close(); }
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
        const theirs = templateField(r.ossl[0], 9), ours = templateField(r.ours[0], 9);
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
        [["-reqin", f("x.cnf")], /-reqin is not supported/],
        [["-trusted", f("srv.crt")], /-trusted .*srv\.crt: no self-signed certificate to end a path: give the root, or -partial_chain/],
        [["-out_trusted", f("srv.crt")], /-out_trusted .*: no self-signed certificate .*-partial_chain/],
      ];
      for (const [args, msg] of cases) {
        const r = await cli([...base, ...args]);
        expect(r.status, args.join(" ")).toBe(2);
        expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
        expect(r.stderr, args.join(" ")).toMatch(msg);
      }
      const p10 = await cli(["-cmd", "p10cr", "-server", `127.0.0.1:${port}`, ...pbm, "-newkey", f("rsp.key"), "-subject", "/CN=x", "-certout", join(out, "no.pem"), "-days", "3"]);
      expect(p10.status).toBe(2);
      expect(p10.stderr).toMatch(/-days applies to ir, cr and kur, not p10cr/);
      expect(count()).toBe(0);
    });
  });
});

describe("-partial_chain: which -trusted certificates may end a path", () => {
  // root -> sub CA -> CMP signer (id-kp-cmcRA); another root that signed nothing here
  beforeAll(() => {
    writeFileSync(f("sub.cnf"), "[sub]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    ossl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sub.key"]);
    ossl(["req", "-new", "-key", "sub.key", "-subj", "/CN=tinycmp sub CA", "-out", "sub.csr"]);
    ossl(["x509", "-req", "-in", "sub.csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial", "-days", "30", "-extfile", "sub.cnf", "-extensions", "sub", "-out", "sub.crt"]);
    ossl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "subsrv.key"]);
    ossl(["req", "-new", "-key", "subsrv.key", "-subj", "/CN=tinycmp server under sub CA", "-out", "subsrv.csr"]);
    ossl(["x509", "-req", "-in", "subsrv.csr", "-CA", "sub.crt", "-CAkey", "sub.key", "-CAcreateserial", "-days", "30", "-extfile", "ext.cnf", "-extensions", "ra", "-out", "subsrv.crt"]);
    ossl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "root2.key"]);
    ossl(["req", "-x509", "-new", "-key", "root2.key", "-subj", "/CN=tinycmp other root", "-days", "30", "-out", "root2.crt"]);
  }, 30_000);

  it("a sub CA ends the path only with -partial_chain; without it, it is an intermediate to a self-signed root", async () => {
    await withMockServer(creds, [], async (s) => {
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
    }, { srv: "subsrv" });
  });
});
