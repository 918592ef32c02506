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

// ---- DER (assembly/der): checks of the reader and writer on whole inputs ----
import { derReencode, derTimeOf, derWalk } from "./der/tools";

// Walks one DER element: (tag, offset, value length, depth) as 4 i32 per element; count or error.
export function der_walk(input: usize, len: i32, out: usize, cap: i32): i32 {
  return derWalk(input, len, out, cap);
}

// Parses one DER element and writes it again with the writer; output length or error.
export function der_reencode(input: usize, len: i32, out: usize, cap: i32): i32 {
  return derReencode(input, len, out, cap);
}

// One UTCTime / GeneralizedTime element to i64 seconds since 1970 at out; 0 or error.
export function der_time(input: usize, len: i32, out: usize): i32 {
  return derTimeOf(input, len, out);
}
