// TPM 2.0 keys in the C host (host/c/tpm.c, tpm2-tss ESAPI) against Debian's swtpm, started here
// with a fresh state on free 127.0.0.1 ports and stopped by its PID. IDevID keys are made and read
// with tpm2-tools (the independent view of what the TPM holds), certified by the built-in test PKI
// and by openssl; ir signed by the TPM key against the test PKI and `openssl cmp`, kur with a new
// key generated in the TPM, for P-256, P-384, RSA-2048 and RSA-3072; and the failure cases: TPM
// absent, key not found, wrong auth, a signature that does not verify, a failed enrolment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, makeCreds, withMockServer, type Creds } from "./helpers/openssl-cmp";
import { PKIFailureInfo, PKIStatus, TestPki } from "../host/node/testpki/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const NATIVE = join(root, "build", "tinycmp-native");
const osslEnv = { ...process.env, OPENSSL_CONF: "/dev/null" };
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

// Skipped, with the reason, only where the machine lacks swtpm, tpm2-tools or libtss2-dev (.ci/run
// installs them).
const missing = [
  !has("swtpm") && "swtpm (apt-get install swtpm swtpm-tools)",
  !has("tpm2_createprimary") && "tpm2-tools",
  !has("wasm2c") && "wasm2c (apt-get install wabt)",
  spawnSync("pkg-config", ["--exists", "tss2-esys", "tss2-tctildr", "tss2-rc"]).status !== 0 && "libtss2-dev (pkg-config finds no tss2-esys)",
].filter(Boolean);
if (missing.length) console.warn(`test/tpm.test.ts skipped: ${missing.join(", ")} not found`);
const suite = missing.length ? describe.skip : describe;

