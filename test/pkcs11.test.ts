// Keys in a PKCS#11 token (host/node/lib/pkcs11.ts) against Debian's SoftHSM2: a fresh token in a
// temp dir (SOFTHSM2_CONF), keys named by RFC 7512 URIs, enrollment end to end against the test
// PKI (Device API and CLI) and `openssl cmp` as the server; token absent, wrong PIN, key not found.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CmpError, Device } from "../host/node/lib/device";
import { closeAll, parsePkcs11Uri, Pkcs11Error, Pkcs11Signer } from "../host/node/lib/pkcs11";
import { main } from "../host/node/cli/cli";
import { TestPki } from "../host/node/testpki/index.js";
import { makeCreds, withMockServer } from "./helpers/openssl-cmp";
import { E_SIGNER } from "../host/node/lib/abi";
import { expectCode } from "./helpers/codes";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so"; // Debian softhsm2 (.ci/run installs it)
let dir: string;
const uri = (object: string, query = "") => `pkcs11:token=tinycmp;object=${object}?module-path=${MODULE}&pin-value=1234${query}`;
const spkiOf = (cert: Uint8Array | Buffer) => Buffer.from(new X509Certificate(cert).publicKey.export({ format: "der", type: "spki" }));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tinycmp-hsm-"));
  mkdirSync(join(dir, "tokens"));
  writeFileSync(join(dir, "softhsm2.conf"), `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, "softhsm2.conf"); // this test file runs in its own process (pool forks)
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", "tinycmp", "--pin", "1234", "--so-pin", "5678"], { stdio: "pipe" });
});
afterAll(() => {
  closeAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("pkcs11: URIs (RFC 7512)", () => {
  it("parses path and query attributes, percent-decoded", () => {
    const u = parsePkcs11Uri("pkcs11:token=my%20token;object=dev;id=%01%02?module-path=/x/lib.so&pin-value=12%3B4");
    expect(u.path).toEqual({ token: "my token", object: "dev", id: "\x01\x02" });
    expect(u.query).toEqual({ "module-path": "/x/lib.so", "pin-value": "12;4" });
  });
  it("refuses unknown or repeated attributes, a URI naming no key, a public key type; never prints the PIN", () => {
    expect(() => parsePkcs11Uri("pkcs11:token=t;objekt=dev?pin-value=s3cret")).toThrow(/unknown attribute "objekt"/);
    expect(() => parsePkcs11Uri("pkcs11:object=a;object=b")).toThrow(/given twice/);
    expect(() => parsePkcs11Uri("pkcs11:token=t")).toThrow(/names no key/);
    expect(() => parsePkcs11Uri("pkcs11:object=a;type=public")).toThrow(/type must be private/);
    expect(() => parsePkcs11Uri("file:key.pem")).toThrow(/not a pkcs11: URI/);
    try {
      parsePkcs11Uri("pkcs11:token=t;bogus=1?pin-value=s3cret");
    } catch (e) {
      expect((e as Error).message).not.toMatch(/s3cret/);
    }
  });
});

describe("failures, each with a clear error before anything is sent", () => {
  it("wrong PIN (first login of this process)", () => {
    expect(() => new Pkcs11Signer(`pkcs11:token=tinycmp;object=x?module-path=${MODULE}&pin-value=9999`)).toThrow(/C_Login.*CKR_PIN_INCORRECT/);
  });
  it("token absent", () => {
    expect(() => new Pkcs11Signer(`pkcs11:token=nosuch;object=x?module-path=${MODULE}&pin-value=1234`)).toThrow(/no token present matches/);
  });
  it("key not found (and not generated for -key)", () => {
    expect(() => new Pkcs11Signer(uri("nosuch"))).toThrow(/no private key in the token matches/);
  });
  it("no module, or not a PKCS#11 library", () => {
    expect(() => new Pkcs11Signer("pkcs11:token=tinycmp;object=x?pin-value=1234")).toThrow(/module-path= is needed/);
    expect(() => new Pkcs11Signer(`pkcs11:token=tinycmp;object=x?module-path=${join(dir, "none.so")}`)).toThrow(Pkcs11Error);
  });
  it("an unknown x-key-type is refused, nothing generated", () => {
    expect(() => new Pkcs11Signer(uri("weird", "&x-key-type=RSA-1024"), { generate: true })).toThrow(/x-key-type must be one of/);
  });
  it("a token key whose session is gone: the core ends with E_SIGNER, nothing sent", async () => {
    const s = new Pkcs11Signer(uri("closed", "&x-key-type=P-256"), { generate: true });
    s.close();
    const d = new Device({
      transfer: () => {
        throw new Error("a request was sent");
      },
    });
    const err = await d.enroll({ secret: "s", ref: "r", newSigner: s }).catch((e) => e);
    expect(err).toBeInstanceOf(CmpError);
    expectCode((err as CmpError).code, E_SIGNER);
    expect((err as CmpError).detail).toMatch(/host signer .* failed: PKCS#11 .*C_Sign/);
  });
});

describe("keys in the token against the test PKI", () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await TestPki.start({});
  }, 60_000);
  afterAll(async () => {
    await pki?.close();
  });
  const trusted = () => [new Uint8Array(new X509Certificate(pki.root.certPem).raw)];

  it("ir with a P-256 key generated in the token, kur to an RSA-2048 token key, kur to P-384", async () => {
    const d = Device.http({ url: pki.url + "/pkix/" });
    const k1 = new Pkcs11Signer(uri("dev-p256"), { generate: true });
    expect(k1.keyType).toBe("P-256");
    const ir = await d.enroll({
      secret: pki.secret,
      ref: pki.ref,
      trusted: trusted(),
      newSigner: k1,
      subject: new Uint8Array(Buffer.from("300f310d300b06035504030c04686d3031", "hex")),
    });
    expect(spkiOf(ir.cert!)).toEqual(Buffer.from(k1.publicKey()));
    // the key is in the token: opened again by the same URI, without generating
    const again = new Pkcs11Signer(uri("dev-p256"));
    expect(Buffer.from(again.publicKey())).toEqual(Buffer.from(k1.publicKey()));
    const k2 = new Pkcs11Signer(uri("dev-rsa", "&x-key-type=RSA-2048"), { generate: true });
    const kur = await d.enroll({ op: "kur", signer: again, cert: ir.cert, oldCert: ir.cert, trusted: trusted(), newSigner: k2 });
    expect(spkiOf(kur.cert!)).toEqual(Buffer.from(k2.publicKey()));
    const k3 = new Pkcs11Signer(uri("dev-p384", "&x-key-type=P-384"), { generate: true });
    const kur2 = await d.enroll({ op: "kur", signer: k2, cert: kur.cert, oldCert: kur.cert, trusted: trusted(), newSigner: k3 });
    expect(spkiOf(kur2.cert!)).toEqual(Buffer.from(k3.publicKey()));
    d.close();
  }, 60_000);

  it("CLI: ir with -newkey pkcs11:..., then kur with -key pkcs11:... and a new token key", async () => {
    const root = join(dir, "root.pem"),
      c1 = join(dir, "cli1.pem"),
      c2 = join(dir, "cli2.pem");
    writeFileSync(root, pki.root.certPem);
    const srv = ["-server", `127.0.0.1:${new URL(pki.url).port}/pkix/`, "-trusted", root];
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(
        await main([
          "-cmd",
          "ir",
          ...srv,
          "-ref",
          pki.ref,
          "-secret",
          `pass:${pki.secret}`,
          "-subject",
          "/CN=tinycmp token device",
          "-newkey",
          uri("cli-ir", "&x-key-type=RSA-2048"),
          "-certout",
          c1,
        ]),
      ).toBe(0);
      expect(spkiOf(readFileSync(c1))).toEqual(Buffer.from(new Pkcs11Signer(uri("cli-ir")).publicKey()));
      expect(await main(["-cmd", "kur", ...srv, "-cert", c1, "-key", uri("cli-ir"), "-newkey", uri("cli-kur"), "-certout", c2])).toBe(0);
      expect(spkiOf(readFileSync(c2))).toEqual(Buffer.from(new Pkcs11Signer(uri("cli-kur")).publicKey()));
      // -key naming no key in the token: a usage error, nothing generated
      expect(await main(["-cmd", "kur", ...srv, "-cert", c2, "-key", uri("absent"), "-newkey", uri("cli-kur2"), "-certout", c2])).toBe(2);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }, 60_000);
});

describe("keys in the token against openssl cmp", () => {
  it("P-256 IDevID in the token protects the ir, the new RSA-2048 token key gives the POP; and the other way round", async () => {
    const creds = makeCreds();
    // a certificate from the mock server's root for a token key
    const certFor = (name: string, s: Pkcs11Signer) => creds.issueForKey(name, s.publicKey(), `/CN=tinycmp ${name}`);
    const idevEc = new Pkcs11Signer(uri("ossl-idev-p256"), { generate: true });
    const newRsa = new Pkcs11Signer(uri("ossl-new-rsa", "&x-key-type=RSA-2048"), { generate: true });
    const idevRsa = new Pkcs11Signer(uri("ossl-idev-rsa", "&x-key-type=RSA-2048"), { generate: true });
    const newEc = new Pkcs11Signer(uri("ossl-new-p256"), { generate: true });
    for (const [n, s] of [
      ["idevec", idevEc],
      ["newrsa", newRsa],
      ["idevrsa", idevRsa],
      ["newec", newEc],
    ] as const)
      certFor(n, s);
    for (const [idev, idevName, nk, nkName] of [
      [idevEc, "idevec", newRsa, "newrsa"],
      [idevRsa, "idevrsa", newEc, "newec"],
    ] as const) {
      await withMockServer(creds, ["-rsp_cert", `${nkName}.crt`], async (s) => {
        const d = Device.http({ url: s.url });
        const o = await d.enroll({
          signer: idev,
          cert: creds.der(`${idevName}.crt`),
          newSigner: nk,
          trusted: [creds.der("root.crt")],
          subject: creds.subjectDer(`${nkName}.crt`),
        });
        d.close();
        expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der(`${nkName}.crt`)));
      });
    }
  }, 120_000);
});
