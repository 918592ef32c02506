// The lean module (build/tinycmp-lean.wasm, asconfig target `lean`): ir/kur with certConf and
// error messages, P-256, SHA-256, PBM; within 28 KiB and one page; the same tx_* API as the full
// module; against the test PKI (PBM) and `openssl cmp` (signed ir and kur), refusing what it
// leaves out with a clear error.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_WASM } from "../host/node/lib/core";
import { CmpError, Device } from "../host/node/lib/device";
import { TestPki } from "../host/node/testpki/index.js";
import { sigText, wasmInfo } from "../scripts/wasminfo";
import { makeCreds, startServer, type Creds } from "./helpers/openssl-cmp";
import { MemScan, scratchMask } from "./helpers/memscan";
import { expectCode } from "./helpers/codes";
import { E_ALG, E_ARG, E_CMP_STATE, ITEM_SECRET } from "../host/node/lib/abi";

const LEAN = DEFAULT_WASM.replace(/tinycmp\.wasm$/, "tinycmp-lean.wasm");
const doc = readFileSync(new URL("../docs/ABI.md", import.meta.url), "utf8");

describe("lean module", () => {
  const lean = wasmInfo(readFileSync(LEAN));
  const full = wasmInfo(readFileSync(DEFAULT_WASM));

  it("fits its 28 KiB budget and one page, validates as plain WebAssembly", () => {
    expect(readFileSync(LEAN).length).toBeLessThanOrEqual(28 * 1024);
    expect(lean.memory).toEqual({ initial: 1, maximum: 1 });
    const r = spawnSync("wasm-validate", ["--disable-bulk-memory", "--disable-sign-extension", "--disable-saturating-float-to-int", LEAN], {
      encoding: "utf8",
    });
    expect(r.stderr + r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("imports a subset of docs/ABI.md and exports the full module's abi_version, tx_* API and the store calls of an ir/kur", () => {
    for (const i of lean.imports) expect(doc).toContain(`\`${i.module}.${i.name}\``);
    const store = /^store_(info|get|pending_new|use|commit)$/;
    const sigs = (m: typeof lean) =>
      Object.fromEntries(
        m.exports.filter((e) => /^(tx_|io_|memory$|abi_version$)/.test(e.name) || store.test(e.name)).map((e) => [e.name, e.sig ? sigText(e.sig) : e.kind]),
      );
    expect(Object.fromEntries(lean.exports.map((e) => [e.name, e.sig ? sigText(e.sig) : e.kind]))).toEqual(sigs(full));
  });

  it("refuses the operations it leaves out", () => {
    const d = new Device({ transfer: async () => new Uint8Array(0) }, { wasm: LEAN });
    const x = d.core.exports;
    const secret = new TextEncoder().encode("s");
    expect(x.tx_set(ITEM_SECRET, d.core.put(secret), secret.length)).toBe(0);
    for (const op of [2, 4, 5, 6]) expectCode(x.tx_start(op), E_ARG); // cr, p10cr, rr, genm
    expectCode(x.tx_poll(), E_CMP_STATE);
  });
});

describe("lean module against the test PKI", () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await TestPki.start({});
  }, 60_000);
  afterAll(async () => {
    await pki?.close();
  });
  const cn = new Uint8Array([0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04, 0x6c, 0x65, 0x61, 0x6e]);

  it("ir with PBM (HMAC-SHA256) and a generated key, MAC-protected responses, in one page", async () => {
    pki.reset();
    pki.configure({ responseProtection: "mac" });
    const d = Device.http({ url: pki.url + "/pkix/" }, { wasm: LEAN });
    const scan = new MemScan(d.core, 0xa5, scratchMask("assembly/lean.ts", "lean", LEAN).mask);
    try {
      const o = await d.enroll({ secret: pki.secret, ref: pki.ref, subject: cn });
      expect(o.newKey!.length).toBe(32);
      expect(new X509Certificate(o.cert!).subject).toMatch(/lean/);
      expect(o.caPubs.length).toBeGreaterThanOrEqual(1);
      const m = scan.result();
      expect(m.pages).toBe(1);
      console.log(`lean ir + certConf (PBM): ${m.used} B used, highest address ${m.highest}`);
    } finally {
      d.close();
      pki.reset();
    }
  });
});

describe("lean module against openssl cmp", () => {
  let creds: Creds;
  beforeAll(() => {
    creds = makeCreds();
  }, 60_000);
  const signed = (extra: object) => ({
    key: creds.scalar("dev.key"),
    cert: creds.der("dev.crt"),
    subject: creds.subjectDer("rsp.crt"),
    newKey: creds.scalar("rsp.key"),
    trusted: [creds.der("root.crt")],
    ...extra,
  });

  it("signed ir and kur, EC-signed responses validated to TRUSTED", async () => {
    const s = await startServer(creds);
    try {
      const d = Device.http({ url: s.url }, { wasm: LEAN });
      const o = await d.enroll(signed({}));
      expect(o.cert).toEqual(creds.der("rsp.crt"));
      expect(o.chain.length).toBe(2);
      const k = await d.enroll(signed({ op: "kur", key: creds.scalar("rsp.key"), cert: creds.der("rsp.crt"), oldCert: creds.der("rsp.crt") }));
      expect(k.cert).toEqual(creds.der("rsp.crt"));
      d.close();
    } finally {
      await s.stop();
    }
  });

  it("an RSA-signed response is refused: algorithm not supported", async () => {
    const s = await startServer(creds, [], { rsa: true });
    try {
      const d = Device.http({ url: s.url }, { wasm: LEAN });
      const e = await d.enroll(signed({})).catch((x) => x);
      d.close();
      expect(e).toBeInstanceOf(CmpError);
      expectCode(e.code, E_ALG);
      expect(e.detail).toMatch(/not supported/);
    } finally {
      await s.stop();
    }
  });

  it("openssl's PBM responses (HMAC-SHA1) are refused: no SHA-1 in the lean module", async () => {
    const s = await startServer(creds);
    try {
      const d = Device.http({ url: s.url }, { wasm: LEAN });
      const e = await d.enroll({ secret: "secret", ref: "ref", newKey: creds.scalar("rsp.key"), subject: creds.subjectDer("rsp.crt") }).catch((x) => x);
      d.close();
      expect(e).toBeInstanceOf(CmpError);
      expect(e.detail).toBe("response MAC algorithm not supported: 1.3.6.1.5.5.8.1.2"); // id-hmacSHA1
    } finally {
      await s.stop();
    }
  });
});
