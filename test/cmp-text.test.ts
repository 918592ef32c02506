// assembly/cmp/text.ts is generated from the table in scripts/gen-text.ts (npm run gen-text).
import { expect, it } from "vitest";
import { current } from "../scripts/gen-text";

it("assembly/cmp/text.ts is current with scripts/gen-text.ts", () => {
  expect(current()).toBe(true);
});
