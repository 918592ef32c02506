// Decodes any PKIMessage (RFC 9810 5.1) and says whether its protection verifies (`tinycmp inspect`,
// host/node/cli/inspect.ts, prints the result). The host only walks the DER; every MAC, signature
// and certificate path is checked by the core (pbm, pbkdf2, hmac, sig_verify, cert_verify_path
// exports), the same code a device runs.
import { Core } from "./core";
import { children, tlv, type Tlv } from "./der";
import { errorName, HASH_SHA1, HASH_SHA256, HASH_SHA384, HASH_SHA512 } from "./abi.js";

function oid(b: Uint8Array, t: Tlv): string {
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.value; i < t.end; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  return [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80, ...arcs].join(".");
}

const hex = (b: Uint8Array, t: Tlv) => Buffer.from(b.subarray(t.value, t.end)).toString("hex");
const bytesOf = (b: Uint8Array, t: Tlv) => b.subarray(t.start, t.end);

/** RFC 9810 5.1.2 PKIBody choice numbers. */
export const BODY_NAMES = [
  "ir",
  "ip",
  "cr",
  "cp",
  "p10cr",
  "popdecc",
  "popdecr",
  "kur",
  "kup",
  "krr",
  "krp",
  "rr",
  "rp",
  "ccr",
  "ccp",
  "ckuann",
  "cann",
  "rann",
  "crlann",
  "pkiconf",
  "nested",
  "genm",
  "genp",
  "error",
  "certConf",
  "pollReq",
  "pollRep",
];

const HASH_IDS: Record<string, number> = {
  "1.3.14.3.2.26": HASH_SHA1,
  "2.16.840.1.101.3.4.2.1": HASH_SHA256,
  "2.16.840.1.101.3.4.2.2": HASH_SHA384,
  "2.16.840.1.101.3.4.2.3": HASH_SHA512,
};
const HMAC_IDS: Record<string, number> = {
  "1.3.6.1.5.5.8.1.2": HASH_SHA1,
  "1.2.840.113549.2.7": HASH_SHA1,
  "1.2.840.113549.2.9": HASH_SHA256,
  "1.2.840.113549.2.10": HASH_SHA384,
  "1.2.840.113549.2.11": HASH_SHA512,
};
const PBM = "1.2.840.113533.7.66.13";
const PBMAC1 = "1.2.840.113549.1.5.14";
const PBKDF2 = "1.2.840.113549.1.5.12";
const MAX_ITERATIONS = 1_000_000;

export interface Inspection {
  body: string;
  header: Record<string, string | number | boolean>;
  protection: { alg: string | null; verified: boolean | null; note?: string };
  trusted: boolean | null;
  /** When the signer's path was validated: the current time, or the `-attime` given (never messageTime,
   *  which the sender chooses). */
  trustedAt?: { time: string; source: "current time" | "attime" };
  extraCerts: number;
  error?: string;
  /** PKIStatusInfo of an error, ip/cp/kup or rp body (RFC 9810 5.2.3), with an error's errorCode and errorDetails. */
  status?: PkiStatus;
}

export interface PkiStatus {
  status: string;
  failInfo?: string[];
  statusString?: string[];
  errorCode?: number;
  errorDetails?: string[];
}

/** RFC 9810 5.2.3 PKIStatus and PKIFailureInfo names. */
const STATUS_NAMES = ["accepted", "grantedWithMods", "rejection", "waiting", "revocationWarning", "revocationNotification", "keyUpdateWarning"];
const FAIL_INFO_NAMES = [
  "badAlg",
  "badMessageCheck",
  "badRequest",
  "badTime",
  "badCertId",
  "badDataFormat",
  "wrongAuthority",
  "incorrectData",
  "missingTimeStamp",
  "badPOP",
  "certRevoked",
  "certConfirmed",
  "wrongIntegrity",
  "badRecipientNonce",
  "timeNotAvailable",
  "unacceptedPolicy",
  "unacceptedExtension",
  "addInfoNotAvailable",
  "badSenderNonce",
  "badCertTemplate",
  "signerNotTrusted",
  "transactionIdInUse",
  "unsupportedVersion",
  "notAuthorized",
  "systemUnavail",
  "systemFailure",
  "duplicateCertReq",
];

