// HTTP transport against a local server on 127.0.0.1 (ephemeral port, closed after each test).
import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HttpTransport, TransportError, wellKnownPath } from "../host/node/transport";

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;
const servers: http.Server[] = [];

async function serve(handler: Handler): Promise<{ url: string; sockets: Set<unknown> }> {
  const sockets = new Set<unknown>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => handler(req, Buffer.concat(chunks), res));
  });
  server.on("connection", (s) => sockets.add(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pkix/`, sockets };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const cmp = (res: http.ServerResponse, body: Buffer) => {
  res.writeHead(200, { "Content-Type": "application/pkixcmp", "Content-Length": body.length });
  res.end(body);
};

describe("HttpTransport", () => {
  it("POSTs application/pkixcmp and keeps one connection across messages", async () => {
    const seen: string[] = [];
    const { url, sockets } = await serve((req, body, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
      cmp(res, Buffer.concat([Buffer.from("echo:"), body]));
    });
    const t = new HttpTransport({ url, msgTimeoutMs: 5000 });
    try {
      expect(Buffer.from(await t.transfer(Buffer.from("one"))).toString()).toBe("echo:one");
      expect(Buffer.from(await t.transfer(Buffer.from("two"))).toString()).toBe("echo:two");
    } finally {
      t.close();
    }
    expect(seen).toEqual(["POST /pkix/ application/pkixcmp", "POST /pkix/ application/pkixcmp"]);
    expect(sockets.size).toBe(1);
  });

  it.each([
    ["a redirect", (res: http.ServerResponse) => { res.writeHead(302, { Location: "http://127.0.0.1:1/" }); res.end(); }, /302 redirect/],
    ["an HTTP error", (res: http.ServerResponse) => { res.writeHead(503); res.end(); }, /HTTP 503/],
    ["a wrong content type", (res: http.ServerResponse) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<html>"); }, /Content-Type "text\/html"/],
    ["an oversized body", (res: http.ServerResponse) => cmp(res, Buffer.alloc(70000)), /exceeds the limit/],
    ["an oversized chunked body", (res: http.ServerResponse) => { res.writeHead(200, { "Content-Type": "application/pkixcmp" }); for (let i = 0; i < 70; i++) res.write(Buffer.alloc(1000)); res.end(); }, /exceeds the limit/],
    ["a body cut short", (res: http.ServerResponse) => { res.writeHead(200, { "Content-Type": "application/pkixcmp", "Content-Length": 100 }); res.write(Buffer.alloc(10)); setTimeout(() => res.socket?.destroy(), 20); }, /closed before the response was complete|socket hang up|aborted/],
  ])("refuses %s with a clear error", async (_name, reply, message) => {
    const { url } = await serve((_req, _body, res) => reply(res));
    const t = new HttpTransport({ url, msgTimeoutMs: 5000 });
    try {
      await expect(t.transfer(Buffer.from("x"))).rejects.toThrow(message);
    } finally {
      t.close();
    }
  });

  it("times out a stalled server", async () => {
    const { url } = await serve(() => { /* never answers */ });
    const t = new HttpTransport({ url, msgTimeoutMs: 200 });
    const start = Date.now();
    try {
      await expect(t.transfer(Buffer.from("x"))).rejects.toThrow(/no complete response within 200 ms/);
    } finally {
      t.close();
    }
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it("enforces the total timeout across messages", async () => {
    const { url } = await serve((_req, body, res) => setTimeout(() => cmp(res, body), 150));
    const t = new HttpTransport({ url, msgTimeoutMs: 5000, totalTimeoutMs: 250 });
    try {
      await t.transfer(Buffer.from("first"));
      await expect(t.transfer(Buffer.from("second"))).rejects.toThrow(TransportError);
    } finally {
      t.close();
    }
  });

  it("reports a refused connection", async () => {
    const { url } = await serve(() => {});
    const closed = servers.pop()!;
    closed.closeAllConnections();
    await new Promise((r) => closed.close(r));
    const t = new HttpTransport({ url, msgTimeoutMs: 2000 });
    try {
      await expect(t.transfer(Buffer.from("x"))).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      t.close();
    }
  });

  it("builds RFC 9483 paths", () => {
    expect(wellKnownPath("ir")).toBe("/.well-known/cmp/initialization");
    expect(wellKnownPath("kur", "tls-server")).toBe("/.well-known/cmp/p/tls-server/keyupdate");
    expect(wellKnownPath("caCerts")).toBe("/.well-known/cmp/getcacerts");
  });
});

describe("HttpTransport with a server that closes idle connections", () => {
  it("retries once on a new connection when the kept-alive one was closed", async () => {
    const served = new WeakMap<object, number>();
    const { url, sockets } = await serve((req, body, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      // the server gave up on this kept-alive connection: the next request on it is dropped
      if (n > 1) return req.socket.destroy();
      cmp(res, body);
    });
    const t = new HttpTransport({ url, msgTimeoutMs: 5000 });
    try {
      expect(Buffer.from(await t.transfer(Buffer.from("a"))).toString()).toBe("a");
      expect(Buffer.from(await t.transfer(Buffer.from("b"))).toString()).toBe("b");
    } finally {
      t.close();
    }
    expect(sockets.size).toBe(2);
  });

  it("does not retry a request on a new connection", async () => {
    let requests = 0;
    const { url } = await serve((req) => { requests++; req.socket.destroy(); });
    const t = new HttpTransport({ url, msgTimeoutMs: 5000 });
    try {
      await expect(t.transfer(Buffer.from("x"))).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      t.close();
    }
    expect(requests).toBe(1);
  });
});
