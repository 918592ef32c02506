// Keys the core never sees: env.sign through the Device API's Signer (docs/ABI.md "Host signer").
// Enrollment end to end against the built-in test PKI and `openssl cmp` as the server, for each
// key type, with signatures made outside the core and checked by the peer; and signers that fail
// or lie, which must end in E_SIGNER / E_SIGNER_INVALID with nothing sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CmpError, Device, Options, type Request, type Signer, type Transport } from "../host/node/lib/device";
import { TestPki } from "../host/node/testpki/index.js";
import { Core, LEAN_WASM } from "../host/node/lib/core";
import { expectRefused } from "./helpers/refused";
import { makeCreds, type Creds, withMockServer } from "./helpers/openssl-cmp";
import { softSigner } from "./helpers/softsigner";
import { expectCode } from "./helpers/codes";
import { E_ALG, E_ARG, E_CMP_CONFIG, E_SIGNER, E_SIGNER_INVALID, INT_KEY_HANDLE, INT_NEWKEY_HANDLE } from "../host/node/lib/abi";

const pemDer = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
const spkiOf = (cert: Uint8Array) => Buffer.from(new X509Certificate(cert).publicKey.export({ format: "der", type: "spki" }));
const cn = (s: string) => {
  const v = Buffer.from(s);
  const atv = Buffer.concat([Buffer.from([0x30, v.length + 7, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, v.length]), v]);
  const set = Buffer.concat([Buffer.from([0x31, atv.length]), atv]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, set.length]), set]));
};

type KeyType = "P-256" | "P-384" | "RSA-2048" | "RSA-3072" | "Ed25519";
function newKeyPem(t: KeyType): string {
  const k =
    t === "Ed25519"
      ? generateKeyPairSync("ed25519")
      : t.startsWith("RSA")
        ? generateKeyPairSync("rsa", { modulusLength: Number(t.slice(4)) })
        : generateKeyPairSync("ec", { namedCurve: t });
  return k.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
}

// The signature AlgorithmIdentifier OIDs of a request (POP, protection): dotted, in order.
function sigAlgOids(der: Uint8Array): string[] {
  const text = execFileSync("openssl", ["asn1parse", "-inform", "DER"], { input: der, env: { ...process.env, OPENSSL_CONF: "/dev/null" } }).toString();
  return [...text.matchAll(/OBJECT\s+:(ecdsa-with-SHA256|ecdsa-with-SHA384|sha256WithRSAEncryption|rsassaPss|ED25519)/g)].map((m) => m[1]).slice(0, 2); // protectionAlg (header), popo (body); extraCerts follow
}

describe("host signer against the test PKI", () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await TestPki.start({});
  }, 60_000);
  afterAll(async () => {
    await pki?.close();
  });
  const device = () => Device.http({ url: pki.url + "/pkix/" });
  const trusted = () => [pemDer(pki.root.certPem)];

  for (const t of ["P-256", "P-384", "RSA-2048", "RSA-3072"] as KeyType[]) {
    it(`${t}: ir with the new key in the signer (POP), then kur protected by it with a new signer key, rr, p10cr`, async () => {
      pki.reset();
      const d = device();
      const first = softSigner(newKeyPem(t));
      const ir = await d.enroll({ secret: pki.secret, ref: pki.ref, subject: cn(`tinycmp ${t} device`), trusted: trusted(), newSigner: first });
      expect(spkiOf(ir.cert!)).toEqual(Buffer.from(first.publicKey()));
      expect(ir.newKey).toBeUndefined(); // nothing generated in the core
      expect(first.calls.map((c) => c.alg)).toEqual([t === "P-256" ? 1 : t === "P-384" ? 2 : 3]);
      expect(first.calls[0].input.length).toBe(t === "P-384" ? 48 : 32); // a digest, not the message
      const second = softSigner(newKeyPem(t));
      const kur = await d.enroll({ op: "kur", signer: first, cert: ir.cert, oldCert: ir.cert, trusted: trusted(), newSigner: second });
      expect(spkiOf(kur.cert!)).toEqual(Buffer.from(second.publicKey()));
      // kur: the first key protects the kur and the certConf; the second gives the POP
      expect(first.calls.length).toBe(1 + 2);
      expect(second.calls.length).toBe(1);
      const want = t === "P-256" ? "ecdsa-with-SHA256" : t === "P-384" ? "ecdsa-with-SHA384" : "sha256WithRSAEncryption";
      expect(sigAlgOids(kur.messages.request[0])).toEqual([want, want]); // popo, protectionAlg
      // rr protected by the signer-held key of the certificate it revokes
      const rr = await d.revoke({ signer: second, cert: kur.cert, oldCert: kur.cert, trusted: trusted(), revReason: 4 });
      expect(rr.status).toBe(0);
      const third = softSigner(newKeyPem(t));
      const p10 = await d.enroll({ op: "p10cr", secret: pki.secret, ref: pki.ref, subject: cn(`tinycmp ${t} p10`), trusted: trusted(), newSigner: third });
      expect(spkiOf(p10.cert!)).toEqual(Buffer.from(third.publicKey()));
      d.close();
    }, 60_000);
  }

  it("an IDevID whose key stays in the signer protects the ir", async () => {
    pki.reset();
    const idev = await pki.createIdevid("SN-HW-1");
    const d = device();
    const o = await d.enroll({
      signer: softSigner(idev.keyPem),
      cert: pemDer(idev.certPem),
      extraCerts: idev.chain.slice(0, 1).map(pemDer),
      trusted: trusted(),
      subject: cn("tinycmp hw idevid"),
      newSigner: softSigner(newKeyPem("P-256")),
    });
    d.close();
    expect(o.cert).toBeDefined();
  });
});