const freeText = (b: Uint8Array, t: Tlv) => children(b, t).map((s) => Buffer.from(b.subarray(s.value, s.end)).toString("utf8"));

/** PKIStatusInfo ::= SEQUENCE { status, statusString PKIFreeText OPTIONAL, failInfo BIT STRING OPTIONAL }. */
function statusInfo(b: Uint8Array, t: Tlv): PkiStatus {
  const [st, ...rest] = children(b, t);
  const n = intValue(b, st);
  const out: PkiStatus = { status: STATUS_NAMES[n] ?? String(n) };
  for (const f of rest) {
    if (f.tag === 0x30) out.statusString = freeText(b, f);
    if (f.tag === 0x03) {
      const names: string[] = [];
      for (let i = f.value + 1; i < f.end; i++) {
        for (let bit = 0; bit < 8; bit++)
          if (b[i] & (0x80 >> bit)) names.push(FAIL_INFO_NAMES[(i - f.value - 1) * 8 + bit] ?? `bit${(i - f.value - 1) * 8 + bit}`);
      }
      out.failInfo = names;
    }
  }
  return out;
}

/** The status of the bodies that carry one: error (RFC 9810 5.3.21), ip/cp/kup (5.3.4), rp (5.3.10). */
function bodyStatus(b: Uint8Array, body: Tlv): PkiStatus | undefined {
  const n = body.tag & 0x1f;
  const content = children(b, body)[0];
  if (!content) return undefined;
  if (n === 23) {
    const [info, ...rest] = children(b, content);
    const out = statusInfo(b, info);
    for (const f of rest) {
      if (f.tag === 0x02) out.errorCode = intValue(b, f);
      if (f.tag === 0x30) out.errorDetails = freeText(b, f);
    }
    return out;
  }
  if (n === 1 || n === 3 || n === 8) {
    const response = children(b, content).find((f) => f.tag === 0x30);
    const first = response && children(b, response)[0];
    return first ? statusInfo(b, children(b, first)[1]) : undefined;
  }
  if (n === 12) {
    const first = children(b, children(b, content)[0])[0];
    return first ? statusInfo(b, first) : undefined;
  }
  return undefined;
}

function time(b: Uint8Array, t: Tlv): string {
  const s = Buffer.from(b.subarray(t.value, t.end)).toString("latin1");
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : s;
}

