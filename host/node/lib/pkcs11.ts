// Keys in a PKCS#11 token (a smart card, an HSM, SoftHSM) as Signers of the Device API: the core
// asks the host to sign (env.sign, docs/ABI.md "Host signer") and the key never leaves the token.
// Keys are named by RFC 7512 `pkcs11:` URIs; the query attributes module-path and pin-value
// (RFC 7512 2.3) make one URI all a script needs:
//   pkcs11:token=dev;object=idevid?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234
import { createPublicKey } from "node:crypto";
import { createRequire } from "node:module";
import { SIGN_ECDSA_P256, SIGN_ECDSA_P384, SIGN_ED25519, SIGN_RSA_PKCS1, SIGN_RSA_PSS } from "./core.js";
import type { Signer } from "./device.js";

/** A parsed `pkcs11:` URI (RFC 7512 2.3): path attributes and query attributes, pct-decoded. */
export interface Pkcs11Uri { path: Record<string, string>; query: Record<string, string> }

/** Key types a token may generate for `-newkey` (query attribute x-key-type; default P-256). */
export const PKCS11_KEY_TYPES = ["P-256", "P-384", "RSA-2048", "RSA-3072", "Ed25519"] as const;
export type Pkcs11KeyType = (typeof PKCS11_KEY_TYPES)[number];

/** Thrown for every failure of the provider, with the PKCS#11 function and return value. */
export class Pkcs11Error extends Error {}

const PATH_ATTRS = new Set(["token", "manufacturer", "serial", "model", "library-manufacturer", "library-description",
  "library-version", "object", "type", "id", "slot-description", "slot-manufacturer", "slot-id"]);
const QUERY_ATTRS = new Set(["module-path", "module-name", "pin-value", "pin-source", "x-key-type"]);

function pctDecode(v: string, uri: string): string {
  try { return decodeURIComponent(v); } catch { throw new Pkcs11Error(`${redact(uri)}: bad percent-encoding in "${v}"`); }
}

/** The URI with its pin-value hidden, for messages. */
export function redact(uri: string): string {
  return uri.replace(/(pin-value=)[^&]*/g, "$1***");
}

/** Parses a `pkcs11:` URI; unknown attributes are refused (RFC 7512 2.3 lets a consumer refuse
 *  what it does not understand, and a typo must not name another key). */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!uri.startsWith("pkcs11:")) throw new Pkcs11Error(`not a pkcs11: URI: ${redact(uri)}`);
  const [p, q = ""] = uri.slice(7).split("?", 2);
  const out: Pkcs11Uri = { path: {}, query: {} };
  for (const [part, sep, known, into] of [[p, ";", PATH_ATTRS, out.path], [q, "&", QUERY_ATTRS, out.query]] as const) {
    for (const kv of part.split(sep)) {
      if (!kv) continue;
      const i = kv.indexOf("=");
      if (i <= 0) throw new Pkcs11Error(`${redact(uri)}: attribute without a value: "${kv}"`);
      const k = kv.slice(0, i).toLowerCase();
      if (!known.has(k)) throw new Pkcs11Error(`${redact(uri)}: unknown attribute "${k}"`);
      if (k in into) throw new Pkcs11Error(`${redact(uri)}: attribute "${k}" given twice`);
      into[k] = pctDecode(kv.slice(i + 1), uri);
    }
  }
  if (out.path.type !== undefined && out.path.type !== "private") throw new Pkcs11Error(`${redact(uri)}: type must be private (a key that signs)`);
  if (!out.path.object && out.path.id === undefined) throw new Pkcs11Error(`${redact(uri)}: names no key: give object= (label) or id=`);
  return out;
}

// pkcs11js is loaded on first use: hosts that never name a token do not need the native module.
let P: any;
function lib(): any {
  if (!P) {
    try { P = createRequire(import.meta.url)("pkcs11js"); } catch (e) {
      throw new Pkcs11Error(`PKCS#11 support needs the npm package pkcs11js (${(e as Error).message})`);
    }
  }
  return P;
}

const CKK_EC_EDWARDS = 0x40, CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055, CKM_EDDSA = 0x1057;
const OID_P256 = Buffer.from("06082a8648ce3d030107", "hex"), OID_P384 = Buffer.from("06052b81040022", "hex");
const OID_ED25519 = Buffer.from("06032b6570", "hex");
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex"); // RFC 8017 9.2 note 1

// Loaded modules, by path: one C_Initialize each, C_Finalize at exit.
const modules = new Map<string, any>();
function openModule(path: string): any {
  let m = modules.get(path);
  if (m) return m;
  const p = lib();
  m = new p.PKCS11();
  try { m.load(path); } catch (e) { throw new Pkcs11Error(`cannot load PKCS#11 module ${path}: ${(e as Error).message}`); }
  try { m.C_Initialize(); } catch (e) { throw pk(e, "C_Initialize"); }
  if (modules.size === 0) process.once("exit", closeAll);
  modules.set(path, m);
  return m;
}

