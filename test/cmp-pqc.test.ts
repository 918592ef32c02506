// End to end through the Device API against the built-in test PKI with an issuing CA and a CMP
// signer that sign with Ed25519 (RFC 8410) or ML-DSA (RFC 9881): the ip's protection and the
// issued certificate verify in the core (pkix/signature.ts), the chain validates to the P-256
// root; a response whose protection signature is tampered with is refused.
import { afterAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { CmpError, Device, type Transport } from "../host/node/lib/device";
import { HttpTransport } from "../host/node/lib/transport";
import { children, tlv } from "../host/node/lib/der";
import { TestPki } from "../host/node/testpki/index.js";
import type { KeyType } from "../host/node/testpki/keys.js";
import { Core, DEFAULT_WASM } from "../host/node/lib/core";
import { generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { generateKeyPair } from "../host/node/testpki/keys.js";
import { expectCode } from "./helpers/codes";

import { E_ALG, E_SIG_INVALID, E_CERT_SIGNATURE } from "../host/node/lib/abi";
const LEAN = DEFAULT_WASM.replace(/tinycmp\.wasm$/, "tinycmp-lean.wasm");
const pemDer = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
const cn = (s: string) => {
  const v = Buffer.from(s);
  const atv = Buffer.concat([Buffer.from([0x30, v.length + 7, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, v.length]), v]);
  const set = Buffer.concat([Buffer.from([0x31, atv.length]), atv]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, set.length]), set]));
};
// the signatureAlgorithm OID of a DER certificate, dotted
const sigAlgOid = (der: Uint8Array) => {
  const c = children(der, tlv(der, 0));
  const oid = children(der, c[1])[0];
  const b = der.subarray(oid.value, oid.end);
  const arcs = [Math.floor(b[0] / 40), b[0] % 40];
  for (let i = 1, v = 0; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
};

/** Carries requests over HTTP and flips bit 0 of byte `at` of each response's protection
 * signature (Ed25519: 32, the low bit of S, which stays below L; ML-DSA: 0, in c~). */
class Tamper implements Transport {
  constructor(
    private readonly inner: HttpTransport,
    private readonly at: number,
  ) {}
  async transfer(request: Uint8Array): Promise<Uint8Array> {
    const rsp = Uint8Array.from(await this.inner.transfer(request));
    const prot = children(rsp, tlv(rsp, 0)).find((p) => p.tag === 0xa0)!;
    const bits = children(rsp, prot)[0];
    rsp[bits.value + 1 + this.at] ^= 0x01; // after the unused-bits octet
    return rsp;
  }
  close(): void {
    this.inner.close?.();
  }
}

const started: TestPki[] = [];
afterAll(async () => {
  for (const p of started) await p.close();
});

const CASES: [KeyType, string][] = [
  ["Ed25519", "1.3.101.112"],
  ["ML-DSA-44", "2.16.840.1.101.3.4.3.17"],
  ["ML-DSA-65", "2.16.840.1.101.3.4.3.18"],
];

describe.each(CASES)("issuing CA and CMP signer with %s keys", (type, oid) => {
  let pki: TestPki;
  const request = () => ({
    secret: pki.secret,
    ref: pki.ref,
    subject: cn(`tinycmp ${type} device`),
    trusted: [pemDer(pki.root.certPem)],
    implicitConfirm: true,
  });

  it("ir: the signed ip and the certificate it carries are accepted, the chain validates to the root", async () => {
    pki = await TestPki.start({ caKeyType: type, signerKeyType: type });
    started.push(pki);
    const d = Device.http({ url: pki.url + "/pkix/" });
    try {
      const o = await d.enroll(request());
      expect(o.cert).toBeDefined();
      expect(sigAlgOid(o.cert!)).toBe(oid); // issued by the pure-signature CA
      expect(new X509Certificate(o.cert!).subject).toMatch(new RegExp(`tinycmp ${type} device`));
      expect(o.chain.length).toBeGreaterThanOrEqual(2);
      expect(sigAlgOid(pemDer(pki.hierarchy.cmpSigner.certPem))).toBe(oid); // the signer's certificate too
    } finally {
      d.close();
    }
  }, 60_000);

  it("cert_verify_path: the CMP signer's certificate validates to the root; with a flipped signature bit it does not", () => {
    const core = new Core();
    const path = (target: Uint8Array) => {
      core.reset();
      const t = core.put(target),
        ca = core.put(pemDer(pki.hierarchy.issuingCa.cred.certPem)),
        root = core.put(pemDer(pki.root.certPem));
      const tables = core.reserve(16),
        m = new DataView(core.memory.buffer);
      m.setUint32(tables, ca, true);
      m.setUint32(tables + 4, pki.hierarchy.issuingCa.cred.der.length, true);
      m.setUint32(tables + 8, root, true);
      m.setUint32(tables + 12, pemDer(pki.root.certPem).length, true);
      return core.exports.cert_verify_path(t, target.length, tables, 1, tables + 8, 1, BigInt(Math.floor(Date.now() / 1000)), 0);
    };
    const signer = pemDer(pki.hierarchy.cmpSigner.certPem);
    expect(path(signer)).toBe(0);
    const c = children(signer, tlv(signer, 0));
    const bad = Uint8Array.from(signer);
    bad[c[2].value + 1] ^= 0x01; // first octet of the signature value (R of Ed25519, c~ of ML-DSA)
    expectCode(path(bad), E_CERT_SIGNATURE);
  });

  it("the lean module refuses the same ip: algorithm not supported", async () => {
    const d = Device.http({ url: pki.url + "/pkix/" }, { wasm: LEAN });
    try {
      const err = await d.enroll(request()).then(
        () => undefined,
        (e) => e,
      );
      expect(err).toBeInstanceOf(CmpError);
      expectCode((err as CmpError).code, E_ALG);
      expect((err as CmpError).detail).toMatch(/not supported/);
    } finally {
      d.close();
    }
  }, 60_000);

  it("the same ip with one bit of its protection signature flipped is refused", async () => {
    const d = new Device(new Tamper(new HttpTransport({ url: pki.url + "/pkix/" }), type === "Ed25519" ? 32 : 0));
    try {
      const err = await d.enroll(request()).then(
        () => undefined,
        (e) => e,
      );
      expect(err).toBeInstanceOf(CmpError);
      expectCode((err as CmpError).code, E_SIG_INVALID);
      expect((err as CmpError).detail).toMatch(/signature/i);
    } finally {
      d.close();
    }
  }, 60_000);
});

// sig_verify (pkix/signature.ts): the AlgorithmIdentifier and the key must agree, parameters absent.
describe("sig_verify with EdDSA and ML-DSA AlgorithmIdentifiers", () => {
  const core = new Core();
  const sigVerify = (alg: Uint8Array, spki: Uint8Array, data: Uint8Array, sig: Uint8Array) => {
    core.reset();
    const a = core.put(alg),
      k = core.put(spki),
      d = core.put(data),
      s = core.put(sig);
    return core.exports.sig_verify(a, alg.length, k, spki.length, d, data.length, s, sig.length, 0);
  };
  const algId = (spki: Uint8Array) => {
    const c = children(spki, tlv(spki, 0));
    return spki.slice(c[0].start, c[0].end);
  };
  const withNull = (alg: Uint8Array) => Uint8Array.from([0x30, alg[1] + 2, ...alg.subarray(2), 0x05, 0x00]);
  const data = new Uint8Array(Buffer.from("tbsCertificate or ProtectedPart"));

  it("Ed25519 and Ed448 keys from node:crypto: valid, wrong data, NULL parameters, mismatched key", () => {
    const k25519 = generateKeyPairSync("ed25519"),
      k448 = generateKeyPairSync("ed448");
    const spki25519 = new Uint8Array(k25519.publicKey.export({ format: "der", type: "spki" }));
    const spki448 = new Uint8Array(k448.publicKey.export({ format: "der", type: "spki" }));
    const s25519 = new Uint8Array(nodeSign(null, data, k25519.privateKey)),
      s448 = new Uint8Array(nodeSign(null, data, k448.privateKey));
    expect(sigVerify(algId(spki25519), spki25519, data, s25519)).toBe(0);
    expect(sigVerify(algId(spki448), spki448, data, s448)).toBe(0);
    expectCode(sigVerify(algId(spki25519), spki25519, data.subarray(1), s25519), E_SIG_INVALID);
    expectCode(sigVerify(withNull(algId(spki25519)), spki25519, data, s25519), E_ALG); // RFC 8410 3: absent
    expectCode(sigVerify(algId(spki25519), spki448, data, s448), E_ALG); // key of another curve
    expectCode(sigVerify(algId(spki448), spki25519, data, s25519), E_ALG);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ecSpki = new Uint8Array(ec.publicKey.export({ format: "der", type: "spki" }));
    expectCode(sigVerify(algId(spki25519), ecSpki, data, s25519), E_ALG); // an ECDSA key
  });

  it("ML-DSA-44 and -65 keys of the test PKI: valid, NULL parameters, key of the other set", async () => {
    const k44 = await generateKeyPair("ML-DSA-44"),
      k65 = await generateKeyPair("ML-DSA-65");
    const spki44 = new Uint8Array(k44.mlDsa!.spki),
      spki65 = new Uint8Array(k65.mlDsa!.spki);
    const s44 = k44.mlDsa!.sign(data),
      s65 = k65.mlDsa!.sign(data);
    expect(sigVerify(algId(spki44), spki44, data, s44)).toBe(0);
    expect(sigVerify(algId(spki65), spki65, data, s65)).toBe(0);
    const bad = Uint8Array.from(s44);
    bad[0] ^= 1;
    expectCode(sigVerify(algId(spki44), spki44, data, bad), E_SIG_INVALID);
    expectCode(sigVerify(withNull(algId(spki44)), spki44, data, s44), E_ALG); // RFC 9881 2: absent
    expectCode(sigVerify(algId(spki44), spki65, data, s65), E_ALG);
    expectCode(sigVerify(algId(spki65), spki44, data, s44), E_ALG);
  });
});
