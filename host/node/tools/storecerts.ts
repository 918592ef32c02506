// Real P-256 certificates for the store's tests and the power-cut proof: a root and an issuing
// CA from the test PKI (host/node/testpki), leaf certificates for raw public keys, and a check
// that a certificate's SubjectPublicKeyInfo holds a given key (node:crypto).
import { X509Certificate, createPublicKey } from "node:crypto";
import { Authority, createRoot } from "../testpki/ca.js";

// DER SubjectPublicKeyInfo of an id-ecPublicKey prime256v1 key, up to the 65-byte point.
const SPKI_P256 = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");

export function spkiOfPoint(point: Uint8Array): Uint8Array {
  return Buffer.concat([SPKI_P256, point]);
}

/** The 65-byte uncompressed point of a certificate's P-256 public key. */
export function pointOfCert(cert: Uint8Array): Uint8Array {
  const spki = new X509Certificate(cert).publicKey.export({ type: "spki", format: "der" });
  return new Uint8Array(spki.subarray(spki.length - 65));
}

export function keyMatchesCert(point: Uint8Array | undefined, cert: Uint8Array | undefined): boolean {
  if (!point || !cert) return false;
  // The point must be a valid key, and be the certificate's.
  createPublicKey({ key: Buffer.from(spkiOfPoint(point)), format: "der", type: "spki" });
  return Buffer.from(pointOfCert(cert)).equals(Buffer.from(point));
}

export class CertFactory {
  private constructor(
    readonly root: Authority,
    readonly ca: Authority,
  ) {}

  static async create(name = "Store Test"): Promise<CertFactory> {
    const root = await createRoot(`CN=${name} Root`);
    return new CertFactory(root, await root.subordinate(`CN=${name} Issuing CA`, "P-256", 5));
  }

  /** DER certificates above a leaf: issuing CA, root. */
  get chain(): Uint8Array[] {
    return [this.ca.cred.der, this.root.cred.der];
  }

  async leaf(point: Uint8Array, cn = "device"): Promise<Uint8Array> {
    const cert = await this.ca.issue({ subject: `CN=${cn}`, publicKey: spkiOfPoint(point) });
    return new Uint8Array(cert.rawData);
  }
}
