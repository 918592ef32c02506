// A CMP transaction driven with keys from the store (store_use: never through the I/O buffer):
// ir signed with the IDevID or kur signed with the current credential, the pending key as the
// new key; returns the issued certificate and its validated chain (the caller commits them).
import type { Store } from "../lib/store.js";
import { KIND, TAG } from "../lib/store.js";
import type { HttpTransport } from "../lib/transport.js";
import {
  ACTION_DONE,
  ACTION_SEND,
  errorName,
  ITEM_CERT,
  ITEM_EXTRA,
  ITEM_OLDCERT,
  ITEM_SUBJECT,
  ITEM_TRUSTED,
  OP_IR,
  OP_KUR,
  RESULT_CERT,
  RESULT_CHAIN,
} from "../lib/abi.js";

export const ITEM = { CERT: ITEM_CERT, EXTRA: ITEM_EXTRA, TRUSTED: ITEM_TRUSTED, SUBJECT: ITEM_SUBJECT, OLDCERT: ITEM_OLDCERT } as const;

export class TransactionFailed extends Error {}

export async function transact(
  s: Store,
  net: HttpTransport,
  op: "ir" | "kur",
  items: [number, Uint8Array][],
): Promise<{ cert: Uint8Array; chain: Uint8Array[] }> {
  const c = s.core,
    x = c.exports;
  x.tx_reset();
  try {
    for (const r of [x.store_use(op === "ir" ? KIND.IDEVID : KIND.CRED), x.store_use(KIND.STATE)]) {
      if (r !== 0) throw new TransactionFailed(`store_use: ${errorName(r)}`);
    }
    for (const [item, v] of items) {
      c.reset();
      if (x.tx_set(item, c.put(v), v.length) !== 0) throw new TransactionFailed(`tx_set ${item}`);
    }
    let action = x.tx_start(op === "ir" ? OP_IR : OP_KUR);
    while (action === ACTION_SEND) {
      const body = await net.transfer(c.read(x.tx_out(), x.tx_out_len()));
      c.reset();
      action = x.tx_input(c.put(body), body.length);
    }
    if (action !== ACTION_DONE) {
      throw new TransactionFailed(new TextDecoder().decode(c.read(x.tx_detail(), x.tx_detail_len())) || `action ${action}`);
    }
    const result = (kind: number, i: number) => (x.tx_result_len(kind, i) < 0 ? undefined : c.read(x.tx_result(kind, i), x.tx_result_len(kind, i)));
    const chain: Uint8Array[] = [];
    for (let i = 1, v; (v = result(RESULT_CHAIN, i)); i++) chain.push(v); // the validated chain above the certificate
    return { cert: result(RESULT_CERT, 0)!, chain };
  } finally {
    x.tx_reset(); // wipes the keys out of the transaction's configuration
  }
}

/** Items of a kur signed with the store's current credential. */
export function kurItems(s: Store, trusted: Uint8Array[]): [number, Uint8Array][] {
  const old = s.get(KIND.CRED, TAG.CERT)!;
  return [
    [ITEM.CERT, old],
    [ITEM.OLDCERT, old],
    ...s.all(KIND.CRED, TAG.CHAIN).map((c): [number, Uint8Array] => [ITEM.EXTRA, c]),
    ...trusted.map((c): [number, Uint8Array] => [ITEM.TRUSTED, c]),
  ];
}
