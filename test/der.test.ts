// DER reader and writer (assembly/der) through der_walk, der_reencode and der_time: real CMP
// messages and certificates, random trees from a JS encoder, malformed encodings, times against
// JS Date, and random mutations (never a trap).
import { beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { X509Certificate, verify } from "node:crypto";
import asc from "assemblyscript/asc";
import { Core, TEST_WASM } from "../host/node/lib/core";
import type { TestCoreExports } from "../host/node/lib/abi";
import { hex, toHex, VECTORS, vector } from "./helpers/vectors";

const E = {
  TRUNCATED: -1,
  INDEFINITE: -2,
  LENGTH: -3,
  LENGTH_HUGE: -4,
  DEPTH: -5,
  TAG: -6,
  TAG_FORM: -7,
  VALUE: -8,
  TIME: -9,
  TRAILING: -10,
  BUFFER: -11,
  ARG: -20,
};
const MAX_DEPTH = 24;

const core = new Core<TestCoreExports>({ wasm: TEST_WASM });
const x = core.exports;

type Rec = [number, number, number, number];

function walk(der: Uint8Array, cap = 8192): Rec[] | number {
  core.reset();
  const p = core.put(der);
  const out = core.reserve(cap);
  const n = x.der_walk(p, der.length, out, cap);
  if (n < 0) return n;
  const v = new Int32Array(core.read(out, n * 16).buffer);
  return Array.from({ length: n }, (_, i) => [v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]] as Rec);
}

function reencode(der: Uint8Array, cap = der.length): Uint8Array | number {
  core.reset();
  const p = core.put(der);
  const out = core.reserve(Math.max(cap, 1));
  const n = x.der_reencode(p, der.length, out, cap);
  return n < 0 ? n : core.read(out, n);
}

function time(der: Uint8Array): bigint | number {
  core.reset();
  const p = core.put(der);
  const out = core.reserve(8);
  const r = x.der_time(p, der.length, out);
  return r < 0 ? r : new DataView(core.read(out, 8).buffer).getBigInt64(0, true);
}

// Text forms for fast comparisons (deep equality of large arrays is slow in vitest).
const recText = (r: Rec[] | number): string => (typeof r === "number" ? String(r) : r.join(" "));
const derText = (d: Uint8Array | number): string => (typeof d === "number" ? String(d) : toHex(d));

// ---- independent JS DER: TLV walker and encoder ----

function jsWalk(d: Uint8Array): Rec[] {
  const recs: Rec[] = [];
  const rec = (p: number, end: number, depth: number) => {
    while (p < end) {
      const start = p,
        tag = d[p++];
      let len = d[p++];
      if (len & 0x80) {
        let k = len & 0x7f;
        for (len = 0; k > 0; k--) len = len * 256 + d[p++];
      }
      recs.push([tag, start, len, depth]);
      if (tag & 0x20) rec(p, p + len, depth + 1);
      p += len;
    }
  };
  rec(0, d.length, 0);
  return recs;
}

function encLen(n: number): number[] {
  if (n < 0x80) return [n];
  const b: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) b.unshift(n & 0xff);
  return [0x80 | b.length, ...b];
}

function tlv(tag: number, content: Uint8Array | number[]): Uint8Array {
  return Uint8Array.from([tag, ...encLen(content.length), ...content]);
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "latin1"));

