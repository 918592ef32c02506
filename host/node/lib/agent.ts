// The device agent: keeps an operational credential in the store and renews it. One
// decision per step(): resume an open enrolment (pending key in the store), bootstrap with ir
// (signed with the IDevID, or MAC with ref/secret) when there is no credential, kur when the
// remaining validity falls below renewShare of the whole. Transactions retry with exponential
// backoff and full jitter on transport errors, systemUnavail and systemFailure, start again on
// transactionIdInUse, and never retry other rejections. Logs: one JSON object per event.
//
// Crash recovery: whatever point a kill or power cut hits, a restart reaches a working credential
// in a bounded number of steps. A resumed enrolment that the CA answers with anything but a
// permanent rejection (it no longer knows the transaction), whose saved state the core refuses,
// or whose suspension is older than resumeWithin, is abandoned: its pending key is dropped and
// one new transaction starts with a new key. A certificate the CA issued in the
// abandoned transaction and never saw confirmed is left to the CA (RFC 9483 4.1.1); with
// implicitConfirm granted the CA counts it as confirmed, so it stays valid, unused, until it
// expires. Only what a restart cannot fix is permanent (AgentStop; exit 2 with what to do).
//
// Keys in a token (config newKey, README "The device agent with keys in a token"): each enrolment generates its
// key in the token, and the store keeps only its reference (docs/STORE.md "Keys held by the
// host"); the core signs with it through env.sign, handle = the store kind. After a commit and
// after a new pending reference, token keys under newKey's label that the store no longer names
// are destroyed (the old credential's, one generated before a crash cut the enrolment short).
import { X509Certificate, createHash, createPublicKey } from "node:crypto";
import { Core } from "./core.js";
import type { Flash } from "./flash.js";
import { KIND, Store, TAG } from "./store.js";
import { HttpTransport, TransportError } from "./transport.js";
import { certSubject, children, parseItav, tlv, type Tlv } from "./der.js";
import { rootCaCertItav } from "./genp.js";
import { nameDer } from "./files.js";
import type { Signer } from "./device.js";
import {
  ACTION_DONE,
  ACTION_SEND,
  ACTION_WAIT,
  E_CERT_UNTRUSTED,
  INT_OPTIONS,
  ITEM_CERT,
  ITEM_EXTRA,
  ITEM_INFOTYPE,
  ITEM_OLDCERT,
  ITEM_REF,
  ITEM_SECRET,
  ITEM_SUBJECT,
  ITEM_TRUSTED,
  OP_GENM,
  OP_IR,
  OP_KUR,
  OP_RR,
  OPT_CAPUBS_TRUSTED,
  OPT_IMPLICIT_CONFIRM,
  OPT_RSA_PSS,
  RESULT_CA_PUB,
  RESULT_CERT,
  RESULT_CHAIN,
  RESULT_GENP_ITAV,
  STATUS_REJECTION,
} from "./abi.js";

export interface AgentConfig {
  /** CMP server URL (RFC 9811 HTTP transfer). */
  url: string;
  /** Subject of the operational certificate for ir, e.g. "CN=device-42" (kur keeps the old one). */
  subject: string;
  /** Renew when the remaining validity is below this share of the whole (default 1/3). */
  renewShare?: number;
  /** Trust anchors (DER) used until the store holds some. */
  trusted?: Uint8Array[];
  /** MAC bootstrap (no IDevID): reference (senderKID) and shared secret. */
  ref?: string;
  secret?: string;
  implicitConfirm?: boolean;
  /** Attempts per operation (default 5), backoff base and cap in seconds (2, 300). */
  attempts?: number;
  backoffBase?: number;
  backoffMax?: number;
  /** Longest wait between two checks when nothing is due, seconds (default 3600). */
  checkInterval?: number;
  /** A polling suspension older than this is abandoned, not resumed, seconds (default 86400). */
  resumeWithin?: number;
  /** The IDevID's key in a PKCS#11 token: an RFC 7512 pkcs11: URI (no pin-value); `--provision`
   *  stores its reference. */
  idevidKey?: string;
  /** New keys are generated in a PKCS#11 token: pkcs11: URI naming the token, the label
   *  (object=), module-path, x-key-type (P-256 default, P-384, RSA-2048, RSA-3072, Ed25519) and
   *  pin-source (no pin-value, no id); absent: keys are made in the core. */
  newKey?: string;
  /** RSA keys sign RSASSA-PSS (RFC 8017 8.1, RFC 9481 3.2) instead of PKCS#1 v1.5. */
  rsaPss?: boolean;
}

