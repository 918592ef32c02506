// Certificate extensions from sections of an OpenSSL configuration file, as `openssl cmp -reqexts`
// and `-policies` read them (x509v3_config(5)): each `name = [critical,]value` line of the section
// is one Extension (RFC 5280 4.1), encoded as OpenSSL 3.0 encodes it. The extensions a device
// requests: subjectAltName (4.2.1.6), keyUsage (4.2.1.3), extendedKeyUsage (4.2.1.12),
// basicConstraints (4.2.1.9), certificatePolicies (4.2.1.4), and any other by `OID = DER:hex`.
import { isIP } from "node:net";
import type { Conf } from "./opensslconf";
import { der, oidDer } from "../lib/der";
import { nameDer } from "../lib/files";

export const OID_SAN = "2.5.29.17",
  OID_POLICIES = "2.5.29.32";

/** Extension { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 4.1). */
export function extensionDer(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return der(0x30, oidDer(oid), critical ? Uint8Array.of(0x01, 0x01, 0xff) : new Uint8Array(0), der(0x04, value));
}

/** certificatePolicies of bare policy OIDs (`-policy_oids`): PolicyInformation { policyIdentifier }. */
export function policiesDer(oids: string[]): Uint8Array {
  return der(0x30, ...oids.map((o) => der(0x30, oidDer(o))));
}

const KEY_USAGE = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];
const EKU: Record<string, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  OCSPSigning: "1.3.6.1.5.5.7.3.9",
  ipsecIKE: "1.3.6.1.5.5.7.3.17",
  cmcCA: "1.3.6.1.5.5.7.3.27",
  cmcRA: "1.3.6.1.5.5.7.3.28",
  cmKGA: "1.3.6.1.5.5.7.3.32",
  anyExtendedKeyUsage: "2.5.29.37.0",
};
const EXTENSIONS: Record<string, string> = {
  subjectAltName: OID_SAN,
  keyUsage: "2.5.29.15",
  extendedKeyUsage: "2.5.29.37",
  basicConstraints: "2.5.29.19",
  certificatePolicies: OID_POLICIES,
};
const ID_QT_CPS = "1.3.6.1.5.5.7.2.1";

const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const ia5 = (tag: number, v: string, what: string) => {
  if (!/^[\x20-\x7e]+$/.test(v)) throw new Error(`${what} "${v}" is not printable ASCII (IA5String)`);
  return der(tag, new Uint8Array(Buffer.from(v, "latin1")));
};

/** The section a `@name` value refers to. */
function sectionOf(conf: Conf, ref: string, where: string): Map<string, string> {
  const s = conf.get(ref.slice(1).trim());
  if (!s) throw new Error(`${where}: no section [${ref.slice(1).trim()}] in the -config file`);
  return s;
}

/** The type of a `TYPE.n = value` line of a section (OpenSSL cuts at the first '.'). */
const typeOf = (name: string) => name.split(".")[0];

/** A Name from a section of `type = value` lines (dirName:), in order; `n.type` allows repeats and
 *  a `+` before the type joins the previous RDN, as OpenSSL's X509V3_NAME_from_section. */
function sectionName(conf: Conf, section: string, where: string): Uint8Array {
  const s = sectionOf(conf, `@${section}`, where);
  const esc = (v: string) => v.replace(/[\\/+]/g, (c) => `\\${c}`);
  let text = "";
  for (const [k, v] of s) {
    const type = /^[^.,:]*[.,:](.+)$/.exec(k)?.[1] ?? k; // "1.OU" -> "OU"
    text += type.startsWith("+") ? `+${type.slice(1)}=${esc(v)}` : `/${type}=${esc(v)}`;
  }
  return nameDer(text);
}