// Deterministic PRNG (mulberry32) so failures reproduce.
function prng(seed: number) {
  return (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

// GeneralizedTime / UTCTime text of t seconds since 1970 (via JS Date).
function timeText(t: number, utc: boolean): string {
  const iso = new Date(t * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ for years 0..9999
  const s = iso.slice(0, 19).replace(/[-T:]/g, "");
  return (utc ? s.slice(2) : s) + "Z";
}

// A second of 0000-01-01 .. 9999-12-31 (315569520000 seconds).
function randomGeneralizedTime(r: (n: number) => number): number {
  return -62167219200 + r(2146731428) * 147 + r(147);
}

// ---- the vectors: every DER file and every PEM block ----

function files(dir: string, re: RegExp): string[] {
  return readdirSync(VECTORS + dir, { recursive: true, withFileTypes: false } as any)
    .map(String)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => dir + "/" + f);
}

function pemBlocks(path: string): Uint8Array[] {
  const text = readFileSync(VECTORS + path, "utf8");
  return [...text.matchAll(/-----BEGIN [^-]+-----([^-]+)-----END/g)].map((m) => Uint8Array.from(Buffer.from(m[1].replace(/\s+/g, ""), "base64")));
}

const DER: [string, Uint8Array][] = [
  ...["lwcmpra", "rustcrypto-cmpv2", "go-pkicmp"].flatMap((d) => files(d, /\.(der|bin)$/)).map((f) => [f, vector(f)] as [string, Uint8Array]),
  ...[...files("lwcmpra/roots", /\.pem$/), ...files("rustcrypto-cmpv2", /\.(pem|crt)$/)].flatMap((f) =>
    pemBlocks(f).map((b, i) => [`${f}#${i}`, b] as [string, Uint8Array]),
  ),
];

describe("vectors", () => {
  it("found the vector files", () => {
    expect(DER.length).toBeGreaterThan(60);
    expect(DER.filter(([f]) => f.includes("#")).length).toBeGreaterThanOrEqual(12);
  });

  it.each(DER)("%s: der_reencode gives the same bytes, der_walk the JS walker's records", (_, der) => {
    expect(derText(reencode(der))).toBe(toHex(der));
    expect(recText(walk(der))).toBe(recText(jsWalk(der)));
  });

  it("a buffer one byte short is E_DER_BUFFER for both", () => {
    for (const [, der] of DER.slice(0, 10)) {
      expect(reencode(der, der.length - 1)).toBe(E.BUFFER);
      const n = jsWalk(der).length;
      expect(walk(der, n * 16 - 1)).toBe(E.BUFFER);
      expect(walk(der, n * 16)).toHaveLength(n);
    }
  });
});

// ---- random trees through the JS encoder ----

function randomTree(r: (n: number) => number, budget: { bytes: number; elements: number }, depth: number): Uint8Array {
  budget.elements--;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => r(256));
  const len = () => {
    const form = r(4); // lengths in every form the 16 KiB buffer allows: short, 0x81, 0x82
    const n = form === 0 ? r(128) : form === 1 ? 128 + r(128) : form === 2 ? r(16) : 256 + r(3000);
    return Math.max(0, Math.min(n, budget.bytes));
  };
  if (depth < MAX_DEPTH && budget.elements > 0 && r(3) !== 0) {
    const tag = [0x30, 0x31, 0xa0 | r(31), 0x60 | r(31), 0xe0 | r(31)][r(5)];
    const kids: Uint8Array[] = [];
    for (let k = r(6); k > 0 && budget.elements > 0 && budget.bytes > 0; k--) {
      kids.push(randomTree(r, budget, depth + 1));
    }
    return tlv(tag, concat(kids));
  }
  const kind = r(12);
  let el: Uint8Array;
  if (kind === 0) el = tlv(0x01, [r(2) ? 0xff : 0]);
  else if (kind === 1) {
    // INTEGER: minimal two's complement of a random magnitude and sign
    let v = BigInt("0x0" + Buffer.from(bytes(r(3) ? 1 + r(9) : 1 + r(300))).toString("hex")) >> BigInt(r(8));
    if (r(3) === 0) v = -v - 1n;
    const b: number[] = [];
    for (;;) {
      b.unshift(Number(v & 0xffn));
      if (v >= -128n && v < 128n) break;
      v >>= 8n;
    }
    el = tlv(0x02, b);
  } else if (kind === 2) el = tlv(0x05, []);
  else if (kind === 3) {
    const unused = r(3) ? 0 : r(8);
    const c = bytes(1 + len());
    c[0] = unused;
    if (c.length === 1) c[0] = 0;
    else c[c.length - 1] &= (0xff << unused) & 0xff;
    el = tlv(0x03, c);
  } else if (kind === 4) {
    const arcs = [r(3), r(40), ...Array.from({ length: r(8) }, () => (r(2) ? r(128) : r(2 ** 31)))];
    const c = [arcs[0] * 40 + arcs[1]];
    for (const a of arcs.slice(2)) {
      const b = [a & 0x7f];
      for (let v = a >>> 7; v > 0; v >>>= 7) b.unshift(0x80 | (v & 0x7f));
      c.push(...b);
    }
    el = tlv(0x06, c);
  } else if (kind === 5) {
    const set = "ABCXYZabcxyz0189 '()+,-./:=?";
    el = tlv(0x13, ascii(Array.from({ length: r(40) }, () => set[r(set.length)]).join("")));
  } else if (kind === 6)
    el = tlv(
      0x16,
      bytes(len()).map((b) => b & 0x7f),
    );
  else if (kind === 7) el = tlv(0x17, ascii(timeText(-631152000 + r(3155760000), true)));
  else if (kind === 8) el = tlv(0x18, ascii(timeText(randomGeneralizedTime(r), false)));
  else {
    const tag = [0x04, 0x0c, 0x80 | r(31), 0x40 | r(31), 0xc0 | r(31)][r(5)];
    el = tlv(tag, bytes(len()));
  }
  budget.bytes -= el.length;
  return el;
}

describe("writer on random trees", () => {
  it("der_reencode returns the JS encoding of 400 random trees (lengths up to ~8000)", () => {
    const r = prng(1);
    let big = 0;
    for (let i = 0; i < 400; i++) {
      const der = randomTree(r, { bytes: 2000 + r(5500), elements: 200 }, 0);
      if (der.length > 8000) continue;
      if (der.length > 256) big++;
      expect(derText(reencode(der)), `tree ${i}`).toBe(toHex(der));
      expect(recText(walk(der)), `tree ${i}`).toBe(recText(jsWalk(der)));
    }
    expect(big).toBeGreaterThan(100);
  });

  it("nesting up to the bound is accepted, one deeper is E_DER_DEPTH", () => {
    const nest = (n: number) => {
      let d = tlv(0x05, []);
      for (let i = 0; i < n; i++) d = tlv(0x30, d);
      return d;
    };
    expect(walk(nest(MAX_DEPTH))).toHaveLength(MAX_DEPTH + 1);
    expect(reencode(nest(MAX_DEPTH))).toEqual(nest(MAX_DEPTH));
    expect(walk(nest(MAX_DEPTH + 1))).toBe(E.DEPTH);
    expect(reencode(nest(MAX_DEPTH + 1))).toBe(E.DEPTH);
  });

  it("INTEGER re-encoding: positive values of every size, negative ones copied", () => {
    for (const h of [
      "020100",
      "02017f",
      "02020080",
      "0202ff7f",
      "020180",
      "0208" + "7f".padEnd(16, "f"),
      "020900" + "80".padEnd(16, "0"),
      "0209" + "01".padEnd(18, "0"),
      "0221" + "00" + "ff".repeat(32),
    ]) {
      expect(reencode(hex(h)), h).toEqual(hex(h));
    }
  });

  it("many siblings (4000 NULLs) re-encode without deep recursion", () => {
    const der = tlv(0x30, concat(Array.from({ length: 4000 }, () => hex("0500"))));
    expect(derText(reencode(der))).toBe(toHex(der));
    expect(walk(der, 16384 - 8016)).toBe(E.BUFFER);
  });
});

// ---- malformed encodings ----

const BAD: [string, string, number][] = [
  ["empty input", "", E.TRUNCATED],
  ["tag only", "30", E.TRUNCATED],
  ["indefinite length", "30800500" + "0000", E.INDEFINITE],
  ["0x81 with a short length", "0481050102030405", E.LENGTH],
  ["leading zero length octet", "048200800" + "0".repeat(255), E.LENGTH],
  ["length past the end", "04050102", E.TRUNCATED],
  ["long length octets past the end", "048201", E.TRUNCATED],
  ["child longer than its parent", "3003040500", E.TRUNCATED],
  ["child longer than its parent, inside", "3007 3003 040500 0500", E.TRUNCATED],
  ["5-octet length", "0485000000000100", E.LENGTH_HUGE],
  ["length 0x84 ff ff ff ff", "0484ffffffff", E.LENGTH_HUGE],
  ["length 0x84 80 00 00 00", "048480000000", E.LENGTH_HUGE],
  ["length 0x84 7f ff ff ff past the end", "04847fffffff00", E.TRUNCATED],
  ["reserved length 0xff", "04ff", E.LENGTH_HUGE],
  ["high tag number form", "1f0100", E.TAG_FORM],
  ["high tag number form, context", "bf1f0100", E.TAG_FORM],
  ["primitive SEQUENCE", "1000", E.TAG_FORM],
  ["constructed OCTET STRING", "2400", E.TAG_FORM],
  ["end-of-contents tag", "0000", E.TAG],
  ["trailing byte", "050000", E.TRAILING],
  ["second element", "05000500", E.TRAILING],
  ["BOOLEAN 0x01", "010101", E.VALUE],
  ["BOOLEAN empty", "0100", E.VALUE],
  ["BOOLEAN two octets", "0102ffff", E.VALUE],
  ["NULL with content", "050100", E.VALUE],
  ["BIT STRING unused bits 8", "03020800", E.VALUE],
  ["BIT STRING empty", "0300", E.VALUE],
  ["BIT STRING empty with unused bits", "030101", E.VALUE],
  ["BIT STRING unused bit set", "03020101", E.VALUE],
  ["INTEGER empty", "0200", E.VALUE],
  ["INTEGER leading zero", "0202007f", E.VALUE],
  ["INTEGER leading ones", "0202ff80", E.VALUE],
  ["OID empty", "0600", E.VALUE],
  ["OID leading 0x80", "0603 2a8001", E.VALUE],
  ["OID first subidentifier 0x80", "0602 8001", E.VALUE],
  ["OID open subidentifier", "0602 2a86", E.VALUE],
  ["PrintableString with @", "130261 40", E.VALUE],
  ["PrintableString with *", "13012a", E.VALUE],
  ["IA5String with 0x80", "160180", E.VALUE],
  ["parent longer than the input", "3008 3006 a004 0101 01", E.TRUNCATED],
  ["bad BOOLEAN deep inside", "3007 3005 a003 010101", E.VALUE],
  ["bad time inside", "300f 170d 3233313330313030303030305a", E.TIME],
  ["too deep", toHex(nestDeep(MAX_DEPTH + 1)), E.DEPTH],
];

function nestDeep(n: number): Uint8Array {
  let d: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < n; i++) d = tlv(0x30, d);
  return d;
}