/** Decodes `msg` and checks its protection with the core. */
export function inspect(msg: Uint8Array, opts: { secret?: string; trusted?: Uint8Array[]; srvCert?: Uint8Array; at?: number } = {}): Inspection {
  const top = tlv(msg, 0);
  if (top.tag !== 0x30 || top.end !== msg.length) throw new Error("not one DER SEQUENCE (PKIMessage)");
  const [header, body, ...rest] = children(msg, top);
  if (header?.tag !== 0x30 || !body || (body.tag & 0xe0) !== 0xa0) throw new Error("not a PKIMessage: header or body missing");
  const bodyName = BODY_NAMES[body.tag & 0x1f] ?? `[${body.tag & 0x1f}]`;

  const h = children(msg, header);
  const info: Record<string, string | number | boolean> = { pvno: msg[h[0].value] };
  let protAlg: Tlv | undefined;
  for (const f of h.slice(3)) {
    const inner = f.tag & 0x20 ? children(msg, f)[0] : undefined;
    switch (f.tag) {
      case 0xa0:
        info.messageTime = time(msg, inner!);
        break;
      case 0xa1:
        protAlg = inner;
        break;
      case 0xa2:
        info.senderKID = hex(msg, inner!);
        break;
      case 0xa3:
        info.recipKID = hex(msg, inner!);
        break;
      case 0xa4:
        info.transactionID = hex(msg, inner!);
        break;
      case 0xa5:
        info.senderNonce = hex(msg, inner!);
        break;
      case 0xa6:
        info.recipNonce = hex(msg, inner!);
        break;
      case 0xa8:
        for (const itav of children(msg, inner!)) {
          const id = oid(msg, children(msg, itav)[0]);
          if (id === "1.3.6.1.5.5.7.4.13") info.implicitConfirm = true;
          if (id === "1.3.6.1.5.5.7.4.21") info.certProfile = true;
        }
        break;
    }
  }
  let protection: Tlv | undefined;
  let extra: Tlv[] = [];
  for (const f of rest) {
    if (f.tag === 0xa0) protection = children(msg, f)[0];
    if (f.tag === 0xa1) extra = children(msg, children(msg, f)[0]);
  }

  const result: Inspection = {
    body: bodyName,
    header: info,
    protection: { alg: protAlg ? oid(msg, children(msg, protAlg)[0]) : null, verified: null },
    trusted: null,
    extraCerts: extra.length,
  };
  try {
    const st = bodyStatus(msg, body);
    if (st) result.status = st;
  } catch {
    result.error = "body does not parse";
  }
  if (!protAlg || !protection) {
    result.protection.verified = protAlg || protection ? false : null;
    if (!protAlg && !protection) result.protection.note = "unprotected";
    return result;
  }
  // ProtectedPart ::= SEQUENCE { header, body } (RFC 9810 5.1.3)
  const hb = msg.subarray(header.start, body.end);
  const protectedPart = new Uint8Array([...derHeader(0x30, hb.length), ...hb]);
  const sig = msg.subarray(protection.value + 1, protection.end); // BIT STRING: skip unused-bits octet
  const core = new Core();
  const x = core.exports;
  const alg = result.protection.alg!;

  if (alg === PBM || alg === PBMAC1) {
    if (opts.secret === undefined) {
      result.protection.note = "MAC: no -secret given";
      return result;
    }
    const secret = Buffer.from(opts.secret);
    const verify = (keyLenQuirk: boolean) =>
      alg === PBM ? pbm(core, msg, protAlg!, secret, protectedPart) : pbmac1(core, msg, protAlg!, secret, protectedPart, keyLenQuirk);
    const expect = (mac: Uint8Array | undefined) => mac !== undefined && Buffer.from(mac).equals(Buffer.from(sig));
    result.protection.verified = expect(verify(false));
    if (!result.protection.verified && alg === PBMAC1 && expect(verify(true))) {
      result.protection.note = "verifies only with PBKDF2 keyLength read as bits (a known pre-2025 producer quirk), not per RFC 8018";
    }
    return result;
  }
  // Signature: the signer is extraCerts[0] (RFC 9483 3.3), or the certificate given by -srvcert
  if (extra.length === 0 && !opts.srvCert) {
    result.protection.verified = false;
    result.protection.note = "signature without extraCerts: no signer certificate (-srvcert)";
    return result;
  }
  const signer = opts.srvCert ?? bytesOf(msg, extra[0]);
  const summary = core.reserve(112);
  const pSigner = core.put(signer);
  if (x.cert_parse(pSigner, signer.length, summary) !== 0) {
    result.protection.verified = false;
    result.protection.note = "signer certificate does not parse";
    return result;
  }
  const s = new Int32Array(core.memory.buffer, summary, 28);
  const spkiOff = s[8],
    spkiLen = s[9];
  const pAlg = core.put(bytesOf(msg, protAlg)),
    pData = core.put(protectedPart),
    pSig = core.put(sig);
  const rc = x.sig_verify(pAlg, protAlg.end - protAlg.start, pSigner + spkiOff, spkiLen, pData, protectedPart.length, pSig, sig.length, 0);
  result.protection.verified = rc === 0;
  if (rc !== 0) result.protection.note = `signature check failed (error ${rc} ${errorName(rc)})`;
  if (opts.trusted?.length) {
    const table = (certs: Uint8Array[]) => {
      const ptrs = certs.map((c) => [core.put(c), c.length]);
      const t = core.reserve(ptrs.length * 8);
      const v = new Uint32Array(core.memory.buffer, t, ptrs.length * 2);
      ptrs.forEach(([p, n], i) => {
        v[2 * i] = p;
        v[2 * i + 1] = n;
      });
      return t;
    };
    const pool = extra.slice(opts.srvCert ? 0 : 1).map((e) => bytesOf(msg, e));
    const seconds = Math.floor(opts.at ?? Date.now() / 1000);
    result.trustedAt = { time: new Date(seconds * 1000).toISOString().replace(".000", ""), source: opts.at === undefined ? "current time" : "attime" };
    const at = BigInt(seconds);
    const prc = x.cert_verify_path(pSigner, signer.length, table(pool), pool.length, table(opts.trusted), opts.trusted.length, at, 0);
    result.trusted = prc === 0;
    if (prc !== 0)
      result.protection.note = `${result.protection.note ? result.protection.note + "; " : ""}signer path check failed (error ${prc} ${errorName(prc)})`;
  }
  return result;
}

