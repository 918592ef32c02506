// `tinycmp`: the command line. Option names and meanings follow `openssl cmp` for the subset both
// have, so a script can switch by changing the binary; `tinycmp inspect` and `tinycmp testpki` are
// extras. Every option is one entry of OPTIONS (its kind says how the value is checked); the
// command line is checked, and every input file read and output location probed, before any
// network traffic.
import { accessSync, constants, readFileSync, statSync, writeFileSync } from "node:fs";
import { createPublicKey, X509Certificate } from "node:crypto";
import { dirname } from "node:path";
import { CmpError, Device, Options, type Outcome, type Request, type Transport } from "../lib/device";
import { HttpTransport, operationUrl, TransportError, type Operation } from "../lib/transport";
import { nameDer, readCerts, readP256Key, sansDer, secretArg, toPem, writeCerts, writeP256Key } from "../lib/files";
import { Core } from "../lib/core";
import { certSubject, children, der, oidDer, parseItav, tlv } from "../lib/der";
import { confOptions, readConf } from "./opensslconf";
import { type Extension, extensionDer, intDer, OID_POLICIES, OID_SAN, policiesDer, sectionExtensions } from "./x509conf";
import { crlStatusListItav, decodeGenp, rootCaCertItav } from "../lib/genp";
import { Pkcs11Signer } from "../lib/pkcs11";
import { E_CMP_PROTECTION, HASH_SHA1, HASH_SHA256, HASH_SHA384, HASH_SHA512 } from "../lib/abi.js";

/** How an option's value is checked: flag (no value), text, int (with range), seconds (0 = no
 *  limit), one of `values`, infile(s) read before sending, outfile(s) probed before sending,
 *  secret (pass:|env:|file:). */
type Kind = "flag" | "text" | "int" | "seconds" | "choice" | "infile" | "infiles" | "outfile" | "outfiles" | "secret";
interface Opt {
  kind: Kind;
  help: string;
  values?: string[];
  range?: [number, number];
}