/** One GeneralName (RFC 5280 4.2.1.6) from `TYPE:value` (x509v3_config "Subject Alternative Name"). */
function generalName(conf: Conf, type: string, v: string, where: string): Uint8Array {
  switch (type) {
    case "DNS":
      return ia5(0x82, v, "DNS");
    case "email":
      if (v === "copy" || v === "move") throw new Error(`${where}: email:${v} is not supported (give the address)`);
      return ia5(0x81, v, "email");
    case "URI":
      return ia5(0x86, v, "URI");
    case "RID":
      return der(0x88, oidDer(v).subarray(2));
    case "IP": {
      const fam = isIP(v);
      if (fam === 4) return der(0x87, new Uint8Array(v.split(".").map(Number)));
      if (fam === 6) return der(0x87, ipv6(v));
      throw new Error(`${where}: IP:${v} is not an IPv4 or IPv6 address`);
    }
    case "dirName":
      return der(0xa4, sectionName(conf, v, where));
    default:
      throw new Error(`${where}: subjectAltName type ${type}: is not supported (DNS, IP, email, URI, RID, dirName)`);
  }
}

function ipv6(v: string): Uint8Array {
  const [head, tail] = v.includes("::") ? v.split("::") : [v, undefined];
  const words = (s: string) =>
    (s ? s.split(":") : []).flatMap((w) =>
      w.includes(".") ? [((+w.split(".")[0] << 8) | +w.split(".")[1]).toString(16), ((+w.split(".")[2] << 8) | +w.split(".")[3]).toString(16)] : [w],
    );
  const h = words(head),
    t = tail === undefined ? [] : words(tail);
  const all = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return new Uint8Array(all.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]));
}

/** subjectAltName: `TYPE:value` items and `@section`s of `TYPE.n = value` lines. */
function sanValue(conf: Conf, v: string, where: string): Uint8Array {
  const names: Uint8Array[] = [];
  for (const item of list(v)) {
    if (item.startsWith("@")) {
      for (const [k, val] of sectionOf(conf, item, where)) names.push(generalName(conf, typeOf(k), val, where));
      continue;
    }
    const i = item.indexOf(":");
    if (i < 0) throw new Error(`${where}: subjectAltName item "${item}" is not TYPE:value`);
    names.push(generalName(conf, item.slice(0, i), item.slice(i + 1), where));
  }
  if (names.length === 0) throw new Error(`${where}: subjectAltName is empty`);
  return der(0x30, ...names);
}

/** keyUsage: named bits as a DER BIT STRING, trailing zero bits removed (X.690 11.2.2). */
function keyUsageValue(v: string, where: string): Uint8Array {
  let bits = 0;
  for (const n of list(v)) {
    const i = KEY_USAGE.indexOf(n);
    if (i < 0) throw new Error(`${where}: keyUsage ${n}: not one of ${KEY_USAGE.join(", ")}`);
    bits |= 1 << i;
  }
  if (bits === 0) throw new Error(`${where}: keyUsage is empty`);
  const top = 31 - Math.clz32(bits); // highest bit number set
  const bytes = top < 8 ? 1 : 2;
  const unused = bytes * 8 - 1 - top;
  const out = [0, 0].slice(0, bytes);
  for (let i = 0; i <= top; i++) if (bits & (1 << i)) out[i >> 3] |= 0x80 >> (i & 7);
  return der(0x03, Uint8Array.of(unused, ...out));
}

function basicConstraintsValue(v: string, where: string): Uint8Array {
  let ca = false,
    pathLen: number | undefined;
  for (const item of list(v)) {
    const [k, val] = item.split(":").map((s) => s.trim());
    if (k === "CA" && /^(TRUE|true|Y|y|YES|yes)$/.test(val)) ca = true;
    else if (k === "CA" && /^(FALSE|false|N|n|NO|no)$/.test(val)) ca = false;
    else if (k === "pathlen" && /^\d{1,9}$/.test(val)) pathLen = Number(val);
    else throw new Error(`${where}: basicConstraints ${item}: use CA:TRUE|FALSE, pathlen:N`);
  }
  const parts: Uint8Array[] = [ca ? Uint8Array.of(0x01, 0x01, 0xff) : new Uint8Array(0)];
  if (pathLen !== undefined) parts.push(intDer(BigInt(pathLen)));
  return der(0x30, ...parts);
}

/** DER INTEGER of a signed value, minimal two's complement (X.690 8.3). */
export function intDer(n: bigint): Uint8Array {
  const out: number[] = [];
  for (let v = n; ; v >>= 8n) {
    out.unshift(Number(v & 0xffn));
    if (v >= -128n && v <= 127n) break;
  }
  return der(0x02, new Uint8Array(out));
}

