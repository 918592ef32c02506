// The exports of the I/O buffer and the CMP transaction, shared by both entries: abi.ts (the
// full module) and lean.ts. Thin wrappers over assembly/cmp/transaction.ts (docs/ABI.md).
import { ioBase, ioEnd } from "./io";

// The version of this ABI (docs/ABI.md "Compatibility"): hosts refuse a module whose number differs.
export const ABI_VERSION: i32 = 1;
export function abi_version(): i32 {
  return ABI_VERSION;
}

export function io_ptr(): usize {
  return ioBase;
}
export function io_size(): i32 {
  return <i32>(ioEnd - ioBase);
}
export function io_reserve(n: i32): i32 {
  return txReserve(n);
}

import {
  error as txError_,
  txFailInfo,
  txInput,
  txOut,
  txOutLen,
  txPoll,
  txResume,
  txSuspend,
  txReset,
  txResult,
  txResultLen,
  txSet,
  txReserve,
  txSetInt,
  txStart,
  txStatus,
  waitSeconds,
} from "./cmp/transaction";
import { DETAIL, detailLen } from "./cmp/detail";

export function tx_reset(): void {
  txReset();
}
export function tx_set(item: i32, ptr: usize, len: i32): i32 {
  return txSet(item, ptr, len);
}
export function tx_set_int(item: i32, value: i32): i32 {
  return txSetInt(item, value);
}
export function tx_start(op: i32): i32 {
  return txStart(op);
}
export function tx_input(ptr: usize, len: i32): i32 {
  return txInput(ptr, len);
}
export function tx_poll(): i32 {
  return txPoll();
}
export function tx_suspend(out: usize, cap: i32): i32 {
  return txSuspend(out, cap);
}
export function tx_resume(p: usize, n: i32): i32 {
  return txResume(p, n);
}
export function tx_out(): usize {
  return txOut();
}
export function tx_out_len(): i32 {
  return txOutLen();
}
export function tx_wait(): i32 {
  return waitSeconds;
}
export function tx_error(): i32 {
  return txError_;
}
export function tx_detail(): usize {
  return DETAIL;
}
export function tx_detail_len(): i32 {
  return detailLen;
}
export function tx_status(): i32 {
  return txStatus();
}
export function tx_failinfo(): i32 {
  return txFailInfo();
}
export function tx_result(kind: i32, index: i32): usize {
  return txResult(kind, index);
}
export function tx_result_len(kind: i32, index: i32): i32 {
  return txResultLen(kind, index);
}