/** The options, as `openssl cmp` names them. To add one: an entry here, then its use below. */
export const OPTIONS: Record<string, Opt> = {
  help: { kind: "flag", help: "this summary" },
  config: { kind: "infile", help: "OpenSSL configuration file with default option values" },
  section: { kind: "text", help: "its section(s) to use, comma- or space-separated (default cmp)" },
  cmd: { kind: "choice", values: ["ir", "cr", "kur", "p10cr", "rr", "genm"], help: "CMP request to send" },
  server: { kind: "text", help: "[http[s]://]host[:port][/path] of the CMP server" },
  path: { kind: "text", help: "HTTP path at the server (default /)" },
  proxy: { kind: "text", help: "HTTP proxy [http://]host:port (http: servers only)" },
  no_proxy: { kind: "text", help: "comma-separated hosts reached without -proxy" },
  keep_alive: { kind: "int", range: [0, 2], help: "accepted; connections are kept alive within a transaction" },
  msg_timeout: { kind: "seconds", help: "seconds per message exchange (default 30, 0: no limit)" },
  total_timeout: { kind: "seconds", help: "seconds for the whole transaction (default and 0: no limit)" },
  tls_used: { kind: "flag", help: "use HTTPS" },
  tls_cert: { kind: "infile", help: "TLS client certificate (PEM)" },
  tls_key: { kind: "infile", help: "TLS client key (PEM)" },
  tls_trusted: { kind: "infile", help: "trust anchors for the TLS server (PEM)" },
  recipient: { kind: "text", help: "recipient name /type=value/..., default the issuer of -cert" },
  expect_sender: { kind: "text", help: "name the sender of every response must have" },
  srvcert: { kind: "infile", help: "the server certificate to trust directly for response signatures" },
  trusted: { kind: "infiles", help: "trust anchors for response signatures (files, comma- or space-separated)" },
  untrusted: { kind: "infiles", help: "intermediate certificates for path building" },
  out_trusted: { kind: "infiles", help: "trust anchors the newly enrolled certificate must chain to" },
  attime: { kind: "int", range: [0, 253402300799], help: "check certificates at this time (seconds since 1970)" },
  ignore_keyusage: { kind: "flag", help: "a response signer's certificate need not allow digitalSignature (only that check is relaxed)" },
  partial_chain: { kind: "flag", help: "a -trusted or -out_trusted certificate that is not self-signed may end a path" },
  unprotected_errors: { kind: "flag", help: "accept unprotected error responses" },
  ref: { kind: "text", help: "MAC reference (senderKID)" },
  secret: { kind: "secret", help: "MAC secret pass:TEXT | env:VAR | file:PATH" },
  cert: { kind: "infile", help: "signer certificate (with -key), or sender name under -secret" },
  key: { kind: "infile", help: "signer's P-256 private key, or a key in a token: pkcs11: URI (RFC 7512)" },
  keypass: { kind: "secret", help: "its pass phrase" },
  keyform: { kind: "choice", values: ["PEM", "DER", "pem", "der"], help: "accepted; PEM and DER are recognised by content" },
  certform: { kind: "choice", values: ["PEM", "DER", "pem", "der"], help: "accepted; PEM and DER are recognised by content" },
  extracerts: { kind: "infiles", help: "more certificates for extraCerts" },
  digest: { kind: "text", help: "PBM one-way function, PBKDF2 prf of PBMAC1: sha1|sha256|sha384|sha512 (default sha256)" },
  mac: { kind: "text", help: "MAC of PBM/PBMAC1: hmac-sha1|hmacWithSHA256|hmacWithSHA384|hmacWithSHA512 (default HMAC-SHA256, RFC 9481 6.2.1)" },
  pbmac1: { kind: "flag", help: "PBMAC1 (RFC 9481 6.1.1) instead of PBM for our MAC (tinycmp's own: openssl cmp 3.5 has none)" },
  iter: { kind: "text", help: "iterations of our MACs (default 500; PBMAC1 at least 1000)" },
  max_iter: { kind: "text", help: "most iterations accepted in a response MAC (default 100000)" },
  sender: { kind: "text", help: "sender of MAC-protected requests /type=value/... (a strict CA wants CN=senderKID)" },
  unprotected_requests: { kind: "flag", help: "send requests without protection (RFC 9483 3.2, where the PKI allows it)" },
  newkey: { kind: "infile", help: "key to certify: P-256 private key, a public key with -popo 0|-1, or a pkcs11: URI (generated in the token when absent)" },
  newkeypass: { kind: "secret", help: "its pass phrase" },
  newkeyout: { kind: "outfile", help: "where to write the key the core generates when -newkey is absent" },
  subject: { kind: "text", help: "subject /type=value/... ('+' joins a multi-valued RDN)" },
  sans: { kind: "text", help: "subjectAltNames: DNS names, IP addresses, URIs, e-mail addresses" },
  san_nodefault: { kind: "flag", help: "accepted; SANs are never copied from -oldcert" },
  popo: { kind: "int", range: [-1, 2], help: "proof of possession: -1 none, 0 raVerified, 1 signature (default)" },
  csr: { kind: "infile", help: "PKCS#10 request for p10cr" },
  implicit_confirm: { kind: "flag", help: "request implicit confirmation" },
  days: { kind: "int", range: [0, 1000000], help: "validity asked for in the certTemplate: now to now + N days (0: none)" },
  reqexts: {
    kind: "text",
    help: "-config section of extensions for the certTemplate (subjectAltName, keyUsage, extendedKeyUsage, basicConstraints, certificatePolicies, OID = DER:hex)",
  },
  policies: { kind: "text", help: "-config section with the certificatePolicies extension for the certTemplate" },
  policy_oids: { kind: "text", help: "certificatePolicies of these OIDs (comma- or space-separated)" },
  policy_oids_critical: { kind: "flag", help: "mark the -policy_oids extension critical" },
  issuer: { kind: "text", help: "issuer name for the certTemplate; the recipient when no -recipient" },
  disable_confirm: { kind: "flag", help: "send no certConf and ask for no implicitConfirm (violates RFC 9810)" },
  geninfo: { kind: "text", help: "generalInfo InfoTypeAndValue of every request: OID:int:N" },
  reqin: { kind: "infile", help: "send the request body of this DER PKIMessage under a fresh header (transactionID, nonces) and our protection" },
  reqin_new_tid: { kind: "flag", help: "accepted; -reqin always gets a fresh transactionID" },
  oldcert: { kind: "infile", help: "certificate to update (kur) or revoke (rr), default -cert" },
  revreason: { kind: "int", range: [-1, 10], help: "CRLReason for rr, -1: none (default)" },
  infotype: { kind: "text", help: "genm infoType: caCerts, rootCaCert, certReqTemplate, crlStatusList, signKeyPairTypes or an OID" },
  profile: { kind: "text", help: "certProfile for the request" },
  oldwithold: { kind: "infile", help: "genm rootCaCert: the current root to update (RFC 9483 4.3.2)" },
  crlcert: { kind: "infile", help: "genm crlStatusList: a certificate whose CRL to ask for (RFC 9483 4.3.4)" },
  oldcrl: { kind: "infile", help: "genm crlStatusList: the CRL held now" },
  newwithnew: { kind: "outfile", help: "genp rootCaKeyUpdate: the new root" },
  newwithold: { kind: "outfile", help: "genp rootCaKeyUpdate: the new root's key signed by the old" },
  oldwithnew: { kind: "outfile", help: "genp rootCaKeyUpdate: the old root's key signed by the new" },
  crlout: { kind: "outfile", help: "genp crls: the CRLs returned" },
  template: { kind: "outfile", help: "genp certReqTemplate: the template returned" },
  certout: { kind: "outfile", help: "the new certificate (PEM)" },
  chainout: { kind: "outfile", help: "its chain" },
  extracertsout: { kind: "outfile", help: "the extraCerts of the response" },
  cacertsout: { kind: "outfile", help: "caPubs, or the CA certificates of a genm caCerts answer" },
  reqout: { kind: "outfiles", help: "write the requests to these files" },
  rspout: { kind: "outfiles", help: "write the responses to these files" },
  rspin: { kind: "infiles", help: "take the responses from these files instead of a server" },
  batch: { kind: "flag", help: "accepted; tinycmp never prompts" },
  verbosity: { kind: "int", range: [0, 8], help: "7 or 8: sizes of the messages exchanged" },
};

const USAGE = `usage: tinycmp -cmd ir|cr|kur|p10cr|rr|genm -server HOST:PORT [-path PATH] [options]
       tinycmp inspect FILE [-secret pass:S] [-trusted FILE] [-srvcert FILE] [-attime SECONDS] [--json]
       tinycmp testpki [--port P] [--dir DIR]
       tinycmp bridge --serial tcp:HOST:PORT --server URL [--cmd ir-mac|ir-sig|kur|status ...]
       tinycmp fleet merge SHARD.json ... [--report FILE.html] [--json]
       tinycmp agent --store DIR [--config FILE] [--once] [--decommission] [--provision KEY CERT [CHAIN]]`;

function help(): string {
  const rows = Object.entries(OPTIONS).map(
    ([n, o]) =>
      `  -${n.padEnd(18)} ${o.help}${o.kind === "choice" ? ` (${o.values!.filter((v) => v === v.toLowerCase() || !o.values!.includes(v.toLowerCase())).join("|")})` : ""}`,
  );
  return `${USAGE}\noptions (as openssl cmp names them):\n${rows.join("\n")}`;
}

/** A mistake in the command line or its input files: nothing was sent; exit status 2. */
export class UsageError extends Error {}

