// The I/O buffer: where hosts place inputs (configuration items, each response) and where the
// transaction keeps what must outlive a response (results.ts: at its top, growing down).
export const IO_SIZE: i32 = 16384;
export const IO = memory.data(IO_SIZE, 16);
