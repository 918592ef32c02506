// The tx_* API of the core without a server: configuration store, order of calls, randomness
// and clock imports, wiping on tx_reset, request encoding checked with node:crypto.
import { describe, expect, it } from "vitest";
import { Core } from "../host/node/lib/core";
import { expectAction, expectCode } from "./helpers/codes";
import {
  ACTION_FAILED as FAILED,
  ACTION_SEND as SEND,
  E_ARG,
  E_CMP_CONFIG,
  E_CMP_STATE,
  E_CMP_STORE,
  E_RANDOM,
  INT_MAX_POLLS,
  ITEM_NEWKEY,
  ITEM_REF,
  ITEM_REQIN,
  ITEM_SECRET,
  ITEM_TRUSTED,
  OP_GENM,
  OP_IR,
  RESULT_CERT,
  RESULT_NEW_KEY,
} from "../host/node/lib/abi";

function setup(core: Core, items: [number, Uint8Array][]) {
  const x = core.exports;
  x.tx_reset();
  for (const [k, v] of items) {
    core.reset();
    expect(x.tx_set(k, core.put(v), v.length)).toBe(0);
  }
}
const text = (s: string) => new TextEncoder().encode(s);
const detail = (c: Core) => new TextDecoder().decode(c.read(c.exports.tx_detail(), c.exports.tx_detail_len()));

describe("tx_* API", () => {
  it("refuses calls out of order", () => {
    const c = new Core();
    const x = c.exports;
    x.tx_reset();
    expectCode(x.tx_input(c.io, 10), E_CMP_STATE);
    expectCode(x.tx_poll(), E_CMP_STATE);
    expectCode(x.tx_start(0), E_ARG);
    expectCode(x.tx_start(7), E_ARG);
    expect(x.tx_out_len()).toBe(0);
    expect(x.tx_result_len(RESULT_CERT, 0)).toBe(-1);
    expect(x.tx_status()).toBe(-1);
  });

  it("store: single items once, repeatable items append, full store refused, bad pointers refused", () => {
    const c = new Core();
    const x = c.exports;
    setup(c, [[ITEM_SECRET, text("secret")]]);
    const p = c.put(text("again"));
    expectCode(x.tx_set(ITEM_SECRET, p, 5), E_CMP_CONFIG);
    expectCode(x.tx_set(0, p, 5), E_ARG);
    expectCode(x.tx_set(ITEM_REQIN + 1, p, 5), E_ARG); // REQIN is the last item
    expectCode(x.tx_set(ITEM_TRUSTED, 65530, 100), E_ARG);
    const big = c.reserve(2000);
    let r = 0,
      n = 0;
    while ((r = x.tx_set(ITEM_TRUSTED, big, 2000)) === 0) n++;
    expectCode(r, E_CMP_STORE);
    expect(n).toBe(3); // 6 KiB configuration store
    expectCode(x.tx_set_int(31, 1), E_ARG);
    expect(x.tx_set_int(INT_MAX_POLLS, 3)).toBe(0);
  });

  it("no credentials: FAILED with a detail", () => {
    const c = new Core();
    setup(c, []);
    expectAction(c.exports.tx_start(OP_IR), FAILED);
    expectCode(c.exports.tx_error(), E_CMP_CONFIG);
    expect(detail(c)).toBe("neither KEY/CERT nor SECRET configured");
  });

  it("no entropy: FAILED with E_RANDOM", () => {
    const c = new Core({ random: () => false });
    setup(c, [
      [ITEM_SECRET, text("secret")],
      [ITEM_NEWKEY, new Uint8Array(32).fill(1)],
    ]);
    expectAction(c.exports.tx_start(OP_IR), FAILED);
    expectCode(c.exports.tx_error(), E_RANDOM);
  });

  it("messageTime comes from env.time; transactionID and senderNonce from env.random", () => {
    let fill = 0;
    const c = new Core({
      now: () => 1_700_000_000,
      random: (b) => {
        b.fill(++fill);
        return true;
      },
    });
    setup(c, [
      [ITEM_SECRET, text("secret")],
      [ITEM_REF, text("ref")],
      [ITEM_NEWKEY, new Uint8Array(32).fill(1)],
    ]);
    expectAction(c.exports.tx_start(OP_GENM), SEND); // genm
    const req = Buffer.from(c.read(c.exports.tx_out(), c.exports.tx_out_len()));
    expect(req.includes(Buffer.from("20231114221320Z"))).toBe(true); // 1_700_000_000 s
    expect(req.includes(Buffer.from([0xa4, 0x12, 0x04, 0x10, ...new Uint8Array(16).fill(1)]))).toBe(true); // transactionID
    expect(req.includes(Buffer.from([0xa5, 0x12, 0x04, 0x10, ...new Uint8Array(16).fill(2)]))).toBe(true); // senderNonce
    expect(req.includes(Buffer.from([0xa2, 0x05, 0x04, 0x03, ...text("ref")]))).toBe(true); // senderKID
  });

  it("tx_reset wipes the secret, the keys and the request", () => {
    const c = new Core();
    const secret = text("very-secret-value-1234");
    setup(c, [
      [ITEM_SECRET, secret],
      [ITEM_REF, text("ref")],
    ]);
    expectAction(c.exports.tx_start(OP_IR), SEND); // generates a key (result 4)
    const key = c.read(c.exports.tx_result(RESULT_NEW_KEY, 0), 32);
    c.exports.tx_reset();
    const mem = Buffer.from(c.memory.buffer);
    new Uint8Array(c.memory.buffer, c.io, c.ioSize).fill(0); // the host's own copies
    expect(mem.includes(Buffer.from(secret))).toBe(false);
    expect(mem.includes(Buffer.from(key))).toBe(false);
    expect(c.exports.tx_out_len()).toBe(0);
  });
});
