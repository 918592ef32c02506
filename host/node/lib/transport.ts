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
  /** Time allowed for one request/response exchange (default 30 s; 0: no limit). */
  msgTimeoutMs?: number;
  /** Time allowed for all exchanges of this transport together (default and 0: no limit). */
  totalTimeoutMs?: number;
  /** HTTP proxy `[http://]host:port` for http: URLs (RFC 9112 3.2.2 absolute-form request target). */
  proxy?: string;
  /** Largest response body accepted (default 64 KiB). */
  maxResponseBytes?: number;
  /** HTTPS: trusted CA certificates (PEM) for server validation; default the system store. */
  tlsTrusted?: string | Buffer | (string | Buffer)[];
  /** HTTPS client authentication (PEM). */
  tlsCert?: string | Buffer;
  tlsKey?: string | Buffer;
  /** A keep-alive connection pool shared with other transports (many simulated devices); it
   *  stays open on close(). Default: a pool of one connection owned by this transport. */
  agent?: http.Agent;
}

export class TransportError extends Error {}
class StaleConnection extends TransportError {}

export class HttpTransport {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly ownAgent: boolean;
  private readonly started = Date.now();
  private readonly opts: HttpTransportOptions;

  private readonly proxy?: URL;

  constructor(opts: HttpTransportOptions) {
    this.opts = opts;
    this.url = new URL(opts.url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new TransportError(`unsupported URL scheme ${this.url.protocol} (http: or https:)`);
    }
    if (opts.proxy) {
      this.proxy = new URL(/^[a-z]+:\/\//i.test(opts.proxy) ? opts.proxy : `http://${opts.proxy}`);
      if (this.proxy.protocol !== "http:") throw new TransportError(`proxy ${opts.proxy}: only http:// proxies are supported`);
      if (this.url.protocol === "https:") throw new TransportError("HTTPS through a proxy (CONNECT) is not supported");
    }
    const agentOpts = { keepAlive: true, maxSockets: 1 };
    this.ownAgent = !opts.agent;
    this.agent =
      opts.agent ??
      (this.url.protocol === "https:"
        ? new https.Agent({ ...agentOpts, ca: opts.tlsTrusted, cert: opts.tlsCert, key: opts.tlsKey, rejectUnauthorized: true })
        : new http.Agent(agentOpts));
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
    const msgTimeout = this.opts.msgTimeoutMs === 0 ? Infinity : (this.opts.msgTimeoutMs ?? 30_000);
    const left = !this.opts.totalTimeoutMs ? Infinity : this.started + this.opts.totalTimeoutMs - Date.now();
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
      const timer = Number.isFinite(timeout) ? setTimeout(() => fail(`no complete response within ${timeout} ms from ${this.url.host}`), timeout) : undefined;
      const headers = { "Content-Type": "application/pkixcmp", "Content-Length": request.length, Connection: "keep-alive" };
      const req = this.proxy
        ? http.request({
            host: this.proxy.hostname,
            port: this.proxy.port || 80,
            path: this.url.href,
            method: "POST",
            agent: this.agent,
            headers: { ...headers, Host: this.url.host },
          })
        : mod.request(this.url, { method: "POST", agent: this.agent, headers });
      req.on("socket", (s: Socket) => s.setNoDelay(true));
      req.on("error", (e: NodeJS.ErrnoException) => {
        // Node's advice for kept-alive sockets: a reused one may have been closed by the server
        if (req.reusedSocket && !gotResponse && (e.code === "ECONNRESET" || e.code === "EPIPE") && !settled) {
          settled = true;
          clearTimeout(timer);
          return reject(new StaleConnection(e.message));
        }
        fail(`${this.url.host}: ${e.message}${tlsHint(e, this.url.protocol === "https:", gotResponse)}`);
      });
      req.on("response", (res) => {
        gotResponse = true;
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) return fail(`HTTP ${status} redirect to ${res.headers.location ?? "?"} refused`);
        // RFC 6712 3.3 / RFC 9811: a CMP server that cannot process a request may answer with an
        // HTTP error instead of an error PKIMessage; 4xx but 404: what we sent was refused
        if (status === 404) return fail(`HTTP 404 ${res.statusMessage ?? ""} from ${this.url.href} (check -server and -path)`.replace(/ +/g, " "));
        if (status >= 400 && status < 500)
          return fail(
            `HTTP ${status} ${res.statusMessage ?? ""} from ${this.url.href}: the server could not process the request (malformed or refused PKIMessage?)`.replace(
              / +/g,
              " ",
            ),
          );
        if (status !== 200) return fail(`HTTP ${status} ${res.statusMessage ?? ""} from ${this.url.href}`.replace(/ +/g, " "));
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

  /** Close kept-alive connections (not those of a shared agent). */
  close(): void {
    if (this.ownAgent) this.agent.destroy();
  }
}

/** What to change when TLS was used on one side only: an http: request answered by a TLS server
 *  (a TLS alert, or the connection dropped), or TLS spoken to a plain HTTP server. */
function tlsHint(e: NodeJS.ErrnoException, tls: boolean, gotResponse: boolean): string {
  if (tls)
    return /wrong version number|packet length too long|EPROTO/.test(`${e.code} ${e.message}`) ? " (the server does not speak TLS: leave out -tls_used)" : "";
  if (gotResponse) return "";
  if (e.code === "HPE_INVALID_CONSTANT" || e.code === "HPE_INVALID_VERSION") return " (the server seems to speak TLS: give -tls_used)";
  if (e.code === "ECONNRESET" || /socket hang up/.test(e.message)) return " (if the server uses TLS, give -tls_used)";
  return "";
}
