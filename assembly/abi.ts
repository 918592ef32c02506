// Every export of the tinycmp module, in one place (imports: host.ts; both in docs/ABI.md).
// All arguments are i32/i64; byte strings are (pointer, length) pairs into linear memory,
// normally inside the I/O buffer. Results: >= 0 success (often a length), < 0 an error code
// from errors.ts.
import "./panic";

// ---- I/O buffer: where hosts place inputs and read outputs ----
const IO_SIZE: i32 = 16384;
const IO = memory.data(IO_SIZE, 16);
export function io_ptr(): usize { return IO; }
export function io_size(): i32 { return IO_SIZE; }

// ---- signature verification: RSA, ECDSA P-384 / P-521 ----
import { weierstrassVerify } from "./crypto/weierstrass";
export function wx_verify_tmp(curve: i32, d: usize, dl: i32, p: usize, pl: i32, r: usize, rl: i32, s: usize, sl: i32): i32 {
  return weierstrassVerify(curve, d, dl, p, pl, r, rl, s, sl);
}
