/* libFuzzer harness: the C host's HTTP response reader (host/c/http.c: status line, headers,
 * Content-Length, Transfer-Encoding, Connection, body limits) fed the input as the server's byte
 * stream over a socketpair; socket() and connect() of http.c are renamed to the two functions
 * below at build time (no network). Up to three responses are read from one stream while the
 * connection stays open (keep-alive, and the retry after a closed kept-alive connection). */
#include "http.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int peer = -1, mine = -1;

int fuzz_socket(int domain, int type, int protocol) {
  (void)domain; (void)type; (void)protocol;
  int fd = mine;
  mine = -1;
  if (fd < 0) { /* a reconnection: an empty stream */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) abort();
    shutdown(sv[1], SHUT_WR);
    close(sv[1]);
    fd = sv[0];
  }
  return fd;
}
int fuzz_connect(int fd, const struct sockaddr *sa, socklen_t len) { (void)fd; (void)sa; (void)len; return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n > 65536) return 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) abort();
  int sz = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (n && write(sv[1], d, n) != (ssize_t)n) abort();
  shutdown(sv[1], SHUT_WR);
  peer = sv[1];
  mine = sv[0];
  struct http_conn c;
  memset(&c, 0, sizeof c);
  c.timeout_ms = 1000;
  if (http_target(&c, "http://127.0.0.1:9/pkix/") != 0) abort();
  static const uint8_t body[] = {0x30, 0x03, 0x02, 0x01, 0x02};
  uint8_t *rsp = malloc(16384);
  char err[160];
  for (int i = 0; i < 3; i++) {
    err[0] = 0;
    long r = http_post(&c, body, sizeof body, rsp, 16384, err, sizeof err);
    if (r > 16384) abort();
    if (r < 0 && (!err[0] || !memchr(err, 0, sizeof err))) abort(); /* every failure says why */
    if (c.fd < 0) break;
  }
  free(rsp);
  http_close(&c);
  if (mine >= 0) close(mine);
  close(peer);
  mine = peer = -1;
  return 0;
}