describe("malformed DER", () => {
  it.each(BAD)("%s: %s -> %i", (_, h, code) => {
    const der = hex(h.replace(/ /g, ""));
    expect(walk(der)).toBe(code);
    expect(reencode(der, 64)).toBe(code);
  });

  it("pointers outside memory are E_ARG, not a trap", () => {
    core.reset().put(hex("0500"));
    expect(x.der_walk(65530, 10, core.io, 64)).toBe(E.ARG);
    expect(x.der_walk(core.io, -1, core.io, 64)).toBe(E.ARG);
    expect(x.der_walk(core.io, 2, 65536 - 8, 64)).toBe(E.ARG);
    expect(x.der_reencode(core.io, 2, 65536, 4)).toBe(E.ARG);
    expect(x.der_time(core.io, 2, 65532)).toBe(E.ARG);
    // lengths larger than memory itself must not wrap around the bound check
    expect(x.der_walk(core.io, 0x7fffffff, core.io, 64)).toBe(E.ARG);
    expect(x.der_walk(core.io, 2, core.io, 0x7fffffff)).toBe(E.ARG);
    expect(x.der_reencode(core.io, 2, core.io, 0x10000)).toBe(E.ARG);
  });

  it("an element ending exactly at the end of memory is read safely", () => {
    const m = new Uint8Array(core.memory.buffer);
    m.set([0x02, 0x00], 65534);
    expect(x.der_walk(65534, 2, core.io, 64)).toBe(E.VALUE);
    m.set([0x03, 0x00], 65534);
    expect(x.der_reencode(65534, 2, core.io, 64)).toBe(E.VALUE);
    m.set([0, 0], 65534);
  });
});