/** certificatePolicies: policy OIDs and `@section`s with policyIdentifier and CPS.n URIs
 *  (PolicyQualifierInfo id-qt-cps, RFC 5280 4.2.1.4). */
function policiesValue(conf: Conf, v: string, where: string): Uint8Array {
  const infos: Uint8Array[] = [];
  for (const item of list(v)) {
    if (item === "ia5org") continue; // affects only userNotice organization, which is refused below
    if (!item.startsWith("@")) {
      infos.push(der(0x30, oidDer(policyOid(item))));
      continue;
    }
    let id: Uint8Array | undefined;
    const qualifiers: Uint8Array[] = [];
    for (const [k, val] of sectionOf(conf, item, where)) {
      const t = typeOf(k);
      if (t === "policyIdentifier") id = oidDer(policyOid(val));
      else if (t === "CPS") qualifiers.push(der(0x30, oidDer(ID_QT_CPS), ia5(0x16, val, "CPS")));
      else throw new Error(`${where}: certificatePolicies ${k}: is not supported (policyIdentifier, CPS.n)`);
    }
    if (!id) throw new Error(`${where}: certificatePolicies section ${item} has no policyIdentifier`);
    infos.push(der(0x30, id, ...(qualifiers.length ? [der(0x30, ...qualifiers)] : [])));
  }
  if (infos.length === 0) throw new Error(`${where}: certificatePolicies is empty`);
  return der(0x30, ...infos);
}

const policyOid = (v: string) => (v === "anyPolicy" ? "2.5.29.32.0" : v);

/** The extnValue of one `name = value` line. */
function extensionValue(conf: Conf, name: string, v: string, where: string): Uint8Array {
  if (v.startsWith("DER:")) {
    const hex = v.slice(4).replace(/:/g, "");
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new Error(`${where}: ${name} = DER:${v.slice(4)}: not hex bytes`);
    return new Uint8Array(Buffer.from(hex, "hex"));
  }
  switch (name) {
    case "subjectAltName":
      return sanValue(conf, v, where);
    case "keyUsage":
      return keyUsageValue(v, where);
    case "extendedKeyUsage": {
      const oids = list(v).map((n) => EKU[n] ?? n);
      if (oids.length === 0) throw new Error(`${where}: extendedKeyUsage is empty`);
      return der(
        0x30,
        ...oids.map((o) => {
          try {
            return oidDer(o);
          } catch {
            throw new Error(`${where}: extendedKeyUsage ${o}: not one of ${Object.keys(EKU).join(", ")} or a dotted OID`);
          }
        }),
      );
    }
    case "basicConstraints":
      return basicConstraintsValue(v, where);
    case "certificatePolicies":
      return policiesValue(conf, v, where);
    default:
      throw new Error(`${where}: ${name} is not supported (${Object.keys(EXTENSIONS).join(", ")}, or OID = DER:hex)`);
  }
}

export interface Extension {
  oid: string;
  der: Uint8Array;
}

/** The extensions of `section`, appended to `exts`; an extension already there is replaced and
 *  moves to the end (OpenSSL's X509V3_CTX_REPLACE, as `openssl cmp` loads -reqexts and -policies). */
export function sectionExtensions(conf: Conf, section: string, option: string, exts: Extension[] = []): Extension[] {
  const s = conf.get(section);
  if (!s) throw new Error(`${option} ${section}: no such section in the -config file`);
  for (const [name, raw] of s) {
    const where = `${option} [${section}] ${name}`;
    const oid = EXTENSIONS[name] ?? (/^[0-2](\.\d+)+$/.test(name) ? name : undefined);
    if (!oid) throw new Error(`${where}: is not supported (${Object.keys(EXTENSIONS).join(", ")}, or OID = DER:hex)`);
    const m = /^critical,\s*/.exec(raw);
    const v = m ? raw.slice(m[0].length) : raw;
    if (oid === name && !v.startsWith("DER:")) throw new Error(`${where}: an extension named by OID takes DER:hex`);
    const value = extensionValue(conf, name, v, where);
    const i = exts.findIndex((e) => e.oid === oid);
    if (i >= 0) exts.splice(i, 1);
    exts.push({ oid, der: extensionDer(oid, m !== null, value) });
  }
  return exts;
}