/** Keys held by the host: opens the key a stored reference names, generates new ones, and
 *  destroys those the store no longer names (Pkcs11Keys of pkcs11.ts is one). */
export interface KeyHolder {
  open(ref: string): Signer;
  generate(): { ref: string; signer: Signer };
  sweep(keep: string[]): string[];
  close(): void;
}

export interface Clock {
  now(): number; // ms since 1970
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface Transport {
  transfer(request: Uint8Array): Promise<Uint8Array>;
  close?(): void;
}

export interface LogEvent {
  time: string;
  level: "debug" | "info" | "warn" | "error";
  event: string;
  [k: string]: unknown;
}

export class CmpFailure extends Error {
  /** Set when tx_resume refused the saved transaction state. */
  resumeRefused = false;
  constructor(
    readonly code: number,
    readonly detail: string,
    readonly status: number,
    readonly failInfo: number,
  ) {
    super(`CMP failed (${code}): ${detail}`);
  }
}

/** A failure that a restart cannot fix; `action` says what a person must do (exit status 2). */
export class AgentStop extends Error {
  constructor(
    message: string,
    readonly action: string,
  ) {
    super(message);
  }
}

// RFC 9810 5.2.3 failInfo bits of a CA's rejection that the same request gets again after any
// restart, with what a person must do about each.
const PERMANENT_FAILINFO: [bit: number, action: string][] = [
  [9, "the CA refuses the proof of possession (badPOP): check the key algorithms the CA accepts"],
  [23, "the CA does not authorize this device (notAuthorized): register its IDevID or credential with the CA"],
  [1, "the CA cannot verify the request's protection (badMessageCheck): check ref/secret or the IDevID"],
  [20, "the CA does not trust the signer (signerNotTrusted): register the IDevID's issuer with the CA"],
  [19, "the CA refuses the certificate template (badCertTemplate): check subject in the configuration"],
  [0, "the CA does not accept the algorithm (badAlg): use a key and protection the CA supports"],
  [22, "the CA does not support this CMP version (unsupportedVersion)"],
  [10, "the credential is revoked (certRevoked): provision the device again (a new store) to enroll it"],
];

/** What a person must do about e, or undefined when a restart (exit status 1) may fix it. */
export function permanentAction(e: unknown): string | undefined {
  if (e instanceof AgentStop) return e.action;
  if (!(e instanceof CmpFailure) || e.status !== STATUS_REJECTION) return undefined;
  return PERMANENT_FAILINFO.find(([bit]) => (e.failInfo & (1 << bit)) !== 0)?.[1];
}

// RFC 9810 5.2.3 PKIFailureInfo bits (tx_failinfo: bit n = 1 << n).
const FAIL_CERT_REVOKED = 1 << 10,
  FAIL_TRANSACTION_ID_IN_USE = 1 << 21,
  FAIL_SYSTEM_UNAVAIL = 1 << 24,
  FAIL_SYSTEM_FAILURE = 1 << 25;
const SEND = ACTION_SEND,
  WAIT = ACTION_WAIT,
  DONE = ACTION_DONE;
const OP = { ir: OP_IR, kur: OP_KUR, rr: OP_RR, genm: OP_GENM } as const;
const ITEM = {
  REF: ITEM_REF,
  SECRET: ITEM_SECRET,
  CERT: ITEM_CERT,
  EXTRA: ITEM_EXTRA,
  TRUSTED: ITEM_TRUSTED,
  SUBJECT: ITEM_SUBJECT,
  OLDCERT: ITEM_OLDCERT,
  INFOTYPE: ITEM_INFOTYPE,
} as const;
const RESULT = { CERT: RESULT_CERT, CAPUBS: RESULT_CA_PUB, GENP: RESULT_GENP_ITAV, CHAIN: RESULT_CHAIN } as const;
/** Host items of the transaction state (docs/STORE.md: tags 16..255). */
export const STATE_OP = 16;
/** The suspended CMP transaction while polling (tx_suspend), so a restart polls on (RFC 9483 4.4). */
export const STATE_TX = 17;
/** When STATE_TX was saved: seconds since 1970, u32 little-endian. */
export const STATE_SAVED_AT = 18;
/** Decommissioning: SHA-256 of the certificate being revoked (saved before the rr is sent). */
export const STATE_DECOMMISSION = 19;
/** Decommissioning done: the CA revoked that certificate (one byte 1). */
export const STATE_REVOKED = 20;

const enc = new TextEncoder();
const dec = new TextDecoder();
const der = (c: Uint8Array) => new X509Certificate(c);

// RFC 9483 4.3: infoType OIDs (contents octets) of genm.
const OID_IT = (n: number) => Uint8Array.of(0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, n);
const IT_CA_CERTS = OID_IT(17),
  IT_ROOT_CA_KEY_UPDATE = OID_IT(18),
  IT_ROOT_CA_CERT = OID_IT(20);

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const same = (a?: Uint8Array, b?: Uint8Array) => !!a && !!b && Buffer.from(a).equals(Buffer.from(b));
const sameKey = (a: Uint8Array, b: Uint8Array) => {
  const k = (d: Uint8Array) => createPublicKey({ key: Buffer.from(d), format: "der", type: "spki" });
  try {
    return k(a).equals(k(b));
  } catch {
    return false;
  }
};
const spki = (c: X509Certificate) => c.publicKey.export({ type: "spki", format: "der" });

/**
 * RFC 9810 4.4 / RFC 9483 4.3.2: a new root is accepted only through newWithOld, its public key
 * certified by a current trust anchor; newWithNew must be self-signed with that same key.
 * Returns why not, or undefined when acceptable.
 */
export function rootUpdateRefusal(anchors: Uint8Array[], newWithNew: Uint8Array, newWithOld?: Uint8Array): string | undefined {
  if (!newWithOld) return "no newWithOld";
  const nwn = new X509Certificate(newWithNew),
    nwo = new X509Certificate(newWithOld);
  if (!nwn.verify(nwn.publicKey)) return "newWithNew is not self-signed";
  if (!spki(nwo).equals(spki(nwn))) return "newWithOld certifies another key than newWithNew";
  const by = anchors.map((a) => new X509Certificate(a)).find((a) => nwo.checkIssued(a) && nwo.verify(a.publicKey));
  return by ? undefined : "newWithOld is not signed by a current trust anchor";
}

export type StepResult = "resumed" | "enrolled" | "renewed" | "idle";

/** Where a decommissioning stands in a store: none, started (rr maybe sent), or done. */
export type Decommission = "none" | "started" | "done";

export class Agent {
  readonly core: Core;
  readonly store: Store;
  private readonly clock: Clock;
  private readonly transport: Transport;
  private readonly log: (e: LogEvent) => void;
  private readonly keys?: KeyHolder;
  // env.sign handles of the transaction under way: the store kind whose referenced key signs
  private readonly signers = new Map<number, Signer>();

