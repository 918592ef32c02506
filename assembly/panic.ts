// AssemblyScript's abort (failed assert, out-of-memory) routed to the ABI's own `panic` import,
// so the module imports nothing outside docs/ABI.md. Never reached on bad input: the core returns
// error codes instead (DESIGN: no traps on bad input).
import { host_panic } from "./host";

export function abort(_msg: string | null, _file: string | null, line: u32, col: u32): void {
  host_panic(line, col);
  unreachable();
}
