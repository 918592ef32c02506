/* Mutation fuzzing of the C host's readers of outside bytes (host/c/pem.c): PEM blocks, DER keys
 * and certificates, names and OIDs from the command line. Built with AddressSanitizer and
 * UndefinedBehaviorSanitizer by test/chost.test.ts: any out-of-bounds access aborts the run.
 * Usage: pem_fuzz SEED_FILE... ; prints "ok N" after N inputs.
 * Built with -DLIBFUZZER (fuzz/Makefile) the same reading of one input is a coverage-guided
 * libFuzzer target instead of this mutation loop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pem.h"

#define MAX 16384
#ifndef LIBFUZZER
static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)rng; }

static uint8_t seed[8][MAX];
static size_t seedlen[8];

/* One mutation of a seed into buf (heap, exactly n bytes long, so ASan sees every overrun). */
static uint8_t *mutate(size_t *n) {
  int s = next() % 8;
  while (seedlen[s] == 0) s = next() % 8;
  size_t len = seedlen[s];
  uint8_t *b = malloc(MAX + 64);
  memcpy(b, seed[s], len);
  int edits = 1 + next() % 8;
  for (int e = 0; e < edits; e++) {
    size_t at = len ? next() % len : 0;
    switch (next() % 6) {
      case 0: if (len) b[at] ^= (uint8_t)(1u << (next() % 8)); break;            /* bit flip */
      case 1: if (len) b[at] = (uint8_t)next(); break;                          /* byte */
      case 2: len = at; break;                                                  /* truncate */
      case 3: if (len < MAX) { memmove(b + at + 1, b + at, len - at); b[at] = (uint8_t)next(); len++; } break;
      case 4: if (len) { memmove(b + at, b + at + 1, len - at - 1); len--; } break;
      case 5: if (len) b[at] = (uint8_t[]){0x80, 0x81, 0x82, 0x84, 0xff, 0x00, '-', '='}[next() % 8]; break;
    }
  }
  uint8_t *exact = malloc(len ? len : 1);
  memcpy(exact, b, len);
  free(b);
  *n = len;
  return exact;
}
#endif

/* Every reader over one input: PEM blocks and what they hold, the input as DER, as text. */
static void read_all(const uint8_t *in, size_t len) {
  static uint8_t out[MAX], name[1024];
  uint8_t d[32];
  size_t pos = 0;
  long k;
  while ((k = pem_next((const char *)in, len, &pos, "CERTIFICATE,PRIVATE KEY,EC PRIVATE KEY", out, sizeof out)) > 0) {
    const uint8_t *subject;
    cert_subject(out, (size_t)k, &subject);
    key_p256_scalar(out, (size_t)k, d);
  }
  const uint8_t *subject;
  cert_subject(in, len, &subject);
  key_p256_scalar(in, len, d);
  char *text = malloc(len + 1);
  memcpy(text, in, len);
  text[len] = 0;
  dn_der(text, name, sizeof name);
  oid_der(text, name, sizeof name);
  free(text);
}

#ifdef LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len) {
  if (len <= MAX) read_all(in, len);
  return 0;
}
#else
int main(int argc, char **argv) {
  int seeds = 0;
  for (int i = 1; i < argc && seeds < 8; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) { perror(argv[i]); return 1; }
    seedlen[seeds] = fread(seed[seeds], 1, MAX, f);
    seeds++;
    fclose(f);
  }
  if (seeds == 0) return 1;
  long n = 0;
  for (; n < 20000; n++) {
    size_t len;
    uint8_t *in = mutate(&len);
    read_all(in, len);
    free(in);
  }
  printf("ok %ld\n", n);
  return 0;
}
#endif
