/* HTTP/1.1 client for CMP over HTTP (RFC 6712, RFC 9483 6.1). */
#define _DEFAULT_SOURCE
#include "http.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 4096

static char head[HEAD_MAX + 1];

int http_target(struct http_conn *c, const char *server) {
  const char *colon;
  const char *slash;
  size_t hl;
  c->fd = -1;
  if (strncmp(server, "http://", 7) == 0) server += 7;
  slash = strchr(server, '/');
  colon = memchr(server, ':', slash ? (size_t)(slash - server) : strlen(server));
  if (!colon || colon == server) return -1;
  hl = (size_t)(colon - server);
  if (hl >= sizeof c->host) return -1;
  memcpy(c->host, server, hl);
  c->host[hl] = 0;
  size_t pl = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
  if (pl == 0 || pl >= sizeof c->port) return -1;
  memcpy(c->port, colon + 1, pl);
  c->port[pl] = 0;
  for (size_t i = 0; i < pl; i++) if (c->port[i] < '0' || c->port[i] > '9') return -1;
  const char *path = slash ? slash : "/";
  if (strlen(path) >= sizeof c->path) return -1;
  strcpy(c->path, path);
  if (c->timeout_ms <= 0) c->timeout_ms = 10000;
  return 0;
}

void http_close(struct http_conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static int fail(char *err, size_t errlen, const char *what, const char *detail) {
  snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
  return -1;
}

static int wait_fd(int fd, short ev, int timeout_ms) {
  struct pollfd p = { fd, ev, 0 };
  int r;
  do r = poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
  return r;
}

static int connect_to(struct http_conn *c, char *err, size_t errlen) {
  struct sockaddr_storage sa;
  socklen_t salen;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
  memset(&sa, 0, sizeof sa);
  if (inet_pton(AF_INET, c->host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)atoi(c->port));
    salen = sizeof *s4;
  } else if (inet_pton(AF_INET6, c->host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)atoi(c->port));
    salen = sizeof *s6;
  } else {
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo(c->host, c->port, &hints, &res);
    if (r != 0) return fail(err, errlen, "cannot resolve host", gai_strerror(r));
    memcpy(&sa, res->ai_addr, res->ai_addrlen);
    salen = res->ai_addrlen;
    freeaddrinfo(res);
  }
  int fd = socket(sa.ss_family, SOCK_STREAM, 0);
  if (fd < 0) return fail(err, errlen, "socket", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&sa, salen) != 0) {
    if (errno != EINPROGRESS) { close(fd); return fail(err, errlen, "connect", strerror(errno)); }
    if (wait_fd(fd, POLLOUT, c->timeout_ms) <= 0) { close(fd); return fail(err, errlen, "connect", "timed out"); }
    int e = 0;
    socklen_t el = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    if (e != 0) { close(fd); return fail(err, errlen, "connect", strerror(e)); }
  }
  c->fd = fd;
  return 0;
}

