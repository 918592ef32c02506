// Reading and writing the host's files: certificates and keys as PEM or DER, names and SANs given
// on the command line, with the conversions the core expects (DER certificates, DER Names,
// DER GeneralNames, 32-byte P-256 private scalars).
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isIPv4, isIPv6 } from "node:net";
import { der, oidDer } from "./der.js";

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
    key = typeof data === "string" || data.includes("-----BEGIN ") ? createPrivateKey({ key: data, passphrase: pass }) : tryDer(data, pass);
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
    kty: "EC",
    crv: "P-256",
    d: Buffer.from(d).toString("base64url"),
    x: Buffer.from(publicKey.subarray(1, 33)).toString("base64url"),
    y: Buffer.from(publicKey.subarray(33, 65)).toString("base64url"),
  };
  const pem = createPrivateKey({ key: jwk, format: "jwk" }).export({ format: "pem", type: "pkcs8" });
  writeFileSync(file, pem, { mode: 0o600 });
}

export function toPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** Certificates to a PEM file (several concatenated). */
export function writeCerts(file: string, certs: Uint8Array[]): void {
  writeFileSync(file, certs.map((c) => toPem(c)).join(""));
}

/** Attribute types by the names OpenSSL knows (short and long, matched case-insensitively) with
 *  the string type OpenSSL encodes them as (RFC 5280 4.1.2.4 and appendix A, RFC 4519, PKCS #9). */
const ATTRIBUTES: [string[], string, "utf8" | "printable" | "ia5"][] = [
  [["C", "countryName"], "2.5.4.6", "printable"],
  [["ST", "stateOrProvinceName", "S"], "2.5.4.8", "utf8"],
  [["L", "localityName"], "2.5.4.7", "utf8"],
  [["O", "organizationName"], "2.5.4.10", "utf8"],
  [["OU", "organizationalUnitName"], "2.5.4.11", "utf8"],
  [["CN", "commonName"], "2.5.4.3", "utf8"],
  [["serialNumber"], "2.5.4.5", "printable"],
  [["SN", "surname"], "2.5.4.4", "utf8"],
  [["GN", "givenName"], "2.5.4.42", "utf8"],
  [["title"], "2.5.4.12", "utf8"],
  [["initials"], "2.5.4.43", "utf8"],
  [["generationQualifier"], "2.5.4.44", "utf8"],
  [["dnQualifier"], "2.5.4.46", "printable"],
  [["pseudonym"], "2.5.4.65", "utf8"],
  [["street", "streetAddress"], "2.5.4.9", "utf8"],
  [["postalCode"], "2.5.4.17", "utf8"],
  [["postOfficeBox"], "2.5.4.18", "utf8"],
  [["businessCategory"], "2.5.4.15", "utf8"],
  [["description"], "2.5.4.13", "utf8"],
  [["name"], "2.5.4.41", "utf8"],
  [["role"], "2.5.4.72", "utf8"],
  [["telephoneNumber"], "2.5.4.20", "utf8"],
  [["organizationIdentifier"], "2.5.4.97", "utf8"],
  [["emailAddress", "E"], "1.2.840.113549.1.9.1", "ia5"],
  [["unstructuredName"], "1.2.840.113549.1.9.2", "utf8"],
  [["UID", "userId"], "0.9.2342.19200300.100.1.1", "utf8"],
  [["DC", "domainComponent"], "0.9.2342.19200300.100.1.25", "ia5"],
  [["jurisdictionL", "jurisdictionLocalityName"], "1.3.6.1.4.1.311.60.2.1.1", "utf8"],
  [["jurisdictionST", "jurisdictionStateOrProvinceName"], "1.3.6.1.4.1.311.60.2.1.2", "utf8"],
  [["jurisdictionC", "jurisdictionCountryName"], "1.3.6.1.4.1.311.60.2.1.3", "printable"],
];
const ATTRIBUTE_BY_NAME = new Map(ATTRIBUTES.flatMap(([names, oid, type]) => names.map((n) => [n.toLowerCase(), { oid, type }] as const)));

