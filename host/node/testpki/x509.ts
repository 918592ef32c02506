// @peculiar/x509 set up for Node: its tsyringe container needs a Reflect polyfill loaded first,
// and it signs through WebCrypto (Node's globalThis.crypto). Import x509 only through this file.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

// Named, not `export *`: a bundler cannot see through `export *` of an external package (esbuild
// then leaves every x509.Name undefined in the npm package's JavaScript).
export {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsageExtension,
  Extension,
  GeneralNames,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  Pkcs10CertificateRequest,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
  X509Crl,
  X509CrlGenerator,
  X509CrlReason,
} from "@peculiar/x509";
export type { JsonGeneralName, PublicKeyType } from "@peculiar/x509";
