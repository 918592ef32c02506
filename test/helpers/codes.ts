// Assertions on the core's numbers that fail with their names: "expected 'E_CMP_PROTECTION (-88)'
// to be 'E_CMP_SIGNER (-96)'", not "expected -88 to be -96". Names from host/node/lib/abi.ts
// (generated from the core's declarations).
import { expect } from "vitest";
import { ACTION_NAMES, E_NAMES } from "../../host/node/lib/abi";

/** A result as the test reads it: an error code by name, any other number as itself. */
export function codeText(v: unknown): string {
  if (typeof v !== "number" && typeof v !== "bigint") return v instanceof Uint8Array ? `bytes ${Buffer.from(v).toString("hex")}` : String(v);
  const n = Number(v);
  return n < 0 && E_NAMES[n] ? `${E_NAMES[n]} (${n})` : String(v);
}

/** got is the error code want (or, for want >= 0, that number). */
export function expectCode(got: unknown, want: number, message?: string): void {
  expect(codeText(got), message).toBe(codeText(want));
}

/** An action (ACTION_*) or a negative error code, by name. */
export function actionText(v: number): string {
  return v < 0 ? codeText(v) : ACTION_NAMES[v] ? `${ACTION_NAMES[v]} (${v})` : String(v);
}

/** got is the action want (ACTION_*): a failure names both, and an error code in their place. */
export function expectAction(got: number, want: number, message?: string): void {
  expect(actionText(got), message).toBe(actionText(want));
}
