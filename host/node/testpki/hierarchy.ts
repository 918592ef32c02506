// The credentials of a test PKI, generated at start:
//   root CA -> issuing CA -> { end-entity certificates, CMP signer (id-kp-cmcRA, RFC 9483 3.1) }
//   manufacturer root -> manufacturer CA -> IDevIDs (the device's initial identity)
import * as x509 from "./x509.js";
import { Authority, createRoot, Credential, pem, rootRollover } from "./ca.js";
import { KeyType } from "./keys.js";
import * as oids from "./oids.js";

export interface Hierarchy {
  root: Authority;
  issuingCa: Authority;
  cmpSigner: Credential;
  manufacturerRoot: Authority;
  manufacturerCa: Authority;
  /** RFC 9810 4.4: a prepared root CA key update, if configured */
  rollover?: { newRoot: Authority; newWithNew: x509.X509Certificate; newWithOld: x509.X509Certificate; oldWithNew: x509.X509Certificate };
}

export async function createHierarchy(opts: { signerKeyType?: KeyType; caKeyType?: KeyType; crlUrl?: string; rootRollover?: boolean }): Promise<Hierarchy> {
  const root = await createRoot("CN=tinycmp Test Root CA,O=tinycmp test PKI");
  const issuingCa = await root.subordinate("CN=tinycmp Test Issuing CA,O=tinycmp test PKI", opts.caKeyType ?? "P-256", 10, opts.crlUrl);
  const cmpSigner = await issuingCa.endEntity("CN=tinycmp Test CMP RA,O=tinycmp test PKI", opts.signerKeyType ?? "P-256", [oids.id_kp_cmcRA]);
  const manufacturerRoot = await createRoot("CN=tinycmp Test Manufacturer Root CA,O=tinycmp test manufacturer");
  const manufacturerCa = await manufacturerRoot.subordinate("CN=tinycmp Test Manufacturer CA,O=tinycmp test manufacturer", "P-256", 15);
  const h: Hierarchy = { root, issuingCa, cmpSigner, manufacturerRoot, manufacturerCa };
  if (opts.rootRollover) {
    const newRoot = await createRoot("CN=tinycmp Test Root CA,O=tinycmp test PKI");
    h.rollover = { newRoot, ...(await rootRollover(root, newRoot)) };
  }
  return h;
}

export interface Idevid {
  certPem: string;
  keyPem: string;
  /** manufacturer CA then manufacturer root, PEM */
  chain: string[];
  cert: x509.X509Certificate;
}

let idevids = 0;

/** A simulated device's IDevID (IEEE 802.1AR): P-256 key, subject with the device serial number.
 *  With publicKey (a DER SubjectPublicKeyInfo), the IDevID of a key held elsewhere (a TPM, a
 *  token): keyPem is then empty. */
export async function createIdevid(h: Hierarchy, serialNumber?: string, publicKey?: Uint8Array): Promise<Idevid> {
  const sn = serialNumber ?? `TC-${process.pid}-${++idevids}`;
  const subject = `CN=tinycmp test device,2.5.4.5=${sn}`;
  if (publicKey) {
    const cert = await h.manufacturerCa.issue({ subject, publicKey, notAfter: new Date(Date.now() + 5 * 365 * 86_400_000) });
    return { certPem: pem("CERTIFICATE", cert.rawData), keyPem: "", chain: [h.manufacturerCa.cred.certPem, h.manufacturerRoot.cred.certPem], cert };
  }
  const c = await h.manufacturerCa.endEntity(subject, "P-256");
  return {
    certPem: c.certPem,
    keyPem: c.key.keyPem,
    chain: [h.manufacturerCa.cred.certPem, h.manufacturerRoot.cred.certPem],
    cert: c.cert,
  };
}
