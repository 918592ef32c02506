// `tinycmp`: the command line. Option names follow `openssl cmp` for the subset both have, so a
// user can switch by changing the binary; `tinycmp inspect` and `tinycmp testpki` are extras.
import { writeFileSync, readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { CmpError, Device, Options, type Outcome, type Request, type Transport } from "./device";
import { HttpTransport, operationUrl, TransportError, type Operation } from "./transport";
import { nameDer, readCerts, readP256Key, sansDer, secretArg, toPem, writeCerts, writeP256Key } from "./files";
import { Core } from "./core";
import { certSubject, children, parseItav, tlv } from "./der";
import { crlStatusListItav, decodeGenp, rootCaCertItav } from "./genp";

/** Options taking a value, as `openssl cmp` names them. */
const VALUED = new Set([
  "cmd", "server", "path", "recipient", "ref", "secret", "cert", "key", "keypass", "trusted", "untrusted",
  "extracerts", "newkey", "newkeypass", "newkeyout", "subject", "sans", "csr", "certout", "chainout",
  "extracertsout", "cacertsout", "oldcert", "revreason", "infotype", "msg_timeout", "total_timeout",
  "reqout", "rspout", "rspin", "tls_cert", "tls_key", "tls_trusted", "verbosity", "profile",
  // MAC protection (RFC 9481 6), the sender of requests, genm values and genp outputs (RFC 9483 4.3)
  "mac", "digest", "iter", "max_iter", "sender", "oldwithold", "crlcert", "oldcrl",
  "newwithnew", "newwithold", "oldwithnew", "crlout", "template",
]);
const FLAGS = new Set(["implicit_confirm", "tls_used", "unprotected_errors", "help", "pbmac1", "unprotected_requests"]);

const USAGE = `usage: tinycmp -cmd ir|cr|kur|p10cr|rr|genm -server HOST:PORT[/PATH] [options]
       tinycmp inspect FILE [-secret pass:S] [-trusted FILE] [-srvcert FILE] [-attime SECONDS] [--json]
       tinycmp testpki [--port P] [--dir DIR]
       tinycmp agent --store DIR [--config FILE] [--once] [--decommission] [--provision KEY CERT [CHAIN]]
options (as in openssl cmp): -path -recipient -ref -secret pass:|env:|file: -cert -key -trusted
  -untrusted -extracerts -newkey -newkeyout -subject -sans -csr -certout -chainout -extracertsout
  -cacertsout -oldcert -revreason -implicit_confirm -infotype -msg_timeout -total_timeout
  -reqout -rspout -rspin -tls_used -tls_cert -tls_key -tls_trusted -unprotected_errors -profile -verbosity
  -mac -digest -unprotected_requests -oldwithold -crlcert -oldcrl -newwithnew -newwithold -oldwithnew
  -crlout -template
tinycmp only: -pbmac1 (PBMAC1 instead of PBM) -iter N (iterations of our MACs, default 500)
  -max_iter N (most iterations accepted in a response MAC, default 100000) -sender NAME (sender of
  MAC-protected requests; a strict CA wants CN=<senderKID>)`;

export class UsageError extends Error {}

export type Args = Record<string, string | true>;

export function parseArgs(argv: string[]): Args {
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.replace(/^--?/, "");
    if (!a.startsWith("-") || !(VALUED.has(name) || FLAGS.has(name))) throw new UsageError(`unknown option ${a}`);
    if (FLAGS.has(name)) { args[name] = true; continue; }
    if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
    args[name] = argv[++i];
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
const MACS: Record<string, number> = { "hmac-sha1": 1, hmacWithSHA1: 1, hmacWithSHA256: 2, hmacWithSHA384: 3, hmacWithSHA512: 4 };
const DIGESTS: Record<string, number> = { sha1: 1, sha256: 2, sha384: 3, sha512: 4 };

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
  if (!m) throw new UsageError(`bad -server ${server}`);
  const scheme = m[1] ?? (tls ? "https" : "http");
  let p = path ?? m[3] ?? "/";
  if (!p.startsWith("/")) p = `/${p}`;
  return `${scheme}://${m[2]}${p}`;
}

const list = (v: string | true | undefined): string[] => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter(Boolean) : []);
const str = (v: string | true | undefined): string | undefined => (typeof v === "string" ? v : undefined);

/** A transport that records requests (-reqout) and responses (-rspout) and may replay
 *  responses from files (-rspin) instead of asking a server. */
export class FileTransport implements Transport {
  private n = 0;
  constructor(private readonly inner: Transport | undefined, private readonly reqout: string[],
    private readonly rspout: string[], private readonly rspin: string[]) {}

