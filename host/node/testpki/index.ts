// The built-in test PKI: an in-process CMP server (RA + CA) that really issues certificates.
//   const pki = await TestPki.start();  ...  await pki.close();
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Authority, pem, Revocation } from "./ca.js";
import { Behaviour, defaultBehaviour, TestPkiOptions } from "./config.js";
import { createHierarchy, createIdevid, Hierarchy, Idevid } from "./hierarchy.js";
import { Responder } from "./responder.js";
import { startHttp } from "./server.js";

export { PKIFailureInfo, PKIStatus } from "./asn1.js";
export type { Behaviour, TestPkiOptions } from "./config.js";
export type { Idevid } from "./hierarchy.js";

/** What a client needs to know about one CA certificate. */
export interface CaInfo {
  certPem: string;
  der: Uint8Array;
  subject: string;
}

const info = (a: Authority): CaInfo => ({ certPem: a.cred.certPem, der: a.cred.der, subject: a.cert.subject });

export interface TestPkiFiles {
  url: string;
  ref: string;
  secret: string;
  root: string;
  issuing_ca: string;
  manufacturer_root: string;
  idevid_cert: string;
  /** absent when the IDevID certifies a public key given (a key held in a TPM or token) */
  idevid_key?: string;
}

export class TestPki {
  private constructor(
    readonly url: string,
    readonly ref: string,
    readonly secret: string,
    readonly hierarchy: Hierarchy,
    readonly responder: Responder,
    readonly behaviour: Behaviour,
    private readonly server: Server,
  ) {}

  static async start(options: TestPkiOptions = {}): Promise<TestPki> {
    const behaviour: Behaviour = { ...defaultBehaviour };
    for (const k of Object.keys(defaultBehaviour) as (keyof Behaviour)[])
      if (options[k] !== undefined) (behaviour as never as Record<string, unknown>)[k] = options[k];
    if (options.reject) behaviour.reject = options.reject;
    if (options.errorMessage) behaviour.errorMessage = options.errorMessage;
    const ref = options.ref ?? "tinycmp-test";
    const secret = options.secret ?? randomBytes(12).toString("base64url");
    let responder: Responder | undefined;
    let hierarchy: Hierarchy | undefined;
    const { server, url } = await startHttp({
      port: options.port ?? 0,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      handle: (der) => responder!.handle(der),
      crl: async () => new Uint8Array((await hierarchy!.issuingCa.currentCrl()).rawData),
    });
    try {
      hierarchy = await createHierarchy({
        signerKeyType: options.signerKeyType,
        caKeyType: options.caKeyType,
        crlUrl: `${url}/crl`,
        rootRollover: options.rootRollover,
      });
    } catch (e) {
      server.close();
      throw e;
    }
    responder = new Responder(hierarchy, behaviour, { ref, secret });
    const pki = new TestPki(url, ref, secret, hierarchy, responder, behaviour, server);
    if (options.dir) await pki.writeFiles(options.dir);
    return pki;
  }

  /** Change behaviour while running (e.g. inject an error for the next test case). */
  configure(change: Partial<Behaviour>): void {
    Object.assign(this.behaviour, change);
  }

  /** Back to the behaviour given at start, minus injected faults. */
  reset(): void {
    Object.assign(this.behaviour, defaultBehaviour, { reject: undefined, errorMessage: undefined });
  }

  get root(): CaInfo {
    return info(this.hierarchy.root);
  }
  get issuingCa(): CaInfo {
    return info(this.hierarchy.issuingCa);
  }
  get manufacturerRoot(): CaInfo {
    return info(this.hierarchy.manufacturerRoot);
  }
  get manufacturerCa(): CaInfo {
    return info(this.hierarchy.manufacturerCa);
  }
  get cmpSigner(): { certPem: string; der: Uint8Array } {
    return { certPem: this.hierarchy.cmpSigner.certPem, der: this.hierarchy.cmpSigner.der };
  }
  /** RFC 9810 4.4: the prepared root key update (when started with rootRollover) */
  get rollover() {
    const r = this.hierarchy.rollover;
    return (
      r && {
        newWithNew: pem("CERTIFICATE", r.newWithNew.rawData),
        newWithOld: pem("CERTIFICATE", r.newWithOld.rawData),
        oldWithNew: pem("CERTIFICATE", r.oldWithNew.rawData),
      }
    );
  }

  /** An IDevID with a fresh P-256 key, or for publicKey (DER SubjectPublicKeyInfo of a key held elsewhere). */
  createIdevid(serialNumber?: string, publicKey?: Uint8Array): Promise<Idevid> {
    return createIdevid(this.hierarchy, serialNumber, publicKey);
  }

  /** Revocations recorded (rr, rejected certConf). */
  revoked(): Revocation[] {
    return [...this.hierarchy.issuingCa.revocations.values()];
  }

  /** The issuing CA's current CRL as PEM. */
  async crlPem(): Promise<string> {
    return pem("X509 CRL", (await this.hierarchy.issuingCa.currentCrl()).rawData);
  }

  /** Requests seen so far and what they were answered with. */
  get requests() {
    return this.responder.log;
  }

  /** Write root, issuing CA, manufacturer root and one IDevID as PEM, plus testpki.json; with
   *  idevidPublicKey (DER SubjectPublicKeyInfo) the IDevID certifies that key and no idevid.key is written. */
  async writeFiles(dir?: string, idevidPublicKey?: Uint8Array): Promise<{ dir: string; files: TestPkiFiles }> {
    const d = dir ?? mkdtempSync(join(tmpdir(), "testpki-"));
    mkdirSync(d, { recursive: true });
    const idevid = await this.createIdevid(undefined, idevidPublicKey);
    const w = (name: string, text: string, mode = 0o644) => {
      const p = join(d, name);
      writeFileSync(p, text, { mode });
      return p;
    };
    const files: TestPkiFiles = {
      url: this.url,
      ref: this.ref,
      secret: this.secret,
      root: w("root.pem", this.root.certPem),
      issuing_ca: w("issuing_ca.pem", this.issuingCa.certPem),
      manufacturer_root: w("manufacturer_root.pem", this.manufacturerRoot.certPem),
      // the IDevID with its manufacturer CA, as a device would hold it
      idevid_cert: w("idevid.pem", idevid.certPem + idevid.chain[0]),
    };
    if (idevid.keyPem) files.idevid_key = w("idevid.key", idevid.keyPem, 0o600);
    w("testpki.json", JSON.stringify(files, null, 2) + "\n");
    return { dir: d, files };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