  constructor(
    readonly config: AgentConfig,
    opts: { flash: Flash; clock?: Clock; transport?: Transport; log?: (e: LogEvent) => void; keys?: KeyHolder },
  ) {
    this.clock = opts.clock ?? systemClock;
    this.keys = opts.keys;
    this.core = new Core({ flash: opts.flash, now: () => this.clock.now() / 1000, sign: (h, alg, input) => this.signers.get(h)?.sign(alg, input) });
    this.store = new Store(this.core);
    this.transport = opts.transport ?? new HttpTransport({ url: config.url });
    const sink = opts.log ?? ((e: LogEvent) => console.log(JSON.stringify(e)));
    this.log = sink;
  }

  private emit(level: LogEvent["level"], event: string, fields: Record<string, unknown> = {}): void {
    this.log({ time: new Date(this.clock.now()).toISOString(), level, event, ...fields });
  }

  close(): void {
    this.transport.close?.();
    this.keys?.close();
  }

  /** The current operational certificate, if any. */
  get certificate(): Uint8Array | undefined {
    return this.store.get(KIND.CRED, TAG.CERT);
  }

  /** When the current certificate is due for renewal (ms since 1970), or undefined without one. */
  renewalTime(): number | undefined {
    const c = this.certificate;
    if (!c) return undefined;
    const x = der(c);
    const from = Date.parse(x.validFrom),
      to = Date.parse(x.validTo);
    return to - (to - from) * (this.config.renewShare ?? 1 / 3);
  }