  async transfer(request: Uint8Array): Promise<Uint8Array> {
    const i = this.n++;
    if (this.reqout[i]) writeFileSync(this.reqout[i], request);
    let response: Uint8Array;
    if (i < this.rspin.length) response = new Uint8Array(readFileSync(this.rspin[i]));
    else if (this.inner) response = await this.inner.transfer(request);
    else throw new TransportError(`no response file for message ${i + 1} (-rspin lists ${this.rspin.length})`);
    if (this.rspout[i]) writeFileSync(this.rspout[i], response);
    return response;
  }

  close(): void { this.inner?.close?.(); }
}

const OPS = ["ir", "cr", "kur", "p10cr", "rr", "genm"] as const;
type Op = (typeof OPS)[number];

/** Builds the Request for one `-cmd` from the options. */
export function buildRequest(cmd: Op, a: Args): Request {
  const req: Request = {};
  if (a.ref !== undefined) req.ref = str(a.ref);
  if (a.secret !== undefined) req.secret = secretArg(str(a.secret)!);
  const cert = str(a.cert);
  const key = str(a.key);
  if (cert) {
    const [c, ...chain] = readCerts(cert);
    req.cert = c;
    req.extraCerts = [...chain, ...(a.extracerts ? readCerts(...list(a.extracerts)) : [])];
  } else if (a.extracerts) req.extraCerts = readCerts(...list(a.extracerts));
  if (key) req.key = readP256Key(key, a.keypass ? secretArg(str(a.keypass)!) : undefined);
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("-cert and -key go together");
  if (!req.secret && !req.key && !a.unprotected_requests) throw new UsageError("no protection: give -secret (and -ref) or -cert and -key");
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
  if (a.sender) req.sender = nameDer(str(a.sender)!);
  if (a.trusted) req.trusted = readCerts(...list(a.trusted));
  if (a.untrusted) req.untrusted = readCerts(...list(a.untrusted));
  if (a.recipient) req.recipient = nameDer(str(a.recipient)!);
  if (a.profile) req.profile = str(a.profile);
  if (a.implicit_confirm) req.implicitConfirm = true;
  if (a.unprotected_errors) req.options = (req.options ?? 0) | 2;
  if (cmd === "ir" || cmd === "cr" || cmd === "kur" || cmd === "p10cr") {
    if (a.newkey) req.newKey = readP256Key(str(a.newkey)!, a.newkeypass ? secretArg(str(a.newkeypass)!) : undefined);
    if (a.subject) req.subject = nameDer(str(a.subject)!);
    if (a.sans) req.sans = sansDer(str(a.sans)!);
    if (cmd === "p10cr" && a.csr) req.csr = pemCsr(str(a.csr)!);
    if (cmd === "ir" && !req.subject && !req.csr) throw new UsageError("ir needs -subject");
    if (!req.newKey && !req.csr && !a.newkeyout) throw new UsageError(`${cmd} without -newkey makes a new key: give -newkeyout to keep it`);
    if (!a.certout) throw new UsageError(`${cmd} needs -certout`);
  }
  if (cmd === "kur" || cmd === "rr") {
    const old = str(a.oldcert) ?? cert;
    if (!old) throw new UsageError(`${cmd} needs -oldcert (or -cert)`);
    req.oldCert = readCerts(old)[0];
    // kur: the template names the subject of the certificate being updated unless -subject says otherwise
    if (cmd === "kur" && !req.subject) req.subject = certSubject(req.oldCert);
  }
  if (cmd === "rr" && a.revreason !== undefined) {
    const r = Number(a.revreason);
    if (!Number.isInteger(r) || r < -1 || r > 10) throw new UsageError("-revreason must be -1..10 (RFC 5280 CRLReason)");
    if (r >= 0) req.revReason = r;
  }
  if (cmd === "genm") {
    // RFC 9483 4.3: rootCaCert carries the current root, crlStatusList the CRL status list
    req.infoTypes = list(a.infotype).map((t) => {
      if (t === "rootCaCert") {
        const old = str(a.oldwithold) ?? list(a.trusted)[0];
        if (!old) throw new UsageError("-infotype rootCaCert needs -oldwithold (or -trusted): the root to update");
        return rootCaCertItav(readCerts(old)[0]);
      }
      if (t === "crlStatusList") {
        if (!a.oldcrl && !a.crlcert) throw new UsageError("-infotype crlStatusList needs -oldcrl or -crlcert");
        return crlStatusListItav({ crl: a.oldcrl ? readDer(str(a.oldcrl)!, "X509 CRL") : undefined, cert: a.crlcert ? readCerts(str(a.crlcert)!)[0] : undefined });
      }
      return oidContents(INFOTYPES[t] ?? t);
    });
  }
  return req;
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

/** Writes the outputs the options ask for; returns the summary line. */
function writeOutputs(cmd: Op, a: Args, out: Outcome, core: Core): string {
  if (a.certout && out.cert) writeCerts(str(a.certout)!, [out.cert]);
  if (a.chainout) writeCerts(str(a.chainout)!, out.chain);
  if (a.extracertsout) writeCerts(str(a.extracertsout)!, out.extraCerts);
  if (a.cacertsout) {
    const fromGenp = cmd === "genm" ? caCertsOf(out) : [];
    writeCerts(str(a.cacertsout)!, out.caPubs.length ? out.caPubs : fromGenp);
  }
  if (out.newKey) {
    const file = str(a.newkeyout);
    if (!file) throw new Error("the core generated a new key but no -newkeyout says where to keep it");
    const pub = core.reserve(65);
    const priv = core.put(out.newKey);
    if (core.exports.p256_public(priv, pub) !== 0) throw new Error("the generated key is not a valid P-256 key");
    writeP256Key(file, out.newKey, core.read(pub, 65));
  }
  if (cmd === "rr") return "rr done: certificate revoked";
  if (cmd === "genm") {
    const asked = list(a.infotype).map((t) => oidContents(INFOTYPES[t] ?? t)).map((o) => (o.length === 8 ? o[7] : -1));
    const anchors = [...(a.trusted ? readCerts(...list(a.trusted)) : []), ...(a.oldwithold ? readCerts(str(a.oldwithold)!) : [])];
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
    caCerts: "caCerts", rootCaCert: "rootCaKeyUpdate", certReqTemplate: "certReqTemplate", crlStatusList: "crls",
  };
  const first = list(a.infotype)[0];
  return kinds[first] ?? "caCerts";
}

/** Runs one `-cmd`; returns the process exit status. */
export async function runCmd(a: Args, log: (line: string) => void = console.log): Promise<number> {
  const cmd = str(a.cmd) as Op;
  if (!OPS.includes(cmd)) throw new UsageError(`-cmd must be one of ${OPS.join(", ")}`);
  const req = buildRequest(cmd, a);
  const rspin = list(a.rspin);
  let inner: Transport | undefined;
  if (a.server) {
    const tls = a.tls_used === true;
    inner = new HttpTransport({
      url: operationUrl(serverUrl(str(a.server)!, str(a.path), tls), operationOf(cmd, a)),
      msgTimeoutMs: a.msg_timeout ? Number(a.msg_timeout) * 1000 : undefined,
      totalTimeoutMs: a.total_timeout ? Number(a.total_timeout) * 1000 : undefined,
      tlsTrusted: a.tls_trusted ? readFileSync(str(a.tls_trusted)!) : undefined,
      tlsCert: a.tls_cert ? readFileSync(str(a.tls_cert)!) : undefined,
      tlsKey: a.tls_key ? readFileSync(str(a.tls_key)!) : undefined,
    });
  } else if (rspin.length === 0) throw new UsageError("no -server (or -rspin) given");
  const device = new Device(new FileTransport(inner, list(a.reqout), list(a.rspout), rspin));
  try {
    const out = await device.run(cmd, req);
    if (Number(a.verbosity ?? 6) >= 7) { // 7: info, as openssl's -verbosity
      out.messages.request.forEach((m, i) => console.error(`tinycmp: info: request ${i + 1}: ${m.length} bytes, response ${out.messages.response[i]?.length ?? 0} bytes`));
    }
    log(writeOutputs(cmd, a, out, device.core));
    return 0;
  } finally {
    device.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === "testpki") {
      const { testpkiMain } = await import("./testpki/main");
      await testpkiMain(argv.slice(1));
      return 0;
    }
    if (argv[0] === "agent") {
      const { agentMain } = await import("./agent-main");
      return await agentMain(argv.slice(1));
    }
    if (argv[0] === "inspect") {
      const { inspectMain } = await import("./inspect");
      return await inspectMain(argv.slice(1));
    }
    const a = parseArgs(argv);
    if (a.help || argv.length === 0) {
      console.log(USAGE);
      return argv.length === 0 ? 2 : 0;
    }
    return await runCmd(a);
  } catch (e) {
    const cmd = argv.includes("-cmd") ? argv[argv.indexOf("-cmd") + 1] : "tinycmp";
    if (e instanceof UsageError) {
      console.error(`tinycmp: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof CmpError) console.error(`tinycmp: ${cmd} failed: ${e.detail} (error ${e.code})`);
    else console.error(`tinycmp: ${cmd} failed: ${(e as Error).message}`);
    return 1;
  }
}

export { toPem };
