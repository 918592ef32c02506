// `openssl cmp` as a mock CMP server for tests (see ../shared/INTEROP.md): credentials made with
// openssl in a temp dir, one server process per test group on a free 127.0.0.1 port.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = { ...process.env, OPENSSL_CONF: "/dev/null" };
function ossl(args: string[], cwd: string): string {
  return execFileSync("openssl", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export interface Creds {
  dir: string;
  file: (name: string) => string;
  der: (name: string) => Uint8Array; // certificate PEM file -> DER
  scalar: (name: string) => Uint8Array; // EC key PEM file -> 32-byte private scalar
  subjectDer: (name: string) => Uint8Array;
  /** An end-entity certificate `<name>.crt` from the root for the key in `<name>.key`; its DER. */
  issue: (name: string, subj: string) => Uint8Array;
  /** The same for a public key whose private key is held elsewhere (a token, a TPM): a CSR of a
   *  throwaway key with the given SubjectPublicKeyInfo forced in. */
  issueForKey: (name: string, spki: Uint8Array, subj: string) => Uint8Array;
}

const EXT = `[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[ee]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ra]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.5.5.7.3.28
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

/** Root CA (EC P-256), server certificates (EC and RSA with id-kp-cmcRA; srvee without it), the certificate the server
 *  returns (rsp.crt, key rsp.key = the client's new key), a device IDevID (dev.crt/dev.key). */
export function makeCreds(): Creds {
  const dir = mkdtempSync(join(tmpdir(), "tinycmp-ossl-"));
  writeFileSync(join(dir, "ext.cnf"), EXT);
  const ec = (name: string) => ossl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`], dir);
  const issue = (name: string, subj: string, ca: string, ext: string, days = "30", key = `${name}.key`, forcePubkey: string[] = []) => {
    ossl(["req", "-new", "-key", key, "-subj", subj, "-out", `${name}.csr`], dir);
    ossl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        `${ca}.crt`,
        "-CAkey",
        `${ca}.key`,
        "-CAcreateserial",
        "-days",
        days,
        ...forcePubkey,
        "-sha256",
        "-extfile",
        "ext.cnf",
        "-extensions",
        ext,
        "-out",
        `${name}.crt`,
      ],
      dir,
    );
  };
  ec("root");
  ossl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      "root.key",
      "-subj",
      "/CN=tinycmp test root",
      "-days",
      "30",
      "-config",
      "ext.cnf",
      "-extensions",
      "ca",
      "-out",
      "root.crt",
    ],
    dir,
  );
  ec("srv");
  issue("srv", "/CN=tinycmp test server", "root", "ra");
  ossl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "srvrsa.key"], dir);
  issue("srvrsa", "/CN=tinycmp test server rsa", "root", "ra");
  ec("srvee");
  issue("srvee", "/CN=tinycmp test server without cmcRA", "root", "ee");
  ec("rsp");
  issue("rsp", "/CN=tinycmp device", "root", "ee");
  ec("dev");
  issue("dev", "/CN=tinycmp idevid", "root", "ee");
  ec("other");
  issue("other", "/CN=tinycmp other", "root", "ee");
  const file = (n: string) => join(dir, n);
  const der = (n: string) => new Uint8Array(new X509Certificate(readFileSync(file(n))).raw);
  const scalar = (n: string) => {
    const jwk = createPrivateKey(readFileSync(file(n))).export({ format: "jwk" });
    return new Uint8Array(Buffer.from(jwk.d as string, "base64url"));
  };
  const subjectDer = (n: string) => certSubject(der(n));
  const issueForKey = (name: string, spki: Uint8Array, subj: string) => {
    const pub = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    writeFileSync(file(`${name}.pub`), pub.export({ format: "pem", type: "spki" }));
    issue(name, subj, "root", "ee", "30", "other.key", ["-force_pubkey", `${name}.pub`]);
    return der(`${name}.crt`);
  };
  return {
    dir,
    file,
    der,
    scalar,
    subjectDer,
    issue: (name, subj) => (issue(name, subj, "root", "ee"), der(`${name}.crt`)),
    issueForKey,
  };
}

// Minimal DER walk for the subject Name element of a certificate.
function certSubject(c: Uint8Array): Uint8Array {
  const hdr = (p: number): [number, number] => {
    let n = c[p + 1],
      h = 2;
    if (n & 0x80) {
      const k = n & 0x7f;
      n = 0;
      for (let i = 0; i < k; i++) n = n * 256 + c[p + 2 + i];
      h += k;
    }
    return [h, n];
  };
  let [h] = hdr(0);
  let p = h; // tbs
  [h] = hdr(p);
  p += h;
  let field = 0;
  for (;;) {
    const [hh, n] = hdr(p);
    if (field === 0 && c[p] !== 0xa0) field = 1;
    if (field === 5) return c.slice(p, p + hh + n);
    p += hh + n;
    field++;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as any).port;
      s.close(() => resolve(port));
    });
  });
}

export interface MockServer {
  port: number;
  url: string;
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/** Starts `openssl cmp` as a server with the standard credentials plus extra args. */
export async function startServer(creds: Creds, extra: string[] = [], opts: { rsa?: boolean; secret?: string; srv?: string } = {}): Promise<MockServer> {
  const port = await freePort();
  const srv = opts.srv ?? (opts.rsa ? "srvrsa" : "srv");
  const args = [
    "cmp",
    "-config",
    "",
    "-port",
    String(port),
    "-srv_ref",
    "ref",
    "-srv_secret",
    `pass:${opts.secret ?? "secret"}`,
    "-srv_cert",
    `${srv}.crt`,
    "-srv_key",
    `${srv}.key`,
    "-srv_trusted",
    "root.crt",
    "-rsp_cert",
    "rsp.crt",
    "-rsp_extracerts",
    "root.crt",
    "-rsp_capubs",
    "root.crt",
    ...extra,
  ];
  const proc = spawn("openssl", args, { cwd: creds.dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  // Ready when it prints "ACCEPT"; a probe connection would hold the one-connection-at-a-time
  // server for a second.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`openssl cmp server did not start: ${out}`)), 5000);
    const check = () => {
      if (/ACCEPT/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on("data", check);
    proc.stderr!.on("data", check);
    proc.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`openssl cmp server exited: ${out}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}/pkix/`,
    proc,
    log: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

/** Runs f with a fresh mock server, which is stopped (by its PID) however f ends. */
export async function withMockServer<T>(
  creds: Creds,
  extra: string[],
  f: (s: MockServer) => Promise<T>,
  opts: { rsa?: boolean; secret?: string; srv?: string } = {},
): Promise<T> {
  const s = await startServer(creds, extra, opts);
  try {
    return await f(s);
  } finally {
    await s.stop();
  }
}

/** Runs `openssl cmp` as a client; returns its wall time in ms. */
export function opensslClient(creds: Creds, args: string[]): number {
  const t = performance.now();
  ossl(["cmp", "-config", "", ...args], creds.dir);
  return performance.now() - t;
}