  /** One decision: resume, bootstrap, renew, or nothing to do. */
  async step(): Promise<StepResult> {
    const d = this.decommissionState();
    if (d !== "none") {
      throw new AgentStop(
        `the device is decommissioned${d === "started" ? " (revocation not confirmed)" : ""}`,
        d === "started" ? "run `tinycmp agent --decommission` again to finish it" : "provision the device again (a new store) to enroll it",
      );
    }
    const pending = this.store.keyId(KIND.STATE);
    if (pending) {
      const cred = this.store.keyId(KIND.CRED);
      if (cred && Buffer.from(cred).equals(Buffer.from(pending))) {
        this.store.clear(KIND.STATE); // committed; only the state clear was cut off
        this.emit("info", "state.cleared");
      } else {
        const op = dec.decode(this.store.get(KIND.STATE, STATE_OP) ?? enc.encode(cred ? "kur" : "ir")) as "ir" | "kur";
        this.emit("info", "enrolment.resume", { op });
        await this.enrol(op, true);
        return "resumed";
      }
    }
    if (!this.certificate) {
      await this.enrol("ir", false);
      return "enrolled";
    }
    if (this.clock.now() >= this.renewalTime()!) {
      await this.enrol("kur", false);
      return "renewed";
    }
    return "idle";
  }

  /** Milliseconds until the next step is due. */
  nextStepIn(): number {
    const max = (this.config.checkInterval ?? 3600) * 1000;
    const due = this.renewalTime();
    return due === undefined ? 0 : Math.max(0, Math.min(max, due - this.clock.now()));
  }

  /** Runs until stopped: step, then sleep until the next renewal point (or checkInterval). */
  async run(stop?: AbortSignal): Promise<number> {
    // one abort listener for the whole run (one per check would pile up on the signal)
    let wake = () => {};
    const onAbort = () => wake();
    stop?.addEventListener("abort", onAbort);
    try {
      while (!stop?.aborted) {
        try {
          await this.step();
          await this.updateRootCa().catch((e) => this.emit("warn", "rootca.check.failed", { error: String(e) }));
        } catch (e) {
          return this.failed(e); // a supervisor restarts (1) or alerts (2)
        }
        await Promise.race([
          this.clock.sleep(this.nextStepIn()),
          new Promise<void>((r) => {
            wake = r;
            if (stop?.aborted) r();
          }),
        ]);
      }
    } finally {
      stop?.removeEventListener("abort", onAbort);
    }
    this.emit("info", "agent.stopped");
    return 0;
  }

  /** Logs a failure and returns the exit status: 2 with the action a person must take, else 1. */
  failed(e: unknown): number {
    const action = permanentAction(e);
    const error = e instanceof Error ? e.message : String(e);
    if (action) this.emit("error", "agent.stopped.permanent", { error, action });
    else this.emit("error", "step.failed", { error, restart: true });
    return action ? 2 : 1;
  }

  private trusted(): Uint8Array[] {
    const t = this.store.all(KIND.TRUST, TAG.ANCHOR);
    return t.length ? t : (this.config.trusted ?? []);
  }

