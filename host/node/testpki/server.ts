// CMP over HTTP (RFC 6712 / RFC 9811) for the test PKI: POST application/pkixcmp on "/",
// "/pkix/" and the RFC 9483 3.3 paths /.well-known/cmp[/p/<label>]/<operation>; GET /crl serves
// the issuing CA's CRL. Bounded body size and time; garbage gets an error PKIMessage.
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** RFC 9483 3.3: operation path segments. */
export const OPERATIONS = [
  "initialization",
  "certification",
  "keyupdate",
  "pkcs10",
  "revocation",
  "getcacerts",
  "getrootupdate",
  "getcertreqtemplate",
  "getcrls",
] as const;

const CMP_PATH = new RegExp(`^/\\.well-known/cmp(/p/[A-Za-z0-9._~-]{1,64})?(/(${OPERATIONS.join("|")}))?/?$`);

export function isCmpPath(path: string): boolean {
  return path === "/" || path === "/pkix" || path === "/pkix/" || CMP_PATH.test(path);
}

export interface HttpOptions {
  port: number;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  handle: (der: Uint8Array) => Promise<Uint8Array>;
  crl: () => Promise<Uint8Array>;
}

function reply(res: ServerResponse, status: number, body: Uint8Array | string, type = "text/plain"): void {
  if (res.headersSent) return;
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache" });
  res.end(body);
}

export async function startHttp(o: HttpOptions): Promise<{ server: Server; url: string }> {
  const server = createServer({ requestTimeout: o.requestTimeoutMs, headersTimeout: o.requestTimeoutMs, keepAliveTimeout: 5_000 }, (req, res) => {
    serve(o, req, res).catch(() => reply(res, 500, "internal error\n"));
  });
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

async function serve(o: HttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && (path === "/crl" || path === "/.well-known/cmp/crl")) {
    return reply(res, 200, await o.crl(), "application/pkix-crl");
  }
  if (!isCmpPath(path)) return reply(res, 404, "not a CMP path\n");
  if (req.method !== "POST") {
    res.setHeader("Allow", "POST");
    return reply(res, 405, "CMP requests are POSTed (RFC 6712 3.4)\n");
  }
  const type = req.headers["content-type"];
  if (type && !/^application\/pkixcmp\s*(;|$)/i.test(type)) return reply(res, 415, "Content-Type must be application/pkixcmp\n");
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > o.maxBodyBytes) {
    res.setHeader("Connection", "close");
    return reply(res, 413, "request too large\n");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > o.maxBodyBytes) {
      res.setHeader("Connection", "close");
      reply(res, 413, "request too large\n");
      req.destroy();
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const answer = await o.handle(new Uint8Array(Buffer.concat(chunks)));
  reply(res, 200, answer, "application/pkixcmp");
}