export type Args = Record<string, string | true>;

/** Checks one value against its option's kind. */
function checkValue(name: string, v: string, o: Opt): void {
  if (o.kind === "int" || o.kind === "seconds") {
    if (!/^-?\d+$/.test(v)) throw new UsageError(`-${name} ${v}: not a whole number`);
    const n = Number(v);
    const [lo, hi] = o.kind === "seconds" ? [0, 2 ** 31 / 1000] : o.range!;
    if (n < lo || n > hi) throw new UsageError(`-${name} ${v}: must be ${lo}..${Math.floor(hi)}`);
  }
  if (o.kind === "choice" && !o.values!.includes(v))
    throw new UsageError(`-${name} ${v}: must be one of ${o.values!.filter((x) => x === x.toLowerCase() || !o.values!.includes(x.toLowerCase())).join(", ")}`);
}

/** Parses the command line, then fills in what -config/-section give (the command line wins). */
export function parseArgs(argv: string[]): Args {
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.replace(/^--?/, "");
    const o = OPTIONS[name];
    if (!a.startsWith("-") || !o) throw new UsageError(`unknown option ${a} (tinycmp -help lists them)`);
    if (o.kind === "flag") {
      args[name] = true;
      continue;
    }
    if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
    const v = argv[++i];
    checkValue(name, v, o);
    args[name] = v;
  }
  if (typeof args.config === "string" && args.config !== "") {
    let conf;
    try {
      const c = readConf(args.config);
      // no -section and no [cmp]: the default section alone (openssl cmp warns and goes on)
      conf = confOptions(c, typeof args.section === "string" ? args.section : c.has("cmp") ? "cmp" : "", (k) => k in OPTIONS);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    for (const [k, v] of conf) {
      const o = OPTIONS[k];
      if (k in args || k === "config" || k === "section") continue;
      if (o.kind === "flag") {
        if (!/^[01]$/.test(v)) throw new UsageError(`-config: ${k} = ${v}: a flag takes 0 or 1`);
        if (v === "1") args[k] = true;
        continue;
      }
      checkValue(k, v, o);
      args[k] = v;
    }
  }
  return args;
}

/** id-it OIDs (RFC 9810 5.3.19, RFC 9483 4.3) by the names `openssl cmp -infotype` uses. */
const INFOTYPES: Record<string, string> = {
  caCerts: "1.3.6.1.5.5.7.4.17",
  rootCaCert: "1.3.6.1.5.5.7.4.20",
  certReqTemplate: "1.3.6.1.5.5.7.4.19",
  crlStatusList: "1.3.6.1.5.5.7.4.22",
  certProfile: "1.3.6.1.5.5.7.4.21",
  signKeyPairTypes: "1.3.6.1.5.5.7.4.2",
};

/** `-mac` (openssl cmp names) and `-digest` as the core's hash ids (docs/ABI.md). */
const MACS: Record<string, number> = {
  "hmac-sha1": HASH_SHA1,
  hmacWithSHA1: HASH_SHA1,
  hmacWithSHA256: HASH_SHA256,
  hmacWithSHA384: HASH_SHA384,
  hmacWithSHA512: HASH_SHA512,
};
const DIGESTS: Record<string, number> = { sha1: HASH_SHA1, sha256: HASH_SHA256, sha384: HASH_SHA384, sha512: HASH_SHA512 };

/** A positive integer option. */
function count(v: string | true | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new UsageError(`${what} must be a positive integer`);
  return n;
}

/** Contents octets of a dotted OID (X.690 8.19). */
export function oidContents(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((s) => {
    if (!/^\d+$/.test(s)) throw new UsageError(`bad OID ${dotted}`);
    return BigInt(s);
  });
  if (arcs.length < 2) throw new UsageError(`bad OID ${dotted}`);
  const out: number[] = [];
  const first = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  for (let v of first) {
    const bytes = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) bytes.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...bytes);
  }
  return new Uint8Array(out);
}

/** `-server [http[s]://]host[:port][/path]` and `-path` into a URL. */
export function serverUrl(server: string, path?: string, tls = false): string {
  const m = /^(?:(https?):\/\/)?([^/]+)(\/.*)?$/.exec(server);
  if (!m) throw new UsageError(`bad -server ${server}: use host[:port][/path]`);
  const scheme = m[1] ?? (tls ? "https" : "http");
  let p = path ?? m[3] ?? "/";
  if (!p.startsWith("/")) p = `/${p}`;
  return `${scheme}://${m[2]}${p}`;
}

/** File lists as OpenSSL takes them: separated by commas and/or whitespace. */
const files = (v: string | true | undefined): string[] => (typeof v === "string" ? v.split(/[,\s]+/).filter(Boolean) : []);
const str = (v: string | true | undefined): string | undefined => (typeof v === "string" ? v : undefined);

/** Every input file readable and every output location writable, before anything is sent: a
 *  certificate confirmed to the CA whose file cannot be written would leave its new key useless. */
export function checkFiles(a: Args): void {
  for (const [name, o] of Object.entries(OPTIONS)) {
    const v = a[name];
    if (typeof v !== "string" || name === "config") continue;
    if (v.startsWith("pkcs11:")) continue; // a key in a token, not a file
    const list = o.kind === "infile" || o.kind === "outfile" ? [v] : o.kind === "infiles" || o.kind === "outfiles" ? files(v) : [];
    if (o.kind === "secret" && v.startsWith("file:")) list.push(v.slice(5));
    for (const f of list) {
      if (o.kind === "outfile" || o.kind === "outfiles") {
        let isDir = false;
        try {
          isDir = statSync(f).isDirectory();
        } catch {
          /* absent: the directory must take it */
        }
        if (isDir) throw new UsageError(`-${name} ${f}: is a directory`);
        try {
          accessSync(dirname(f), constants.W_OK);
          try {
            accessSync(f, constants.W_OK);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          }
        } catch (e) {
          throw new UsageError(
            `-${name} ${f}: cannot be written (${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (e as NodeJS.ErrnoException).code})`,
          );
        }
      } else {
        try {
          if (!statSync(f).isFile()) throw new UsageError(`-${name} ${f}: not a file`);
          accessSync(f, constants.R_OK);
        } catch (e) {
          if (e instanceof UsageError) throw e;
          throw new UsageError(
            `-${name} ${f}: cannot be read (${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as NodeJS.ErrnoException).code})`,
          );
        }
      }
    }
  }
}

