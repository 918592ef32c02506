// A stored key reference (store/keyref.ts, docs/STORE.md "Keys held by the host") used by the
// transaction and by store_sign (full module): the host signer signs with handle = the store
// kind (1 IDevID, 2 credential, 4 pending), the core checks what comes back (signer.ts).
import { host_flash_read } from "../host";
import { E_ALG, E_CMP_CONFIG, E_CMP_STORE, E_STORE_FLASH } from "../errors";
import { HASH_SHA256 } from "../crypto/hash";
import { curSlot } from "../store/record";
import { refPub, refPubLen } from "../store/keyref";
import { CONFIG, CONFIG_SIZE, INT_KEY_HANDLE, INT_NEWKEY_HANDLE, ITEM_NEWPUBKEY, item } from "./config";
import { recReserve } from "./records";
import { hostSign, signed, SIGN_ECDSA_P256, signAlgFor } from "./signer";
import { txSetInt } from "./transaction";

// store_use for the key reference keyRef(kind) found: KEY_HANDLE = kind for the protection
// (IDevID, credential), or NEWKEY_HANDLE = kind and NEWPUBKEY = its PUBKEY, read from flash
// straight into the configuration (pending key). 0 or an error of tx_set / tx_set_int.
export function useKeyRef(kind: i32, pending: bool): i32 {
  if (!pending) return txSetInt(INT_KEY_HANDLE, kind);
  const r = txSetInt(INT_NEWKEY_HANDLE, kind);
  if (r != 0) return r;
  if (item(ITEM_NEWPUBKEY) != 0) return E_CMP_CONFIG;
  const dst = recReserve(CONFIG, CONFIG_SIZE, ITEM_NEWPUBKEY, refPubLen);
  if (dst == 0) return E_CMP_STORE;
  return host_flash_read(curSlot, refPub, dst, refPubLen) != 0 ? E_STORE_FLASH : 0;
}

// store_sign for the key reference keyRef(kind) found: an ECDSA P-256 key (the signature form
// store_sign returns) signs through the host signer; the signature, verified, DER at sig.
export function signKeyRef(kind: i32, hashAlg: i32, msg: usize, len: i32, sig: usize): i32 {
  const spki = memory.data(91, 4);
  if (hashAlg != HASH_SHA256 || refPubLen != 91) return E_ALG;
  if (host_flash_read(curSlot, refPub, spki, 91) != 0) return E_STORE_FLASH;
  if (signAlgFor(spki, 91) != SIGN_ECDSA_P256) return E_ALG;
  const n = hostSign(kind, SIGN_ECDSA_P256, spki, 91, msg, len);
  if (n > 0) for (let i = 0; i < n; i++) store<u8>(sig + i, load<u8>(signed() + i));
  return n;
}

// A key the host signer signs with: P-256, P-384, RSA, Ed25519 (store_pending_ref); 0 or E_ALG.
export function keyRefSignable(spki: usize, len: i32): i32 {
  return signAlgFor(spki, len) < 0 ? E_ALG : 0;
}
