// Keys in a PKCS#11 token (a smart card, an HSM, SoftHSM) as Signers of the Device API: the core
// asks the host to sign (env.sign, docs/ABI.md "Host signer") and the key never leaves the token.
// Keys are named by RFC 7512 `pkcs11:` URIs; the query attributes module-path and pin-value
// (RFC 7512 2.3) make one URI all a script needs:
//   pkcs11:token=dev;object=idevid?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234
import { createPublicKey, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { SIGN_ECDSA_P256, SIGN_ECDSA_P384, SIGN_ED25519, SIGN_RSA_PKCS1, SIGN_RSA_PSS } from "./core.js";
import type { Signer } from "./device.js";

/** A parsed `pkcs11:` URI (RFC 7512 2.3): path attributes and query attributes, pct-decoded. */
export interface Pkcs11Uri {
  path: Record<string, string>;
  query: Record<string, string>;
}

/** Key types a token may generate for `-newkey` (query attribute x-key-type; default P-256). */
export const PKCS11_KEY_TYPES = ["P-256", "P-384", "RSA-2048", "RSA-3072", "Ed25519"] as const;
export type Pkcs11KeyType = (typeof PKCS11_KEY_TYPES)[number];

/** Thrown for every failure of the provider, with the PKCS#11 function and return value. */
export class Pkcs11Error extends Error {}

const PATH_ATTRS = new Set([
  "token",
  "manufacturer",
  "serial",
  "model",
  "library-manufacturer",
  "library-description",
  "library-version",
  "object",
  "type",
  "id",
  "slot-description",
  "slot-manufacturer",
  "slot-id",
]);
const QUERY_ATTRS = new Set(["module-path", "module-name", "pin-value", "pin-source", "x-key-type"]);

// RFC 7512 2.3: values are percent-encoded bytes; id is any bytes (kept as a latin1 string),
// the others UTF-8 text.
function pctDecode(v: string, uri: string, name: string, bytes: boolean): string {
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== "%") {
      out.push(...Buffer.from(v[i]));
      continue;
    }
    const h = v.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Pkcs11Error(`${redact(uri)}: bad percent-encoding in ${name}`);
    out.push(parseInt(h, 16));
    i += 2;
  }
  return Buffer.from(out).toString(bytes ? "latin1" : "utf8");
}

/** The URI with its pin-value hidden, for messages. */
export function redact(uri: string): string {
  return uri.replace(/(pin-value=)[^&]*/g, "$1***");
}

/** The PIN of a URI: pin-value, else the file pin-source names (RFC 7512 2.3: a file: URI or an
 *  absolute path; the file's first line); undefined when the URI gives none. */
export function uriPin(u: Pkcs11Uri, uri: string): string | undefined {
  if (u.query["pin-value"] !== undefined) return u.query["pin-value"];
  const src = u.query["pin-source"];
  if (src === undefined) return undefined;
  let file: string;
  try {
    file = src.startsWith("file:") ? fileURLToPath(src) : src;
  } catch {
    file = "";
  }
  if (!file.startsWith("/")) throw new Pkcs11Error(`${redact(uri)}: pin-source must be a file: URI or an absolute path`);
  try {
    return readFileSync(file, "utf8").split(/\r?\n/)[0];
  } catch (e) {
    throw new Pkcs11Error(`${redact(uri)}: cannot read the PIN from ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const pct = (v: string) =>
  [...Buffer.from(v, "latin1")]
    .map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : "%" + b.toString(16).padStart(2, "0")))
    .join("");

/** The URI that names the key and nothing secret: its path attributes and module-path (no
 *  pin-value, pin-source, x-key-type), as a credential store keeps it (docs/STORE.md). */
export function keyReference(u: Pkcs11Uri): string {
  const path = Object.entries(u.path)
    .map(([k, v]) => `${k}=${k === "id" ? pct(v) : encodeURIComponent(v)}`)
    .join(";");
  const mod = u.query["module-path"];
  return `pkcs11:${path}${mod !== undefined ? `?module-path=${encodeURIComponent(mod).replace(/%2F/g, "/")}` : ""}`;
}

/** Parses a `pkcs11:` URI; unknown attributes are refused (RFC 7512 2.3 lets a consumer refuse
 *  what it does not understand, and a typo must not name another key). */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!uri.startsWith("pkcs11:")) throw new Pkcs11Error(`not a pkcs11: URI: ${redact(uri)}`);
  const [p, q = ""] = uri.slice(7).split("?", 2);
  const out: Pkcs11Uri = { path: {}, query: {} };
  for (const [part, sep, known, into] of [
    [p, ";", PATH_ATTRS, out.path],
    [q, "&", QUERY_ATTRS, out.query],
  ] as const) {
    for (const kv of part.split(sep)) {
      if (!kv) continue;
      const i = kv.indexOf("=");
      if (i <= 0) throw new Pkcs11Error(`${redact(uri)}: attribute without a value: "${kv}"`);
      const k = kv.slice(0, i).toLowerCase();
      if (!known.has(k)) throw new Pkcs11Error(`${redact(uri)}: unknown attribute "${k}"`);
      if (k in into) throw new Pkcs11Error(`${redact(uri)}: attribute "${k}" given twice`);
      into[k] = pctDecode(kv.slice(i + 1), uri, k, into === out.path && k === "id");
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
    try {
      P = createRequire(import.meta.url)("pkcs11js");
    } catch (e) {
      throw new Pkcs11Error(`PKCS#11 support needs the npm package pkcs11js (${(e as Error).message})`);
    }
  }
  return P;
}

