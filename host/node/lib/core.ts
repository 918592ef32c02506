// Loads the tinycmp WebAssembly module and implements its imports (docs/ABI.md) for Node.
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Flash } from "./flash.js";
import { ABI_VERSION, SIGN_ECDSA_P256, SIGN_ECDSA_P384, SIGN_ED25519, SIGN_RSA_PKCS1, SIGN_RSA_PSS, type CoreExports } from "./abi.js";

export const DEFAULT_WASM = fileURLToPath(new URL("../../../build/tinycmp.wasm", import.meta.url));
/** The lean module (ir/kur, P-256, SHA-256, PBM only; docs/ABI.md). */
export const LEAN_WASM = fileURLToPath(new URL("../../../build/tinycmp-lean.wasm", import.meta.url));
/** The test module: the release module's exports and those only tests, fuzzers and benchmarks
 *  use (docs/ABI.md "Test module"); load it as `new Core<TestCoreExports>({ wasm: TEST_WASM })`. */
export const TEST_WASM = fileURLToPath(new URL("../../../build/tinycmp-test.wasm", import.meta.url));

export interface CoreOptions {
  /** Path to the module or its bytes; default build/tinycmp.wasm or $TINYCMP_WASM. */
  wasm?: string | Uint8Array;
  /** Entropy source; return false when none is available (the core then fails with E_RANDOM). */
  random?: (out: Uint8Array) => boolean;
  /** Clock in seconds since 1970 (fake clocks in tests); default the system clock. */
  now?: () => number;
  /** Flash slots of the credential store (docs/STORE.md); default a fresh in-memory Flash. */
  flash?: Flash;
  /** The host signer behind env.sign (full module, docs/ABI.md "Host signer"): signs the digest
   *  or message for the key behind handle with algorithm alg (SIGN_*); the signature (ECDSA as
   *  r || s), or undefined when it cannot. Default: no signer (env.sign answers -1). */
  sign?: HostSign;
}

/** env.sign's algorithms (docs/ABI.md "Host signer"). */
export { SIGN_ECDSA_P256, SIGN_ECDSA_P384, SIGN_RSA_PKCS1, SIGN_RSA_PSS, SIGN_ED25519 };
export type HostSign = (handle: number, alg: number, input: Uint8Array) => Uint8Array | undefined;

/** Thrown when the core calls `panic` (a broken invariant inside the module, never bad input). */
export class CorePanic extends Error {}

/** Thrown when a module's abi_version() is not the one this host was built for (docs/ABI.md
 *  "Compatibility"): the host refuses it rather than misread its numbers. */
export class AbiMismatch extends Error {}

const compiled = new Map<string, WebAssembly.Module>();

function compile(wasm: string | Uint8Array): WebAssembly.Module {
  if (typeof wasm !== "string") return new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  let m = compiled.get(wasm);
  if (!m) compiled.set(wasm, (m = new WebAssembly.Module(readFileSync(wasm))));
  return m;
}

/** One instance of the core with its own linear memory; X: the exports of the module loaded
 *  (CoreExports of the release module, TestCoreExports of the test module). */
export class Core<X extends CoreExports = CoreExports> {
  readonly exports: X;
  readonly memory: WebAssembly.Memory;
  io: number;
  ioSize: number;
  readonly flash: Flash;
  /** Why the host signer last failed (its exception's message), for the words of E_SIGNER. */
  signError: string | undefined;
  private top = 0;

  constructor(opts: CoreOptions = {}) {
    const random = opts.random ?? ((out: Uint8Array) => (randomFillSync(out), true));
    const now = opts.now ?? (() => Date.now() / 1000);
    const flash = (this.flash = opts.flash ?? new Flash());
    const bytes = (ptr: number, len: number): Uint8Array | undefined =>
      len < 0 || ptr < 0 || ptr + len > this.memory.buffer.byteLength ? undefined : new Uint8Array(this.memory.buffer, ptr, len);
    const env = {
      random: (ptr: number, len: number): number => {
        if (len < 0 || ptr + len > this.memory.buffer.byteLength) return -1;
        return random(new Uint8Array(this.memory.buffer, ptr, len)) ? 0 : -1;
      },
      time: (): bigint => BigInt(Math.floor(now())),
      flash_read: (slot: number, offset: number, ptr: number, len: number): number => {
        const b = bytes(ptr, len);
        return b && flash.read(slot, offset, b) ? 0 : -1;
      },
      flash_write: (slot: number, offset: number, ptr: number, len: number): number => {
        const b = bytes(ptr, len);
        return b && flash.write(slot, offset, b) ? 0 : -1;
      },
      flash_erase: (slot: number): number => (flash.erase(slot) ? 0 : -1),
      sign: (handle: number, alg: number, ptr: number, len: number, out: number, cap: number): number => {
        const input = bytes(ptr, len)?.slice();
        const o = bytes(out, cap);
        if (!input || !o || !opts.sign) return -1;
        let sig: Uint8Array | undefined;
        this.signError = undefined;
        try {
          sig = opts.sign(handle, alg, input);
        } catch (e) {
          this.signError = (e as Error).message ?? String(e);
          return -1;
        }
        if (!sig) return -1;
        if (sig.length > cap) return cap + 1; // the core refuses it (E_SIGNER_INVALID)
        o.set(sig);
        return sig.length;
      },
      panic: (line: number, col: number): never => {
        throw new CorePanic(`tinycmp core panic at ${line}:${col}`);
      },
    };
    const wasm = opts.wasm ?? process.env.TINYCMP_WASM ?? DEFAULT_WASM;
    const instance = new WebAssembly.Instance(compile(wasm), { env });
    const x = instance.exports as unknown as X;
    const version = typeof x.abi_version === "function" ? x.abi_version() : undefined;
    if (version !== ABI_VERSION) {
      throw new AbiMismatch(
        `the tinycmp module ${typeof wasm === "string" ? wasm : "given"} has ABI version ` +
          `${version ?? "none (no abi_version export)"}, this host needs ${ABI_VERSION}: use the module built with this host`,
      );
    }
    this.exports = x;
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.io = this.exports.io_ptr();
    this.ioSize = this.exports.io_size();
  }

  /** Room for an input of n bytes at the I/O buffer (io_reserve: the full module grows its memory
   *  for responses of up to 64 KiB): its size, or the core's negative error (then tx_detail says
   *  why). Moves the buffer, so call it before reset/put. */
  ensureIo(n: number): number {
    const r = this.exports.io_reserve(n);
    this.io = this.exports.io_ptr();
    this.ioSize = this.exports.io_size();
    return r;
  }

  /** Forget everything placed with put/reserve: the I/O buffer is free again. */
  reset(): this {
    this.top = 0;
    return this;
  }

  /** Reserve n bytes of the I/O buffer (8-aligned) and return their address. */
  reserve(n: number): number {
    const at = this.io + this.top;
    const next = (this.top + n + 7) & ~7;
    if (next > this.ioSize) throw new RangeError(`I/O buffer too small: need ${next} of ${this.ioSize}`);
    this.top = next;
    return at;
  }

  /** Copy bytes into the I/O buffer and return their address. */
  put(data: Uint8Array): number {
    const at = this.reserve(data.length);
    new Uint8Array(this.memory.buffer, at, data.length).set(data);
    return at;
  }

  /** Copy len bytes out of linear memory. */
  read(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, len).slice();
  }
}
