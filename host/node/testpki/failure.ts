// A rejected request: what goes into the PKIStatusInfo of the answer (RFC 9810 5.2.3).
import { PKIFailureInfo } from "./asn1.js";

export class CmpFailure extends Error {
  constructor(
    readonly failInfo: PKIFailureInfo,
    message: string,
  ) {
    super(message);
  }
}

export function fail(failInfo: PKIFailureInfo, message: string): never {
  throw new CmpFailure(failInfo, message);
}
