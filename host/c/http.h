/* HTTP/1.1 POST transport for CMP (RFC 6712): one kept-alive connection, poll()-based timeouts,
 * Content-Type application/pkixcmp, refuses redirects, other statuses, wrong types and oversize
 * responses. Caller-owned buffers; no allocation (getaddrinfo is used only for names that are not
 * numeric addresses). */
#ifndef TINYCMP_HTTP_H
#define TINYCMP_HTTP_H
#include <stddef.h>
#include <stdint.h>

struct http_conn {
  int fd;                /* -1 when not connected */
  char host[256];
  char port[8];
  char path[256];
  int timeout_ms;        /* connect and every read/write */
};

/* Parses host:port[/path] (default path "/"); 0, or -1 when malformed. */
int http_target(struct http_conn *c, const char *server);
/* POSTs body and reads the response body into rsp (capacity cap); its length, or -1 with a
 * one-line reason in err. Retries once on a fresh connection when a kept-alive one was closed. */
long http_post(struct http_conn *c, const uint8_t *body, size_t len, uint8_t *rsp, size_t cap,
               char *err, size_t errlen);
void http_close(struct http_conn *c);

#endif
