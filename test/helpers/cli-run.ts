// The CLI run in-process for tests: its exit status and what it printed.
import { vi } from "vitest";
import { main } from "../../host/node/cli/cli";

export async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "",
    stderr = "";
  const log = vi.spyOn(console, "log").mockImplementation((s) => {
    stdout += s + "\n";
  });
  const err = vi.spyOn(console, "error").mockImplementation((s) => {
    stderr += s + "\n";
  });
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}
