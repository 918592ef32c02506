// HTTP(S) transport for CMP messages: RFC 6712 as updated by RFC 9811, paths per RFC 9483 6.1.
// One POST per PKIMessage, `application/pkixcmp` both ways, the connection kept alive across the
// messages of a transaction (certConf, pollReq), TCP_NODELAY, no redirects, bounded waits.
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";

/** RFC 9483 6.1: the path segment of each PKI management operation (certConf/pollReq reuse it). */
export const OPERATION_PATHS = {
  ir: "initialization",
  cr: "certification",
  kur: "keyupdate",
  p10cr: "pkcs10",
  rr: "revocation",
  caCerts: "getcacerts",
  rootCaKeyUpdate: "getrootupdate",
  certReqTemplate: "getcertreqtemplate",
  crls: "getcrls",
} as const;
export type Operation = keyof typeof OPERATION_PATHS;

/** `/.well-known/cmp[/p/<label>]/<operation>` (RFC 9483 6.1). */
export function wellKnownPath(operation: Operation, profileLabel?: string): string {
  const label = profileLabel ? `/p/${encodeURIComponent(profileLabel)}` : "";
  return `/.well-known/cmp${label}/${OPERATION_PATHS[operation]}`;
}

/** A URL whose path ends in `/.well-known/cmp` or `/.well-known/cmp/p/<label>` gets the
 *  operation's path segment appended (RFC 9483 6.1); any other URL is used as given. */
export function operationUrl(url: string, operation: Operation): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, "");
  if (!/\/\.well-known\/cmp(\/p\/[^/]+)?$/.test(path)) return url;
  u.pathname = `${path}/${OPERATION_PATHS[operation]}`;
  return u.toString();
}

export interface HttpTransportOptions {
  /** `http://host:port/path` or `https://...`; the path is used as given. */
  url: string;
  /** Time allowed for one request/response exchange (default 30 s). */
  msgTimeoutMs?: number;
  /** Time allowed for all exchanges of this transport together (default: unlimited). */
  totalTimeoutMs?: number;
  /** Largest response body accepted (default 64 KiB). */
  maxResponseBytes?: number;
  /** HTTPS: trusted CA certificates (PEM) for server validation; default the system store. */
  tlsTrusted?: string | Buffer | (string | Buffer)[];
  /** HTTPS client authentication (PEM). */
  tlsCert?: string | Buffer;
  tlsKey?: string | Buffer;
}

export class TransportError extends Error {}
class StaleConnection extends TransportError {}

export class HttpTransport {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly started = Date.now();
  private readonly opts: HttpTransportOptions;

  constructor(opts: HttpTransportOptions) {
    this.opts = opts;
    this.url = new URL(opts.url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new TransportError(`unsupported URL scheme ${this.url.protocol} (http: or https:)`);
    }
    const agentOpts = { keepAlive: true, maxSockets: 1 };
    this.agent = this.url.protocol === "https:"
      ? new https.Agent({ ...agentOpts, ca: opts.tlsTrusted, cert: opts.tlsCert, key: opts.tlsKey, rejectUnauthorized: true })
      : new http.Agent(agentOpts);
  }

  /** POST one DER PKIMessage, return the DER response. A kept-alive connection that the
   *  server closed meanwhile (reset before any response) is retried once on a new connection. */
  async transfer(request: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.exchange(request);
    } catch (e) {
      if (!(e instanceof StaleConnection)) throw e;
      return this.exchange(request);
    }
  }

  private exchange(request: Uint8Array): Promise<Uint8Array> {
    const msgTimeout = this.opts.msgTimeoutMs ?? 30_000;
    const left = this.opts.totalTimeoutMs === undefined ? Infinity : this.started + this.opts.totalTimeoutMs - Date.now();
    if (left <= 0) return Promise.reject(new TransportError("total timeout exceeded"));
    const timeout = Math.min(msgTimeout, left);
    const limit = this.opts.maxResponseBytes ?? 65536;
    const mod = this.url.protocol === "https:" ? https : http;

    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      let gotResponse = false;
      const fail = (msg: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new TransportError(msg));
      };
      const timer = setTimeout(() => fail(`no complete response within ${timeout} ms from ${this.url.host}`), timeout);
      const req = mod.request(this.url, {
        method: "POST",
        agent: this.agent,
        headers: {
          "Content-Type": "application/pkixcmp",
          "Content-Length": request.length,
          Connection: "keep-alive",
        },
      });
      req.on("socket", (s: Socket) => s.setNoDelay(true));
      req.on("error", (e: NodeJS.ErrnoException) => {
        // Node's advice for kept-alive sockets: a reused one may have been closed by the server
        if (req.reusedSocket && !gotResponse && (e.code === "ECONNRESET" || e.code === "EPIPE") && !settled) {
          settled = true;
          clearTimeout(timer);
          return reject(new StaleConnection(e.message));
        }
        fail(`${this.url.host}: ${e.message}`);
      });
      req.on("response", (res) => {
        gotResponse = true;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) return fail(`HTTP ${status} redirect to ${res.headers.location ?? "?"} refused`);
        // RFC 6712 3.3 / RFC 9811: a CMP server that cannot process a request may answer with an
        // HTTP error instead of an error PKIMessage; 4xx: what we sent was refused
        if (status >= 400 && status < 500) return fail(`HTTP ${status} ${res.statusMessage ?? ""}: the server could not process the request (malformed or refused PKIMessage?)`.replace(/ +:/, ":"));
        if (status !== 200) return fail(`HTTP ${status} ${res.statusMessage ?? ""}`.trim());
        const type = (res.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
        if (type !== "application/pkixcmp") return fail(`response Content-Type "${type}" is not application/pkixcmp`);
        const declared = Number(res.headers["content-length"] ?? -1);
        if (declared > limit) return fail(`response of ${declared} bytes exceeds the limit of ${limit}`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > limit) return fail(`response exceeds the limit of ${limit} bytes`);
          chunks.push(c);
        });
        res.on("error", (e) => fail(`${this.url.host}: ${e.message}`));
        res.on("aborted", () => fail("connection closed before the response was complete"));
        res.on("end", () => {
          if (settled) return;
          if (!res.complete) return fail("connection closed before the response was complete");
          settled = true;
          clearTimeout(timer);
          resolve(new Uint8Array(Buffer.concat(chunks, size)));
        });
      });
      req.end(request);
    });
  }

  /** Close kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