// ---- times ----

describe("UTCTime and GeneralizedTime", () => {
  const utc = (s: string) => tlv(0x17, ascii(s));
  const gen = (s: string) => tlv(0x18, ascii(s));

  it("400 random instants equal JS Date, and re-encode to the same bytes", () => {
    const r = prng(2);
    for (let i = 0; i < 200; i++) {
      const t = -631152000 + r(3155760000); // 1950-01-01 .. 2049-12-31
      const der = utc(timeText(t, true));
      expect(time(der), timeText(t, true)).toBe(BigInt(t));
      expect(reencode(der)).toEqual(der);
    }
    for (let i = 0; i < 200; i++) {
      const t = randomGeneralizedTime(r);
      const der = gen(timeText(t, false));
      expect(time(der), timeText(t, false)).toBe(BigInt(t));
      expect(reencode(der)).toEqual(der);
    }
  });

  it("edges: RFC 5280 century rule, leap days, first and last second", () => {
    expect(time(utc("500101000000Z"))).toBe(-631152000n);
    expect(time(utc("491231235959Z"))).toBe(2524607999n);
    expect(time(utc("700101000000Z"))).toBe(0n);
    expect(time(gen("00000101000000Z"))).toBe(-62167219200n);
    expect(time(gen("99991231235959Z"))).toBe(253402300799n);
    expect(time(gen("20000229120000Z"))).toBe(BigInt(Date.UTC(2000, 1, 29, 12) / 1000));
    expect(time(gen("24000229000000Z"))).toBe(BigInt(Date.UTC(2400, 1, 29) / 1000));
    expect(time(gen("00000229000000Z"))).toBe(-62162121600n);
    expect(time(utc("240229000000Z"))).toBe(BigInt(Date.UTC(2024, 1, 29) / 1000));
  });

  it.each([
    ["month 13", utc("491301000000Z")],
    ["month 00", gen("20230001000000Z")],
    ["day 00", gen("20230100000000Z")],
    ["Apr 31", gen("20230431000000Z")],
    ["Feb 30", gen("20240230000000Z")],
    ["Feb 29 of 2023", gen("20230229000000Z")],
    ["Feb 29 of 1900", gen("19000229000000Z")],
    ["Feb 29 of 2100", gen("21000229000000Z")],
    ["hour 24", gen("20230101240000Z")],
    ["minute 60", gen("20230101006000Z")],
    ["second 60 (leap second)", gen("20231231235960Z")],
    ["missing Z", gen("20230101000000")],
    ["UTCTime missing Z", utc("230101000000")],
    ["UTCTime without seconds", utc("2301010000Z")],
    ["offset instead of Z", gen("20230101000000+0000")],
    ["fractional seconds", gen("20230101000000.5Z")],
    ["lower-case z", gen("20230101000000z")],
    ["non-digit", gen("2023010100000AZ")],
    ["sign in a field", gen("2023-1010000000Z")],
    ["space in a field", utc("23 101000000Z")],
    ["GeneralizedTime with a UTCTime body", gen("230101000000Z")],
    ["empty", utc("")],
  ] as [string, Uint8Array][])("%s -> E_DER_TIME", (_, der) => {
    expect(time(der)).toBe(E.TIME);
    expect(walk(der)).toBe(E.TIME);
  });

  it("der_time wants exactly one time element", () => {
    expect(time(hex("0400"))).toBe(E.TAG);
    expect(time(concat([gen("20230101000000Z"), hex("00")]))).toBe(E.TRAILING);
    expect(time(hex("18"))).toBe(E.TRUNCATED);
  });
});

