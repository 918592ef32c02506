// `tinycmp agent`: the long-lived agent over a file-backed store (README: configuration, systemd).
// Usage: tinycmp agent --store DIR [--config FILE] [--once] [--decommission]
//        [--provision KEY CERT.pem [CHAIN.pem]]   (KEY: a PEM file or a pkcs11: URI; omitted
//        when the configuration names idevidKey)
// Exit status: 0 stopped (SIGTERM/SIGINT) or --once done, 1 failure worth a restart (transport,
// server unavailable, retries exhausted), 2 what a restart cannot fix (bad configuration or
// usage, a permanent rejection, a decommissioned device): the log says what a person must do.
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, type AgentConfig } from "../lib/agent.js";
import { Core } from "../lib/core.js";
import { nameDer } from "../lib/files.js";
import { certSpki } from "../lib/der.js";
import { Flash } from "../lib/flash.js";
import { KIND, Store, TAG } from "../lib/store.js";
import { PKCS11_KEY_TYPES, Pkcs11Keys, keyReference, parsePkcs11Uri, redact } from "../lib/pkcs11.js";

const USAGE = "usage: tinycmp agent --store DIR [--config FILE] [--once] [--decommission] [--provision [KEY] CERT.pem [CHAIN.pem]]";

/** Bad command line or configuration: one line naming what to fix, exit status 2. */
export class ConfigError extends Error {}