/** Reads an input of option `name` with `read`; its failure is a UsageError naming the option. */
function input<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new UsageError(`-${name}: ${(e as Error).message}`);
  }
}

/** A transport that records requests (-reqout) and responses (-rspout), may replay responses
 *  from files (-rspin) instead of asking a server, and checks each response's sender
 *  (-expect_sender) before the core sees it. */
export class FileTransport implements Transport {
  private n = 0;
  constructor(
    private readonly inner: Transport | undefined,
    private readonly reqout: string[],
    private readonly rspout: string[],
    private readonly rspin: string[],
    private readonly expectSender?: Uint8Array,
  ) {}

  async transfer(request: Uint8Array): Promise<Uint8Array> {
    const i = this.n++;
    if (this.reqout[i]) writeFileSync(this.reqout[i], request);
    let response: Uint8Array;
    if (i < this.rspin.length) response = new Uint8Array(readFileSync(this.rspin[i]));
    else if (this.inner) response = await this.inner.transfer(request);
    else throw new TransportError(`no response file for message ${i + 1} (-rspin lists ${this.rspin.length})`);
    if (this.rspout[i]) writeFileSync(this.rspout[i], response);
    if (this.expectSender) checkSender(response, this.expectSender);
    return response;
  }

  close(): void {
    this.inner?.close?.();
  }
}

/** The header sender (RFC 9810 5.1.1, a directoryName) must be the expected Name. */
function checkSender(msg: Uint8Array, expected: Uint8Array): void {
  let name: Uint8Array | undefined;
  try {
    const header = children(msg, tlv(msg, 0))[0];
    const sender = children(msg, header)[1];
    const gn = children(msg, sender)[0];
    if (sender.tag === 0xa4) name = msg.subarray(gn.start, gn.end);
  } catch {
    /* malformed: the core refuses it */ return;
  }
  if (!name || !Buffer.from(name).equals(Buffer.from(expected))) {
    throw new TransportError("response sender is not the one -expect_sender names");
  }
}

type Op = "ir" | "cr" | "kur" | "p10cr" | "rr" | "genm";

/** -newkey: a P-256 private key (newKey), or a public key of any type (newPublicKey). */
function newKeyOf(file: string, pass: string | undefined): Pick<Request, "newKey" | "newPublicKey"> {
  const data = readFileSync(file);
  const pem = data.includes("-----BEGIN ");
  if (!pem || data.includes("-----BEGIN PUBLIC KEY-----")) {
    let spki: Buffer | undefined;
    try {
      spki = createPublicKey(pem ? data : { key: data, format: "der", type: "spki" }).export({ format: "der", type: "spki" });
    } catch (e) {
      if (pem) throw new Error(`${file}: not a readable public key (${(e as Error).message})`);
    }
    if (spki) return { newPublicKey: new Uint8Array(spki) };
  }
  return { newKey: readP256Key(file, pass) };
}