// ---- robustness ----

describe("random mutations", () => {
  it("20,000 mutated messages: der_walk and der_reencode agree and never trap", () => {
    const r = prng(3);
    const msgs = DER.map(([, d]) => d).filter((d) => d.length <= 4000);
    let valid = 0;
    const bad: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const d = Uint8Array.from(msgs[r(msgs.length)]);
      let m: Uint8Array = d;
      const op = r(4);
      if (op === 0) {
        for (let k = 1 + r(3); k > 0; k--) d[r(d.length)] ^= 1 << r(8);
      } else if (op === 1) {
        m = d.subarray(0, r(d.length));
      } else if (op === 2) {
        const at = r(d.length + 1);
        m = concat([d.subarray(0, at), Uint8Array.from({ length: 1 + r(4) }, () => r(256)), d.subarray(at)]);
      } else {
        d[r(d.length)] = [0x00, 0x80, 0x81, 0x82, 0x84, 0xff, 0x1f, 0x30][r(8)];
      }
      const w = walk(m, 16384 - 8000);
      const e = reencode(m);
      // valid: the JS walker's records and the same bytes; invalid: both an error code
      const ok = typeof w !== "number" ? w.length > 0 && recText(w) === recText(jsWalk(m)) && derText(e) === toHex(m) : w < 0 && typeof e === "number" && e < 0;
      if (!ok) bad.push(toHex(m));
      if (typeof w !== "number") valid++;
    }
    expect(bad.slice(0, 3)).toEqual([]);
    expect(valid).toBeGreaterThan(100);
  });
});

