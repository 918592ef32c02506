// `npm start`, the main job: a simulated device enrolls against the built-in test PKI.
import { expect, it } from "vitest";
import { spawnSync } from "node:child_process";

it("npm start bootstraps (MAC and IDevID), fetches CA certificates, updates and revokes, exit 0", () => {
  const r = spawnSync("npx", ["tsx", "scripts/start.ts"], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  for (const step of ["ir, PasswordBasedMac", "ir, signature protection", "genm caCerts", "(kur)", "(rr)", "done in"]) {
    expect(r.stdout).toContain(step);
  }
  expect(r.stdout).toMatch(/the test PKI's CRL now lists 1 certificate/);
});
