// Reads the interface of a WebAssembly module (imports, exports with their signatures, memory)
// straight from the binary, for the ABI test, the size report and the board checks.
const VALTYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };

export interface FuncSig {
  params: string[];
  results: string[];
}
export interface WasmImport {
  module: string;
  name: string;
  kind: string;
  sig?: FuncSig;
}
export interface WasmExport {
  name: string;
  kind: string;
  sig?: FuncSig;
}
export interface WasmInfo {
  imports: WasmImport[];
  exports: WasmExport[];
  memory?: { initial: number; maximum?: number };
}

export function sigText(s: FuncSig): string {
  return `(${s.params.join(", ")}) -> ${s.results.length ? s.results.join(", ") : "nil"}`;
}

export function wasmInfo(bin: Uint8Array): WasmInfo {
  let p = 8;
  const u32 = (): number => {
    let r = 0,
      shift = 0,
      b: number;
    do {
      b = bin[p++];
      r |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return r >>> 0;
  };
  const name = (): string => {
    const n = u32();
    const s = new TextDecoder().decode(bin.subarray(p, p + n));
    p += n;
    return s;
  };
  const limits = () => {
    const flag = u32();
    const initial = u32();
    return flag & 1 ? { initial, maximum: u32() } : { initial };
  };
  const types: FuncSig[] = [];
  const funcs: FuncSig[] = [];
  const info: WasmInfo = { imports: [], exports: [] };
  const kinds = ["func", "table", "memory", "global"];
  while (p < bin.length) {
    const id = bin[p++];
    const size = u32();
    const end = p + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        p++; // 0x60
        const params = Array.from({ length: u32() }, () => VALTYPES[bin[p++]]);
        const results = Array.from({ length: u32() }, () => VALTYPES[bin[p++]]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name(),
          field = name(),
          kind = kinds[bin[p++]];
        const imp: WasmImport = { module, name: field, kind };
        if (kind === "func") {
          imp.sig = types[u32()];
          funcs.push(imp.sig);
        } else if (kind === "table") {
          p++;
          limits();
        } else if (kind === "memory") info.memory = limits();
        else {
          p += 2;
        }
        info.imports.push(imp);
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(types[u32()]);
    } else if (id === 5) {
      for (let n = u32(); n > 0; n--) info.memory = limits();
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const field = name(),
          kind = kinds[bin[p++]],
          index = u32();
        info.exports.push(kind === "func" ? { name: field, kind, sig: funcs[index] } : { name: field, kind });
      }
    }
    p = end;
  }
  return info;
}