// ---- the internal API, through test/as/der_api.ts (compiled here with the module's options) ----

describe("internal reader/writer API (test/as/der_api.ts)", () => {
  let api: any;
  let mem: Uint8Array;
  const IN = 8192,
    OUT = 32768;
  const load = (d: Uint8Array) => (mem.set(d, IN), d.length);

  beforeAll(async () => {
    let wasm: Uint8Array | undefined;
    const r = await asc.main(["--config", "test/as/asconfig.json"], {
      writeFile: (name: string, data: Uint8Array | string) => {
        if (name.endsWith(".wasm")) wasm = data as Uint8Array;
      },
    });
    if (r.error || !wasm) throw new Error(`test/as/der_api.ts: ${r.stderr}`);
    const panic = () => {
      throw new Error("panic");
    };
    api = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), { env: { panic } }).exports;
    mem = new Uint8Array(api.memory.buffer);
  });

  const certs = DER.filter(([f]) => /\.(pem|crt)#/.test(f) && !/key\.pem/.test(f));

  it("reads every certificate like a pkix parser: fields equal node:crypto's", () => {
    expect(certs.length).toBeGreaterThanOrEqual(10);
    let verified = 0,
      critical = 0;
    for (const [name, der] of certs) {
      const n = load(der);
      expect(api.cert_view(IN, n, OUT), name).toBe(0);
      const f = new Int32Array(mem.slice(OUT, OUT + 48).buffer);
      const times = new BigInt64Array(mem.slice(OUT + 64, OUT + 80).buffer);
      const c = new X509Certificate(der);
      const at = (o: number, l: number) => der.subarray(o, o + l);
      const recs = jsWalk(der);
      expect(f[2], name).toBe(recs[2][0] === 0xa0 ? der[recs[3][1] + 2] : 0); // [0] EXPLICIT Version DEFAULT v1
      expect(BigInt("0x" + toHex(at(f[3], f[4]))), name).toBe(BigInt("0x" + c.serialNumber));
      expect(Number(times[0]) * 1000, name).toBe(Date.parse(c.validFrom));
      expect(Number(times[1]) * 1000, name).toBe(Date.parse(c.validTo));
      expect(f[5], name).toBe(c.publicKey.asymmetricKeyType === "ec" ? 1 : 0);
      const spki = c.publicKey.export({ type: "spki", format: "der" });
      expect(toHex(at(f[6], f[7])), name).toBe(toHex(spki.subarray(spki.length - f[7])));
      // extensions and critical ones, from the JS walker: Extension SEQUENCEs at depth 4 in [3]
      const a3 = recs.find(([t, , , d]) => t === 0xa3 && d === 2) ?? [0, der.length, 0, 0];
      const inside = recs.filter(([, o, , d]) => o > a3[1] && o < a3[1] + 4 + a3[2] && d >= 4);
      expect(f[8], name).toBe(inside.filter(([t, , , d]) => t === 0x30 && d === 4).length);
      critical += f[9];
      expect(f[9], name).toBe(inside.filter(([t, o, , d]) => t === 0x01 && d === 5 && der[o + 2] === 0xff).length);
      // tbsCertificate and signatureValue ranges: a self-signed certificate verifies with them
      if (c.verify(c.publicKey)) {
        const hash = c.publicKey.asymmetricKeyType === "ed25519" ? null : "sha256"; // all others: *-with-SHA256
        expect(verify(hash, at(f[0], f[1]), c.publicKey, at(f[10], f[11])), name).toBe(true);
        verified++;
      }
    }
    expect(verified).toBeGreaterThanOrEqual(8);
    expect(critical).toBeGreaterThan(5);
  });

  it("cert_view on 3000 mutated certificates returns 0 or an error code, never traps", () => {
    const r = prng(4);
    for (let i = 0; i < 3000; i++) {
      const d = Uint8Array.from(certs[r(certs.length)][1]);
      for (let k = 1 + r(3); k > 0; k--) d[r(d.length)] ^= 1 << r(8);
      const v = api.cert_view(IN, load(d.subarray(0, r(8) ? d.length : r(d.length))), OUT);
      expect(v).toBeLessThanOrEqual(0);
    }
  });

  it("typed reads: INTEGER range, BIT STRING octets", () => {
    const u = (h: string, max: bigint) => api.read_uint(IN, load(hex(h)), max);
    expect(u("020100", 0n)).toBe(0n);
    expect(u("020200ff", 255n)).toBe(255n);
    expect(u("02020100", 255n)).toBe(BigInt(E.VALUE));
    expect(u("0201ff", 1000n)).toBe(BigInt(E.VALUE));
    expect(u("02087fffffffffffffff", 2n ** 63n - 1n)).toBe(2n ** 63n - 1n);
    expect(u("020900ffffffffffffffff", 2n ** 63n - 1n)).toBe(BigInt(E.VALUE));
    expect(u("0202007f", 1000n)).toBe(BigInt(E.VALUE));
    expect(u("0400", 1000n)).toBe(BigInt(E.TAG));
    expect(u("02010500", 1000n)).toBe(BigInt(E.TRAILING));
    const b = (h: string) => api.read_bits(IN, load(hex(h)));
    expect(b("030300abcd")).toBe(2);
    expect(b("030100")).toBe(0);
    expect(b("03020180")).toBe(E.VALUE); // one unused bit: a flag string, not octets
  });

  it("leaving an element with unread children is E_DER_TRAILING; errors are sticky", () => {
    expect(api.leave_early(IN, load(hex("30020500")))).toBe(0);
    expect(api.leave_early(IN, load(hex("300405000500")))).toBe(E.TRAILING);
    expect(api.sticky(IN, load(hex("020100")), 2)).toBe(0);
    expect(api.sticky(IN, load(hex("0400")), 2)).toBe(E.TAG);
    expect(api.sticky(IN, load(hex("0500")), 5)).toBe(E.VALUE);
    expect(api.sticky(IN, load(hex("0281")), 2)).toBe(E.TRUNCATED);
  });

  it("writer helpers build what a JS encoder builds; too small a buffer is E_DER_BUFFER", () => {
    const oid = hex("2a8648ce3d040302");
    const int = (b: number[]) => {
      let i = 0;
      while (i < b.length - 1 && b[i] === 0) i++;
      const m = b.slice(i);
      return tlv(0x02, m.length === 0 || m[0] & 0x80 ? [0, ...m] : m);
    };
    const uint = (v: bigint) => int([...Buffer.from(v.toString(16).padStart(2 * Math.ceil(v.toString(16).length / 2), "0"), "hex")]);
    const cases: [number[], bigint, number, number][] = [
      [[], 0n, 0, 0],
      [[0, 0, 0x80], 127n, 2524607999, 200],
      [[0x7f], 128n, -631152000, 300],
      [[0xff, 1, 2], 2n ** 63n - 1n, 1700000000, 1],
      [[0, 0, 0], 65535n, 86399, 127],
    ];
    for (const [mag, v, t, dl] of cases) {
      const data = Uint8Array.from({ length: dl }, (_, i) => i * 7);
      const want = tlv(
        0x30,
        concat([
          tlv(0x30, tlv(0x06, oid)),
          int(mag),
          uint(v),
          hex("0101ff"),
          hex("0500"),
          tlv(0x18, ascii(timeText(t, false))),
          tlv(0x17, ascii(timeText(t, true))),
          tlv(0x04, data),
          tlv(0x03, [0, ...data]),
        ]),
      );
      mem.set(mag, IN);
      mem.set(data, IN + 1024);
      const w = (cap: number, tt = t) => api.write_sample(OUT, cap, IN, mag.length, v, BigInt(tt), IN + 1024, dl);
      const n = w(4096);
      expect(toHex(mem.slice(OUT, OUT + n))).toBe(toHex(want));
      expect(w(want.length)).toBe(want.length);
      expect(w(want.length - 1)).toBe(E.BUFFER);
      expect(w(0)).toBe(E.BUFFER);
      expect(w(4096, 2524608000)).toBe(E.TIME); // 2050: no UTCTime
      expect(w(4096, 253402300800)).toBe(E.TIME); // year 10000
    }
  });
});
