// The I/O buffer: where hosts place inputs (configuration items, each response) and where the
// transaction keeps what must outlive a response (results.ts: at its top, growing down).
// It starts as IO_SIZE bytes of static data inside the first page. The full module can move it
// to a larger region above the first page for one response of up to IO_MAX bytes (io_reserve:
// memory.grow on demand, at most IO_PAGES pages, the module's declared maximum); the lean
// module keeps its one page.
import { LEAN } from "./features";

export const IO_SIZE: i32 = 16384;
export const IO_STATIC = memory.data(IO_SIZE, 16);
export const IO_MAX: i32 = 65536; // largest response accepted (full module)
export const IO_PAGES: i32 = 2; // pages above the first one that the region may use
const REGION: usize = 65536; // the large region starts at the second page

// The current buffer [ioBase, ioEnd).
export let ioBase: usize = IO_STATIC;
export let ioEnd: usize = IO_STATIC + IO_SIZE;

// Largest response the module can take at all.
export function ioLimit(): i32 {
  return LEAN ? IO_SIZE : IO_MAX;
}

// Makes [ioBase, ioBase + need) available: grows memory and moves the buffer to the region when
// the static one is too small. false when need exceeds the region or the host refuses to grow
// memory (memory.grow gives -1: no trap).
export function ioGrow(need: i32): bool {
  if (need <= <i32>(ioEnd - ioBase)) return true;
  if (LEAN || need > IO_PAGES << 16) return false;
  const pages = (need + 0xffff) >> 16;
  const have = memory.size() - 1;
  if (pages > have && memory.grow(pages - have) < 0) return false;
  ioBase = REGION;
  ioEnd = REGION + ((<usize>(memory.size() - 1)) << 16);
  return true;
}
