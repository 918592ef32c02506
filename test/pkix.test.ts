// pkix: certificate parsing (cert_parse) vs node:crypto and openssl, signatures (sig_verify) on
// real certificates and CMP messages, path validation (cert_verify_path) on the real 2022 CMP
// flows and on chains made here with openssl (valid and one failure each), cross-checked with
// `openssl verify -attime`; random mutations never throw.
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Core } from "../host/node/lib/core";
import { VECTORS, toHex, vector } from "./helpers/vectors";
import { expectCode } from "./helpers/codes";

import {
  E_CERT_SIGNATURE,
  E_CERT_EXPIRED,
  E_CERT_NOT_YET_VALID,
  E_CERT_UNTRUSTED,
  E_CERT_NOT_CA,
  E_CERT_PATH_LEN,
  E_CERT_NAME,
  E_CERT_UNSUPPORTED,
  E_CERT_POOL,
  E_LEGACY,
  E_SIG_INVALID,
} from "../host/node/lib/abi";
import { E_ALG } from "../host/node/lib/abi";

// ---- a small DER walker, independent of the core ----
interface El {
  tag: number;
  start: number;
  vs: number;
  end: number;
}
function readEl(b: Uint8Array, off: number): El {
  const start = off,
    tag = b[off++];
  let len = b[off++];
  if (len & 0x80) {
    const k = len & 0x7f;
    len = 0;
    for (let i = 0; i < k; i++) len = len * 256 + b[off++];
  }
  return { tag, start, vs: off, end: off + len };
}
function kids(b: Uint8Array, e: El): El[] {
  const out: El[] = [];
  for (let p = e.vs; p < e.end; ) {
    const c = readEl(b, p);
    if (c.end > e.end) break;
    out.push(c);
    p = c.end;
  }
  return out;
}
const whole = (b: Uint8Array, e: El) => b.subarray(e.start, e.end);

// Every SEQUENCE inside b (at any depth) that has the shape of a Certificate and that node accepts.
function findCerts(b: Uint8Array): Uint8Array[] {
  const found: Uint8Array[] = [];
  const visit = (e: El, depth: number) => {
    if (depth > 20) return;
    const k = e.tag & 0x20 ? kids(b, e) : [];
    if (e.tag === 0x30 && k.length === 3 && k[0].tag === 0x30 && k[1].tag === 0x30 && k[2].tag === 0x03) {
      try {
        new X509Certificate(whole(b, e));
        found.push(whole(b, e).slice());
        return;
      } catch {
        /* not a certificate */
      }
    }
    for (const c of k) visit(c, depth + 1);
  };
  visit(readEl(b, 0), 0);
  return found;
}