describe("host signer against openssl cmp", () => {
  let creds: Creds;
  // a key of type t and its certificate from the mock server's root
  const issue = (name: string, t: KeyType, cnText: string) => {
    writeFileSync(join(creds.dir, `${name}.key`), newKeyPem(t));
    creds.issue(name, `/CN=${cnText}`);
  };
  beforeAll(() => {
    creds = makeCreds();
  }, 60_000);

  const cases: [string, KeyType, number][] = [
    ["P-256", "P-256", 0],
    ["P-384", "P-384", 0],
    ["RSA-2048 PKCS#1 v1.5", "RSA-2048", 0],
    ["RSA-2048 PSS", "RSA-2048", Options.rsaPss],
    ["Ed25519", "Ed25519", 0],
  ];
  for (const [label, t, options] of cases) {
    it(`${label}: ir protected by a signer-held IDevID, POP by a signer-held new key`, async () => {
      const tag = label.replace(/[^A-Za-z0-9]/g, "");
      issue(`dev${tag}`, t, `tinycmp idevid ${label}`);
      issue(`rsp${tag}`, t, `tinycmp device ${label}`);
      const signer = softSigner(readFileSync(join(creds.dir, `dev${tag}.key`)));
      const newSigner = softSigner(readFileSync(join(creds.dir, `rsp${tag}.key`)));
      await withMockServer(creds, ["-rsp_cert", `rsp${tag}.crt`], async (s) => {
        const d = Device.http({ url: s.url });
        const o = await d.enroll({
          signer,
          cert: creds.der(`dev${tag}.crt`),
          newSigner,
          trusted: [creds.der("root.crt")],
          subject: creds.subjectDer(`rsp${tag}.crt`),
          options,
        });
        d.close();
        expect(Buffer.from(o.cert!)).toEqual(Buffer.from(creds.der(`rsp${tag}.crt`)));
        const want = {
          "P-256": "ecdsa-with-SHA256",
          "P-384": "ecdsa-with-SHA384",
          "RSA-2048": options ? "rsassaPss" : "sha256WithRSAEncryption",
          "RSA-3072": "",
          Ed25519: "ED25519",
        }[t];
        expect(sigAlgOids(o.messages!.request[0])).toEqual([want, want]);
      });
    }, 60_000);
  }
});