  // ir or kur with the pending key (a new one unless resuming), then one commit. A resumed
  // enrolment that cannot go on is abandoned and one new one started (bounded: no second resume).
  private async enrol(op: "ir" | "kur", resume: boolean): Promise<void> {
    if (resume) {
      const at = this.store.get(KIND.STATE, STATE_SAVED_AT);
      const age = at?.length === 4 ? this.clock.now() / 1000 - new DataView(at.buffer, at.byteOffset).getUint32(0, true) : 0;
      const limit = this.config.resumeWithin ?? 86400;
      let reason: string | undefined = age > limit ? `suspended ${Math.round(age)} s ago, more than resumeWithin ${limit} s` : undefined;
      if (!reason) {
        try {
          return await this.attempt(op, true);
        } catch (e) {
          // the CA's answer (badRequest, transactionIdInUse, unknown transactionID, ...) or a saved
          // state the core refuses; a local failure (a garbled or forged response, a transport
          // error) keeps the enrolment for the next restart, at most until resumeWithin
          if (!(e instanceof CmpFailure) || permanentAction(e) || (e.status < 0 && !e.resumeRefused)) throw e;
          reason = e.message;
        }
      }
      this.store.clear(KIND.STATE);
      this.emit("warn", "enrolment.abandoned", { op, reason, unconfirmed: "left to the CA (RFC 9483 4.1.1)" });
      op = this.certificate ? "kur" : "ir";
    }
    if (this.config.newKey) this.pendingInToken();
    else this.store.pendingNew();
    this.store.save(KIND.STATE, [[STATE_OP, enc.encode(op)]]);
    await this.attempt(op, false);
  }

  // A new key generated in the token, its reference saved as the pending key. A crash between
  // the two leaves a token key the store never names: the sweep below destroys it later.
  private pendingInToken(): void {
    const keys = this.keyHolder();
    let k: { ref: string; signer: Signer };
    try {
      k = keys.generate();
    } catch (e) {
      throw this.keyFailure(KIND.STATE, this.config.newKey!, e);
    }
    this.store.pendingRef(k.ref, k.signer.publicKey());
    this.emit("info", "key.generated", { ref: k.ref });
    this.sweep();
  }

  private keyHolder(): KeyHolder {
    if (!this.keys)
      throw new AgentStop("the store names a key held in a token and the agent has no token access", "set newKey (a pkcs11: URI) in the configuration");
    return this.keys;
  }

  // Token keys under newKey's label that no record names any more: destroyed (failures logged only).
  private sweep(): void {
    if (!this.keys || !this.config.newKey) return;
    const keep = [KIND.IDEVID, KIND.CRED, KIND.STATE].map((k) => this.store.keyRef(k)?.ref).filter((r): r is string => !!r);
    try {
      const ids = this.keys.sweep(keep);
      if (ids.length) this.emit("info", "token.keys.destroyed", { ids, why: "no record of the store names them" });
    } catch (e) {
      this.emit("warn", "token.sweep.failed", { error: String((e as Error).message ?? e) });
    }
  }

  // The signer of kind's key reference for env.sign (handle = kind); nothing for a key in the core.
  private bind(kind: number): void {
    const r = this.store.keyRef(kind);
    if (!r) return;
    let s: Signer;
    try {
      s = this.keyHolder().open(r.ref);
    } catch (e) {
      throw this.keyFailure(kind, r.ref, e);
    }
    if (!sameKey(s.publicKey(), r.spki))
      throw new AgentStop(
        `the token key ${r.ref} is not the key the store names (its public key differs)`,
        "restore the token the store was made with, or provision the device again (a new store)",
      );
    this.signers.set(kind, s);
  }

  // What a token failure means: a wrong PIN or a lost IDevID/credential key needs a person (a
  // restart would only lock the PIN); a lost pending key abandons that enrolment; anything else
  // (token absent, module missing) may pass: a restart.
  private keyFailure(kind: number, ref: string, e: unknown): Error {
    const msg = e instanceof Error ? e.message : String(e);
    const what = kind === KIND.IDEVID ? "the IDevID" : kind === KIND.CRED ? "the credential" : "the new key";
    if (/CKR_PIN_(INCORRECT|LOCKED|LEN_RANGE|EXPIRED)/.test(msg)) {
      return new AgentStop(
        `token login for ${what} failed: ${msg}`,
        "fix the PIN: pin-source= of the configuration's pkcs11: URIs, or TINYCMP_PKCS11_PIN (the token locks after repeated wrong PINs)",
      );
    }
    if (/no private key in the token matches/.test(msg)) {
      if (kind === KIND.STATE) {
        const f = new CmpFailure(-28, `the pending key ${ref} is no longer in the token`, -1, 0);
        f.resumeRefused = true; // the enrolment cannot go on: abandoned, a new one starts
        return f;
      }
      return new AgentStop(`the token no longer holds ${what}'s key ${ref}`, "restore the token, or provision the device again (a new store) to enroll it");
    }
    return new Error(`token unavailable for ${what}: ${msg}`);
  }

