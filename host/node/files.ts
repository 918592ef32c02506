// Reading and writing the host's files: certificates and keys as PEM or DER, names and SANs given
// on the command line, with the conversions the core expects (DER certificates, DER Names,
// DER GeneralNames, 32-byte P-256 private scalars).
import "reflect-metadata";
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as x509 from "@peculiar/x509";

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block of `label` in text, decoded; or the whole input when it is DER. */
export function pemOrDer(data: Uint8Array, label: string): Uint8Array[] {
  const text = Buffer.from(data).toString("latin1");
  if (!text.includes("-----BEGIN ")) return [data];
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(PEM)) {
    if (m[1] === label) out.push(new Uint8Array(Buffer.from(m[2].replace(/\s+/g, ""), "base64")));
  }
  return out;
}

/** Certificates (DER) from PEM or DER files, each file holding one or more. */
export function readCerts(...files: string[]): Uint8Array[] {
  const certs: Uint8Array[] = [];
  for (const f of files) {
    const found = pemOrDer(readFileSync(f), "CERTIFICATE");
    if (found.length === 0) throw new Error(`${f}: no certificate found`);
    certs.push(...found);
  }
  return certs;
}

/** The 32-byte private scalar of a P-256 key file (PKCS#8 or SEC1, PEM or DER). */
export function readP256Key(file: string, pass?: string): Uint8Array {
  try {
    return p256Scalar(readFileSync(file), pass);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** The 32-byte private scalar of a P-256 key (PKCS#8 or SEC1, PEM or DER). */
export function p256Scalar(data: Buffer | string, pass?: string): Uint8Array {
  let key;
  try {
    key = (typeof data === "string" || data.includes("-----BEGIN ")) ? createPrivateKey({ key: data, passphrase: pass }) : tryDer(data, pass);
  } catch (e) {
    throw new Error(`not a readable private key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error(`a P-256 key is needed, this is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`.trim());
  }
  return new Uint8Array(Buffer.from(key.export({ format: "jwk" }).d!, "base64url"));
}

function tryDer(data: Buffer, pass?: string) {
  try {
    return createPrivateKey({ key: data, format: "der", type: "pkcs8", passphrase: pass });
  } catch {
    return createPrivateKey({ key: data, format: "der", type: "sec1" });
  }
}

/** A 32-byte P-256 private scalar as a PKCS#8 PEM file (mode 0600). */
export function writeP256Key(file: string, d: Uint8Array, publicKey: Uint8Array): void {
  const jwk = {
    kty: "EC", crv: "P-256", d: Buffer.from(d).toString("base64url"),
    x: Buffer.from(publicKey.subarray(1, 33)).toString("base64url"),
    y: Buffer.from(publicKey.subarray(33, 65)).toString("base64url"),
  };
  const pem = createPrivateKey({ key: jwk, format: "jwk" }).export({ format: "pem", type: "pkcs8" });
  writeFileSync(file, pem, { mode: 0o600 });
}

export function toPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** Certificates to a PEM file (several concatenated). */
export function writeCerts(file: string, certs: Uint8Array[]): void {
  writeFileSync(file, certs.map((c) => toPem(c)).join(""));
}

/** A distinguished name in OpenSSL's `/CN=x/O=y` form or RFC 4514's `CN=x, O=y`, as DER. */
export function nameDer(name: string): Uint8Array {
  let rfc = name.trim();
  if (rfc.startsWith("/")) {
    rfc = rfc.slice(1).split(/(?<!\\)\//).filter((p) => p.length > 0)
      .map((p) => {
        const eq = p.indexOf("=");
        if (eq < 1) throw new Error(`bad name component "${p}" in "${name}"`);
        const value = p.slice(eq + 1).replace(/\\\//g, "/").replace(/([,+"\\<>;])/g, "\\$1");
        return `${p.slice(0, eq)}=${value}`;
      })
      .join(", ");
  }
  return new Uint8Array(new x509.Name(rfc).toArrayBuffer());
}

/** SubjectAltName entries like `openssl cmp -sans`: DNS names, IP addresses, URIs (with ":"),
 *  e-mail addresses (with "@"), separated by spaces or commas. DER GeneralNames. */
export function sansDer(sans: string): Uint8Array {
  const names = sans.split(/[\s,]+/).filter(Boolean).map((v): x509.JsonGeneralName => {
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(v) || (v.includes(":") && /^[0-9a-f:]+$/i.test(v))) return { type: "ip", value: v };
    if (v.includes("://")) return { type: "url", value: v };
    if (v.includes("@")) return { type: "email", value: v };
    return { type: "dns", value: v };
  });
  return new Uint8Array(new x509.GeneralNames(names).rawData);
}

/** `pass:TEXT`, `env:VAR` or `file:PATH` (first line), as OpenSSL's -secret takes them. */
export function secretArg(spec: string): string {
  if (spec.startsWith("pass:")) return spec.slice(5);
  if (spec.startsWith("env:")) {
    const v = process.env[spec.slice(4)];
    if (v === undefined) throw new Error(`environment variable ${spec.slice(4)} is not set`);
    return v;
  }
  if (spec.startsWith("file:")) return readFileSync(spec.slice(5), "utf8").split(/\r?\n/)[0];
  throw new Error(`secret must be pass:, env: or file:, not "${spec.split(":")[0]}:"`);
}
