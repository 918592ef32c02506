// Where the shared test vectors live: ../shared/vectors beside the checkout (never copied here).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const VECTORS = fileURLToPath(new URL("../../../shared/vectors/", import.meta.url));

export function vector(path: string): Uint8Array {
  return new Uint8Array(readFileSync(VECTORS + path));
}

export function wycheproof(name: string): any {
  return JSON.parse(readFileSync(`${VECTORS}wycheproof/${name}`, "utf8"));
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

// A Wycheproof file that the shared vectors may not hold yet (EdDSA, ML-DSA): looked up in
// $WYCHEPROOF_DIR (a checkout's testvectors_v1) or ../shared/vectors/wycheproof; undefined when
// absent, and the test that needs it is skipped (and says so), never passed.
export function wycheproofIfPresent(name: string): any {
  for (const dir of [process.env.WYCHEPROOF_DIR, `${VECTORS}wycheproof`]) {
    if (dir && existsSync(`${dir}/${name}`)) return JSON.parse(readFileSync(`${dir}/${name}`, "utf8"));
  }
  return undefined;
}