  private async attempt(op: "ir" | "kur", resume: boolean): Promise<void> {
    // a restart while polling continues that transaction; a retry after a failure starts anew
    let suspended = resume ? this.store.get(KIND.STATE, STATE_TX) : undefined;
    const out = await this.withRetry(op, () => {
      const s = suspended;
      suspended = undefined;
      return this.transaction(op, [], [], s);
    });
    // DONE: the core validated the certificate to an anchor (RFC 5280 6.1); its path is the chain
    if (!out.cert || !out.validated) throw new CmpFailure(E_CERT_UNTRUSTED, "the core returned no validated certificate", -1, 0);
    this.store.commit(out.cert, out.chain);
    this.sweep(); // the old credential's token key
    // caPubs become anchors only where they were the anchors of this validation: a MAC-protected
    // ir of a device that had none (RFC 9483 4.1.1)
    if (out.caPubs.length && out.caPubsAnchors) {
      this.store.save(
        KIND.TRUST,
        out.caPubs.map((c) => [TAG.ANCHOR, c]),
      );
    }
    const x = der(out.cert);
    this.emit("info", `${op}.done`, { subject: x.subject, serial: x.serialNumber, notAfter: x.validTo });
  }

  private async withRetry<T>(what: string, f: () => Promise<T>): Promise<T> {
    const attempts = this.config.attempts ?? 5;
    for (let i = 1; ; i++) {
      try {
        return await f();
      } catch (e) {
        const transient =
          e instanceof TransportError ||
          (e instanceof CmpFailure && (e.failInfo & (FAIL_SYSTEM_UNAVAIL | FAIL_SYSTEM_FAILURE | FAIL_TRANSACTION_ID_IN_USE)) !== 0);
        if (!transient || i >= attempts) {
          this.emit("error", `${what}.failed`, { attempt: i, error: String(e), retry: false });
          throw e;
        }
        // transactionIdInUse: a new transaction (new transactionID) at once; else backoff, full jitter.
        const inUse = e instanceof CmpFailure && (e.failInfo & FAIL_TRANSACTION_ID_IN_USE) !== 0;
        const cap = Math.min(this.config.backoffMax ?? 300, (this.config.backoffBase ?? 2) * 2 ** (i - 1)) * 1000;
        const wait = inUse ? 0 : Math.random() * cap;
        this.emit("warn", `${what}.retry`, { attempt: i, error: String(e), waitMs: Math.round(wait) });
        await this.clock.sleep(wait);
      }
    }
  }