let dir: string, creds: Creds, pki: TestPki;
let swtpm: ChildProcess | undefined,
  tcti = "";

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function startSwtpm(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), "tinycmp-swtpm-"));
  // the swtpm TCTI talks to the control channel at the server port + 1
  let port = await freePort();
  while (!(await portFree(port + 1))) port = await freePort();
  const ctrl = port + 1;
  swtpm = spawn(
    "swtpm",
    [
      "socket",
      "--tpm2",
      "--tpmstate",
      `dir=${state}`,
      "--flags",
      "not-need-init,startup-clear",
      "--server",
      `type=tcp,port=${port},bindaddr=127.0.0.1`,
      "--ctrl",
      `type=tcp,port=${ctrl},bindaddr=127.0.0.1`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  swtpm.stderr!.on("data", (d) => (err += d));
  tcti = `swtpm:host=127.0.0.1,port=${port}`;
  for (let i = 0; ; i++) {
    // listening within 5 s, or the test fails with swtpm's words
    if (swtpm.exitCode !== null) throw new Error(`swtpm exited: ${err}`);
    if (
      await new Promise<boolean>((r) =>
        connect(port, "127.0.0.1")
          .once("connect", function (this: any) {
            this.destroy();
            r(true);
          })
          .once("error", () => r(false)),
      )
    )
      break;
    if (i === 50) throw new Error(`swtpm did not listen on ${port}: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopSwtpm(): Promise<void> {
  const p = swtpm;
  swtpm = undefined;
  if (!p || p.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    p.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    p.kill("SIGTERM");
  });
}

// tpm2-tools straight on swtpm (no resource manager): every tool leaves its transient objects
// loaded, so each call is followed by tpm2_flushcontext -t
function tpm2(tool: string, args: string[]): string {
  const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
  const r = spawnSync(`tpm2_${tool}`, args, { cwd: dir, env, encoding: "utf8" });
  const f = spawnSync("tpm2_flushcontext", ["-t"], { cwd: dir, env, encoding: "utf8" });
  if (r.status !== 0 || f.status !== 0) throw new Error(`tpm2_${tool} ${args.join(" ")}: ${r.stderr}${f.stderr}`);
  return r.stdout;
}

const TYPES = [
  { type: "P-256", alg: "ecc256" },
  { type: "P-384", alg: "ecc384" },
  { type: "RSA-2048", alg: "rsa2048" },
  { type: "RSA-3072", alg: "rsa3072" },
] as const;
type KeyType = (typeof TYPES)[number]["type"];
const algOf = (t: KeyType) => TYPES.find((x) => x.type === t)!.alg;
const hex = (h: number) => `0x${h.toString(16)}`;

/** A signing key made in the TPM with tpm2-tools and made persistent at handle (the README's commands). */
function createKey(handle: number, type: KeyType, auth?: string, alg: string = algOf(type), attrs?: string): void {
  tpm2("createprimary", ["-C", "o", "-G", "ecc256", "-c", "primary.ctx", "-Q"]);
  tpm2("create", ["-C", "primary.ctx", "-G", alg, "-u", "key.pub", "-r", "key.priv", ...(auth ? ["-p", auth] : []), ...(attrs ? ["-a", attrs] : []), "-Q"]);
  tpm2("load", ["-C", "primary.ctx", "-u", "key.pub", "-r", "key.priv", "-c", "key.ctx", "-Q"]);
  tpm2("evictcontrol", ["-C", "o", "-c", "key.ctx", hex(handle), "-Q"]);
}
/** The TPM's public key at handle as DER SubjectPublicKeyInfo, read by tpm2-tools. */
function tpmSpki(handle: number): Buffer {
  tpm2("readpublic", ["-c", hex(handle), "-f", "der", "-o", "pub.der", "-Q"]);
  return readFileSync(join(dir, "pub.der"));
}
const persistent = () =>
  tpm2("getcap", ["handles-persistent"])
    .split("\n")
    .filter((l) => l.startsWith("- "))
    .map((l) => Number(l.slice(2)));
const certSpki = (file: string) => Buffer.from(new X509Certificate(readFileSync(join(dir, file))).publicKey.export({ format: "der", type: "spki" }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(args: string[], env: Record<string, string> = {}, bin = NATIVE): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      bin,
      ["-wasm", join(root, "build", "tinycmp.wasm"), ...args],
      { cwd: dir, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}
const oneLine = (r: Run) => expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);

/** An IDevID certificate for the TPM key at handle, issued by the openssl credentials' root. */
function opensslIdevid(handle: number, name: string): void {
  tpm2("readpublic", ["-c", hex(handle), "-f", "pem", "-o", `${name}.pub.pem`, "-Q"]);
  // the CSR only carries the subject: -force_pubkey puts the TPM's key in the certificate
  execFileSync(
    "openssl",
    [
      "x509",
      "-req",
      "-in",
      join(creds.dir, "dev.csr"),
      "-force_pubkey",
      `${name}.pub.pem`,
      "-CA",
      join(creds.dir, "root.crt"),
      "-CAkey",
      join(creds.dir, "root.key"),
      "-CAcreateserial",
      "-days",
      "30",
      "-sha256",
      "-extfile",
      join(creds.dir, "ext.cnf"),
      "-extensions",
      "ee",
      "-out",
      `${name}.crt`,
    ],
    { cwd: dir, env: osslEnv, stdio: "pipe" },
  );
}

/** The valid records in the slot files of a -flash directory, parsed as docs/STORE.md "Record"
 * says (independently of the core): kind, generation and items (tag, value). */
interface Rec {
  slot: number;
  kind: number;
  gen: number;
  items: { tag: number; value: Buffer }[];
}
function storeRecords(flash: string): Rec[] {
  const out: Rec[] = [];
  for (const f of readdirSync(flash)) {
    const b = readFileSync(join(flash, f));
    if (b.readUInt32LE(0) !== 0x31534354) continue;
    const kind = b.readUInt32LE(4),
      gen = b.readUInt32LE(8),
      n = b.readUInt32LE(12);
    if (
      n > 4064 ||
      !createHash("sha256")
        .update(b.subarray(0, 16 + n))
        .digest()
        .subarray(0, 16)
        .equals(b.subarray(16 + n, 32 + n))
    )
      continue;
    const items: Rec["items"] = [];
    for (let p = 16; p < 16 + n; ) {
      const len = b.readUInt16LE(p + 1);
      items.push({ tag: b[p], value: b.subarray(p + 3, p + 3 + len) });
      p += 3 + len;
    }
    out.push({ slot: Number(/\d+/.exec(f)![0]), kind, gen, items });
  }
  return out;
}
/** The current record of kind (the valid one with the newer generation, RFC 1982). */
const current = (flash: string, kind: number) =>
  storeRecords(flash)
    .filter((r) => r.kind === kind)
    .sort((a, b) => (b.gen - a.gen) | 0)[0];
const itemOf = (r: Rec, tag: number) => r.items.filter((i) => i.tag === tag).map((i) => i.value);

suite("C host: keys in a TPM 2.0 (swtpm)", () => {
  beforeAll(async () => {
    const r = spawnSync("make", ["-C", join(root, "host/c")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`make -C host/c failed:\n${r.stdout}\n${r.stderr}`);
    dir = mkdtempSync(join(tmpdir(), "tinycmp-tpm-"));
    creds = makeCreds();
    await startSwtpm();
    pki = await TestPki.start();
    writeFileSync(join(dir, "root.pem"), pki.root.certPem);
  }, 120_000);
  afterAll(async () => {
    await pki?.close();
    await stopSwtpm();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const testPki = () => {
    const u = new URL(pki.url);
    return ["-server", `${u.host}${u.pathname}`];
  };
  const mock = (port: number) => ["-server", `127.0.0.1:${port}/pkix/`];

  TYPES.forEach(({ type }, i) => {
    it(`${type}: the IDevID key in the TPM signs the ir (new key made in the TPM), then kur to another new TPM key (test PKI)`, async () => {
      const idevid = 0x81010000 + i;
      createKey(idevid, type);
      const cert = await pki.createIdevid(`TPM-${type}`, tpmSpki(idevid));
      writeFileSync(join(dir, `idevid-${type}.crt`), cert.certPem);
      writeFileSync(join(dir, "mfca.pem"), cert.chain[0]);
      const before = persistent();
      // the P-256 run gives its new key an auth value (-newkeypass), which the kur then needs
      const newAuth = i === 0 ? ["-newkeypass", "env:OP_AUTH"] : [],
        keyAuth = i === 0 ? ["-keypass", "env:OP_AUTH"] : [];
      const env = { OP_AUTH: "op key auth" };
      const ir = await run(
        [
          "-cmd",
          "ir",
          ...testPki(),
          "-tpm_tcti",
          tcti,
          "-key",
          `tpm:${hex(idevid)}`,
          "-cert",
          `idevid-${type}.crt`,
          "-extracerts",
          "mfca.pem",
          "-trusted",
          "root.pem",
          "-newkey",
          "tpm:",
          "-newkeytype",
          type,
          "-subject",
          `/CN=tpm device ${type}`,
          "-certout",
          `op-${type}.crt`,
          "-newkeyout",
          `op-${type}.ref`,
          ...newAuth,
        ],
        env,
      );
      expect(ir.code, ir.stderr).toBe(0);
      const ref = readFileSync(join(dir, `op-${type}.ref`), "utf8");
      expect(ref).toMatch(/^tpm:0x81[0-9a-f]{6}\n$/); // a reference, no key material
      const opHandle = Number(ref.slice(4));
      expect(persistent()).toEqual([...before, opHandle].sort((a, b) => a - b));
      // what the TPM holds at that handle (tpm2-tools' view) is the certified key
      expect(certSpki(`op-${type}.crt`)).toEqual(tpmSpki(opHandle));
      expect(createPublicKey({ key: tpmSpki(opHandle), format: "der", type: "spki" }).asymmetricKeyType).toBe(type.startsWith("RSA") ? "rsa" : "ec");
      expect(new X509Certificate(readFileSync(join(dir, `op-${type}.crt`))).verify(new X509Certificate(pki.issuingCa.certPem).publicKey)).toBe(true);
      const irReq = pki.requests.filter((q) => q.type === "ir").at(-1)!;
      expect(irReq.answer).toBe("ip");

      // kur (RFC 9483 4.1.3): protected by the TPM key just certified, the next key made in the TPM
      const kurArgs = [
        "-cmd",
        "kur",
        ...testPki(),
        "-tpm_tcti",
        tcti,
        "-key",
        ref.trim(),
        "-cert",
        `op-${type}.crt`,
        "-trusted",
        "root.pem",
        "-newkey",
        "tpm:",
        "-newkeytype",
        type,
        "-certout",
        `kur-${type}.crt`,
        "-newkeyout",
        `kur-${type}.ref`,
      ];
      if (i === 0) {
        // without its auth value the key does not sign (one of swtpm's 3 tries before lockout)
        const noAuth = await run(kurArgs);
        expect(noAuth.code).toBe(1);
        expect(noAuth.stderr).toMatch(/\(error -\d+ E_SIGNER\).*TPM2_Sign/);
        expect(existsSync(join(dir, `kur-${type}.crt`))).toBe(false);
      }
      const kur = await run([...kurArgs, ...keyAuth], env);
      expect(kur.code, kur.stderr).toBe(0);
      const kurHandle = Number(readFileSync(join(dir, `kur-${type}.ref`), "utf8").slice(4));
      expect(kurHandle).not.toBe(opHandle);
      expect(certSpki(`kur-${type}.crt`)).toEqual(tpmSpki(kurHandle));
      expect(certSpki(`kur-${type}.crt`)).not.toEqual(certSpki(`op-${type}.crt`));
      expect(pki.requests.filter((q) => q.type === "kur").at(-1)!.answer).toBe("kup");
    }, 120_000);
  });

  TYPES.forEach(({ type }, i) => {
    for (const pss of type.startsWith("RSA") ? [false, true] : [false]) {
      it(`${type}${pss ? " RSASSA-PSS" : ""}: ir signed by the TPM IDevID key, accepted by openssl cmp`, async () => {
        const idevid = 0x81020000 + i;
        if (!persistent().includes(idevid)) createKey(idevid, type);
        opensslIdevid(idevid, `ossl-${type}`);
        await withMockServer(creds, [], async (s) => {
          const r = await run([
            "-cmd",
            "ir",
            ...mock(s.port),
            "-tpm_tcti",
            tcti,
            "-key",
            `tpm:${hex(idevid)}`,
            "-cert",
            `ossl-${type}.crt`,
            "-trusted",
            join(creds.dir, "root.crt"),
            "-newkey",
            join(creds.dir, "rsp.key"),
            "-subject",
            "/CN=tinycmp device",
            "-certout",
            `ossl-${type}-out.crt`,
            ...(pss ? ["-rsa_pss"] : []),
          ]);
          expect(r.code, `${r.stderr}\n${s.log()}`).toBe(0);
          expect(new Uint8Array(new X509Certificate(readFileSync(join(dir, `ossl-${type}-out.crt`))).raw)).toEqual(creds.der("rsp.crt"));
        });
      });
    }
  });

  it("README: tinycmp testpki --idevid-pubkey certifies the TPM's IDevID key; ir and kur with -cert pki/idevid.pem (IDevID + its CA)", async () => {
    const h = 0x81050000;
    createKey(h, "P-256");
    tpm2("readpublic", ["-c", hex(h), "-f", "pem", "-o", "idevid.pub.pem", "-Q"]);
    const proc = spawn(process.execPath, [join(root, "bin/tinycmp.mjs"), "testpki", "--dir", join(dir, "pki"), "--idevid-pubkey", "idevid.pub.pem"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`testpki did not start: ${out}`)), 60_000);
        const see = (d: Buffer) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m && /files:/.test(out)) {
            clearTimeout(t);
            resolve(m[1]);
          }
        };
        proc.stdout!.on("data", see);
        proc.stderr!.on("data", see);
        proc.once("exit", () => {
          clearTimeout(t);
          reject(new Error(`testpki exited: ${out}`));
        });
      });
      expect(existsSync(join(dir, "pki", "idevid.key"))).toBe(false);
      expect(certSpki("pki/idevid.pem")).toEqual(tpmSpki(h));
      const server = ["-server", `${new URL(url).host}/pkix/`, "-trusted", "pki/root.pem", "-tpm_tcti", tcti];
      const ir = await run([
        "-cmd",
        "ir",
        ...server,
        "-key",
        `tpm:${hex(h)}`,
        "-cert",
        "pki/idevid.pem",
        "-newkey",
        "tpm:",
        "-subject",
        "/CN=device-42",
        "-certout",
        "readme-op.crt",
        "-newkeyout",
        "readme-op.ref",
      ]);
      expect(ir.code, ir.stderr).toBe(0);
      const kur = await run([
        "-cmd",
        "kur",
        ...server,
        "-key",
        readFileSync(join(dir, "readme-op.ref"), "utf8").trim(),
        "-cert",
        "readme-op.crt",
        "-newkey",
        "tpm:",
        "-newkeytype",
        "RSA-2048",
        "-certout",
        "readme-op2.crt",
        "-newkeyout",
        "readme-op2.ref",
      ]);
      expect(kur.code, kur.stderr).toBe(0);
      expect(certSpki("readme-op2.crt")).toEqual(tpmSpki(Number(readFileSync(join(dir, "readme-op2.ref"), "utf8").slice(4))));
    } finally {
      if (proc.exitCode === null)
        await new Promise((r) => {
          proc.once("exit", r);
          proc.kill("SIGTERM");
        });
    }
  }, 120_000);

  it("under ASan and UBSan: ir with an RSA-3072 key made in the TPM, kur to a P-384 one (test PKI)", async () => {
    const bin = join(dir, "tinycmp-asan");
    const b = spawnSync(
      "make",
      ["-C", join(root, "host/c"), `NATIVE=${bin}`, bin, "CFLAGS=-std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra"],
      { encoding: "utf8" },
    );
    expect(b.status, b.stderr).toBe(0);
    const env = { ASAN_OPTIONS: "detect_leaks=0" }; // a failing run exits without freeing ESAPI's allocations
    const ir = await run(
      [
        "-cmd",
        "ir",
        ...testPki(),
        "-ref",
        pki.ref,
        "-secret",
        `pass:${pki.secret}`,
        "-tpm_tcti",
        tcti,
        "-trusted",
        "root.pem",
        "-newkey",
        "tpm:",
        "-newkeytype",
        "RSA-3072",
        "-subject",
        "/CN=asan",
        "-certout",
        "asan.crt",
        "-newkeyout",
        "asan.ref",
      ],
      env,
      bin,
    );
    expect(ir.code, ir.stderr).toBe(0);
    expect(ir.stderr).toBe("");
    const kur = await run(
      [
        "-cmd",
        "kur",
        ...testPki(),
        "-tpm_tcti",
        tcti,
        "-trusted",
        "root.pem",
        "-key",
        readFileSync(join(dir, "asan.ref"), "utf8").trim(),
        "-cert",
        "asan.crt",
        "-newkey",
        "tpm:",
        "-newkeytype",
        "P-384",
        "-certout",
        "asan2.crt",
        "-newkeyout",
        "asan2.ref",
      ],
      env,
      bin,
    );
    expect(kur.code, kur.stderr).toBe(0);
    expect(kur.stderr).toBe("");
    expect(certSpki("asan2.crt")).toEqual(tpmSpki(Number(readFileSync(join(dir, "asan2.ref"), "utf8").slice(4))));
  }, 180_000);

  it("p10cr: the new key made in the TPM signs the PKCS#10 request (test PKI, MAC)", async () => {
    const r = await run([
      "-cmd",
      "p10cr",
      ...testPki(),
      "-ref",
      pki.ref,
      "-secret",
      `pass:${pki.secret}`,
      "-tpm_tcti",
      tcti,
      "-trusted",
      "root.pem",
      "-newkey",
      "tpm:",
      "-newkeytype",
      "P-384",
      "-subject",
      "/CN=tpm p10cr",
      "-certout",
      "p10.crt",
      "-newkeyout",
      "p10.ref",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(certSpki("p10.crt")).toEqual(tpmSpki(Number(readFileSync(join(dir, "p10.ref"), "utf8").slice(4))));
    expect(pki.requests.filter((q) => q.type === "p10cr").at(-1)!.answer).toBe("cp");
  });

  it("rr and genm protected by the TPM key (openssl cmp)", async () => {
    const idevid = 0x81020000; // P-256, made by the openssl cases above when they ran; else here
    if (!persistent().includes(idevid)) createKey(idevid, "P-256");
    opensslIdevid(idevid, "rr");
    await withMockServer(creds, [], async (s) => {
      const signed = ["-tpm_tcti", tcti, "-key", `tpm:${hex(idevid)}`, "-cert", "rr.crt", "-trusted", join(creds.dir, "root.crt")];
      const g = await run(["-cmd", "genm", ...mock(s.port), ...signed, "-infotype", "caCerts"]);
      expect(g.code, g.stderr).toBe(0);
      expect(g.stdout).toBe("infoType 1.3.6.1.5.5.7.4.17\n");
      const r = await run(["-cmd", "rr", ...mock(s.port), ...signed, "-oldcert", join(creds.dir, "rsp.crt"), "-revreason", "1"]);
      expect(r.code, r.stderr).toBe(0);
    });
  });

  it("-newkey naming a TPM key that exists: that key gives the POP, which openssl cmp verifies; it stays", async () => {
    const h = 0x81030000;
    createKey(h, "P-384");
    opensslIdevid(h, "given"); // the certificate the server will answer with (its -rsp_cert, given last)
    await withMockServer(creds, ["-rsp_cert", join(dir, "given.crt")], async (s) => {
      const r = await run([
        "-cmd",
        "ir",
        ...mock(s.port),
        "-ref",
        "ref",
        "-secret",
        "pass:secret",
        "-tpm_tcti",
        tcti,
        "-newkey",
        `tpm:${hex(h)}`,
        "-subject",
        "/CN=tinycmp idevid",
        "-certout",
        "given-out.crt",
        "-newkeyout",
        "given.ref",
      ]);
      expect(r.code, `${r.stderr}\n${s.log()}`).toBe(0);
      expect(readFileSync(join(dir, "given.ref"), "utf8")).toBe(`tpm:${hex(h)}\n`);
      expect(certSpki("given-out.crt")).toEqual(tpmSpki(h));
    });
    expect(persistent()).toContain(h);
  });

  it("-store: the IDevID provisioned by reference, ir and kur with keys made in the TPM; the store holds references and certificates, never key material; a failed kur changes nothing", async () => {
    const idevid = 0x81060000,
      flash = join(dir, "flash");
    createKey(idevid, "P-256");
    const cert = await pki.createIdevid("TPM-store", tpmSpki(idevid));
    writeFileSync(join(dir, "store-idevid.pem"), cert.certPem + cert.chain[0]); // IDevID, then its CA
    const base = [...testPki(), "-tpm_tcti", tcti, "-trusted", "root.pem", "-flash", flash, "-store"];
    const before = persistent();
    // an IDevID certificate for another key: the store refuses to provision it, nothing is made or sent
    const n0 = pki.requests.length;
    const wrong = await run(["-cmd", "ir", ...base, "-key", `tpm:${hex(idevid)}`, "-cert", join(creds.dir, "dev.crt"), "-subject", "/CN=x"]);
    expect(wrong.code).toBe(2);
    oneLine(wrong);
    expect(wrong.stderr).toMatch(/provisioning the IDevID refused/);
    expect(existsSync(flash) ? storeRecords(flash) : []).toEqual([]);
    expect(persistent()).toEqual(before);
    expect(pki.requests.length).toBe(n0);
    const env = { OP_AUTH: "store op auth" };
    const ir = await run(
      [
        "-cmd",
        "ir",
        ...base,
        "-key",
        `tpm:${hex(idevid)}`,
        "-cert",
        "store-idevid.pem",
        "-newkey",
        "tpm:",
        "-newkeypass",
        "env:OP_AUTH",
        "-subject",
        "/CN=tpm store device",
        "-certout",
        "store-op.crt",
      ],
      env,
    );
    expect(ir.code, ir.stderr).toBe(0);
    const opHandle = persistent().find((h) => !before.includes(h))!;
    expect(persistent()).toEqual([...before, opHandle].sort((a, b) => a - b));
    const idRec = current(flash, 1),
      cred = current(flash, 2);
    expect(itemOf(idRec, 6).map(String)).toEqual([`tpm:${hex(idevid)}`]);
    expect(itemOf(idRec, 7)).toEqual([tpmSpki(idevid)]);
    expect(itemOf(idRec, 2)).toEqual([Buffer.from(new X509Certificate(cert.certPem).raw)]);
    expect(itemOf(idRec, 3)).toEqual([Buffer.from(new X509Certificate(cert.chain[0]).raw)]);
    expect(itemOf(cred, 6).map(String)).toEqual([`tpm:${hex(opHandle)}`]);
    expect(itemOf(cred, 7)).toEqual([tpmSpki(opHandle)]);
    expect(itemOf(cred, 2)).toEqual([Buffer.from(new X509Certificate(readFileSync(join(dir, "store-op.crt"))).raw)]);
    expect(certSpki("store-op.crt")).toEqual(tpmSpki(opHandle));
    const noSecrets = () => {
      for (const r of storeRecords(flash))
        expect(
          r.items.filter((i) => i.tag === 1 || i.tag === 5),
          `kind ${r.kind}`,
        ).toEqual([]);
      expect(current(flash, 4)?.items ?? [], "no pending key after the run").toEqual([]);
    };
    noSecrets();
    // a second ir finds the IDevID in the store: -key/-cert are refused, not silently ignored
    const twice = await run(["-cmd", "ir", ...base, "-key", `tpm:${hex(idevid)}`, "-cert", "store-idevid.pem", "-subject", "/CN=x"]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/comes from the store/);
    // a key file (key material the store would have to hold) is refused
    const soft = await run(["-cmd", "kur", ...base, "-newkey", join(creds.dir, "rsp.key")]);
    expect(soft.code).toBe(2);
    expect(soft.stderr).toMatch(/-store keeps keys in the TPM/);

    // kur signed by the stored credential's TPM key; the new key made in the TPM; nothing on the command line names a key
    const slots = () => [0, 1, 2].map((n) => readFileSync(join(flash, `slot${n}.bin`)));
    const kurArgs = ["-cmd", "kur", ...base, "-certout", "store-kur.crt"];
    const was = slots(),
      held = persistent();
    // a failed kur: without the credential key's auth the TPM refuses to sign, the new key is evicted
    const noAuth = await run(kurArgs);
    expect(noAuth.code).toBe(1);
    expect(noAuth.stderr).toMatch(/error -28 E_SIGNER\).*TPM2_Sign/);
    tpm2("dictionarylockout", ["--clear-lockout"]); // swtpm locks out after 3 auth failures; the other cases make two
    expect(slots()).toEqual(was);
    expect(persistent()).toEqual(held);
    noSecrets();
    // ... and the test PKI refusing the kur: the same
    pki.configure({ reject: { status: PKIStatus.rejection, failInfo: [PKIFailureInfo.badRequest], statusString: "not now" } });
    try {
      const refused = await run([...kurArgs, "-keypass", "env:OP_AUTH"], env);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/not now/);
    } finally {
      pki.reset();
    }
    expect(slots()).toEqual(was);
    expect(persistent()).toEqual(held);
    expect(existsSync(join(dir, "store-kur.crt"))).toBe(false);
    noSecrets();

    const kur = await run([...kurArgs, "-keypass", "env:OP_AUTH"], env);
    expect(kur.code, kur.stderr).toBe(0);
    const kurHandle = persistent().find((h) => !held.includes(h))!;
    const cred2 = current(flash, 2);
    expect(cred2.gen).toBe(cred.gen + 1);
    expect(itemOf(cred2, 6).map(String)).toEqual([`tpm:${hex(kurHandle)}`]);
    expect(itemOf(cred2, 7)).toEqual([tpmSpki(kurHandle)]);
    expect(itemOf(cred2, 2)).toEqual([Buffer.from(new X509Certificate(readFileSync(join(dir, "store-kur.crt"))).raw)]);
    expect(certSpki("store-kur.crt")).toEqual(tpmSpki(kurHandle));
    expect(pki.requests.filter((q) => q.type === "kur").at(-1)!.answer).toBe("kup");
    expect(current(flash, 1)).toEqual(idRec); // the IDevID record untouched
    noSecrets();

    // a TPM key swapped behind the store's back (its PUBKEY no longer matches): refused before anything is made or sent
    tpm2("evictcontrol", ["-C", "o", "-c", hex(kurHandle), "-Q"]);
    createKey(kurHandle, "P-256");
    const n = pki.requests.length,
      held2 = persistent(),
      was2 = slots();
    const swapped = await run(kurArgs);
    expect(swapped.code).toBe(2);
    oneLine(swapped);
    expect(swapped.stderr).toMatch(/is not the stored credential key/);
    expect(pki.requests.length).toBe(n);
    expect(persistent()).toEqual(held2);
    expect(slots()).toEqual(was2);
  }, 180_000);

  describe("failures: a defined error, no output file, no key left behind", () => {
    const ecKey = 0x81040000,
      authKey = 0x81040001,
      rsaKey = 0x81040002;
    beforeAll(() => {
      createKey(ecKey, "P-256");
      opensslIdevid(ecKey, "fail-ec");
      createKey(authKey, "P-256", "s3cret-auth");
      opensslIdevid(authKey, "fail-auth");
      createKey(rsaKey, "RSA-2048");
    });
    const irArgs = (port: number, key: string, cert: string, out = "fail-out.crt") => [
      "-cmd",
      "ir",
      ...mock(port),
      "-tpm_tcti",
      tcti,
      "-key",
      key,
      "-cert",
      cert,
      "-trusted",
      join(creds.dir, "root.crt"),
      "-newkey",
      join(creds.dir, "rsp.key"),
      "-subject",
      "/CN=tinycmp device",
      "-certout",
      out,
    ];

    it("TPM absent (nothing listens at the TCTI's port): exit 2, one line naming the TCTI", async () => {
      const port = await freePort();
      const r = await run(irArgs(1, `tpm:${hex(ecKey)}`, "fail-ec.crt").map((a) => (a === tcti ? `swtpm:host=127.0.0.1,port=${port}` : a)));
      expect(r.code).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(/cannot reach the TPM through TCTI swtpm:host=127\.0\.0\.1/);
      expect(existsSync(join(dir, "fail-out.crt"))).toBe(false);
      // the TCTI from the environment, as tpm2-tools take it
      const e = await run(
        irArgs(1, `tpm:${hex(ecKey)}`, "fail-ec.crt").filter((a, j, all) => a !== "-tpm_tcti" && all[j - 1] !== "-tpm_tcti"),
        { TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${port}` },
      );
      expect(e.code).toBe(2);
      expect(e.stderr).toMatch(new RegExp(`TCTI swtpm:host=127\\.0\\.0\\.1,port=${port}`));
    });

    it("TPM2TOOLS_TCTI / TSS2_TCTI name the TPM when -tpm_tcti is absent", async () => {
      for (const v of ["TPM2TOOLS_TCTI", "TSS2_TCTI"]) {
        await withMockServer(creds, [], async (s) => {
          const r = await run(
            irArgs(s.port, `tpm:${hex(ecKey)}`, "fail-ec.crt", "env-out.crt").filter((a, j, all) => a !== "-tpm_tcti" && all[j - 1] !== "-tpm_tcti"),
            { TPM2TOOLS_TCTI: "", TSS2_TCTI: "", [v]: tcti },
          );
          expect(r.code, `${v}: ${r.stderr}`).toBe(0);
        });
      }
    });

    it("key not found, or not a persistent handle: exit 2, one line", async () => {
      for (const [key, words] of [
        ["tpm:0x81ffff00", /no key at this handle/],
        ["tpm:0x80000001", /persistent handle/],
        ["tpm:81000001", /persistent handle/],
        ["tpm:", /persistent handle/],
      ] as const) {
        const r = await run(irArgs(1, key, "fail-ec.crt"));
        expect(r.code, key).toBe(2);
        oneLine(r);
        expect(r.stderr, key).toMatch(words);
      }
      expect(existsSync(join(dir, "fail-out.crt"))).toBe(false);
    });

    // swtpm locks a key out after 3 authorization failures: this file makes two
    it("wrong auth: E_SIGNER with the TPM's reason, nothing sent or written; the right auth from env: or file: signs", async () => {
      await withMockServer(creds, [], async (s) => {
        const wrong = await run([...irArgs(s.port, `tpm:${hex(authKey)}`, "fail-auth.crt"), "-keypass", "env:TPM_KEY_AUTH"], { TPM_KEY_AUTH: "wrong" });
        expect(wrong.code).toBe(1);
        oneLine(wrong);
        expect(wrong.stderr).toMatch(/\(error -\d+ E_SIGNER\).*TPM2_Sign.*(authorization|auth)/i);
        expect(existsSync(join(dir, "fail-out.crt"))).toBe(false);
      });
      writeFileSync(join(dir, "auth.txt"), "s3cret-auth\n", { mode: 0o600 });
      for (const [pass, env] of [
        ["env:TPM_KEY_AUTH", { TPM_KEY_AUTH: "s3cret-auth" }],
        ["file:auth.txt", {}],
      ] as const) {
        await withMockServer(creds, [], async (s) => {
          const r = await run([...irArgs(s.port, `tpm:${hex(authKey)}`, "fail-auth.crt", "auth-out.crt"), "-keypass", pass], env);
          expect(r.code, `${pass}: ${r.stderr}`).toBe(0);
        });
      }
      // never on the command line; never cut short
      const clear = await run([...irArgs(1, `tpm:${hex(authKey)}`, "fail-auth.crt"), "-keypass", "pass:s3cret-auth"]);
      expect(clear.code).toBe(2);
      expect(clear.stderr).toMatch(/env:VARIABLE or file:PATH/);
      const long = await run([...irArgs(1, `tpm:${hex(authKey)}`, "fail-auth.crt"), "-keypass", "env:TPM_KEY_AUTH"], { TPM_KEY_AUTH: "x".repeat(65) });
      expect(long.code).toBe(2);
      expect(long.stderr).toMatch(/at most 64 bytes/);
    });

    it("a signature that does not verify (the TPM key is not the certificate's): E_SIGNER_INVALID, nothing sent", async () => {
      await withMockServer(creds, [], async (s) => {
        // dev.crt certifies another P-256 key: the TPM signs, the core's check of its signature fails
        const r = await run(irArgs(s.port, `tpm:${hex(ecKey)}`, join(creds.dir, "dev.crt")));
        expect(r.code).toBe(1);
        oneLine(r);
        expect(r.stderr).toMatch(/\(error -\d+ E_SIGNER_INVALID\)/);
        expect(existsSync(join(dir, "fail-out.crt"))).toBe(false);
      });
      // an RSA key asked for ECDSA P-256 (the certificate's key type): the signer refuses
      const r = await run(irArgs(1, `tpm:${hex(rsaKey)}`, "fail-ec.crt"));
      expect(r.code).toBe(1);
      oneLine(r);
      expect(r.stderr).toMatch(/\(error -\d+ E_SIGNER\).*is a RSA-2048 key, asked to sign ECDSA P-256/);
    });

    it("an Ed25519 certificate with a TPM key: E_SIGNER, Ed25519 is not in TPM 2.0", async () => {
      const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, env: osslEnv, stdio: "pipe" });
      o(["genpkey", "-algorithm", "ED25519", "-out", "ed.key"]);
      o(["req", "-new", "-key", "ed.key", "-subj", "/CN=ed25519 device", "-out", "ed.csr"]);
      o([
        "x509",
        "-req",
        "-in",
        "ed.csr",
        "-CA",
        join(creds.dir, "root.crt"),
        "-CAkey",
        join(creds.dir, "root.key"),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        join(creds.dir, "ext.cnf"),
        "-extensions",
        "ee",
        "-out",
        "ed.crt",
      ]);
      const r = await run(irArgs(1, `tpm:${hex(ecKey)}`, "ed.crt"));
      expect(r.code).toBe(1);
      oneLine(r);
      expect(r.stderr).toMatch(/\(error -\d+ E_SIGNER\).*Ed25519 is not in TPM 2\.0/);
      expect(existsSync(join(dir, "fail-out.crt"))).toBe(false);
    });

    it("a new TPM key whose enrolment fails is removed again; nothing written", async () => {
      const before = persistent();
      await withMockServer(creds, ["-pkistatus", "2", "-failure", "9", "-statusstring", "no way"], async (s) => {
        const r = await run([
          "-cmd",
          "ir",
          ...mock(s.port),
          "-ref",
          "ref",
          "-secret",
          "pass:secret",
          "-tpm_tcti",
          tcti,
          "-newkey",
          "tpm:",
          "-subject",
          "/CN=x",
          "-certout",
          "gone.crt",
          "-newkeyout",
          "gone.ref",
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/\(error -\d+ E_CMP_REJECTED\)/);
      });
      expect(existsSync(join(dir, "gone.crt")) || existsSync(join(dir, "gone.ref"))).toBe(false);
      expect(persistent()).toEqual(before);
    });

    it("keys unfit for CMP: a restricted signing key, a decryption key, RSA-1024, a key of another type than -newkeytype", async () => {
      const restricted = 0x81040003,
        decrypt = 0x81040004,
        rsa1024 = 0x81040005;
      createKey(restricted, "P-256", undefined, "ecc256:ecdsa-sha256:null", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign");
      createKey(decrypt, "RSA-2048", undefined, "rsa2048", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt");
      createKey(rsa1024, "RSA-2048", undefined, "rsa1024");
      for (const [key, words] of [
        [restricted, /restricted signing key/],
        [decrypt, /not a signing key/],
        [rsa1024, /a RSA-1024 key; this host signs with P-256, P-384 and RSA keys of 2048 to 4096 bits/],
      ] as const) {
        const r = await run(irArgs(1, `tpm:${hex(key)}`, "fail-ec.crt"));
        expect(r.code).toBe(2);
        oneLine(r);
        expect(r.stderr).toMatch(words);
      }
      const r = await run([
        "-cmd",
        "ir",
        "-server",
        "127.0.0.1:1",
        "-ref",
        "r",
        "-secret",
        "pass:s",
        "-tpm_tcti",
        tcti,
        "-newkey",
        `tpm:${hex(ecKey)}`,
        "-newkeytype",
        "P-384",
        "-subject",
        "/CN=x",
        "-certout",
        "x.crt",
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/holds a P-256 key, not the key type asked for/);
      expect(persistent()).toContain(ecKey); // a key found is never removed
    });

    it("refusals before anything is made: Ed25519, an unknown type, a free handle without -newkeyout", async () => {
      const before = persistent();
      for (const [extra, words] of [
        [["-newkeytype", "Ed25519", "-newkeyout", "x.ref"], /Ed25519 is not in TPM 2\.0/],
        [["-newkeytype", "RSA-1024", "-newkeyout", "x.ref"], /-newkeytype must be/],
        [[], /give -newkeyout/],
      ] as const) {
        const r = await run([
          "-cmd",
          "ir",
          "-server",
          "127.0.0.1:1",
          "-ref",
          "r",
          "-secret",
          "pass:s",
          "-tpm_tcti",
          tcti,
          "-newkey",
          "tpm:",
          "-subject",
          "/CN=x",
          "-certout",
          "x.crt",
          ...extra,
        ]);
        expect(r.code, extra.join(" ")).toBe(2);
        oneLine(r);
        expect(r.stderr).toMatch(words);
      }
      expect(persistent()).toEqual(before);
    });
  });
});