/** Builds the Request for one `-cmd` from the options. */
export function buildRequest(cmd: Op, a: Args): Request {
  const req: Request = {};
  if (a.ref !== undefined) req.ref = str(a.ref);
  if (a.secret !== undefined) req.secret = input("secret", () => secretArg(str(a.secret)!));
  const cert = str(a.cert);
  const key = str(a.key);
  if (key && !cert) throw new UsageError("-key needs -cert (its certificate)");
  if (cert && !key && !req.secret) throw new UsageError("-cert needs -key (or -secret for MAC protection)");
  const extra = a.extracerts ? input("extracerts", () => readCerts(...files(a.extracerts))) : [];
  // -secret takes precedence over -cert/-key, as in openssl cmp: MAC protection, -cert names the sender
  if (cert && key && !req.secret) {
    const [c, ...chain] = input("cert", () => readCerts(cert));
    req.cert = c;
    req.extraCerts = [...chain, ...extra];
    if (key.startsWith("pkcs11:")) req.signer = input("key", () => new Pkcs11Signer(key));
    else req.key = input("key", () => readP256Key(key, a.keypass ? secretArg(str(a.keypass)!) : undefined));
  } else {
    // MAC protection with -cert: its subject is the sender (RFC 9483 3.1)
    if (key && !key.startsWith("pkcs11:")) input("key", () => readP256Key(key, a.keypass ? secretArg(str(a.keypass)!) : undefined)); // still a readable key
    if (cert) req.sender = certSubject(input("cert", () => readCerts(cert))[0]);
    if (extra.length) req.extraCerts = extra;
  }
  if (!req.secret && !req.key && !req.signer && !a.unprotected_requests) throw new UsageError("no protection: give -secret (and -ref) or -cert and -key");
  // MAC protection of our requests (RFC 9481 6.1): PBM or PBMAC1, its hashes and iterations
  if (a.pbmac1) req.options = (req.options ?? 0) | Options.pbmac1;
  if (a.mac !== undefined) {
    req.pbmMac = MACS[str(a.mac)!];
    if (!req.pbmMac) throw new UsageError(`-mac must be one of ${Object.keys(MACS).join(", ")}`);
  }
  if (a.digest !== undefined) {
    req.pbmOwf = DIGESTS[str(a.digest)!];
    if (!req.pbmOwf) throw new UsageError(`-digest must be one of ${Object.keys(DIGESTS).join(", ")}`);
  }
  req.pbmIterations = count(a.iter, "-iter");
  req.maxIterations = count(a.max_iter, "-max_iter");
  if (a.unprotected_requests) req.options = (req.options ?? 0) | Options.unprotectedRequests;
  if (a.sender) req.sender = input("sender", () => nameDer(str(a.sender)!));
  if (a.srvcert && a.trusted) throw new UsageError("-srvcert and -trusted exclude each other");
  if (a.untrusted) req.untrusted = input("untrusted", () => readCerts(...files(a.untrusted)));
  if (a.trusted) {
    const { anchors, intermediates } = splitAnchors(
      input("trusted", () => readCerts(...files(a.trusted))),
      a.partial_chain === true,
    );
    if (anchors.length === 0) throw new UsageError(`-trusted ${a.trusted}: no self-signed certificate to end a path: give the root, or -partial_chain`);
    req.trusted = anchors;
    if (intermediates.length) req.untrusted = [...(req.untrusted ?? []), ...intermediates];
  }
  if (a.srvcert) req.trusted = input("srvcert", () => readCerts(str(a.srvcert)!).slice(0, 1));
  if (a.recipient) req.recipient = input("recipient", () => nameDer(str(a.recipient)!));
  if (a.ignore_keyusage) req.options = (req.options ?? 0) | Options.ignoreKeyUsage;
  if (a.geninfo) req.generalInfo = [geninfoItav(str(a.geninfo)!)];
  if (a.disable_confirm) req.options = (req.options ?? 0) | Options.disableConfirm;
  if (a.profile) req.profile = str(a.profile);
  if (a.implicit_confirm) req.implicitConfirm = true;
  if (a.unprotected_errors) req.options = (req.options ?? 0) | 2;
  if (cmd === "ir" || cmd === "cr" || cmd === "kur" || cmd === "p10cr") {
    // -newkey pkcs11:...: the key in the token signs the POP (or the PKCS#10 request); when no
    // private key matches the URI, a key pair of its x-key-type (default P-256) is generated there
    if (str(a.newkey)?.startsWith("pkcs11:")) req.newSigner = input("newkey", () => new Pkcs11Signer(str(a.newkey)!, { generate: true }));
    else if (a.newkey)
      Object.assign(
        req,
        input("newkey", () => newKeyOf(str(a.newkey)!, a.newkeypass ? secretArg(str(a.newkeypass)!) : undefined)),
      );
    if (a.popo !== undefined) {
      const popo = Number(a.popo);
      // RFC 4211 4.2: the CA would return the certificate encrypted to the new key, which tinycmp
      // cannot decrypt; openssl cmp 3.0's own server refuses this POPO too (badPOP)
      if (popo === 2)
        throw new UsageError(
          "-popo 2 (keyEncipherment, the certificate returned encrypted) is not supported: tinycmp cannot decrypt it; use -popo 1 (signature), 0 or -1",
        );
      req.popo = popo as -1 | 0 | 1;
    }
    if (req.newPublicKey && (req.popo ?? 1) === 1) {
      throw new UsageError(`-newkey ${a.newkey} is a public key: no signature POPO without the private key; give -popo 0 (raVerified) or -1`);
    }
    if (req.newPublicKey && cmd === "p10cr") throw new UsageError("p10cr needs a private -newkey (or -csr) to sign the request");
    if (a.subject) req.subject = input("subject", () => nameDer(str(a.subject)!));
    // certTemplate issuer [3] and validity [4] (RFC 4211 5); openssl cmp sets them for ir, cr and kur
    if (a.issuer || a.days !== undefined) {
      if (cmd === "p10cr") throw new UsageError(`-${a.issuer ? "issuer" : "days"} applies to ir, cr and kur, not p10cr (put it in the -csr)`);
      if (a.issuer) req.issuer = input("issuer", () => nameDer(str(a.issuer)!));
      if (a.days !== undefined && Number(a.days) > 0) req.days = Number(a.days);
      // the recipient: -recipient, else -issuer (as openssl cmp, where no -srvcert names one)
      if (req.issuer && !a.recipient && !a.srvcert) req.recipient = req.issuer;
    }
    const exts = requestExtensions(a, !!a.subject || cmd === "kur");
    if (exts) req.extensions = exts;
    if (cmd === "p10cr" && a.csr) req.csr = input("csr", () => pemCsr(str(a.csr)!));
    if (cmd === "ir" && !req.subject && !req.csr && !a.reqin) throw new UsageError("ir needs -subject");
    if (!req.newKey && !req.newPublicKey && !req.newSigner && !req.csr && !a.reqin && !a.newkeyout)
      throw new UsageError(`${cmd} without -newkey makes a new key: give -newkeyout to keep it`);
    if (!a.certout) throw new UsageError(`${cmd} needs -certout`);
  }
  if (cmd === "kur" || cmd === "rr") {
    const old = str(a.oldcert) ?? cert;
    if (!old) throw new UsageError(`${cmd} needs -oldcert (or -cert)`);
    req.oldCert = input(a.oldcert ? "oldcert" : "cert", () => readCerts(old)[0]);
    // kur: the template names the subject of the certificate being updated unless -subject says otherwise
    if (cmd === "kur" && !req.subject) req.subject = certSubject(req.oldCert);
  }
  if (cmd === "rr" && a.revreason !== undefined) {
    const r = Number(a.revreason);
    if (r === 7) throw new UsageError("-revreason 7 is not a CRLReason (RFC 5280 5.3.1)");
    req.revReason = r; // -1: no crlEntryDetails, as openssl cmp
  }
  if (a.reqin) req.reqin = input("reqin", () => reqinMessage(str(a.reqin)!, cmd));
  if (cmd === "genm") {
    // RFC 9483 4.3: rootCaCert carries the current root, crlStatusList the CRL status list
    req.infoTypes = files(a.infotype).map((t) => {
      if (t === "rootCaCert") {
        const old = str(a.oldwithold) ?? files(a.trusted)[0];
        if (!old) throw new UsageError("-infotype rootCaCert needs -oldwithold (or -trusted): the root to update");
        return rootCaCertItav(input("oldwithold", () => readCerts(old)[0]));
      }
      if (t === "crlStatusList") {
        if (!a.oldcrl && !a.crlcert) throw new UsageError("-infotype crlStatusList needs -oldcrl or -crlcert");
        return crlStatusListItav({
          crl: a.oldcrl ? readDer(str(a.oldcrl)!, "X509 CRL") : undefined,
          cert: a.crlcert ? readCerts(str(a.crlcert)!)[0] : undefined,
        });
      }
      return oidContents(INFOTYPES[t] ?? t);
    });
  }
  return req;
}