function derHeader(tag: number, len: number): number[] {
  if (len < 0x80) return [tag, len];
  const bytes: number[] = [];
  for (let v = len; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [tag, 0x80 | bytes.length, ...bytes];
}

function intValue(b: Uint8Array, t: Tlv): number {
  let v = 0;
  for (let i = t.value; i < t.end; i++) v = v * 256 + b[i];
  return v;
}

/** PasswordBasedMac (RFC 9810 5.1.3.1) computed by the core. */
function pbm(core: Core, msg: Uint8Array, alg: Tlv, secret: Buffer, data: Uint8Array): Uint8Array | undefined {
  const [salt, owf, iter, mac] = children(msg, children(msg, alg)[1]);
  const owfId = HASH_IDS[oid(msg, children(msg, owf)[0])],
    macId = HMAC_IDS[oid(msg, children(msg, mac)[0])];
  if (!owfId || !macId) return undefined;
  const x = core.exports;
  core.reset();
  const ps = core.put(secret),
    pl = core.put(msg.subarray(salt.value, salt.end)),
    pd = core.put(data),
    out = core.reserve(64);
  const n = x.pbm(owfId, macId, ps, secret.length, pl, salt.end - salt.value, intValue(msg, iter), MAX_ITERATIONS, pd, data.length, out);
  return n > 0 ? core.read(out, n) : undefined;
}

/** PBMAC1 (RFC 9481 6.1.2, RFC 8018 7.1): PBKDF2 key, then HMAC, both in the core. */
function pbmac1(core: Core, msg: Uint8Array, alg: Tlv, secret: Buffer, data: Uint8Array, keyLenInBits: boolean): Uint8Array | undefined {
  const [kdf, scheme] = children(msg, children(msg, alg)[1]);
  const [kdfOid, kdfParams] = children(msg, kdf);
  if (oid(msg, kdfOid) !== PBKDF2) return undefined;
  const p = children(msg, kdfParams);
  const salt = p[0],
    iter = p[1];
  let keyLen = 0,
    prf = HASH_SHA1;
  for (const f of p.slice(2)) {
    if (f.tag === 0x02) keyLen = intValue(msg, f);
    if (f.tag === 0x30) prf = HMAC_IDS[oid(msg, children(msg, f)[0])] ?? 0;
  }
  const macId = HMAC_IDS[oid(msg, children(msg, scheme)[0])];
  if (!prf || !macId || keyLen <= 0) return undefined;
  if (keyLenInBits) keyLen = keyLen / 8;
  const x = core.exports;
  core.reset();
  const ps = core.put(secret),
    pl = core.put(msg.subarray(salt.value, salt.end)),
    key = core.reserve(keyLen);
  if (x.pbkdf2(prf, ps, secret.length, pl, salt.end - salt.value, intValue(msg, iter), MAX_ITERATIONS, key, keyLen) !== 0) return undefined;
  const pd = core.put(data),
    out = core.reserve(64);
  const n = x.hmac(macId, key, keyLen, pd, data.length, out);
  return n > 0 ? core.read(out, n) : undefined;
}