const pem = (s: string): Uint8Array[] =>
  [...s.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64")));

// ---- the core ----
const core = new Core();
const X = core.exports;
const mem = () => new DataView(core.memory.buffer);

interface Summary {
  ranges: [number, number][];
  notBefore: number;
  notAfter: number;
  ca: number;
  pathLen: number;
  keyUsage: number;
  flags: number;
}
const TBS = 0,
  SERIAL = 1,
  ISSUER = 2,
  SUBJECT = 3,
  SPKI = 4,
  SKI = 5,
  AKI = 6,
  SIG_ALG = 7,
  SIG = 8,
  EKU = 9;

function certParse(der: Uint8Array): number | Summary {
  core.reset();
  const p = core.put(der),
    out = core.reserve(112);
  const rc = X.cert_parse(p, der.length, out);
  if (rc !== 0) return rc;
  const m = mem(),
    r: [number, number][] = [];
  for (let i = 0; i < 10; i++) r.push([m.getInt32(out + 8 * i, true), m.getInt32(out + 8 * i + 4, true)]);
  return {
    ranges: r,
    notBefore: Number(m.getBigInt64(out + 80, true)),
    notAfter: Number(m.getBigInt64(out + 88, true)),
    ca: m.getInt32(out + 96, true),
    pathLen: m.getInt32(out + 100, true),
    keyUsage: m.getInt32(out + 104, true),
    flags: m.getInt32(out + 108, true),
  };
}

function table(list: Uint8Array[]): number {
  const ptrs = list.map((c) => core.put(c));
  const t = core.reserve(8 * Math.max(list.length, 1));
  ptrs.forEach((p, i) => {
    mem().setUint32(t + 8 * i, p, true);
    mem().setUint32(t + 8 * i + 4, list[i].length, true);
  });
  return t;
}

function verifyPath(target: Uint8Array, pool: Uint8Array[], anchors: Uint8Array[], now: number, flags = 0): number {
  core.reset();
  const t = core.put(target);
  const pt = table(pool),
    at = table(anchors);
  return X.cert_verify_path(t, target.length, pt, pool.length, at, anchors.length, BigInt(now), flags);
}

function sigVerify(alg: Uint8Array, spki: Uint8Array, data: Uint8Array, sig: Uint8Array, flags = 0): number {
  core.reset();
  const a = core.put(alg),
    k = core.put(spki),
    d = core.put(data),
    s = core.put(sig);
  return X.sig_verify(a, alg.length, k, spki.length, d, data.length, s, sig.length, flags);
}

// The parts of a certificate by the JS walker.
function parts(der: Uint8Array) {
  const c = kids(der, readEl(der, 0));
  const t = kids(der, c[0]);
  const i = t[0].tag === 0xa0 ? 1 : 0;
  return {
    tbs: whole(der, c[0]),
    sigAlg: whole(der, c[1]),
    sig: der.subarray(c[2].vs + 1, c[2].end),
    sigEl: c[2],
    tbsEl: c[0],
    serial: t[i],
    issuer: t[i + 2],
    subject: t[i + 4],
    spki: t[i + 5],
  };
}

// SKI, AKI keyid, keyUsage bits, basicConstraints as openssl prints them.
const KU_NAMES = [
  "Digital Signature",
  "Non Repudiation",
  "Key Encipherment",
  "Data Encipherment",
  "Key Agreement",
  "Certificate Sign",
  "CRL Sign",
  "Encipher Only",
  "Decipher Only",
];
function opensslExt(der: Uint8Array) {
  const text = execFileSync("openssl", ["x509", "-inform", "DER", "-noout", "-ext", "subjectKeyIdentifier,authorityKeyIdentifier,keyUsage,basicConstraints"], {
    input: der,
    env: OSSL_ENV,
  }).toString();
  const after = (h: string) => {
    const m = text.match(new RegExp(h + "[^\\n]*\\n\\s*([^\\n]*)"));
    return m ? m[1].trim() : undefined;
  };
  const ski = after("Subject Key Identifier");
  const aki = after("Authority Key Identifier");
  const ku = after("X509v3 Key Usage");
  const bc = after("Basic Constraints");
  return {
    ski: ski ? ski.replace(/:/g, "").toLowerCase() : "",
    aki: aki
      ? aki
          .replace(/^keyid:/, "")
          .replace(/:/g, "")
          .toLowerCase()
      : "",
    keyUsage: ku === undefined ? -1 : KU_NAMES.reduce((a, n, i) => a | (ku.includes(n) ? 1 << i : 0), 0),
    pathLen: bc && /pathlen:(\d+)/.test(bc) ? Number(bc.match(/pathlen:(\d+)/)![1]) : -1,
    bc: bc !== undefined,
  };
}
const OSSL_ENV = { ...process.env, OPENSSL_CONF: "/dev/null" };

// ---- the real certificates ----
const FLOWS = ["CrWithSignatureProtection", "IrWithMacProtection", "Kur"];
const messages: { name: string; der: Uint8Array }[] = [];
for (const f of FLOWS) {
  for (const n of readdirSync(`${VECTORS}lwcmpra/${f}`)) {
    if (n.endsWith(".der")) messages.push({ name: `lwcmpra/${f}/${n}`, der: vector(`lwcmpra/${f}/${n}`) });
  }
}
for (const n of readdirSync(`${VECTORS}rustcrypto-cmpv2`)) {
  if (n.endsWith(".bin")) messages.push({ name: `rustcrypto-cmpv2/${n}`, der: vector(`rustcrypto-cmpv2/${n}`) });
}
const roots = readdirSync(`${VECTORS}lwcmpra/roots`).map((n) => pem(readFileSync(`${VECTORS}lwcmpra/roots/${n}`, "utf8"))[0]);
const rcCa = pem(readFileSync(`${VECTORS}rustcrypto-cmpv2/ec384-ca-key.crt`, "utf8"))[0];
const rcServer = pem(readFileSync(`${VECTORS}rustcrypto-cmpv2/ec384-server-key.crt`, "utf8"))[0];

const realCerts = new Map<string, Uint8Array>();
for (const c of [...roots, rcCa, rcServer, ...messages.flatMap((m) => findCerts(m.der))]) realCerts.set(toHex(c), c);
const real = [...realCerts.values()];

// extraCerts ([1] of PKIMessage) and messageTime ([0] of PKIHeader) of a message.
function messageInfo(b: Uint8Array) {
  const top = kids(b, readEl(b, 0));
  const header = kids(b, top[0]);
  const timeEl = header.find((e) => e.tag === 0xa0);
  let time = 0;
  if (timeEl) {
    const s = Buffer.from(b.subarray(timeEl.vs + 2, timeEl.end)).toString();
    time = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000;
  }
  const xc = top.slice(2).find((e) => e.tag === 0xa1);
  const extraCerts = xc ? kids(b, kids(b, xc)[0]).map((e) => whole(b, e).slice()) : [];
  const protAlg = header.find((e) => e.tag === 0xa1);
  const prot = top.slice(2).find((e) => e.tag === 0xa0);
  return {
    time,
    extraCerts,
    header: top[0],
    body: top[1],
    protAlg: protAlg ? whole(b, kids(b, protAlg)[0]) : undefined,
    protection: prot ? b.subarray(kids(b, prot)[0].vs + 1, kids(b, prot)[0].end) : undefined,
  };
}

function derSeq(content: Uint8Array): Uint8Array {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return new Uint8Array([0x30, ...len, ...content]);
}

describe("cert_parse on every real certificate", () => {
  it(`finds the certificates (${real.length})`, () => {
    expect(real.length).toBeGreaterThanOrEqual(20);
  });

  it("matches node:crypto and openssl field by field", () => {
    for (const der of real) {
      const s = certParse(der);
      expect(typeof s, toHex(der).slice(0, 40)).toBe("object");
      const v = s as Summary,
        c = new X509Certificate(der),
        p = parts(der);
      const range = (i: number) => der.subarray(v.ranges[i][0], v.ranges[i][0] + v.ranges[i][1]);
      expect(toHex(range(TBS))).toBe(toHex(p.tbs));
      expect(toHex(range(SIG_ALG))).toBe(toHex(p.sigAlg));
      expect(toHex(range(SIG))).toBe(toHex(p.sig));
      expect(toHex(range(ISSUER))).toBe(toHex(whole(der, p.issuer)));
      expect(toHex(range(SUBJECT))).toBe(toHex(whole(der, p.subject)));
      expect(toHex(range(SERIAL)).replace(/^(00)+/, "")).toBe(c.serialNumber.toLowerCase().replace(/^(00)+/, ""));
      expect(toHex(range(SPKI))).toBe(toHex(c.publicKey.export({ type: "spki", format: "der" })));
      expect(v.notBefore).toBe(Date.parse(c.validFrom) / 1000);
      expect(v.notAfter).toBe(Date.parse(c.validTo) / 1000);
      expect(v.ca > 0).toBe(c.ca);
      const o = opensslExt(der);
      expect(toHex(range(SKI))).toBe(o.ski);
      expect(toHex(range(AKI))).toBe(o.aki);
      expect(v.keyUsage).toBe(o.keyUsage);
      expect(v.pathLen).toBe(o.pathLen);
      expect(v.ca >= 0).toBe(o.bc);
      expect(v.flags).toBe(0);
    }
  });

  it("verifies the signature of every certificate whose issuer is known (sig_verify)", () => {
    let checked = 0;
    for (const der of real) {
      const c = new X509Certificate(der),
        p = parts(der);
      for (const iss of real) {
        const ic = new X509Certificate(iss);
        if (!c.checkIssued(ic) || !c.verify(ic.publicKey)) continue;
        const spki = whole(iss, parts(iss).spki);
        expect(sigVerify(p.sigAlg, spki, p.tbs, p.sig)).toBe(0);
        const bad = p.sig.slice();
        bad[bad.length - 1] ^= 1;
        expect(sigVerify(p.sigAlg, spki, p.tbs, bad)).toBeLessThan(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it("verifies the signature protection of the real CMP messages with the signer's key", () => {
    let checked = 0;
    for (const m of messages) {
      const info = messageInfo(m.der);
      if (!info.protAlg || !info.protection || info.extraCerts.length === 0) continue;
      const alg = info.protAlg;
      const mac = /2a864886f67d070c|2a864886f70d01050e/.test(toHex(alg)); // PBM, PBMAC1
      if (mac) continue;
      const spki = whole(info.extraCerts[0], parts(info.extraCerts[0]).spki);
      const part = derSeq(m.der.slice(info.header.start, info.body.end));
      expect(sigVerify(alg, spki, part, info.protection), m.name).toBe(0);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });
});

describe("cert_verify_path on the real flows", () => {
  it("validates the signer (extraCerts[0]) of every signed lwcmpra message at its messageTime", () => {
    let n = 0;
    for (const m of messages.filter((x) => x.name.startsWith("lwcmpra"))) {
      const info = messageInfo(m.der);
      if (info.extraCerts.length === 0) continue;
      const [signer, ...pool] = info.extraCerts;
      expect(info.time).toBeGreaterThan(Date.UTC(2022, 6, 1) / 1000);
      expect(verifyPath(signer, pool, roots, info.time), m.name).toBe(0);
      expectCode(verifyPath(signer, pool, roots, Date.UTC(2031, 0, 1) / 1000), E_CERT_EXPIRED);
      expectCode(verifyPath(signer, pool, [], info.time), E_CERT_UNTRUSTED);
      n++;
    }
    expect(n).toBeGreaterThanOrEqual(12);
  });

  it("validates the enrolled RSA certificates of the lwcmpra responses with the CA certificates in them", () => {
    for (const f of ["CrWithSignatureProtection/downstream_CERT_REP", "IrWithMacProtection/downstream_INIT_REP", "Kur/downstream_KEY_UPDATE_REP"]) {
      const der = vector(`lwcmpra/${f}.der`),
        info = messageInfo(der),
        all = findCerts(der);
      const ee = all.find((c) => new X509Certificate(c).subject === "CN=Subject")!;
      expect(verifyPath(ee, all, roots, info.time), f).toBe(0);
    }
  });

  it("rustcrypto: the enrolled certificate validates to the v1 CA; the self-signed server certificate only as an anchor", () => {
    const t = Date.UTC(2023, 5, 1) / 1000;
    const ee = findCerts(vector("rustcrypto-cmpv2/cr_rsp_01.bin")).find((c) => /CN=End Entity/.test(new X509Certificate(c).subject))!;
    expect(verifyPath(ee, [], [rcCa], t)).toBe(0);
    expectCode(verifyPath(ee, [rcCa], [], t), E_CERT_NOT_CA); // a v1 CA is only good as an anchor
    expectCode(verifyPath(ee, [], [rcCa], Date.UTC(2025, 1, 1) / 1000), E_CERT_EXPIRED);
    // ec384-server-key.crt is self-signed (CN=CMP), not issued by the CA
    expectCode(verifyPath(rcServer, [], [rcCa], t), E_CERT_UNTRUSTED);
    expectCode(verifyPath(rcServer, [rcServer], [rcCa], t), E_CERT_NOT_CA); // v1, in the pool
    expect(verifyPath(rcServer, [], [rcCa, rcServer], t)).toBe(0); // a target that is an anchor
    expectCode(verifyPath(rcCa, [rcCa], roots, t), E_CERT_NOT_CA);
  });
});

// ---- chains made with openssl ----
type Kind = "P-256" | "P-384" | "P-521" | "RSA" | "RSA-PSS";
interface Made {
  name: string;
  der: Uint8Array;
  key: string;
  file: string;
}

class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), "tinycmp-pkix-"));
  private serial = 0x1000;
  constructor() {
    writeFileSync(
      join(this.dir, "ca.cnf"),
      [
        "[ca]",
        "default_ca = d",
        "[d]",
        "database = index.txt",
        "new_certs_dir = .",
        "policy = p",
        "serial = serial",
        "unique_subject = no",
        "email_in_dn = no",
        "[p]",
        "commonName = supplied",
        "",
      ].join("\n"),
    );
    writeFileSync(join(this.dir, "index.txt"), "");
  }
  run(args: string[], input?: Uint8Array): Buffer {
    return execFileSync("openssl", args, { cwd: this.dir, env: OSSL_ENV, input, stdio: ["pipe", "pipe", "pipe"] });
  }
  key(name: string, kind: Kind): string {
    const file = `${name}.key`;
    const opts =
      kind === "RSA" || kind === "RSA-PSS"
        ? ["-algorithm", kind, "-pkeyopt", "rsa_keygen_bits:2048"]
        : ["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${kind}`, "-pkeyopt", "ec_param_enc:named_curve"];
    this.run(["genpkey", ...opts, "-out", file]);
    return file;
  }
  // A certificate for `name` with key `key`, signed by `issuer` (self-signed when absent).
  cert(
    name: string,
    key: string,
    issuer: Made | undefined,
    ext: string[],
    o: {
      start?: string;
      end?: string;
      md?: string;
      sigopt?: string[];
      cn?: string;
    } = {},
  ): Made {
    writeFileSync(join(this.dir, `${name}.ext`), ["[v3]", ...ext, ""].join("\n"));
    writeFileSync(join(this.dir, "serial"), (this.serial++).toString(16) + "\n");
    this.run(["req", "-new", "-key", key, "-subj", `/CN=${o.cn ?? name}`, "-out", `${name}.csr`]);
    const signer = issuer ? ["-cert", issuer.file, "-keyfile", issuer.key] : ["-selfsign", "-keyfile", key];
    this.run([
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-notext",
      "-preserveDN",
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.pem`,
      "-startdate",
      o.start ?? "20200101000000Z",
      "-enddate",
      o.end ?? "20400101000000Z",
      "-md",
      o.md ?? "sha256",
      "-extfile",
      `${name}.ext`,
      "-extensions",
      "v3",
      ...signer,
      ...(o.sigopt ?? []).flatMap((s) => ["-sigopt", s]),
    ]);
    return { name, key, file: `${name}.pem`, der: pem(readFileSync(join(this.dir, `${name}.pem`), "utf8"))[0] };
  }
  save(name: string, der: Uint8Array): string {
    const file = `${name}.pem`;
    writeFileSync(join(this.dir, file), `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64")}\n-----END CERTIFICATE-----\n`);
    return file;
  }
  // openssl verify of target with untrusted pool and trusted anchors at time t: accepted?
  verify(target: Uint8Array, pool: Uint8Array[], anchors: Uint8Array[], t: number, extra: string[] = []): boolean {
    const cat = (name: string, l: Uint8Array[]) => {
      writeFileSync(
        join(this.dir, name),
        l.map((c) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(c).toString("base64")}\n-----END CERTIFICATE-----\n`).join(""),
      );
      return name;
    };
    const args = ["verify", "-attime", String(t), "-CAfile", cat("anchors.pem", anchors), ...extra];
    if (pool.length) args.push("-untrusted", cat("pool.pem", pool));
    args.push(this.save("target", target));
    try {
      this.run(args);
      return true;
    } catch {
      return false;
    }
  }
  done(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const CA = [
  "basicConstraints = critical, CA:TRUE",
  "keyUsage = critical, keyCertSign, cRLSign",
  "subjectKeyIdentifier = hash",
  "authorityKeyIdentifier = keyid",
];
const EE = ["basicConstraints = critical, CA:FALSE", "keyUsage = critical, digitalSignature", "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"];
const NOW = Date.UTC(2025, 5, 1) / 1000;

describe("cert_verify_path on chains made with openssl", () => {
  let pki: Pki;
  let root: Made, inter: Made, leaf: Made, otherRoot: Made;
  const keys: Record<string, string> = {};
  beforeAll(() => {
    pki = new Pki();
    for (const k of ["P-256", "P-384", "P-521", "RSA", "RSA-PSS"] as Kind[]) keys[k] = pki.key(k.replace(/-/g, ""), k);
    keys.r2 = pki.key("r2", "P-256");
    keys.i2 = pki.key("i2", "P-256");
    keys.ee = pki.key("ee", "P-256");
    root = pki.cert("root", keys["P-256"], undefined, CA);
    inter = pki.cert("inter", keys.i2, root, CA);
    leaf = pki.cert("leaf", keys.ee, inter, EE);
    otherRoot = pki.cert("other-root", keys.r2, undefined, CA);
  }, 60000);
  afterAll(() => pki?.done());

  // our verdict, and openssl's when `cross` (accept/refuse must agree)
  function check(target: Uint8Array, pool: Uint8Array[], anchors: Uint8Array[], expected: number, t = NOW, cross = true, extra: string[] = []): void {
    expect(verifyPath(target, pool, anchors, t)).toBe(expected);
    if (cross) expect(pki.verify(target, pool, anchors, t, extra)).toBe(expected === 0);
  }

  it("accepts root -> intermediate -> leaf (P-256) and parses the made certificates", () => {
    check(leaf.der, [inter.der], [root.der], 0);
    check(leaf.der, [inter.der, root.der, otherRoot.der], [otherRoot.der, root.der], 0);
    check(inter.der, [], [root.der], 0);
    const s = certParse(leaf.der) as Summary;
    expect([s.ca, s.pathLen, s.keyUsage]).toEqual([0, -1, 1]);
    const r = certParse(root.der) as Summary;
    expect([r.ca, r.pathLen, r.keyUsage]).toEqual([1, -1, 0x60]);
    // extKeyUsage: the range is the SEQUENCE's contents (two OIDs)
    const e = pki.cert("leaf-eku", keys.ee, inter, [...EE, "extendedKeyUsage = serverAuth, 1.3.6.1.5.5.7.3.28"]);
    const es = certParse(e.der) as Summary;
    expect(toHex(e.der.subarray(es.ranges[EKU][0], es.ranges[EKU][0] + es.ranges[EKU][1]))).toBe("06082b06010505070301" + "06082b0601050507031c");
    expect(s.ranges[EKU]).toEqual([0, 0]);
  });

  it("accepts every algorithm: P-384/SHA-384, P-521/SHA-512, RSA PKCS#1, RSA-PSS (both key types), mixed", () => {
    const cases: [string, string, string, string[]][] = [
      // root key, inter key, md, sigopt
      ["P-384", "P-384", "sha384", []],
      ["P-521", "P-521", "sha512", []],
      ["RSA", "RSA", "sha256", []],
      ["RSA", "P-256", "sha512", []],
      ["RSA", "RSA", "sha384", ["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"]],
      ["RSA", "P-384", "sha256", ["rsa_padding_mode:pss", "rsa_pss_saltlen:20"]],
      ["RSA-PSS", "P-521", "sha256", ["rsa_pss_saltlen:32"]],
      ["P-521", "RSA", "sha256", []],
    ];
    cases.forEach(([rk, ik, md, sigopt], i) => {
      const r = pki.cert(`alg-root-${i}`, keys[rk], undefined, CA, { md, sigopt });
      const m = pki.cert(`alg-inter-${i}`, keys[ik], r, CA, { md, sigopt });
      const l = pki.cert(`alg-leaf-${i}`, keys.ee, m, EE, { md: ik.startsWith("P") ? md : "sha256" });
      check(l.der, [m.der], [r.der], 0);
      const p = parts(m.der);
      expect(sigVerify(p.sigAlg, whole(r.der, parts(r.der).spki), p.tbs, p.sig), `${rk} ${md} ${sigopt}`).toBe(0);
    });
  }, 30000);

  it("refuses SHA-1 signatures unless the legacy flag is set", () => {
    const l = pki.cert("sha1-leaf", keys.ee, inter, EE, { md: "sha1" });
    expectCode(verifyPath(l.der, [inter.der], [root.der], NOW), E_LEGACY);
    expect(verifyPath(l.der, [inter.der], [root.der], NOW, 1)).toBe(0);
  });

  it("expired and not yet valid certificates", () => {
    const old = pki.cert("old-inter", keys.i2, root, CA, { end: "20240101000000Z", cn: "inter" });
    const young = pki.cert("young-inter", keys.i2, root, CA, { start: "20260101000000Z", cn: "inter" });
    check(leaf.der, [old.der], [root.der], E_CERT_EXPIRED);
    check(leaf.der, [young.der], [root.der], E_CERT_NOT_YET_VALID);
    check(leaf.der, [inter.der], [root.der], E_CERT_EXPIRED, Date.UTC(2041, 0, 1) / 1000);
    check(leaf.der, [inter.der], [root.der], E_CERT_NOT_YET_VALID, Date.UTC(2019, 0, 1) / 1000);
    // an older and a newer intermediate with the same name and key: the valid one is found
    check(leaf.der, [old.der, young.der, inter.der], [root.der], 0);
    // GeneralizedTime after 2049
    const r = pki.cert("root-2060", keys["P-256"], undefined, CA, { end: "20600101000000Z" });
    const l = pki.cert("leaf-2060", keys.ee, r, EE, { start: "20500101000000Z", end: "20550101000000Z" });
    check(l.der, [], [r.der], 0, Date.UTC(2052, 0, 1) / 1000);
    check(l.der, [], [r.der], E_CERT_EXPIRED, Date.UTC(2056, 0, 1) / 1000);
  });

  it("issuers that are no CA, lack keyCertSign or exceed pathLen", () => {
    const noBc = pki.cert("nobc", keys.i2, root, ["keyUsage = critical, keyCertSign", "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"]);
    const notCa = pki.cert("notca", keys.i2, root, ["basicConstraints = critical, CA:FALSE", ...CA.slice(1)]);
    const noSign = pki.cert("nosign", keys.i2, root, [CA[0], "keyUsage = critical, digitalSignature, cRLSign", ...CA.slice(2)]);
    for (const [i, name] of [
      [noBc, "nobc"],
      [notCa, "notca"],
      [noSign, "nosign"],
    ] as [Made, string][]) {
      const l = pki.cert(`leaf-${name}`, keys.ee, i, EE);
      check(l.der, [i.der], [root.der], E_CERT_NOT_CA);
    }
    const i1 = pki.cert("pl0", keys.i2, root, ["basicConstraints = critical, CA:TRUE, pathlen:0", ...CA.slice(1)]);
    const i2 = pki.cert("pl0-sub", keys["P-384"], i1, CA);
    const l = pki.cert("leaf-pl0", keys.ee, i2, EE);
    check(l.der, [i1.der, i2.der], [root.der], E_CERT_PATH_LEN);
    const l1 = pki.cert("leaf-pl0-ok", keys.ee, i1, EE);
    check(l1.der, [i1.der], [root.der], 0);
    const r0 = pki.cert("root-pl0", keys["P-256"], undefined, ["basicConstraints = critical, CA:TRUE, pathlen:0", ...CA.slice(1)]);
    const m0 = pki.cert("inter-under-pl0", keys.i2, r0, CA);
    check(pki.cert("leaf-under-pl0", keys.ee, m0, EE).der, [m0.der], [r0.der], E_CERT_PATH_LEN);
  });

  it("wrong issuer name, bad signature, untrusted root, self-signed target", () => {
    // same key as `inter`, other name: the key identifiers match, the names do not
    const alias = pki.cert("alias", keys.i2, root, CA);
    const l = pki.cert("leaf-alias", keys.ee, alias, EE);
    check(l.der, [inter.der], [root.der], E_CERT_NAME);
    const bad = leaf.der.slice();
    bad[bad.length - 3] ^= 0x01;
    check(bad, [inter.der], [root.der], E_CERT_SIGNATURE);
    const badInter = inter.der.slice();
    badInter[badInter.length - 3] ^= 0x01;
    check(leaf.der, [badInter], [root.der], E_CERT_SIGNATURE);
    check(leaf.der, [inter.der, root.der], [otherRoot.der], E_CERT_UNTRUSTED);
    check(leaf.der, [inter.der], [], E_CERT_UNTRUSTED, NOW, false);
    const self = pki.cert("self", keys.ee, undefined, EE);
    check(self.der, [], [root.der], E_CERT_UNTRUSTED);
    check(self.der, [self.der], [root.der], E_CERT_NOT_CA);
    check(otherRoot.der, [otherRoot.der], [root.der], E_CERT_UNTRUSTED);
    check(self.der, [], [self.der], 0, NOW, false); // openssl also wants CA-ness of its own anchor
  });

  it("unknown critical extensions", () => {
    const l = pki.cert("leaf-crit", keys.ee, inter, [...EE, "1.2.3.4 = critical, ASN1:NULL"]);
    expect((certParse(l.der) as Summary).flags).toBe(1);
    check(l.der, [inter.der], [root.der], E_CERT_UNSUPPORTED);
    const ok = pki.cert("leaf-noncrit", keys.ee, inter, [...EE, "1.2.3.4 = ASN1:NULL", "subjectAltName = critical, DNS:a.example"]);
    check(ok.der, [inter.der], [root.der], 0);
    const nc = pki.cert("inter-nc", keys.i2, root, [...CA, "nameConstraints = critical, permitted;DNS:example"]);
    const lnc = pki.cert("leaf-nc", keys.ee, nc, EE);
    expectCode(verifyPath(lnc.der, [nc.der], [root.der], NOW), E_CERT_UNSUPPORTED);
  });

  it("paths up to PATH_MAX (6) certificates; longer ones refused", () => {
    let up = root;
    const chain: Made[] = [];
    for (let i = 0; i < 5; i++) chain.push((up = pki.cert(`deep-${i}`, i % 2 ? keys.i2 : keys["P-384"], up, CA)));
    const pool = chain.map((c) => c.der);
    const l4 = pki.cert("leaf-deep-4", keys.ee, chain[3], EE);
    check(l4.der, pool, [root.der], 0, NOW, true, ["-verify_depth", "4"]);
    const l5 = pki.cert("leaf-deep-5", keys.ee, chain[4], EE);
    check(l5.der, pool, [root.der], E_CERT_POOL, NOW, true, ["-verify_depth", "4"]);
    expectCode(verifyPath(l4.der, new Array(17).fill(inter.der), [root.der], NOW), E_CERT_POOL);
  });

  it("sig_verify refuses mismatched keys and algorithms", () => {
    const p = parts(leaf.der);
    const interSpki = whole(inter.der, parts(inter.der).spki);
    expect(sigVerify(p.sigAlg, interSpki, p.tbs, p.sig)).toBe(0);
    expectCode(sigVerify(p.sigAlg, whole(root.der, parts(root.der).spki), p.tbs, p.sig), E_SIG_INVALID);
    const rsa = pki.cert("rsa-self", keys.RSA, undefined, CA);
    expectCode(sigVerify(p.sigAlg, whole(rsa.der, parts(rsa.der).spki), p.tbs, p.sig), E_ALG);
    expectCode(sigVerify(parts(rsa.der).sigAlg, interSpki, p.tbs, p.sig), E_ALG);
  });

  it("a signature found valid is remembered for exactly the same inputs, never for others", () => {
    // the full module keeps successes by a hash of (flags, alg, spki, sig, data): each check
    // below follows a success on the original inputs, so it would pass if any part were left
    // out of that key or the parts could run into each other
    const p = parts(leaf.der);
    const spki = whole(inter.der, parts(inter.der).spki);
    const flip = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i] ^= 1;
      return c;
    };
    for (let round = 0; round < 2; round++) {
      expect(sigVerify(p.sigAlg, spki, p.tbs, p.sig)).toBe(0);
      expect(sigVerify(p.sigAlg, spki, flip(p.tbs, p.tbs.length - 1), p.sig)).not.toBe(0);
      expect(sigVerify(p.sigAlg, spki, p.tbs, flip(p.sig, p.sig.length - 1))).not.toBe(0);
      expect(sigVerify(p.sigAlg, flip(spki, spki.length - 1), p.tbs, p.sig)).not.toBe(0);
      expect(sigVerify(flip(p.sigAlg, p.sigAlg.length - 1), spki, p.tbs, p.sig)).not.toBe(0);
      // a byte moved across the boundary between two parts
      const sig = p.sig.subarray(0, p.sig.length - 1),
        data = new Uint8Array([p.sig[p.sig.length - 1], ...p.tbs]);
      expect(sigVerify(p.sigAlg, spki, data, sig)).not.toBe(0);
      expect(sigVerify(p.sigAlg, spki.subarray(0, spki.length - 1), p.tbs, new Uint8Array([spki[spki.length - 1], ...p.sig]))).not.toBe(0);
    }
    // a SHA-1 signature accepted under the legacy flag is not accepted without it afterwards
    const l = pki.cert("sha1-leaf-memo", keys.ee, inter, EE, { md: "sha1" });
    const q = parts(l.der);
    expect(sigVerify(q.sigAlg, spki, q.tbs, q.sig, 1)).toBe(0);
    expectCode(sigVerify(q.sigAlg, spki, q.tbs, q.sig), E_LEGACY);
    // more successes than the memo holds: the oldest is verified again, still valid
    for (const der of [root.der, inter.der, leaf.der, l.der, root.der, inter.der, leaf.der, l.der, root.der]) {
      const c = parts(der);
      const issuer = der === root.der ? root.der : der === inter.der ? root.der : inter.der;
      expect(sigVerify(c.sigAlg, whole(issuer, parts(issuer).spki), c.tbs, c.sig, 1)).toBe(0);
    }
    expectCode(sigVerify(q.sigAlg, spki, q.tbs, q.sig), E_LEGACY);
  });

  it("5,000 random mutations through cert_parse and cert_verify_path never throw", () => {
    const chains: [Uint8Array, Uint8Array[], Uint8Array[]][] = [
      [leaf.der, [inter.der], [root.der]],
      ...real.slice(0, 12).map((c) => [c, real, roots] as [Uint8Array, Uint8Array[], Uint8Array[]]),
    ];
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const mutate = (d: Uint8Array): Uint8Array => {
      let m = d.slice();
      for (let k = 1 + rnd(3); k > 0; k--) {
        const op = rnd(4),
          i = rnd(m.length);
        if (op === 0) m[i] = rnd(256);
        else if (op === 1) m[i] ^= 1 << rnd(8);
        else if (op === 2) m = m.slice(0, i);
        else m = new Uint8Array([...m.slice(0, i), rnd(256), ...m.slice(i)]);
        if (m.length === 0) break;
      }
      return m;
    };
    let parsed = 0,
      accepted = 0;
    for (let n = 0; n < 5000; n++) {
      const [t, pool, anchors] = chains[rnd(chains.length)];
      const which = rnd(3);
      const mt = which === 0 ? t : mutate(t);
      const mp = pool.slice(0, 14).map((c) => (which === 1 && rnd(3) === 0 ? mutate(c) : c));
      const s = certParse(mt);
      if (typeof s === "object") parsed++;
      else expect(s).toBeLessThan(0);
      const r = verifyPath(mt, mp, anchors.slice(0, 8), NOW_REAL(anchors));
      expect(r).toBeLessThanOrEqual(0);
      if (r === 0) accepted++;
    }
    expect(parsed).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(10);
  }, 60000);
});

// A time at which both the real (2022) and the made chains' anchors are valid.
function NOW_REAL(anchors: Uint8Array[]): number {
  return anchors === roots ? Date.UTC(2022, 6, 27, 8) / 1000 : NOW;
}
