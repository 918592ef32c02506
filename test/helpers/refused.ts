// Awaiting an operation that must be refused: it fails with a CmpError (and with `code`, when
// given, the core's error code: docs/ABI.md), and the error is returned for further checks.
import { expect } from "vitest";
import { CmpError } from "../../host/node/lib/device";
import { codeText } from "./codes";

export async function expectRefused(p: Promise<unknown>, code?: number): Promise<CmpError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CmpError);
    if (code !== undefined) expect(codeText((e as CmpError).code), (e as CmpError).detail).toBe(codeText(code));
    return e as CmpError;
  }
  throw new Error("the operation succeeded; it must be refused");
}