const CKK_EC_EDWARDS = 0x40,
  CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055,
  CKM_EDDSA = 0x1057;
const OID_P256 = Buffer.from("06082a8648ce3d030107", "hex"),
  OID_P384 = Buffer.from("06052b81040022", "hex");
const OID_ED25519 = Buffer.from("06032b6570", "hex");
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex"); // RFC 8017 9.2 note 1

// Loaded modules, by path: one C_Initialize each, C_Finalize at exit.
const modules = new Map<string, any>();
function openModule(path: string): any {
  let m = modules.get(path);
  if (m) return m;
  const p = lib();
  m = new p.PKCS11();
  try {
    m.load(path);
  } catch (e) {
    throw new Pkcs11Error(`cannot load PKCS#11 module ${path}: ${(e as Error).message}`);
  }
  try {
    m.C_Initialize();
  } catch (e) {
    throw pk(e, "C_Initialize");
  }
  if (modules.size === 0) process.once("exit", closeAll);
  modules.set(path, m);
  return m;
}

/** Logs out, closes every session and finalizes every module the provider opened. */
export function closeAll(): void {
  for (const m of modules.values()) {
    try {
      m.C_Finalize();
    } catch {
      /* already gone */
    }
    try {
      m.close();
    } catch {
      /* ignore */
    }
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
  constructor(
    readonly uri: string,
    opts: { generate?: boolean; pin?: string } = {},
  ) {
    const u = parsePkcs11Uri(uri);
    const path = u.query["module-path"];
    if (!path) throw new Pkcs11Error(`${redact(uri)}: module-path= is needed (the PKCS#11 library)`);
    const p = lib();
    const m = (this.m = openModule(path));
    const slot = this.findSlot(u);
    try {
      this.session = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    } catch (e) {
      throw pk(e, "C_OpenSession");
    }
    let pin: string | undefined;
    try {
      pin = opts.pin ?? uriPin(u, uri);
    } catch (e) {
      this.close();
      throw e;
    }
    if (pin !== undefined) {
      try {
        m.C_Login(this.session, p.CKU_USER, pin);
      } catch (e) {
        if (!/CKR_USER_ALREADY_LOGGED_IN/.test((e as Error).message)) {
          this.close();
          throw pk(e, "C_Login");
        }
      }
    }
    const want: any[] = [];
    if (u.path.object !== undefined) want.push({ type: p.CKA_LABEL, value: Buffer.from(u.path.object) });
    if (u.path.id !== undefined) want.push({ type: p.CKA_ID, value: Buffer.from(u.path.id, "latin1") });
    let key = this.find([{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }, ...want]);
    let pub = this.find([{ type: p.CKA_CLASS, value: p.CKO_PUBLIC_KEY }, ...want]);
    if (key === undefined && opts.generate) {
      const t = (u.query["x-key-type"] ?? "P-256") as Pkcs11KeyType;
      if (!PKCS11_KEY_TYPES.includes(t)) {
        this.close();
        throw new Pkcs11Error(`${redact(uri)}: x-key-type must be one of ${PKCS11_KEY_TYPES.join(", ")}`);
      }
      ({ key, pub } = this.generate(t, want));
    }
    if (key === undefined) {
      this.close();
      throw new Pkcs11Error(`${redact(uri)}: no private key in the token matches`);
    }
    if (pub === undefined) {
      this.close();
      throw new Pkcs11Error(`${redact(uri)}: no public key object beside the private key (needed for its SubjectPublicKeyInfo)`);
    }
    this.key = key;
    ({ spki: this.spki, type: this.keyType } = this.publicKeyInfo(pub));
  }

  private findSlot(u: Pkcs11Uri): any {
    let slots: any[];
    try {
      slots = this.m.C_GetSlotList(true);
    } catch (e) {
      throw pk(e, "C_GetSlotList");
    }
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
    const priv = [
      ...common,
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false },
      { type: p.CKA_SIGN, value: true },
    ];
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
    } catch (e) {
      throw pk(e, "C_GenerateKeyPair");
    }
  }

  private publicKeyInfo(pub: any): { spki: Uint8Array; type: Pkcs11KeyType } {
    const p = lib();
    const get = (type: number): Buffer => this.m.C_GetAttributeValue(this.session, pub, [{ type }])[0].value as Buffer;
    const kt = get(p.CKA_KEY_TYPE).readUInt32LE(0);
    if (kt === p.CKK_RSA) {
      const n = get(p.CKA_MODULUS),
        e = get(p.CKA_PUBLIC_EXPONENT);
      const spki = createPublicKey({ key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") }, format: "jwk" }).export({
        format: "der",
        type: "spki",
      });
      const bits = n.length * 8;
      return { spki: new Uint8Array(spki), type: bits === 3072 ? "RSA-3072" : "RSA-2048" };
    }
    const params = get(p.CKA_EC_PARAMS),
      point = unwrapPoint(get(p.CKA_EC_POINT));
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
    let mech: any,
      data = Buffer.from(input);
    if (alg === SIGN_ECDSA_P256 || alg === SIGN_ECDSA_P384) mech = { mechanism: p.CKM_ECDSA };
    else if (alg === SIGN_RSA_PKCS1) {
      mech = { mechanism: p.CKM_RSA_PKCS };
      data = Buffer.concat([SHA256_DIGEST_INFO, data]);
    } else if (alg === SIGN_RSA_PSS) {
      mech = { mechanism: p.CKM_RSA_PKCS_PSS, parameter: { type: p.CK_PARAMS_RSA_PSS, hashAlg: p.CKM_SHA256, mgf: p.CKG_MGF1_SHA256, saltLen: 32 } };
    } else if (alg === SIGN_ED25519) mech = { mechanism: CKM_EDDSA };
    else throw new Pkcs11Error(`signing algorithm ${alg} unknown`);
    try {
      this.m.C_SignInit(this.session, mech, this.key);
      return new Uint8Array(this.m.C_Sign(this.session, data, Buffer.alloc(1024)));
    } catch (e) {
      throw pk(e, "C_Sign");
    }
  }

  /** Destroys the key pairs of the token labelled `label` that none of `keep` names (a URI of
   *  that label without id keeps them all); returns the CKA_IDs destroyed, hex. */
  destroyUnreferenced(label: string, keep: Pkcs11Uri[]): string[] {
    const p = lib();
    if (keep.some((k) => k.path.object === label && k.path.id === undefined)) return [];
    const ids = new Set(keep.filter((k) => k.path.object === label).map((k) => k.path.id));
    const destroyed: string[] = [];
    try {
      this.m.C_FindObjectsInit(this.session, [{ type: p.CKA_LABEL, value: Buffer.from(label) }]);
      const found: any[] = [];
      for (let batch; (batch = this.m.C_FindObjects(this.session, 16)).length; ) found.push(...batch);
      this.m.C_FindObjectsFinal(this.session);
      for (const o of found) {
        const [cls, id] = this.m.C_GetAttributeValue(this.session, o, [{ type: p.CKA_CLASS }, { type: p.CKA_ID }]).map((a: any) => a.value as Buffer);
        const c = cls.readUInt32LE(0);
        if ((c !== p.CKO_PRIVATE_KEY && c !== p.CKO_PUBLIC_KEY) || ids.has(id.toString("latin1"))) continue;
        this.m.C_DestroyObject(this.session, o);
        if (c === p.CKO_PRIVATE_KEY) destroyed.push(id.toString("hex"));
      }
    } catch (e) {
      throw pk(e, "C_DestroyObject");
    }
    return destroyed;
  }

  /** Closes the session (logging out with it). */
  close(): void {
    try {
      this.m.C_CloseSession(this.session);
    } catch {
      /* already closed */
    }
  }
}