/** Logs out, closes every session and finalizes every module the provider opened. */
export function closeAll(): void {
  for (const m of modules.values()) {
    try { m.C_Finalize(); } catch { /* already gone */ }
    try { m.close(); } catch { /* ignore */ }
  }
  modules.clear();
}

function pk(e: unknown, fn: string): Pkcs11Error {
  const msg = (e as Error).message ?? String(e);
  return new Pkcs11Error(msg.includes(fn) ? `PKCS#11 ${msg}` : `PKCS#11 ${fn}: ${msg}`);
}

const trimmed = (s: string) => s.replace(/[\s\0]+$/, "");

// DER helpers for the SubjectPublicKeyInfo of EC/Ed25519 keys.
function derLen(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
}
const tlv = (tag: number, v: Buffer) => Buffer.concat([Buffer.from([tag]), derLen(v.length), v]);
// CKA_EC_POINT is a DER OCTET STRING (PKCS#11 2.40 2.3.3); some tokens give the raw point
function unwrapPoint(v: Buffer): Buffer {
  if (v[0] === 0x04 && v.length > 2) {
    const n = v[1] < 0x80 ? v[1] : v[1] === 0x81 ? v[2] : -1;
    const h = v[1] < 0x80 ? 2 : 3;
    if (n === v.length - h) return v.subarray(h);
  }
  return v;
}

/** A key in a token, opened from its URI. */
export class Pkcs11Signer implements Signer {
  private readonly m: any;
  private readonly session: any;
  private readonly key: any;
  private readonly spki: Uint8Array;
  readonly keyType: Pkcs11KeyType;