/** -reqin: a DER PKIMessage whose body is the request of `cmd` (RFC 9810 5.1). The core sends that
 *  body under a header of its own (fresh transactionID and senderNonce, our protection), so every
 *  check of the response holds as for a request it built; the file's header is not used. */
function reqinMessage(file: string, cmd: Op): Uint8Array {
  const msg = new Uint8Array(readFileSync(file));
  const body: Record<Op, number> = { ir: 0, cr: 2, kur: 7, p10cr: 4, rr: 11, genm: 21 };
  let tag: number;
  try {
    const top = tlv(msg, 0);
    if (top.tag !== 0x30 || top.end !== msg.length) throw new Error();
    tag = children(msg, top)[1].tag;
  } catch {
    throw new Error(`${file}: not a DER PKIMessage`);
  }
  if (tag !== (0xa0 | body[cmd])) throw new Error(`${file}: its body [${tag & 0x1f}] is not a ${cmd} [${body[cmd]}] (RFC 9810 5.1.2)`);
  return msg;
}

/** OpenSSL's trust store without -partial_chain: only a self-signed certificate ends a path, the
 *  others serve as intermediates; X509_V_FLAG_PARTIAL_CHAIN lets any of them end it. */
function splitAnchors(certs: Uint8Array[], partial: boolean): { anchors: Uint8Array[]; intermediates: Uint8Array[] } {
  if (partial) return { anchors: certs, intermediates: [] };
  const selfSigned = (d: Uint8Array) => {
    const c = new X509Certificate(d);
    return c.checkIssued(c) && c.verify(c.publicKey);
  };
  return { anchors: certs.filter(selfSigned), intermediates: certs.filter((c) => !selfSigned(c)) };
}

/** -geninfo OID:int:N (openssl cmp 3.0): InfoTypeAndValue { OID, INTEGER N } (RFC 9810 5.1.1). */
function geninfoItav(v: string): Uint8Array {
  const m = /^([^:]*):int:([+-]?\d+)$/i.exec(v);
  if (!m) throw new UsageError(`-geninfo ${v}: use OID:int:N, e.g. 1.2.3.4:int:56789`);
  const n = BigInt(m[2]);
  if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new UsageError(`-geninfo ${v}: the integer must fit 64 bits`);
  return der(
    0x30,
    input("geninfo", () => oidDer(m[1])),
    intDer(n),
  );
}

/** The certTemplate extensions as openssl cmp 3.0 composes them (OSSL_CMP_CTX_setup_CRM): -reqexts
 *  then -policies, a later one replacing an earlier one; -sans, then -policy_oids, each put first.
 *  subjectAltName is critical when the subject is empty (RFC 5280 4.2.1.6). Undefined: none. */
