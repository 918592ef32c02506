// A scriptable hostile HTTP server for transport and protocol fault tests. Raw TCP so
// that it can misbehave below HTTP: it reads one request (headers + Content-Length body), then
// does what the script says for that request's index. Binds 127.0.0.1 on a free port; every timer
// and socket is released by close().
import { createServer, type Server, type Socket } from "node:net";

export type Behaviour =
  | { kind: "drop" } // close the connection without an answer
  | { kind: "reset" } // RST
  | { kind: "stall" } // read the request, never answer
  | { kind: "slowloris"; everyMs?: number } // status line and headers one byte at a time, forever
  | { kind: "partial"; body: Uint8Array; then: "stall" | "close" } // Content-Length of body, half of it sent
  | { kind: "oversized"; declared?: boolean } // 1 MiB body (Content-Length or chunked without one)
  | { kind: "status"; code: number; headers?: Record<string, string>; body?: Uint8Array }
  | { kind: "respond"; body: Uint8Array; contentType?: string }
  | { kind: "raw"; data: Uint8Array } // bytes that are not HTTP, then close
  | { kind: "proxy"; url: string; edit?: (rsp: Uint8Array, req: Uint8Array, n: number) => Uint8Array };

export interface HostileServer {
  url: string;
  requests: Uint8Array[];
  close(): Promise<void>;
}

export type Script = (n: number, req: Uint8Array) => Behaviour;

export async function startHostile(script: Script): Promise<HostileServer> {
  const requests: Uint8Array[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };

  const answer = (s: Socket, status: number, headers: Record<string, string>, body: Uint8Array) => {
    const h = Object.entries({ "Content-Length": String(body.length), ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    s.write(`HTTP/1.1 ${status} X\r\n${h}\r\n`);
    s.write(body);
  };

  const act = async (s: Socket, b: Behaviour, req: Uint8Array, n: number) => {
    switch (b.kind) {
      case "drop":
        s.end();
        s.destroy();
        return;
      case "reset":
        s.resetAndDestroy();
        return;
      case "stall":
        return;
      case "slowloris": {
        const text = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nX-Slow: " + "a".repeat(100000));
        let i = 0;
        const drip = () => {
          if (s.destroyed || i >= text.length) return;
          s.write(text.subarray(i, ++i));
          later(b.everyMs ?? 50, drip);
        };
        drip();
        return;
      }
      case "partial":
        s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: ${b.body.length}\r\n\r\n`);
        s.write(b.body.subarray(0, b.body.length >> 1));
        if (b.then === "close") s.end();
        return;
      case "oversized": {
        const chunk = Buffer.alloc(65536, 0x30);
        if (b.declared !== false) {
          s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: ${1 << 20}\r\n\r\n`);
          for (let i = 0; i < 16; i++) s.write(chunk);
        } else {
          s.write("HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nTransfer-Encoding: chunked\r\n\r\n");
          for (let i = 0; i < 16; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk.toString("latin1")}\r\n`, "latin1");
        }
        return;
      }
      case "status":
        answer(s, b.code, b.headers ?? {}, b.body ?? new Uint8Array(0));
        return;
      case "respond":
        answer(s, 200, { "Content-Type": b.contentType ?? "application/pkixcmp" }, b.body);
        return;
      case "raw":
        s.end(b.data);
        return;
      case "proxy": {
        const res = await fetch(b.url, { method: "POST", headers: { "Content-Type": "application/pkixcmp" }, body: Buffer.from(req) });
        let body: Uint8Array = new Uint8Array(await res.arrayBuffer());
        if (b.edit) body = b.edit(body, req, n);
        answer(s, res.status, { "Content-Type": res.headers.get("content-type") ?? "application/pkixcmp" }, body);
        return;
      }
    }
  };

  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const len = Number(/content-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString("latin1"))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const req = new Uint8Array(buf.subarray(end + 4, end + 4 + len));
        buf = buf.subarray(end + 4 + len);
        const n = requests.length;
        requests.push(req);
        act(s, script(n, req), req, n).catch(() => s.destroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/pkix/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
