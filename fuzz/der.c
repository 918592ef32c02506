/* libFuzzer harness: the core's DER reader (der_walk, der_reencode, der_time; X.690 DER rules)
 * with differential checks against OpenSSL's libcrypto on the same bytes:
 *  - an input der_walk accepts is valid DER, so der_reencode gives back the same bytes (X.690 10,
 *    11: one encoding per value), and OpenSSL's ASN1_get_object walk finds the same elements
 *    (identifier, offset, length, depth), each primitive of a universal type decoding in OpenSSL;
 *  - a time der_time accepts decodes in OpenSSL (ASN1_TIME) to the same second.
 * The other direction (OpenSSL accepting what the core refuses) is expected: OpenSSL reads BER
 * (indefinite and non-minimal lengths, non-canonical BOOLEAN...); it is counted, not reported. */
#include "mod.h"
#include <openssl/asn1.h>
#include <string.h>
#include <time.h>

#define IN_MAX 8192

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  mod_open();
  return 0;
}

static void disagree(const char *what, size_t n) {
  fprintf(stderr, "differential: %s (input of %zu bytes)\n", what, n);
  abort();
}

static int32_t rec[IN_MAX / 4];
static int nrec, k;

/* OpenSSL's walk of one element at *p (within [base, end)), compared with the core's records. */
static int ossl_walk(const uint8_t **p, const uint8_t *base, long max, int depth, char *why) {
  const uint8_t *start = *p, *q = *p;
  long len;
  int tag, cls;
  int r = ASN1_get_object(&q, &len, &tag, &cls, max);
  if (r & 0x80) { strcpy(why, "OpenSSL refuses an element header"); return -1; }
  if (r & 1) { strcpy(why, "OpenSSL sees an indefinite length"); return -1; }
  if (k >= nrec) { strcpy(why, "OpenSSL finds more elements"); return -1; }
  int ident = cls | (r & 0x20) | tag;
  int32_t *e = &rec[4 * k++];
  if (tag >= 31 || e[0] != ident || e[1] != start - base || e[2] != len || e[3] != depth) {
    sprintf(why, "element %d: core tag %d off %d len %d depth %d, OpenSSL %d %ld %ld %d", k - 1, e[0], e[1], e[2],
            e[3], ident, (long)(start - base), len, depth);
    return -1;
  }
  if (r & 0x20) {
    const uint8_t *c = q, *ce = q + len;
    while (c < ce) if (ossl_walk(&c, base, ce - c, depth + 1, why) != 0) return -1;
  } else if (cls == 0 && (tag == V_ASN1_INTEGER || tag == V_ASN1_BIT_STRING || tag == V_ASN1_OBJECT ||
                          tag == V_ASN1_UTCTIME || tag == V_ASN1_GENERALIZEDTIME || tag == V_ASN1_BOOLEAN ||
                          tag == V_ASN1_NULL)) {
    const uint8_t *v = start;
    ASN1_TYPE *t = d2i_ASN1_TYPE(NULL, &v, q + len - start);
    int ok = t != NULL && v == q + len;
    if (ok && (tag == V_ASN1_UTCTIME || tag == V_ASN1_GENERALIZEDTIME)) {
      struct tm tm;
      ok = ASN1_TIME_to_tm((const ASN1_TIME *)t->value.ptr, &tm) == 1;
    }
    ASN1_TYPE_free(t);
    if (!ok) { sprintf(why, "element %d: OpenSSL refuses the value of universal type %d", k - 1, tag); return -1; }
  }
  *p = q + len;
  return 0;
}

static long ossl_time(const uint8_t *d, size_t n, int *ok) {
  const uint8_t *p = d;
  ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, (long)n);
  struct tm tm;
  *ok = t && p == d + n && ASN1_TIME_to_tm(t, &tm) == 1;
  ASN1_TIME_free(t);
  return *ok ? (long)timegm(&tm) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n > IN_MAX) return 0;
  GUARD();
  u32 io = X(io_ptr), out = io + IN_MAX;
  memcpy(MEM + io, d, n);
  int32_t w = (int32_t)X(der_walk, io, (u32)n, out, IN_MAX);
  if (w > 0) { nrec = w; memcpy(rec, MEM + out, (size_t)w * 16); }
  memcpy(MEM + io, d, n);
  int32_t r = (int32_t)X(der_reencode, io, (u32)n, out, IN_MAX);
  if (w >= 0 && (r != (int32_t)n || memcmp(MEM + out, d, n) != 0)) disagree("der_walk accepts, der_reencode differs", n);
  if (r >= 0 && w < 0 && w != E_DER_BUFFER) disagree("der_reencode accepts what der_walk refuses", n);
  if (w > 0) {
    char why[160] = "";
    const uint8_t *p = d;
    k = 0;
    if (ossl_walk(&p, d, (long)n, 0, why) != 0 || k != nrec || p != d + n) {
      if (k != nrec && !why[0]) strcpy(why, "element count");
      fprintf(stderr, "%s\n", why);
      disagree("core DER walk vs OpenSSL", n);
    }
  }
  memcpy(MEM + io, d, n);
  int32_t t = (int32_t)X(der_time, io, (u32)n, out);
  if (t == 0) {
    int64_t secs;
    memcpy(&secs, MEM + out, 8);
    int ok;
    long o = ossl_time(d, n, &ok);
    if (!ok || o != secs) {
      fprintf(stderr, "core %lld, OpenSSL %s %ld\n", (long long)secs, ok ? "" : "refuses", o);
      disagree("der_time vs OpenSSL ASN1_TIME", n);
    }
  }
  mod_check();
  return 0;
}
