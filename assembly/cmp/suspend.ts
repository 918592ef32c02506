// The saved form of a transaction waiting to poll, so that the host can suspend it (e.g. in the
// credential store) and resume it after a reboot with the same transactionID (RFC 9483 4.4).
// It holds no secret: "TX", version 1, op, polls, recipNonce length, 2 zero octets,
// checkAfter (i32 LE), transactionID (16), recipNonce.
import { E_ARG } from "../errors";
import { inMemory } from "../mem";
import { OP_GENM, OP_RR } from "./constants";
import { op, RECIP_NONCE, recipNonceLen, setRecipNonceLen, TID } from "./state";

const SUSPENDED: i32 = 28;

// Writes the saved form of the transaction at out: its length, or E_ARG when cap is too small.
export function writeSuspended(out: usize, cap: i32, polls: i32, waitSeconds: i32): i32 {
  const n = SUSPENDED + recipNonceLen;
  if (!inMemory(out, cap) || cap < n) return E_ARG;
  store<u8>(out, 0x54);
  store<u8>(out, 0x58, 1);
  store<u8>(out, 1, 2);
  store<u8>(out, <u8>op, 3);
  store<u8>(out, <u8>polls, 4);
  store<u8>(out, <u8>recipNonceLen, 5);
  store<u16>(out, 0, 6);
  store<i32>(out, waitSeconds, 8);
  for (let i = 0; i < 16; i++) store<u8>(out + 12 + i, load<u8>(TID + i));
  for (let i = 0; i < recipNonceLen; i++) store<u8>(out + SUSPENDED + i, load<u8>(RECIP_NONCE + i));
  return n;
}

// The operation of the saved form [p, p+n) (an enrollment), or E_ARG when it is none.
export function suspendedOp(p: usize, n: i32): i32 {
  if (!inMemory(p, n) || n < SUSPENDED || load<u8>(p) != 0x54 || load<u8>(p, 1) != 0x58 || load<u8>(p, 2) != 1) return E_ARG;
  const o = <i32>load<u8>(p, 3),
    rn = <i32>load<u8>(p, 5);
  if (o == OP_RR || o == OP_GENM || rn > 64 || n != SUSPENDED + rn) return E_ARG;
  return o;
}

// Restores transactionID and recipNonce of the saved form at p (checked by suspendedOp).
export function restoreSuspended(p: usize): void {
  const rn = <i32>load<u8>(p, 5);
  for (let i = 0; i < 16; i++) store<u8>(TID + i, load<u8>(p + 12 + i));
  for (let i = 0; i < rn; i++) store<u8>(RECIP_NONCE + i, load<u8>(p + SUSPENDED + i));
  setRecipNonceLen(rn);
}

// The poll count and checkAfter of the saved form at p.
export function suspendedPolls(p: usize): i32 {
  return <i32>load<u8>(p, 4);
}
export function suspendedWait(p: usize): i32 {
  return load<i32>(p, 8);
}