static int send_all(struct http_conn *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (wait_fd(c->fd, POLLOUT, c->timeout_ms) <= 0) return -1;
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads up to n bytes: count, 0 at end of stream, -1 error, -2 timeout. */
static long recv_some(struct http_conn *c, void *p, size_t n) {
  for (;;) {
    int r = wait_fd(c->fd, POLLIN, c->timeout_ms);
    if (r == 0) return -2;
    if (r < 0) return -1;
    ssize_t got = recv(c->fd, p, n, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return got < 0 ? -1 : (long)got;
  }
}

/* Value of header name (lower case, with colon) in the header block, or NULL. */
static const char *header(const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
    if (strncasecmp(l + 2, name, nl) == 0) {
      const char *v = l + 2 + nl;
      while (*v == ' ' || *v == '\t') v++;
      const char *e = strstr(v, "\r\n");
      while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
      *vlen = (size_t)(e - v);
      return v;
    }
  }
  return NULL;
}

static int has_token(const char *v, size_t vlen, const char *tok) {
  size_t tl = strlen(tok);
  for (size_t i = 0; i + tl <= vlen; i++) if (strncasecmp(v + i, tok, tl) == 0) return 1;
  return 0;
}

static long exchange(struct http_conn *c, const uint8_t *body, size_t len, uint8_t *rsp, size_t cap,
                     char *err, size_t errlen, int *retry) {
  char req[768];
  int hl = snprintf(req, sizeof req,
                    "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/pkixcmp\r\n"
                    "Content-Length: %lu\r\nConnection: keep-alive\r\nCache-Control: no-cache\r\n\r\n",
                    c->path, c->host, c->port, (unsigned long)len);
  int reused = c->fd >= 0;
  *retry = 0;
  if (hl < 0 || hl >= (int)sizeof req) return fail(err, errlen, "request header too long", NULL);
  if (c->fd < 0 && connect_to(c, err, errlen) != 0) return -1;
  /* header and body in one send when they fit: no Nagle/delayed-ACK stall (INTEROP.md) */
  static uint8_t out[16384 + 768];
  if ((size_t)hl + len <= sizeof out) {
    memcpy(out, req, (size_t)hl);
    memcpy(out + hl, body, len);
    if (send_all(c, out, (size_t)hl + len) != 0) { *retry = reused; return fail(err, errlen, "send failed", NULL); }
  } else if (send_all(c, (const uint8_t *)req, (size_t)hl) != 0 || send_all(c, body, len) != 0) {
    *retry = reused;
    return fail(err, errlen, "send failed", NULL);
  }
  /* header block */
  size_t have = 0;
  char *end = NULL;
  while (!end) {
    if (have == HEAD_MAX) return fail(err, errlen, "HTTP response header too long", NULL);
    long n = recv_some(c, head + have, HEAD_MAX - have);
    if (n == -2) return fail(err, errlen, "HTTP response", "timed out");
    if (n <= 0) {
      *retry = reused && have == 0;
      return fail(err, errlen, "connection closed before the HTTP response", NULL);
    }
    have += (size_t)n;
    head[have] = 0;
    end = strstr(head, "\r\n\r\n");
  }
  size_t body_have = have - (size_t)(end + 4 - head);
  const char *extra = end + 4;
  end[2] = '\r'; end[3] = 0; /* keep the block's final CRLF for header() */
  int minor, status;
  if (sscanf(head, "HTTP/1.%d %d", &minor, &status) != 2) return fail(err, errlen, "malformed HTTP status line", NULL);
  if (status >= 300 && status < 400) {
    char m[64];
    snprintf(m, sizeof m, "HTTP %d redirect refused", status);
    return fail(err, errlen, m, NULL);
  }
  if (status != 200) {
    char m[48];
    snprintf(m, sizeof m, "HTTP status %d", status);
    return fail(err, errlen, m, NULL);
  }
  size_t vl;
  const char *v = header("content-type:", &vl);
  if (!v || vl < 19 || strncasecmp(v, "application/pkixcmp", 19) != 0 || (vl > 19 && v[19] != ';' && v[19] != ' '))
    return fail(err, errlen, "HTTP response Content-Type is not application/pkixcmp", NULL);
  if ((v = header("transfer-encoding:", &vl)) && !(vl == 8 && strncasecmp(v, "identity", 8) == 0))
    return fail(err, errlen, "HTTP Transfer-Encoding not supported", NULL);
  int keep = minor >= 1;
  if ((v = header("connection:", &vl))) keep = has_token(v, vl, "keep-alive") ? 1 : has_token(v, vl, "close") ? 0 : keep;
  long want = -1;
  if ((v = header("content-length:", &vl))) {
    char *e;
    want = strtol(v, &e, 10);
    if (e == v || want < 0) return fail(err, errlen, "malformed HTTP Content-Length", NULL);
    if ((unsigned long)want > cap) {
      char m[96];
      snprintf(m, sizeof m, "HTTP response of %ld bytes exceeds the limit of %lu", want, (unsigned long)cap);
      return fail(err, errlen, m, NULL);
    }
  } else keep = 0; /* delimited by the end of the connection */
  if (want >= 0 && body_have > (size_t)want) return fail(err, errlen, "HTTP response longer than its Content-Length", NULL);
  if (body_have > cap) return fail(err, errlen, "HTTP response exceeds the limit", NULL);
  memcpy(rsp, extra, body_have);
  size_t got = body_have;
  while (want < 0 || got < (size_t)want) {
    size_t room = want >= 0 ? (size_t)want - got : cap - got;
    if (room == 0) { /* unknown length and buffer full: one more byte means oversize */
      uint8_t b;
      long n = recv_some(c, &b, 1);
      if (n == 0) break;
      return fail(err, errlen, n == -2 ? "HTTP response body timed out" : "HTTP response exceeds the limit", NULL);
    }
    long n = recv_some(c, rsp + got, room);
    if (n == -2) return fail(err, errlen, "HTTP response body", "timed out");
    if (n < 0) return fail(err, errlen, "HTTP response body", "read error");
    if (n == 0) {
      if (want < 0) break;
      return fail(err, errlen, "connection closed in the HTTP response body", NULL);
    }
    got += (size_t)n;
  }
  if (!keep) http_close(c);
  return (long)got;
}

long http_post(struct http_conn *c, const uint8_t *body, size_t len, uint8_t *rsp, size_t cap,
               char *err, size_t errlen) {
  int retry;
  long r = exchange(c, body, len, rsp, cap, err, errlen, &retry);
  if (r < 0) http_close(c);
  if (r < 0 && retry) r = exchange(c, body, len, rsp, cap, err, errlen, &retry);
  if (r < 0) http_close(c);
  return r;
}