/** One AttributeTypeAndValue (RFC 5280 4.1.2.4) from `type=value` as OpenSSL takes it. */
function atv(type: string, value: string, whole: string): Uint8Array {
  const known = ATTRIBUTE_BY_NAME.get(type.toLowerCase());
  const oid = known?.oid ?? (/^\d+(\.\d+)+$/.test(type) ? type : undefined);
  if (!oid) throw new Error(`unknown attribute type "${type}" in name "${whole}"`);
  const kind = known?.type ?? "utf8";
  if (kind === "printable" && !/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) throw new Error(`${type} "${value}" is not a PrintableString`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5String is the ASCII range 0x00-0x7f, controls included
  if (kind === "ia5" && !/^[\x00-\x7f]*$/.test(value)) throw new Error(`${type} "${value}" is not ASCII (IA5String)`);
  if (oid === "2.5.4.6" && value.length !== 2) throw new Error(`country "${value}" is not a two-letter code`);
  const tag = kind === "printable" ? 0x13 : kind === "ia5" ? 0x16 : 0x0c;
  return der(0x30, oidDer(oid), der(tag, new Uint8Array(Buffer.from(value, "utf8"))));
}

/** Splits at unescaped `sep`; a backslash escapes any character (as OpenSSL's parse_name). */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && i + 1 < s.length) cur += s[i] + s[++i];
    else if (s[i] === sep) {
      parts.push(cur);
      cur = "";
    } else cur += s[i];
  }
  parts.push(cur);
  return parts;
}
const unescapeValue = (s: string) => s.replace(/\\(.)/g, "$1");

/** A distinguished name in OpenSSL's `/type0=value0/type1=value1+type2=value2` form (`+` joins
 *  the attributes of one multi-valued RDN, `\` escapes) or RFC 4514's `CN=x, O=y`, as DER. */
export function nameDer(name: string): Uint8Array {
  const text = name.trim();
  if (!text.startsWith("/")) return rfc4514Name(text);
  const rdns: Uint8Array[] = [];
  for (const rdn of splitEscaped(text.slice(1), "/")) {
    if (rdn === "") continue;
    const atvs: Uint8Array[] = [];
    for (const part of splitEscaped(rdn, "+")) {
      const eq = part.indexOf("=");
      if (eq < 1) throw new Error(`bad name component "${part}" in "${name}": use /type=value`);
      const value = unescapeValue(part.slice(eq + 1));
      if (value === "") continue; // OpenSSL skips an attribute without a value
      atvs.push(atv(unescapeValue(part.slice(0, eq)), value, name));
    }
    if (atvs.length === 0) continue;
    // SET OF in DER: elements in ascending order of their encodings (X.690 11.6)
    atvs.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    rdns.push(der(0x31, ...atvs));
  }
  return der(0x30, ...rdns);
}

/** RFC 4514 names through @peculiar/x509, loaded only here: a CLI call that does not need it
 *  starts without it. */
function rfc4514Name(text: string): Uint8Array {
  const require = createRequire(import.meta.url);
  require("reflect-metadata");
  const x509 = require("@peculiar/x509") as typeof import("@peculiar/x509");
  return new Uint8Array(new x509.Name(text).toArrayBuffer());
}

/** The 16 octets of an IPv6 address (RFC 4291 2.2), an embedded IPv4 tail included. */
function ipv6Bytes(v: string): number[] {
  let text = v;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(v);
  if (tail) {
    const b = tail[1].split(".").map(Number);
    text = `${v.slice(0, -tail[1].length)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, rest] = text.split("::");
  const h = head ? head.split(":") : [],
    r = rest !== undefined && rest !== "" ? rest.split(":") : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill("0"), ...r];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** SubjectAltName entries like `openssl cmp -sans`: DNS names, IP addresses, URIs (with "://"),
 *  e-mail addresses (with "@"), separated by spaces or commas. DER GeneralNames (RFC 5280 4.2.1.6). */
export function sansDer(sans: string): Uint8Array {
  const names = sans
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((v) => {
      if (isIPv4(v)) return der(0x87, new Uint8Array(v.split(".").map(Number))); // iPAddress [7]
      if (isIPv6(v)) return der(0x87, new Uint8Array(ipv6Bytes(v)));
      const ascii = new Uint8Array(Buffer.from(v, "latin1"));
      if (!/^[\x21-\x7e]+$/.test(v)) throw new Error(`-sans entry "${v}" is not ASCII`);
      if (v.includes("://")) return der(0x86, ascii); // uniformResourceIdentifier [6]
      if (v.includes("@")) return der(0x81, ascii); // rfc822Name [1]
      return der(0x82, ascii); // dNSName [2]
    });
  return der(0x30, ...names);
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
