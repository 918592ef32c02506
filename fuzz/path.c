/* libFuzzer harness: path validation (cert_verify_path, RFC 5280 6.1 as the core implements it)
 * of a mutated target certificate through the real intermediates to the real trust anchors of
 * $TINYCMP_FUZZ_CERTS (concatenated DER certificates; self-issued ones are the anchors), written
 * by host/node/tools/fuzz-native.ts. Input: one selector octet (bits 0-1 the time: capture time, 0,
 * 2^40, the target's own notBefore; bit 2 accept SHA-1) and the certificate. */
#include "mod.h"
#include <string.h>

#define TARGET_MAX 4096
extern size_t fuzz_skip;
static uint8_t *certs;
static size_t certs_len;
static size_t pool[16], pool_len[16], anchor[16], anchor_len[16];
static int npool, nanchor;
static unsigned long accepted;

static void report(void) { fprintf(stderr, "path: %lu targets validated\n", accepted); }

/* issuer == subject (a self-issued certificate: an anchor) */
static int self_issued(const uint8_t *c, size_t n) {
  size_t p = 0, q;
  const uint8_t *tbs = c, *f[8];
  size_t fl[8];
  if (!next_der(c, n, &p)) return 0;
  size_t h = (c[1] & 0x80) ? 2 + (c[1] & 0x7f) : 2; /* into Certificate */
  tbs = c + h;
  size_t th = (tbs[1] & 0x80) ? 2 + (tbs[1] & 0x7f) : 2;
  const uint8_t *b = tbs + th, *e = c + n;
  int k = 0;
  for (q = 0; k < 8 && b + q < e;) {
    size_t at = q, l = next_der(b, (size_t)(e - b), &q);
    if (!l) break;
    f[k] = b + at; fl[k++] = l;
  }
  int v = k > 0 && f[0][0] == 0xa0; /* version present: serial is field 1+v */
  return k >= 6 + v && fl[3 + v] == fl[5 + v] && memcmp(f[3 + v], f[5 + v], fl[3 + v]) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  fuzz_skip = 1;
  mod_open();
  certs = read_file(getenv("TINYCMP_FUZZ_CERTS"), &certs_len);
  if (!certs) { fprintf(stderr, "path harness: set TINYCMP_FUZZ_CERTS (host/node/tools/fuzz-native.ts)\n"); exit(2); }
  size_t room = 16384 - TARGET_MAX - 256, used = 0;
  for (size_t p = 0, at = 0, l; (l = next_der(certs, certs_len, &p)) != 0; at = p) {
    if (used + l > room) break;
    if (self_issued(certs + at, l)) { if (nanchor < 16) { anchor[nanchor] = at; anchor_len[nanchor++] = l; used += l; } }
    else if (npool < 16) { pool[npool] = at; pool_len[npool++] = l; used += l; }
  }
  fprintf(stderr, "path harness: %d anchors, %d pool certificates\n", nanchor, npool);
  atexit(report);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n < 1 || n - 1 > TARGET_MAX) return 0;
  GUARD();
  u32 io = X(io_ptr), tab = io + TARGET_MAX, at = tab + 256;
  memcpy(MEM + io, d + 1, n - 1);
  u32 t[64];
  for (int i = 0; i < npool; i++) { memcpy(MEM + at, certs + pool[i], pool_len[i]); t[2 * i] = at; t[2 * i + 1] = (u32)pool_len[i]; at += (u32)pool_len[i]; }
  for (int i = 0; i < nanchor; i++) { memcpy(MEM + at, certs + anchor[i], anchor_len[i]); t[32 + 2 * i] = at; t[33 + 2 * i] = (u32)anchor_len[i]; at += (u32)anchor_len[i]; }
  memcpy(MEM + tab, t, 8 * (size_t)npool);
  memcpy(MEM + tab + 128, t + 32, 8 * (size_t)nanchor);
  u64 now = mod_now;
  switch (d[0] & 3) {
    case 1: now = 0; break;
    case 2: now = 1ull << 40; break;
    case 3: {
      u32 sum = at;
      if (X(cert_parse, io, (u32)(n - 1), sum) == 0) memcpy(&now, MEM + sum + 80, 8);
      break;
    }
  }
  int32_t r = (int32_t)X(cert_verify_path, io, (u32)(n - 1), tab, (u32)npool, tab + 128, (u32)nanchor, now, (u32)(d[0] >> 2 & 1));
  if (r == 0) accepted++;
  mod_check();
  return 0;
}