describe("C host built without TPM support (make TPM=0)", () => {
  const skip = !has("wasm2c");
  it.skipIf(skip)(
    "a tpm: key is refused with one line; no TPM code in the binary",
    () => {
      const out = mkdtempSync(join(tmpdir(), "tinycmp-notpm-"));
      const bin = join(out, "tinycmp-notpm");
      const r = spawnSync("make", ["-C", join(root, "host/c"), "TPM=0", `NATIVE=${bin}`, bin], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/built without TPM support: TPM=0/);
      const run = spawnSync(
        bin,
        ["-wasm", join(root, "build", "tinycmp.wasm"), "-cmd", "ir", "-server", "127.0.0.1:1", "-key", "tpm:0x81000001", "-certout", "x"],
        { encoding: "utf8", cwd: out },
      );
      expect(run.status).toBe(2);
      expect(run.stderr).toBe("tinycmp: tpm:0x81000001: built without TPM support (host/c was built where pkg-config found no libtss2-esys)\n");
      const syms = spawnSync("nm", [bin], { encoding: "utf8" }).stdout + spawnSync("readelf", ["-d", bin], { encoding: "utf8" }).stdout;
      expect(syms).not.toMatch(/Esys_|tss2|tpm_sign/i);
      rmSync(out, { recursive: true, force: true });
    },
    120_000,
  );
});
