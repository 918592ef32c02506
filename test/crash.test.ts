// The agent killed from outside (host/node/tools/crash.ts, short run; `npm run crash` for the full one):
// SIGKILL at store system calls (strace) and at random moments during a polled enrolment and a
// decommissioning; after each kill the store is checked by a reader independent of the core and
// the restarted agent must finish. A mutant agent that reports a resumed transaction the CA has
// forgotten as permanent (as before the recovery rule) is caught as stuck.
import { describe, expect, it } from "vitest";
import { runCrash } from "../host/node/tools/crash";

describe("crash harness (short)", () => {
  it("kills during ir with polling and during decommissioning: nothing lost, mismatched, rolled back or stuck", async () => {
    const r = await runCrash({ only: ["ir-poll", "decommission"], maxPerSyscall: 4, random: 3 });
    expect(r.failures).toEqual([]);
    expect(r.kills).toBeGreaterThanOrEqual(30);
    expect([r.lost, r.mismatched, r.rolledBack, r.stuck]).toEqual([0, 0, 0, 0]);
    expect(r.scenarios["ir-poll"].syscallKills).toBeGreaterThanOrEqual(12);
  }, 600_000);

  it("catches an agent that gives up on a resumed transaction the CA no longer knows", async () => {
    const r = await runCrash({
      only: ["ir-poll"],
      syscalls: ["rename"],
      random: 0,
      workers: 1,
      mutate: (path, src) => (path.endsWith("/agent.ts") ? src.replace("reason = e.message;", "throw e;") : src),
    });
    expect(r.stuck).toBeGreaterThan(0);
    expect(r.failures.join("\n")).toMatch(/restart exited [12]/);
  }, 600_000);
});