function requestExtensions(a: Args, hasSubject: boolean): Uint8Array[] | undefined {
  if (a.policy_oids_critical && !a.policy_oids) throw new UsageError("-policy_oids_critical needs -policy_oids");
  if (!a.reqexts && !a.policies && !a.policy_oids && !a.sans) return undefined;
  if (a.policies && a.policy_oids) throw new UsageError("-policies and -policy_oids exclude each other (as in openssl cmp)");
  const exts: Extension[] = [];
  for (const opt of ["reqexts", "policies"] as const) {
    const section = str(a[opt]);
    if (section === undefined) continue;
    if (!str(a.config)) throw new UsageError(`-${opt} ${section} needs -config: the file holding that section`);
    const conf = input("config", () => readConf(str(a.config)!));
    try {
      sectionExtensions(conf, section, `-${opt}`, exts);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const has = (oid: string) => exts.some((e) => e.oid === oid);
  if (a.sans) {
    if (has(OID_SAN)) throw new UsageError("-sans and a subjectAltName of -reqexts exclude each other (as in openssl cmp)");
    exts.unshift({
      oid: OID_SAN,
      der: extensionDer(
        OID_SAN,
        !hasSubject,
        input("sans", () => sansDer(str(a.sans)!)),
      ),
    });
  }
  if (a.policy_oids) {
    if (has(OID_POLICIES))
      throw new UsageError("-policy_oids and a certificatePolicies of -reqexts exclude each other (RFC 5280 4.2: one instance per extension)");
    const oids = files(a.policy_oids);
    if (oids.length === 0) throw new UsageError("-policy_oids: give one or more OIDs");
    exts.unshift({
      oid: OID_POLICIES,
      der: extensionDer(
        OID_POLICIES,
        a.policy_oids_critical === true,
        input("policy_oids", () => policiesDer(oids)),
      ),
    });
  }
  return exts.map((e) => e.der);
}

/** A DER file, or the first PEM block labelled `label`. */
function readDer(file: string, label: string): Uint8Array {
  const data = readFileSync(file);
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END`).exec(data.toString("latin1"));
  return m ? new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64")) : new Uint8Array(data);
}

function pemCsr(file: string): Uint8Array {
  const data = readFileSync(file);
  const text = data.toString("latin1");
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END/.exec(text);
  return m ? new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64")) : new Uint8Array(data);
}

function describe(cert: Uint8Array): string {
  const c = new X509Certificate(cert);
  return `subject "${c.subject.replace(/\n/g, ", ")}", serial ${c.serialNumber}, valid until ${c.validTo}`;
}

/** -out_trusted: the new certificate must chain, through the certificates the response and
 *  -untrusted carry, to one of these anchors, valid at `at` (RFC 5280 6.1, signatures and
 *  validity only: node:crypto does the checks). */
function checkOutTrusted(cert: Uint8Array, anchors: Uint8Array[], pool: Uint8Array[], at: Date): void {
  const xs = (l: Uint8Array[]) => l.map((d) => new X509Certificate(d));
  const trusted = xs(anchors),
    others = xs(pool);
  const valid = (c: X509Certificate) => new Date(c.validFrom) <= at && at <= new Date(c.validTo);
  let c = new X509Certificate(cert);
  for (let depth = 0; depth < 8; depth++) {
    if (!valid(c)) break;
    if (trusted.some((t) => t.raw.equals(c.raw) || (c.checkIssued(t) && c.verify(t.publicKey) && valid(t)))) return;
    const up = others.find((o) => !o.raw.equals(c.raw) && c.checkIssued(o) && c.verify(o.publicKey));
    if (!up) break;
    c = up;
  }
  throw new Error("the new certificate does not chain to -out_trusted (it was confirmed to the CA; nothing written)");
}

/** Writes the outputs the options ask for, the new private key first; returns the summary line. */
function writeOutputs(cmd: Op, a: Args, out: Outcome, core: Core): string {
  if (out.newKey) {
    const file = str(a.newkeyout);
    if (!file) throw new Error("the core generated a new key but no -newkeyout says where to keep it");
    const pub = core.reserve(65);
    const priv = core.put(out.newKey);
    if (core.exports.p256_public(priv, pub) !== 0) throw new Error("the generated key is not a valid P-256 key");
    writeP256Key(file, out.newKey, core.read(pub, 65));
  }
  if (a.certout && out.cert) writeCerts(str(a.certout)!, [out.cert]);
  if (a.chainout) writeCerts(str(a.chainout)!, out.chain);
  if (a.extracertsout) writeCerts(str(a.extracertsout)!, out.extraCerts);
  if (a.cacertsout) {
    const fromGenp = cmd === "genm" ? caCertsOf(out) : [];
    writeCerts(str(a.cacertsout)!, out.caPubs.length ? out.caPubs : fromGenp);
  }
  if (cmd === "rr") return "rr done: certificate revoked";
  if (cmd === "genm") {
    const asked = files(a.infotype)
      .map((t) => oidContents(INFOTYPES[t] ?? t))
      .map((o) => (o.length === 8 ? o[7] : -1));
    const anchors = [...(a.trusted ? readCerts(...files(a.trusted)) : []), ...(a.oldwithold ? readCerts(str(a.oldwithold)!) : [])];
    const g = decodeGenp(asked, out.genp, anchors);
    const u = g.rootCaKeyUpdate;
    if (u && a.newwithnew) writeCerts(str(a.newwithnew)!, [u.newWithNew]);
    if (u?.newWithOld && a.newwithold) writeCerts(str(a.newwithold)!, [u.newWithOld]);
    if (u?.oldWithNew && a.oldwithnew) writeCerts(str(a.oldwithnew)!, [u.oldWithNew]);
    if (g.crls && a.crlout) writeFileSync(str(a.crlout)!, Buffer.concat(g.crls));
    if (g.certReqTemplate && a.template) writeFileSync(str(a.template)!, g.certReqTemplate);
    const got = [
      g.caCerts && `caCerts: ${g.caCerts.length} certificates`,
      u && `rootCaKeyUpdate: new root ${describe(u.newWithNew)}`,
      g.certReqTemplate && `certReqTemplate: ${g.certReqTemplate.length} bytes`,
      g.crls && `crls: ${g.crls.length} CRL`,
      g.certProfiles && `certProfile: ${g.certProfiles.join(", ")}`,
      ...g.empty.map((t) => `${t}: no value`),
    ].filter(Boolean);
    return `genm done: ${got.join("; ") || "empty genp"}`;
  }
  return `${cmd} done: ${out.cert ? describe(out.cert) : "no certificate"}`;
}

/** caCerts in a genp (RFC 9483 4.3.1): InfoTypeAndValue { id-it-caCerts, SEQUENCE OF CMPCertificate }. */
function caCertsOf(out: Outcome): Uint8Array[] {
  const caCerts = Buffer.from(oidContents(INFOTYPES.caCerts));
  const v = out.genp.map(parseItav).find((i) => caCerts.equals(i.type))?.value;
  return v ? children(v, tlv(v, 0)).map((c) => v.slice(c.start, c.end)) : [];
}

/** The RFC 9483 6.1 operation of a command, for `.well-known/cmp` URLs; genm by its infoType. */
function operationOf(cmd: Op, a: Args): Operation {
  if (cmd !== "genm") return cmd;
  const kinds: Record<string, Operation> = {
    caCerts: "caCerts",
    rootCaCert: "rootCaKeyUpdate",
    certReqTemplate: "certReqTemplate",
    crlStatusList: "crls",
  };
  const first = files(a.infotype)[0];
  return kinds[first] ?? "caCerts";
}

/** -proxy unless the server's host is in -no_proxy. */
function proxyFor(a: Args, url: string): string | undefined {
  if (!a.proxy) return undefined;
  const host = new URL(url).hostname;
  return files(a.no_proxy).some((h) => host === h || host.endsWith(`.${h.replace(/^\./, "")}`)) ? undefined : str(a.proxy);
}

/** The one line said when a command fails: what went wrong and, where known, what to change. */
export function failureLine(cmd: string, e: unknown, macProtected: boolean): string {
  if (e instanceof CmpError) {
    // only a MAC that was computed and differs points at the secret; bounds and algorithms say their own words
    if (e.code === E_CMP_PROTECTION && macProtected && /MAC does not verify/.test(e.detail))
      return `${cmd} failed: MAC does not verify: wrong secret or reference?`;
    const detail = e.detail.replace(/:? ?\(?error -?\d+\)?$/, "");
    return `${cmd} failed: ${detail} (error ${e.code})`;
  }
  return `${cmd} failed: ${(e as Error).message}`;
}

/** Runs one `-cmd`; returns the process exit status. */
export async function runCmd(a: Args, log: (line: string) => void = console.log): Promise<number> {
  const cmd = str(a.cmd) as Op | undefined;
  if (!cmd) throw new UsageError("no -cmd given (ir, cr, kur, p10cr, rr or genm)");
  checkFiles(a);
  const req = buildRequest(cmd, a);
  if (a.disable_confirm && cmd !== "rr" && cmd !== "genm") {
    console.error(
      "tinycmp: warning: -disable_confirm: the new certificate is neither confirmed nor implicitly confirmed; this violates RFC 9810 5.3.18 (openssl cmp's manual warns so too)",
    );
  }
  const rspin = files(a.rspin);
  const expectSender = a.expect_sender ? input("expect_sender", () => nameDer(str(a.expect_sender)!)) : undefined;
  const outTrusted = a.out_trusted ? input("out_trusted", () => readCerts(...files(a.out_trusted))) : undefined;
  if (outTrusted && splitAnchors(outTrusted, a.partial_chain === true).anchors.length === 0) {
    throw new UsageError(`-out_trusted ${a.out_trusted}: no self-signed certificate to end a path: give the root, or -partial_chain`);
  }
  const tlsFile = (n: "tls_trusted" | "tls_cert" | "tls_key") => (a[n] ? readFileSync(str(a[n])!) : undefined);
  const tls = a.tls_used === true || /^https:/i.test(str(a.server) ?? "");
  if ((a.tls_cert || a.tls_key || a.tls_trusted) && !tls) console.error("tinycmp: warning: -tls_cert, -tls_key and -tls_trusted are ignored without -tls_used");
  let inner: Transport | undefined;
  if (a.server) {
    const url = operationUrl(serverUrl(str(a.server)!, str(a.path), tls), operationOf(cmd, a));
    try {
      inner = new HttpTransport({
        url,
        msgTimeoutMs: a.msg_timeout !== undefined ? Number(a.msg_timeout) * 1000 : undefined,
        totalTimeoutMs: a.total_timeout !== undefined ? Number(a.total_timeout) * 1000 : undefined,
        proxy: proxyFor(a, url),
        ...(tls ? { tlsTrusted: tlsFile("tls_trusted"), tlsCert: tlsFile("tls_cert"), tlsKey: tlsFile("tls_key") } : {}),
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  } else if (rspin.length === 0) throw new UsageError("no -server (or -rspin) given");
  const at = a.attime !== undefined ? Number(a.attime) : undefined;
  const device = new Device(new FileTransport(inner, files(a.reqout), files(a.rspout), rspin, expectSender), at !== undefined ? { now: () => at } : {});
  try {
    const out = await device.run(cmd, req);
    if (Number(a.verbosity ?? 6) >= 7) {
      // 7: info, as openssl's -verbosity
      out.messages.request.forEach((m, i) =>
        console.error(`tinycmp: info: request ${i + 1}: ${m.length} bytes, response ${out.messages.response[i]?.length ?? 0} bytes`),
      );
    }
    if (outTrusted && out.cert) {
      const { anchors, intermediates } = splitAnchors(outTrusted, a.partial_chain === true);
      checkOutTrusted(
        out.cert,
        anchors,
        [...out.extraCerts, ...out.caPubs, ...(req.untrusted ?? []), ...intermediates],
        new Date((at ?? Date.now() / 1000) * 1000),
      );
    }
    log(writeOutputs(cmd, a, out, device.core));
    return 0;
  } catch (e) {
    throw new CommandFailed(failureLine(cmd, e, !req.key));
  } finally {
    device.close();
  }
}

class CommandFailed extends Error {}

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === "testpki") {
      const { testpkiMain } = await import("../testpki/main");
      await testpkiMain(argv.slice(1));
      return 0;
    }
    if (argv[0] === "agent") {
      const { agentMain } = await import("./agent-main");
      return await agentMain(argv.slice(1));
    }
    if (argv[0] === "bridge") {
      const { bridgeMain } = await import("./bridge");
      return await bridgeMain(argv.slice(1));
    }
    if (argv[0] === "fleet") {
      const { fleetMain } = await import("../fleet/merge");
      return await fleetMain(argv.slice(1));
    }
    if (argv[0] === "inspect") {
      const { inspectMain } = await import("./inspect");
      return await inspectMain(argv.slice(1));
    }
    if (argv.length === 0) {
      console.error(USAGE);
      return 2;
    }
    const a = parseArgs(argv);
    if (a.help) {
      console.log(help());
      return 0;
    }
    return await runCmd(a);
  } catch (e) {
    const msg = (e as Error).message;
    const sub = ["testpki", "agent", "bridge", "fleet", "inspect"].includes(argv[0]) && !msg.startsWith(`${argv[0]}:`) ? `${argv[0]}: ` : "";
    if (e instanceof UsageError) {
      console.error(`tinycmp: ${sub}${msg}`);
      return 2;
    }
    console.error(`tinycmp: ${sub}${msg}`);
    return 1;
  }
}

export { toPem };