/** Environment variable holding the token PIN when no URI names a pin-source. */
export const PIN_ENV = "TINYCMP_PKCS11_PIN";

/**
 * The device agent's keys in PKCS#11 tokens (README "The device agent with keys in a token"): opens the keys a
 * credential store references (docs/STORE.md: URIs without PIN) and generates new ones under the
 * configured label. The PIN never sits in the store: it comes from the pin-source (or pin-value)
 * of a configured URI naming the same module and token, else from $TINYCMP_PKCS11_PIN.
 */
export class Pkcs11Keys {
  private readonly open_ = new Map<string, Pkcs11Signer>();
  private readonly configured: { uri: string; u: Pkcs11Uri }[];

  /** newKey: the token and label (object=) of new keys, x-key-type their type; no id (each new
   *  key gets a fresh random CKA_ID). idevidKey: the IDevID's key. */
  constructor(
    readonly newKey?: string,
    readonly idevidKey?: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.configured = [newKey, idevidKey].filter((x): x is string => !!x).map((uri) => ({ uri, u: parsePkcs11Uri(uri) }));
    if (newKey && this.configured[0].u.path.id !== undefined)
      throw new Pkcs11Error(`${redact(newKey)}: newKey names the label (object=) only: each new key gets its own id`);
  }

  /** The PIN for the token u names (undefined: no login). */
  pinFor(u: Pkcs11Uri, uri: string): string | undefined {
    const own = uriPin(u, uri);
    if (own !== undefined) return own;
    const same = this.configured.find(
      (c) =>
        c.u.query["module-path"] === u.query["module-path"] &&
        (c.u.path.token === undefined || c.u.path.token === u.path.token) &&
        uriPin(c.u, c.uri) !== undefined,
    );
    return same ? uriPin(same.u, same.uri) : this.env[PIN_ENV];
  }

