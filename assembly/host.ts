// Every import of the tinycmp module: the host ABI (module "env"), documented in docs/ABI.md.
// Kept apart from abi.ts because every export of the entry file becomes a module export.

// Fill [ptr, ptr+len) with random bytes from the host's entropy source. Returns 0 on success;
// anything else means no entropy, and the core aborts the operation with E_RANDOM.
@external("env", "random") export declare function host_random(ptr: usize, len: i32): i32;
// Fatal error inside the core (a broken invariant, never bad input). Does not return.
@external("env", "panic") export declare function host_panic(line: u32, col: u32): void;
// Current time in seconds since 1970 (UTC): messageTime, validity checks of response signers.
@external("env", "time") export declare function host_time(): i64;
// Flash slots (docs/STORE.md): read/write len bytes at offset of a slot from/to [ptr, ptr+len);
// erase sets a whole slot to 0xFF. Writes go only to erased bytes (write once after erase).
// Each returns 0 on success, non-zero on failure (the store then fails with E_STORE_FLASH).
@external("env", "flash_read") export declare function host_flash_read(slot: i32, offset: i32, ptr: usize, len: i32): i32;
@external("env", "flash_write") export declare function host_flash_write(slot: i32, offset: i32, ptr: usize, len: i32): i32;
@external("env", "flash_erase") export declare function host_flash_erase(slot: i32): i32;
// Full module only: the host signs [ptr, ptr+len) (a digest or the message, by alg) with the key
// behind handle into [out, out+cap); returns the signature's length, or a negative number when it
// cannot (no token, wrong PIN, no such key). A host without a signer gives a stub returning -1.
@external("env", "sign") export declare function host_sign(handle: i32, alg: i32, ptr: usize, len: i32, out: usize, cap: i32): i32;