  // One CMP transaction over the transport; keys come from the store (store_use).
  private async transaction(op: keyof typeof OP, extra: [number, Uint8Array][] = [], ints: [number, number][] = [], suspended?: Uint8Array) {
    const c = this.core,
      x = c.exports;
    const set = (item: number, v: Uint8Array) => {
      c.reset();
      const r = x.tx_set(item, c.put(v), v.length);
      if (r < 0) throw new CmpFailure(r, `configuration item ${item} refused`, -1, 0);
    };
    const use = (kind: number) => {
      this.bind(kind);
      const r = x.store_use(kind);
      if (r < 0) throw new CmpFailure(r, `store_use(${kind}) failed`, -1, 0);
    };
    x.tx_reset();
    this.signers.clear();
    try {
      const idevid = this.store.get(KIND.IDEVID, TAG.CERT);
      if (op === "ir" && !idevid) {
        if (!this.config.ref || !this.config.secret)
          throw new AgentStop("no IDevID and no MAC ref/secret for ir", "provision the IDevID (--provision) or set ref and secret in the configuration");
        set(ITEM.REF, enc.encode(this.config.ref));
        set(ITEM.SECRET, enc.encode(this.config.secret));
      } else {
        const kind = op === "ir" ? KIND.IDEVID : KIND.CRED;
        use(kind);
        set(ITEM.CERT, this.store.get(kind, TAG.CERT)!);
        for (const e of this.store.all(kind, TAG.CHAIN)) set(ITEM.EXTRA, e);
        if (op !== "ir" && op !== "genm") set(ITEM.OLDCERT, this.store.get(KIND.CRED, TAG.CERT)!);
      }
      if (op === "ir" || op === "kur") use(KIND.STATE);
      if (op === "ir") set(ITEM.SUBJECT, nameDer(this.config.subject));
      // kur: the template names the certificate's subject, so the POP signature covers it
      // (RFC 4211 4.1: without poposkInput the certTemplate carries subject and publicKey)
      if (op === "kur") set(ITEM.SUBJECT, certSubject(this.store.get(KIND.CRED, TAG.CERT)!));
      const anchors = this.trusted();
      for (const t of anchors) set(ITEM.TRUSTED, t);
      for (const [item, v] of extra) set(item, v);
      const caPubsAnchors = op === "ir" && !idevid && anchors.length === 0;
      x.tx_set_int(
        INT_OPTIONS,
        (this.config.implicitConfirm === false ? 0 : OPT_IMPLICIT_CONFIRM) | (caPubsAnchors ? OPT_CAPUBS_TRUSTED : 0) | (this.config.rsaPss ? OPT_RSA_PSS : 0),
      );
      for (const [item, v] of ints) x.tx_set_int(item, v);
      let action = suspended ? (c.reset(), x.tx_resume(c.put(suspended), suspended.length)) : x.tx_start(OP[op]);
      if (suspended && action < 0) {
        const e = new CmpFailure(action, "the saved polling state is refused", -1, 0);
        e.resumeRefused = true;
        throw e;
      }
      if (suspended) this.emit("info", `${op}.poll.resume`);
      for (;;) {
        if (action === SEND) {
          const response = await this.transport.transfer(c.read(x.tx_out(), x.tx_out_len()));
          const room = c.ensureIo(response.length); // responses above the I/O buffer: io_reserve
          c.reset();
          action = room < 0 ? room : x.tx_input(c.put(response), response.length);
        } else if (action === WAIT) {
          if (op === "ir" || op === "kur") {
            // keep the transaction across a restart (docs/STORE.md)
            c.reset();
            const at = c.reserve(128),
              n = x.tx_suspend(at, 128);
            if (n > 0)
              this.store.save(KIND.STATE, [
                [STATE_OP, enc.encode(op)],
                [STATE_TX, c.read(at, n)],
                [STATE_SAVED_AT, u32(this.clock.now() / 1000)],
              ]);
          }
          this.emit("info", `${op}.wait`, { seconds: x.tx_wait() });
          await this.clock.sleep(x.tx_wait() * 1000);
          action = x.tx_poll();
        } else if (action === DONE) {
          const results = (kind: number) => {
            const out: Uint8Array[] = [];
            for (let i = 0, n; (n = x.tx_result_len(kind, i)) >= 0; i++) out.push(c.read(x.tx_result(kind, i), n));
            return out;
          };
          const path = results(RESULT.CHAIN);
          return {
            cert: results(RESULT.CERT)[0],
            chain: path.slice(1),
            validated: path.length > 0,
            caPubsAnchors,
            caPubs: results(RESULT.CAPUBS),
            genp: results(RESULT.GENP),
          };
        } else {
          let detail = dec.decode(c.read(x.tx_detail(), x.tx_detail_len()));
          if (x.tx_error() === -28 && c.signError) detail += `: ${c.signError}`; // E_SIGNER: the token's reason
          throw new CmpFailure(action < 0 ? action : x.tx_error(), detail, x.tx_status(), x.tx_failinfo());
        }
      }
    } finally {
      x.tx_reset(); // wipes the keys given with store_use
      this.signers.clear();
    }
  }