  /** The key a stored reference (or a configured URI) names, opened once per agent. */
  open(ref: string): Pkcs11Signer {
    let s = this.open_.get(ref);
    if (!s) {
      const u = parsePkcs11Uri(ref);
      s = new Pkcs11Signer(ref, { pin: this.pinFor(u, ref) });
      this.open_.set(ref, s);
    }
    return s;
  }

  /** A new key pair in the newKey token (label object=, a fresh 16-byte CKA_ID, type x-key-type):
   *  its reference for the store, and its signer. */
  generate(): { ref: string; signer: Pkcs11Signer } {
    if (!this.newKey) throw new Pkcs11Error("no newKey configured");
    const u = parsePkcs11Uri(this.newKey);
    const id = randomBytes(16).toString("latin1");
    const fresh: Pkcs11Uri = { path: { ...u.path, id }, query: u.query };
    const ref = keyReference(fresh);
    const signer = new Pkcs11Signer(`${ref}${u.query["x-key-type"] ? `&x-key-type=${u.query["x-key-type"]}` : ""}`, {
      generate: true,
      pin: this.pinFor(u, this.newKey),
    });
    this.open_.set(ref, signer);
    return { ref, signer };
  }

  /** Destroys the key pairs under newKey's label that no reference in keep names (the old
   *  credential's after a renewal, ones a crash or an abandoned enrolment left), through the
   *  session of a key of that token that keep names and this agent opened; their ids, hex. */
  sweep(keep: string[]): string[] {
    if (!this.newKey) return [];
    const u = parsePkcs11Uri(this.newKey);
    const sameToken = (r: Pkcs11Uri) => r.query["module-path"] === u.query["module-path"] && r.path.token === u.path.token;
    const refs = keep
      .filter((r) => r.startsWith("pkcs11:"))
      .map(parsePkcs11Uri)
      .filter(sameToken);
    const via = keep.map((r) => this.open_.get(r)).find((s) => s && sameToken(parsePkcs11Uri(s.uri)));
    if (!via) return [];
    const gone = via.destroyUnreferenced(u.path.object!, refs);
    for (const [ref, k] of this.open_) {
      const id = parsePkcs11Uri(ref).path.id;
      if (id !== undefined && gone.includes(Buffer.from(id, "latin1").toString("hex")) && parsePkcs11Uri(ref).path.object === u.path.object) {
        k.close();
        this.open_.delete(ref);
      }
    }
    return gone;
  }

  close(): void {
    for (const s of this.open_.values()) s.close();
    this.open_.clear();
  }
}