const pems = (file: string) =>
  (readFileSync(file, "utf8").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((p) => new Uint8Array(new X509Certificate(p).raw));

function certsOf(file: string, what: string): Uint8Array[] {
  let certs: Uint8Array[];
  try {
    certs = pems(file);
  } catch (e) {
    throw new ConfigError(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (certs.length === 0) throw new ConfigError(`${what}: ${file} holds no PEM certificate`);
  return certs;
}

// Every configuration key with its check (README: configuration file).
const num = (ok: (n: number) => boolean, want: string) => (v: unknown) => (typeof v === "number" && Number.isFinite(v) && ok(v) ? undefined : want);
const KEYS: Record<string, (v: unknown) => string | undefined> = {
  url: (v) => {
    if (typeof v !== "string") return "a string (http:// or https:// URL)";
    try {
      return ["http:", "https:"].includes(new URL(v).protocol) ? undefined : "an http:// or https:// URL";
    } catch {
      return "an http:// or https:// URL (with its scheme)";
    }
  },
  subject: (v) => {
    if (typeof v !== "string") return 'a string ("CN=device-42" or "/CN=device-42/O=Acme")';
    try {
      nameDer(v);
      return undefined;
    } catch (e) {
      return `a distinguished name (${(e as Error).message})`;
    }
  },
  trusted: (v) =>
    typeof v === "string" || (Array.isArray(v) && v.length > 0 && v.every((f) => typeof f === "string")) ? undefined : "a PEM file name or a list of them",
  renewShare: num((n) => n > 0 && n < 1, "a number between 0 and 1, both excluded"),
  ref: (v) => (typeof v === "string" ? undefined : "a string"),
  secret: (v) => (typeof v === "string" ? undefined : "a string"),
  implicitConfirm: (v) => (typeof v === "boolean" ? undefined : "true or false"),
  attempts: num((n) => Number.isInteger(n) && n >= 1, "a whole number of at least 1"),
  backoffBase: num((n) => n > 0, "a number of seconds above 0"),
  backoffMax: num((n) => n > 0, "a number of seconds above 0"),
  checkInterval: num((n) => n > 0, "a number of seconds above 0"),
  resumeWithin: num((n) => n > 0, "a number of seconds above 0"),
  idevidKey: (v) => tokenUri(v, false),
  newKey: (v) => tokenUri(v, true),
  rsaPss: (v) => (typeof v === "boolean" ? undefined : "true or false"),
};

// A key in a token: an RFC 7512 URI with module-path; the PIN never in the configuration (it
// would end up in copies and logs): pin-source=file:... or TINYCMP_PKCS11_PIN.
function tokenUri(v: unknown, newKey: boolean): string | undefined {
  const want = `a pkcs11: URI (RFC 7512) with module-path=${newKey ? ", object= (the label of new keys), no id=" : ""}`;
  if (typeof v !== "string") return want;
  let u;
  try {
    u = parsePkcs11Uri(v);
  } catch (e) {
    return `${want} (${(e as Error).message})`;
  }
  if (u.query["pin-value"] !== undefined) return "a pkcs11: URI without pin-value: name a PIN file with pin-source=file:/... or set TINYCMP_PKCS11_PIN";
  if (!u.query["module-path"]) return want;
  if (newKey && (u.path.object === undefined || u.path.id !== undefined)) return want;
  const t = u.query["x-key-type"];
  if (t !== undefined && !(PKCS11_KEY_TYPES as readonly string[]).includes(t)) return `a pkcs11: URI whose x-key-type is one of ${PKCS11_KEY_TYPES.join(", ")}`;
  return undefined;
}

/** The agent's configuration from the file (and TINYCMP_URL), every key checked; ConfigError names the key. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new ConfigError(`cannot read the configuration file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${file}: malformed JSON: ${(e as Error).message}`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: the configuration must be a JSON object`);
  }
  const where = file ?? "configuration";
  const obj = { ...(raw as Record<string, unknown>) };
  if (obj.url === undefined && env.TINYCMP_URL !== undefined) obj.url = env.TINYCMP_URL;
  for (const [k, v] of Object.entries(obj)) {
    const check = KEYS[k];
    if (!check) throw new ConfigError(`${where}: unknown key "${k}" (known: ${Object.keys(KEYS).join(", ")})`);
    const want = check(v);
    if (want) throw new ConfigError(`${where}: "${k}" must be ${want}, got ${JSON.stringify(typeof v === "string" ? redact(v) : v)}`);
  }
  if (obj.url === undefined) throw new ConfigError(`${where}: no CMP server: "url" in the configuration file or TINYCMP_URL`);
  if ((obj.ref === undefined) !== (obj.secret === undefined)) throw new ConfigError(`${where}: "ref" and "secret" go together`);
  const { trusted, ...rest } = obj;
  return {
    ...(rest as Omit<AgentConfig, "trusted">),
    subject: (obj.subject as string | undefined) ?? "CN=tinycmp device",
    trusted: trusted === undefined ? undefined : [trusted as string | string[]].flat().flatMap((f) => certsOf(f, `${where}: "trusted"`)),
  };
}

interface Args {
  store: string;
  config?: string;
  once: boolean;
  decommission: boolean;
  provision?: string[];
}

export function parseArgs(argv: string[]): Args {
  const a: Partial<Args> = { once: false, decommission: false };
  for (let i = 0; i < argv.length; i++) {
    const o = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new ConfigError(`${o} needs a value`);
      return v;
    };
    if (o === "--store") a.store = value();
    else if (o === "--config") a.config = value();
    else if (o === "--once") a.once = true;
    else if (o === "--decommission") a.decommission = true;
    else if (o === "--provision") {
      a.provision = [];
      while (i + 1 < argv.length && !argv[i + 1].startsWith("--")) a.provision.push(argv[++i]);
      if (a.provision.length < 1 || a.provision.length > 3)
        throw new ConfigError("--provision takes KEY CERT.pem [CHAIN.pem] (KEY a PEM file or a pkcs11: URI; omitted when the configuration names idevidKey)");
    } else throw new ConfigError(`unknown option ${o}`);
  }
  if (!a.store) throw new ConfigError("--store DIR is required");
  if (a.provision?.length === 1 && !a.config)
    throw new ConfigError("--provision CERT.pem alone needs --config naming idevidKey (else: --provision KEY CERT.pem [CHAIN.pem])");
  if ([a.once, a.decommission, !!a.provision].filter(Boolean).length > 1) throw new ConfigError("--once, --decommission and --provision exclude each other");
  return a as Args;
}

const info = (event: string, fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), level: "info", event, ...fields }));
const describe = (c: Uint8Array) => {
  const x = new X509Certificate(c);
  return { subject: x.subject.replace(/\n/g, ", "), serial: x.serialNumber };
};

// Factory provisioning, idempotent: the same IDevID again is reported, another one refused.
// KEY: a PEM file (the key goes into the store) or a pkcs11: URI (its reference does, no PIN).
function provision(flash: Flash, files: string[], config?: AgentConfig): number {
  if (files[0].startsWith("pkcs11:")) return provisionToken(flash, files[0], files.slice(1), config);
  if (config?.idevidKey && files.length <= 2) return provisionToken(flash, config.idevidKey, files, config);
  if (files.length < 2)
    throw new ConfigError("--provision takes KEY CERT.pem [CHAIN.pem] (KEY a PEM file or a pkcs11: URI; omitted when the configuration names idevidKey)");
  const [keyFile, certFile, chainFile] = files;
  let d: Buffer;
  try {
    const k = createPrivateKey(readFileSync(keyFile));
    if (k.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error("not a P-256 key");
    d = Buffer.from(k.export({ format: "jwk" }).d!, "base64url");
  } catch (e) {
    throw new ConfigError(`--provision: cannot use the key ${keyFile}: ${(e as Error).message}`);
  }
  const cert = certsOf(certFile, "--provision")[0];
  const chain = chainFile ? certsOf(chainFile, "--provision") : [];
  const pub = createPrivateKey(readFileSync(keyFile)).export({ format: "jwk" });
  const certPub = new X509Certificate(cert).publicKey.export({ format: "jwk" });
  if (pub.x !== certPub.x || pub.y !== certPub.y) throw new ConfigError(`--provision: the key ${keyFile} does not match the certificate ${certFile}`);
  const store = new Store(new Core({ flash }));
  const have = store.get(KIND.IDEVID, TAG.CERT);
  if (have) {
    if (Buffer.from(have).equals(Buffer.from(cert))) {
      info("idevid.provisioned", { ...describe(have), store: "already provisioned with this IDevID" });
      return 0;
    }
    throw new ConfigError(
      `--provision: the store already holds an IDevID (${Object.values(describe(have)).join(", serial ")}); it is written once: use a new store directory for another`,
    );
  }
  store.provision(d, cert, chain);
  d.fill(0);
  info("idevid.provisioned", describe(cert));
  return 0;
}

// The IDevID's key stays in the token: the store keeps its reference (no PIN) and public key.
function provisionToken(flash: Flash, uri: string, [certFile, chainFile]: string[], config?: AgentConfig): number {
  if (!certFile) throw new ConfigError("--provision: the IDevID certificate (CERT.pem) is missing");
  const cert = certsOf(certFile, "--provision")[0];
  const chain = chainFile ? certsOf(chainFile, "--provision") : [];
  const keys = new Pkcs11Keys(config?.newKey, config?.idevidKey);
  let ref: string;
  try {
    ref = keyReference(parsePkcs11Uri(uri));
    const pub = createPublicKey({ key: Buffer.from(keys.open(uri).publicKey()), format: "der", type: "spki" });
    if (!pub.equals(new X509Certificate(cert).publicKey)) throw new Error(`the token key does not match the certificate ${certFile}`);
  } catch (e) {
    throw new ConfigError(`--provision: cannot use the token key ${redact(uri)}: ${(e as Error).message}`);
  } finally {
    keys.close();
  }
  const store = new Store(new Core({ flash }));
  const have = store.get(KIND.IDEVID, TAG.CERT);
  if (have) {
    if (Buffer.from(have).equals(Buffer.from(cert))) {
      info("idevid.provisioned", { ...describe(have), key: ref, store: "already provisioned with this IDevID" });
      return 0;
    }
    throw new ConfigError(
      `--provision: the store already holds an IDevID (${Object.values(describe(have)).join(", serial ")}); it is written once: use a new store directory for another`,
    );
  }
  store.provisionRef(ref, certSpki(cert), cert, chain);
  info("idevid.provisioned", { ...describe(cert), key: ref });
  return 0;
}

export async function agentMain(argv: string[]): Promise<number> {
  let args: Args, config: AgentConfig | undefined;
  try {
    args = parseArgs(argv);
    if (!args.provision || args.config) config = loadConfig(args.config);
    if (args.provision?.length === 1 && !args.provision[0].startsWith("pkcs11:") && !config?.idevidKey)
      throw new ConfigError(`${args.config}: --provision CERT.pem alone needs "idevidKey" in the configuration`);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`tinycmp agent: ${e.message}\n${USAGE}`);
    return 2;
  }
  let flash: Flash;
  try {
    flash = new Flash({ dir: args.store });
  } catch (e) {
    console.error(`tinycmp agent: cannot open the store ${args.store}: ${(e as Error).message}`);
    return 1;
  }
  if (args.provision) {
    try {
      return provision(flash, args.provision, config);
    } catch (e) {
      console.error(`tinycmp agent: ${storeMessage(e, flash, args.store)}`);
      return e instanceof ConfigError ? 2 : 1;
    }
  }
  const agent = new Agent(config!, { flash, keys: new Pkcs11Keys(config!.newKey, config!.idevidKey) });
  const stop = new AbortController();
  for (const s of ["SIGTERM", "SIGINT"] as const) process.on(s, () => stop.abort());
  try {
    if (args.decommission) {
      await agent.decommission();
      return 0;
    }
    if (args.once) {
      if ((await agent.step()) === "idle") {
        const x = new X509Certificate(agent.certificate!);
        info("idle", {
          ...describe(agent.certificate!),
          notAfter: x.validTo,
          renewAt: new Date(agent.renewalTime()!).toISOString(),
          store: "nothing to do: the credential is not due for renewal",
        });
      }
      return 0;
    }
    const code = await agent.run(stop.signal);
    if (code !== 0) console.error(`tinycmp agent: stopped, exit status ${code} (see the log above)`);
    if (stop.signal.aborted) process.exit(code); // the sleep that SIGTERM cut short holds a timer
    return code;
  } catch (e) {
    const code = agent.failed(e);
    console.error(`tinycmp agent: ${storeMessage(e, flash, args.store)}`);
    return code;
  } finally {
    agent.close();
  }
}

// The error, with the file system's reason when the store could not be written (a full disk...).
function storeMessage(e: unknown, flash: Flash, dir: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  return flash.ioError ? `the store ${dir} cannot be written (${flash.ioError.message}): ${msg}` : msg;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await agentMain(process.argv.slice(2));