  /** Opens the token and finds the private key the URI names. With `generate` (ir/cr/kur/p10cr
   *  `-newkey`), a key pair is made in the token when none matches: label object, CKA_ID id,
   *  type x-key-type (default P-256), sensitive and never extractable. */
  constructor(readonly uri: string, opts: { generate?: boolean } = {}) {
    const u = parsePkcs11Uri(uri);
    const path = u.query["module-path"];
    if (!path) throw new Pkcs11Error(`${redact(uri)}: module-path= is needed (the PKCS#11 library)`);
    const p = lib();
    const m = (this.m = openModule(path));
    const slot = this.findSlot(u);
    try { this.session = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION); } catch (e) { throw pk(e, "C_OpenSession"); }
    const pin = u.query["pin-value"];
    if (pin !== undefined) {
      try { m.C_Login(this.session, p.CKU_USER, pin); } catch (e) {
        if (!/CKR_USER_ALREADY_LOGGED_IN/.test((e as Error).message)) { this.close(); throw pk(e, "C_Login"); }
      }
    }
    const want: any[] = [];
    if (u.path.object !== undefined) want.push({ type: p.CKA_LABEL, value: Buffer.from(u.path.object) });
    if (u.path.id !== undefined) want.push({ type: p.CKA_ID, value: Buffer.from(u.path.id, "latin1") });
    let key = this.find([{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }, ...want]);
    let pub = this.find([{ type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY }, ...want]);
    if (key === undefined && opts.generate) {
      const t = (u.query["x-key-type"] ?? "P-256") as Pkcs11KeyType;
      if (!PKCS11_KEY_TYPES.includes(t)) { this.close(); throw new Pkcs11Error(`${redact(uri)}: x-key-type must be one of ${PKCS11_KEY_TYPES.join(", ")}`); }
      ({ key, pub } = this.generate(t, want));
    }
    if (key === undefined) { this.close(); throw new Pkcs11Error(`${redact(uri)}: no private key in the token matches`); }
    if (pub === undefined) { this.close(); throw new Pkcs11Error(`${redact(uri)}: no public key object beside the private key (needed for its SubjectPublicKeyInfo)`); }
    this.key = key;
    ({ spki: this.spki, type: this.keyType } = this.publicKeyInfo(pub));
  }

  private findSlot(u: Pkcs11Uri): any {
    let slots: any[];
    try { slots = this.m.C_GetSlotList(true); } catch (e) { throw pk(e, "C_GetSlotList"); }
    for (const s of slots) {
      const t = this.m.C_GetTokenInfo(s);
      if (u.path.token !== undefined && trimmed(t.label) !== u.path.token) continue;
      if (u.path.serial !== undefined && trimmed(t.serialNumber) !== u.path.serial) continue;
      if (u.path.model !== undefined && trimmed(t.model) !== u.path.model) continue;
      if (u.path.manufacturer !== undefined && trimmed(t.manufacturerID) !== u.path.manufacturer) continue;
      return s;
    }
    throw new Pkcs11Error(`${redact(this.uri)}: no token present matches`);
  }

  private find(template: any[]): any {
    try {
      this.m.C_FindObjectsInit(this.session, template);
      const found = this.m.C_FindObjects(this.session, 2);
      this.m.C_FindObjectsFinal(this.session);
      if (found.length > 1) throw new Pkcs11Error(`${redact(this.uri)}: more than one key matches; give object= and id=`);
      return found[0];
    } catch (e) {
      if (e instanceof Pkcs11Error) throw e;
      throw pk(e, "C_FindObjects");
    }
  }

  private generate(t: Pkcs11KeyType, want: any[]): { key: any; pub: any } {
    const p = lib();
    const common = [{ type: p.CKA_TOKEN, value: true }, ...want];
    const priv = [...common, { type: p.CKA_PRIVATE, value: true }, { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false }, { type: p.CKA_SIGN, value: true }];
    const pubT = [...common, { type: p.CKA_VERIFY, value: true }];
    let mech: number;
    if (t.startsWith("RSA")) {
      mech = p.CKM_RSA_PKCS_KEY_PAIR_GEN;
      pubT.push({ type: p.CKA_MODULUS_BITS, value: Number(t.slice(4)) }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
    } else {
      mech = t === "Ed25519" ? CKM_EC_EDWARDS_KEY_PAIR_GEN : p.CKM_EC_KEY_PAIR_GEN;
      pubT.push({ type: p.CKA_EC_PARAMS, value: t === "P-256" ? OID_P256 : t === "P-384" ? OID_P384 : OID_ED25519 });
    }
    try {
      const kp = this.m.C_GenerateKeyPair(this.session, { mechanism: mech }, pubT, priv);
      return { key: kp.privateKey, pub: kp.publicKey };
    } catch (e) { throw pk(e, "C_GenerateKeyPair"); }
  }

  private publicKeyInfo(pub: any): { spki: Uint8Array; type: Pkcs11KeyType } {
    const p = lib();
    const get = (type: number): Buffer => this.m.C_GetAttributeValue(this.session, pub, [{ type }])[0].value as Buffer;
    const kt = get(p.CKA_KEY_TYPE).readUInt32LE(0);
    if (kt === p.CKK_RSA) {
      const n = get(p.CKA_MODULUS), e = get(p.CKA_PUBLIC_EXPONENT);
      const spki = createPublicKey({ key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") }, format: "jwk" })
        .export({ format: "der", type: "spki" });
      const bits = n.length * 8;
      return { spki: new Uint8Array(spki), type: bits === 3072 ? "RSA-3072" : "RSA-2048" };
    }
    const params = get(p.CKA_EC_PARAMS), point = unwrapPoint(get(p.CKA_EC_POINT));
    if (kt === CKK_EC_EDWARDS || params.equals(OID_ED25519)) {
      const alg = tlv(0x30, OID_ED25519);
      return { spki: new Uint8Array(tlv(0x30, Buffer.concat([alg, tlv(0x03, Buffer.concat([Buffer.from([0]), point]))]))), type: "Ed25519" };
    }
    const curve = params.equals(OID_P256) ? "P-256" : params.equals(OID_P384) ? "P-384" : undefined;
    if (!curve) throw new Pkcs11Error(`${redact(this.uri)}: key of a curve this host does not sign with`);
    const alg = tlv(0x30, Buffer.concat([Buffer.from("06072a8648ce3d0201", "hex"), params]));
    return { spki: new Uint8Array(tlv(0x30, Buffer.concat([alg, tlv(0x03, Buffer.concat([Buffer.from([0]), point]))]))), type: curve };
  }

  publicKey(): Uint8Array {
    return this.spki;
  }

  /** Signs for env.sign (docs/ABI.md "Host signer"): ECDSA CKM_ECDSA over the digest (r || s),
   *  RSA CKM_RSA_PKCS over DigestInfo || digest or CKM_RSA_PKCS_PSS (SHA-256, MGF1-SHA256, salt
   *  32) over the digest, Ed25519 CKM_EDDSA over the message. Throws Pkcs11Error on failure (the
   *  core then ends with E_SIGNER). */
  sign(alg: number, input: Uint8Array): Uint8Array {
    const p = lib();
    let mech: any, data = Buffer.from(input);
    if (alg === SIGN_ECDSA_P256 || alg === SIGN_ECDSA_P384) mech = { mechanism: p.CKM_ECDSA };
    else if (alg === SIGN_RSA_PKCS1) { mech = { mechanism: p.CKM_RSA_PKCS }; data = Buffer.concat([SHA256_DIGEST_INFO, data]); }
    else if (alg === SIGN_RSA_PSS) {
      mech = { mechanism: p.CKM_RSA_PKCS_PSS, parameter: { type: p.CK_PARAMS_RSA_PSS, hashAlg: p.CKM_SHA256, mgf: p.CKG_MGF1_SHA256, saltLen: 32 } };
    } else if (alg === SIGN_ED25519) mech = { mechanism: CKM_EDDSA };
    else throw new Pkcs11Error(`signing algorithm ${alg} unknown`);
    try {
      this.m.C_SignInit(this.session, mech, this.key);
      return new Uint8Array(this.m.C_Sign(this.session, data, Buffer.alloc(1024)));
    } catch (e) { throw pk(e, "C_Sign"); }
  }

  /** Closes the session (logging out with it). */
  close(): void {
    try { this.m.C_CloseSession(this.session); } catch { /* already closed */ }
  }
}
