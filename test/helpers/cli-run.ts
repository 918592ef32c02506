// The CLI run in-process for tests: its exit status and what it printed; a server that counts
// what the CLI sent.
import http from "node:http";
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

/** A plain HTTP server counting requests, answering 404: shows whether anything was sent. */
export async function withCounter<T>(fn: (port: number, count: () => number) => Promise<T>): Promise<T> {
  let n = 0;
  const srv = http.createServer((_q, r) => {
    n++;
    r.writeHead(404);
    r.end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  try {
    return await fn((srv.address() as { port: number }).port, () => n);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
}
