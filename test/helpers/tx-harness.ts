// A CMP transaction of the core with a deterministic host random source and a fixed clock, so
// that a restarted transaction sends the identical request (forgery and security tests).
import { expect } from "vitest";
import { FuzzCore } from "../../host/node/tools/fuzzer";
import { ACTION_DONE, ACTION_FAILED, ACTION_SEND, ACTION_WAIT, E_CMP_STATE } from "../../host/node/lib/abi";
import { expectAction } from "./codes";

export const SEND = ACTION_SEND,
  WAIT = ACTION_WAIT,
  DONE = ACTION_DONE,
  FAILED = ACTION_FAILED;
export const enc = (s: string) => new TextEncoder().encode(s);
export const cn = (s: string) => {
  const v = Buffer.from(s);
  const atv = Buffer.concat([Buffer.from([0x30, v.length + 7, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, v.length]), v]);
  const set = Buffer.concat([Buffer.from([0x31, atv.length]), atv]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x30, set.length]), set]));
};

/** A core configured with `items` whose first request is the same every time it is started. */
export function transaction(items: [number, Uint8Array][], ints: [number, number][], now: number, op = 1, seed = 42) {
  const fc = new FuzzCore(now);
  const x = fc.core.exports;
  const configure = () => {
    x.tx_reset();
    for (const [k, v] of items) {
      fc.core.reset();
      expect(x.tx_set(k, fc.core.put(v), v.length)).toBe(0);
    }
    for (const [k, v] of ints) expect(x.tx_set_int(k, v)).toBe(0);
  };
  configure();
  const start = (): Uint8Array => {
    fc.reseed(seed);
    let a = x.tx_start(op);
    if (a === E_CMP_STATE) {
      configure();
      fc.reseed(seed);
      a = x.tx_start(op);
    }
    expectAction(a, SEND);
    return fc.core.read(x.tx_out(), x.tx_out_len());
  };
  const input = (rsp: Uint8Array): number => {
    fc.core.reset();
    let a = x.tx_input(fc.core.put(rsp), rsp.length);
    while (a === WAIT) a = x.tx_poll();
    return a;
  };
  return { fc, start, input, error: () => x.tx_error() };
}