  /** genm rootCaCert (RFC 9483 4.3.2): a new root replaces the anchors only through a valid newWithOld. */
  async updateRootCa(): Promise<boolean> {
    // RFC 9483 4.3.2: the genm names the root to update (the current anchor) as its value
    const current = this.trusted()[0];
    const request = current ? rootCaCertItav(current) : IT_ROOT_CA_CERT;
    const out = await this.withRetry("genm", () => this.transaction("genm", [[ITEM.INFOTYPE, request]]));
    const itav = out.genp.map(parseItav).find((i) => same(i.type, IT_ROOT_CA_KEY_UPDATE));
    if (!itav?.value) {
      this.emit("info", "rootca.current");
      return false;
    }
    const v = itav.value;
    const parts = children(v, tlv(v, 0));
    const whole = (e: Tlv) => v.subarray(e.start, e.end);
    // [0] newWithOld: EXPLICIT (a Certificate inside) or IMPLICIT (the Certificate's own contents)
    const tagged = (n: number) => {
      const p = parts.find((e) => e.tag === (0xa0 | n));
      if (!p) return undefined;
      const inner = children(v, p);
      return inner.length === 1 && inner[0].tag === 0x30 && inner[0].end === p.end ? whole(inner[0]) : Uint8Array.of(0x30, ...whole(p).subarray(1));
    };
    const newWithNew = whole(parts[0]),
      newWithOld = tagged(0);
    const anchors = this.trusted();
    const refusal = rootUpdateRefusal(anchors, newWithNew, newWithOld);
    if (refusal) {
      this.emit("error", "rootca.refused", { reason: refusal });
      return false;
    }
    // The new root first; the old ones stay until they are no longer needed.
    this.store.save(
      KIND.TRUST,
      [newWithNew, ...anchors.filter((a) => !same(a, newWithNew))].map((c) => [TAG.ANCHOR, c]),
    );
    this.emit("info", "rootca.updated", { subject: new X509Certificate(newWithNew).subject });
    return true;
  }

  /** genm caCerts (RFC 9483 4.3.1): the CA certificates the PKI publishes. */
  async caCerts(): Promise<Uint8Array[]> {
    const out = await this.withRetry("genm", () => this.transaction("genm", [[ITEM.INFOTYPE, IT_CA_CERTS]]));
    const v = out.genp.map(parseItav).find((i) => same(i.type, IT_CA_CERTS))?.value;
    if (!v) return [];
    return children(v, tlv(v, 0)).map((e) => v.slice(e.start, e.end));
  }

  /** Where decommissioning stands (transaction state items 19 and 20 naming the current certificate). */
  decommissionState(): Decommission {
    const h = this.store.get(KIND.STATE, STATE_DECOMMISSION),
      cert = this.certificate;
    if (!h || !cert || !same(h, sha256(cert))) return "none";
    return this.store.get(KIND.STATE, STATE_REVOKED) ? "done" : "started";
  }

  /**
   * Revokes the current certificate (decommissioning): rr signed with it. Idempotent: the store
   * records the start before the rr is sent and the end after the CA answered; a re-run after a
   * crash sends the rr again and takes the CA's certRevoked as done. An open enrolment is dropped.
   * Any other failure leaves the start recorded: the agent then refuses to run until it is done.
   * Returns what the store holds afterwards.
   */
  async decommission(reason = 5 /* cessationOfOperation */): Promise<"revoked" | "already revoked" | "no credential"> {
    const cert = this.certificate;
    if (!cert) {
      this.emit("info", "decommission.nothing", { store: "no credential: nothing to revoke" });
      return "no credential";
    }
    const state = this.decommissionState();
    if (state === "done") {
      this.emit("info", "decommission.done", { serial: der(cert).serialNumber, store: "already decommissioned" });
      return "already revoked";
    }
    const marker: [number, Uint8Array] = [STATE_DECOMMISSION, sha256(cert)];
    if (state === "none") {
      if (this.store.publicKey(KIND.STATE)) this.store.clear(KIND.STATE); // an open enrolment is void now
      this.store.save(KIND.STATE, [marker]);
    }
    let again = false;
    try {
      await this.withRetry("rr", () => this.transaction("rr", [], [[33 /* REVREASON */, reason]]));
    } catch (e) {
      // the CA's protected answer that the certificate is revoked already (our own rr whose
      // answer a crash lost, or a revocation by someone else): the job is done
      again = e instanceof CmpFailure && e.status === 2 && (e.failInfo & FAIL_CERT_REVOKED) !== 0;
      if (!again) throw e;
    }
    this.store.save(KIND.STATE, [marker, [STATE_REVOKED, Uint8Array.of(1)]]);
    this.emit("info", "rr.done", { serial: der(cert).serialNumber, store: "decommissioned", again });
    return again ? "already revoked" : "revoked";
  }
}
