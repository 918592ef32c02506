// Where the shared test vectors live: ../shared/vectors beside the checkout (never copied here).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const VECTORS = fileURLToPath(new URL("../../shared/vectors/", import.meta.url));

export function vector(path: string): Uint8Array {
  return new Uint8Array(readFileSync(VECTORS + path));
}

export function wycheproof(name: string): any {
  return JSON.parse(readFileSync(`${VECTORS}wycheproof/${name}`, "utf8"));
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
