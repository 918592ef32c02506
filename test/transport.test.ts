// HTTP transport against a local server on 127.0.0.1 (ephemeral port, closed after each test).
import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import https from "node:https";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { HttpTransport, TransportError, wellKnownPath } from "../host/node/lib/transport";

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

  it("transports on a shared agent reuse its connection and leave it open on close()", async () => {
    const { url, sockets } = await serve((_req, body, res) => cmp(res, body));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const text of ["a", "b", "c"]) {
        const t = new HttpTransport({ url, msgTimeoutMs: 5000, agent });
        expect(Buffer.from(await t.transfer(Buffer.from(text))).toString()).toBe(text);
        t.close(); // the pool is not this transport's
      }
      expect(sockets.size).toBe(1); // one connection for the three transports
      expect(Object.values(agent.freeSockets).flat().length).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    [
      "a redirect",
      (res: http.ServerResponse) => {
        res.writeHead(302, { Location: "http://127.0.0.1:1/" });
        res.end();
      },
      /302 redirect/,
    ],
    [
      "an HTTP error",
      (res: http.ServerResponse) => {
        res.writeHead(503);
        res.end();
      },
      /HTTP 503/,
    ],
    [
      "a wrong content type",
      (res: http.ServerResponse) => {
        res.writeHead(200, { "Content-Type": "text/html" });
        res.end("<html>");
      },
      /Content-Type "text\/html"/,
    ],
    ["an oversized body", (res: http.ServerResponse) => cmp(res, Buffer.alloc(70000)), /exceeds the limit/],
    [
      "an oversized chunked body",
      (res: http.ServerResponse) => {
        res.writeHead(200, { "Content-Type": "application/pkixcmp" });
        for (let i = 0; i < 70; i++) res.write(Buffer.alloc(1000));
        res.end();
      },
      /exceeds the limit/,
    ],
    [
      "a body cut short",
      (res: http.ServerResponse) => {
        res.writeHead(200, { "Content-Type": "application/pkixcmp", "Content-Length": 100 });
        res.write(Buffer.alloc(10));
        setTimeout(() => res.socket?.destroy(), 20);
      },
      /closed before the response was complete|socket hang up|aborted/,
    ],
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
    const { url } = await serve(() => {
      /* never answers */
    });
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
    const { url } = await serve((req) => {
      requests++;
      req.socket.destroy();
    });
    const t = new HttpTransport({ url, msgTimeoutMs: 5000 });
    try {
      await expect(t.transfer(Buffer.from("x"))).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      t.close();
    }
    expect(requests).toBe(1);
  });
});

describe("RFC 9483 URLs", () => {
  it("a .well-known/cmp URL gets the operation segment, others stay as given", async () => {
    const { operationUrl } = await import("../host/node/lib/transport");
    expect(operationUrl("http://ca:80/.well-known/cmp", "ir")).toBe("http://ca/.well-known/cmp/initialization");
    expect(operationUrl("https://ca/.well-known/cmp/p/tls/", "kur")).toBe("https://ca/.well-known/cmp/p/tls/keyupdate");
    expect(operationUrl("http://ca/.well-known/cmp", "rootCaKeyUpdate")).toBe("http://ca/.well-known/cmp/getrootupdate");
    expect(operationUrl("http://ca/pkix/", "ir")).toBe("http://ca/pkix/");
  });
});

describe("HTTPS", () => {
  // A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
  const dir = mkdtempSync(join(tmpdir(), "tinycmp-tls-"));
  const ossl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, env: { ...process.env, OPENSSL_CONF: "/dev/null" }, stdio: "pipe" });
  ossl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=tls test ca",
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  for (const [name, ext] of [
    ["srv", "subjectAltName=IP:127.0.0.1"],
    ["cli", "extendedKeyUsage=clientAuth"],
  ]) {
    ossl([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ]);
    writeFileSync(join(dir, `${name}.ext`), ext + "\n");
    ossl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ]);
  }
  const pem = (n: string) => readFileSync(join(dir, n));
  const tlsServers: https.Server[] = [];
  afterEach(async () => {
    for (const s of tlsServers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  async function serveTls(requestCert: boolean): Promise<string> {
    const s = https.createServer({ key: pem("srv.key"), cert: pem("srv.crt"), ca: pem("ca.crt"), requestCert, rejectUnauthorized: requestCert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => cmp(res, Buffer.concat(chunks)));
    });
    tlsServers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `https://127.0.0.1:${(s.address() as AddressInfo).port}/pkix/`;
  }

  it("validates the server against -tls_trusted, and refuses it without", async () => {
    const url = await serveTls(false);
    const good = new HttpTransport({ url, msgTimeoutMs: 5000, tlsTrusted: pem("ca.crt") });
    const bad = new HttpTransport({ url, msgTimeoutMs: 5000 });
    try {
      expect(Buffer.from(await good.transfer(Buffer.from("tls"))).toString()).toBe("tls");
      await expect(bad.transfer(Buffer.from("tls"))).rejects.toThrow(/certificate/i);
    } finally {
      good.close();
      bad.close();
    }
  });

  it("authenticates with a client certificate where the server asks for one", async () => {
    const url = await serveTls(true);
    const withCert = new HttpTransport({ url, msgTimeoutMs: 5000, tlsTrusted: pem("ca.crt"), tlsCert: pem("cli.crt"), tlsKey: pem("cli.key") });
    const without = new HttpTransport({ url, msgTimeoutMs: 5000, tlsTrusted: pem("ca.crt") });
    try {
      expect(Buffer.from(await withCert.transfer(Buffer.from("mtls"))).toString()).toBe("mtls");
      await expect(without.transfer(Buffer.from("mtls"))).rejects.toThrow(TransportError);
    } finally {
      withCert.close();
      without.close();
    }
  });
});