describe("a failing or lying signer", () => {
  // Nothing may be sent: the transport refuses to be used.
  const noNetwork: Transport = {
    transfer: () => {
      throw new Error("a request was sent");
    },
  };
  const idev = softSigner(newKeyPem("P-256"));
  const other = softSigner(newKeyPem("P-256"));
  // a self-signed certificate for idev's key is enough to configure CERT
  const selfCert = (pem: string) => {
    const dir = mkdtempSync(join(tmpdir(), "tinycmp-signer-"));
    writeFileSync(join(dir, "k.pem"), pem);
    const out = execFileSync("openssl", ["req", "-x509", "-new", "-key", join(dir, "k.pem"), "-subj", "/CN=signer test", "-days", "1", "-outform", "DER"], {
      env: { ...process.env, OPENSSL_CONF: "/dev/null" },
    });
    rmSync(dir, { recursive: true });
    return new Uint8Array(out);
  };
  const idevPem = idev.key.export({ format: "pem", type: "pkcs8" }) as string;
  const cert = selfCert(idevPem);

  async function fails(req: Request & { op?: "ir" | "p10cr" }, code: number, detail?: RegExp): Promise<void> {
    const err = await expectRefused(new Device(noNetwork).enroll(req), code);
    if (detail) expect(err.detail).toMatch(detail);
  }
  const lying = (base: Signer, f: (sig: Uint8Array) => Uint8Array | undefined): Signer => ({
    publicKey: () => base.publicKey(),
    sign: (alg, input) => {
      const s = base.sign(alg, input);
      return s && f(s);
    },
  });
  const withKey = (pub: Signer, priv: Signer): Signer => ({ publicKey: () => pub.publicKey(), sign: (a, i) => priv.sign(a, i) });

  it("the signer cannot sign (token absent, wrong PIN, key gone): E_SIGNER", async () => {
    const broken: Signer = { publicKey: () => idev.publicKey(), sign: () => undefined };
    const throwing: Signer = {
      publicKey: () => idev.publicKey(),
      sign: () => {
        throw new Error("CKR_PIN_INCORRECT");
      },
    };
    await fails({ signer: broken, cert, newSigner: other }, E_SIGNER, /host signer.*failed/);
    await fails({ signer: throwing, cert, newSigner: other }, E_SIGNER, /failed: CKR_PIN_INCORRECT$/);
    await fails({ secret: "s", ref: "r", newSigner: broken }, E_SIGNER);
  });

  it("a signature by another key: E_SIGNER_INVALID (protection and POP)", async () => {
    await fails({ signer: withKey(idev, other), cert, newSigner: other }, E_SIGNER_INVALID, /does not verify/);
    await fails({ secret: "s", ref: "r", newSigner: withKey(idev, other) }, E_SIGNER_INVALID);
    await fails({ secret: "s", ref: "r", op: "p10cr", newSigner: withKey(idev, other) }, E_SIGNER_INVALID);
  });

  it("wrong length, empty, too long, garbage, flipped bit: E_SIGNER_INVALID", async () => {
    for (const f of [
      (s: Uint8Array) => s.subarray(0, 63),
      (s: Uint8Array) => Buffer.concat([s, Buffer.alloc(1)]),
      () => new Uint8Array(0),
      () => new Uint8Array(600),
      () => new Uint8Array(64).fill(0x5a),
      (s: Uint8Array) => {
        const c = s.slice();
        c[10] ^= 1;
        return c;
      },
    ]) {
      await fails({ signer: lying(idev, f), cert, newSigner: other }, E_SIGNER_INVALID);
      await fails({ secret: "s", ref: "r", newSigner: lying(idev, f) }, E_SIGNER_INVALID);
    }
    // an RSA signer returning a signature of the modulus length made with another RSA key
    const rsa = softSigner(newKeyPem("RSA-2048")),
      rsa2 = softSigner(newKeyPem("RSA-2048"));
    await fails({ secret: "s", ref: "r", newSigner: withKey(rsa, rsa2) }, E_SIGNER_INVALID);
    // a DER ECDSA-Sig-Value instead of r || s is refused too (wrong length)
    const ed = softSigner(newKeyPem("Ed25519"));
    await fails({ secret: "s", ref: "r", newSigner: lying(ed, (s) => s.subarray(0, 63)) }, E_SIGNER_INVALID);
  });

  it("refuses an ambiguous or unusable configuration", async () => {
    // KEY and a signer for the same protection
    await fails({ key: new Uint8Array(32).fill(1), signer: idev, cert, newSigner: other }, E_CMP_CONFIG);
    // a key type the signer path does not offer (X25519 cannot sign)
    const x = generateKeyPairSync("x25519").publicKey.export({ format: "der", type: "spki" });
    await fails({ secret: "s", ref: "r", newSigner: { publicKey: () => new Uint8Array(x), sign: () => new Uint8Array(64) } }, E_ALG);
  });
});

describe("hosts without a signer", () => {
  it("the default stub answers -1: a key handle then ends in E_SIGNER; the lean module has no handles", async () => {
    const idev = softSigner(newKeyPem("P-256"));
    const d = new Device(
      {
        transfer: () => {
          throw new Error("a request was sent");
        },
      },
      { sign: () => undefined },
    );
    const err = await d.enroll({ secret: "s", ref: "r", newSigner: idev }).catch((e) => e);
    expectCode((err as CmpError).code, E_SIGNER);
    const full = new Core(),
      lean = new Core({ wasm: LEAN_WASM });
    expect(full.exports.tx_set_int(INT_KEY_HANDLE, 1)).toBe(0);
    expectCode(lean.exports.tx_set_int(INT_KEY_HANDLE, 1), E_ARG);
    expectCode(lean.exports.tx_set_int(INT_NEWKEY_HANDLE, 1), E_ARG);
    expect(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(LEAN_WASM))).map((i) => i.name)).not.toContain("sign");
  });
});
