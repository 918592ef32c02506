/* libFuzzer harness: the core's certificate parser (cert_parse, RFC 5280 4.1) with a differential
 * check against OpenSSL's d2i_X509 on the same bytes. A certificate the core accepts must decode
 * in OpenSSL, whole, with the same serialNumber, issuer, subject, subjectPublicKeyInfo, validity,
 * subjectKeyIdentifier, authorityKeyIdentifier keyIdentifier, basicConstraints, keyUsage and
 * signatureValue; otherwise the harness aborts (a finding), except for the known differences
 * below, which are counted and printed at exit:
 *  - OpenSSL refuses the contents of issuer/subject (Name), subjectPublicKeyInfo or an
 *    AlgorithmIdentifier's parameters that the core keeps as opaque octets (names are compared as
 *    binary (RFC 5280 7.1), keys and parameters are decoded when a signature is verified); of
 *    subjectPublicKeyInfo the algorithm OID and key bits are compared, not the encoding (OpenSSL
 *    encodes a BER key or an unusual ANY parameter differently);
 *  - OpenSSL marks an extension the core does not interpret (a non-critical one may be ignored,
 *    RFC 5280 4.2) as invalid.
 * Certificates the core refuses are not given to OpenSSL (it reads BER and does not enforce the
 * RFC 5280 profile at decoding, so it accepts many of them: no finding, and the speed matters). */
#include "mod.h"
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#define IN_MAX 16000

/* TINYCMP_FUZZ_SKEW=1 moves OpenSSL's notAfter by one second: the self-test that a differing
 * field is reported (test/fuzz-native.test.ts) */
static int skew;
static unsigned long n_both, n_core_only, n_known_ext;

static void report(void) {
  fprintf(stderr, "cert differential: both accept %lu (an extension OpenSSL finds invalid %lu); core only, "
          "OpenSSL refusing an opaque field %lu\n", n_both, n_known_ext, n_core_only);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  mod_open();
  skew = getenv("TINYCMP_FUZZ_SKEW") != NULL;
  atexit(report);
  return 0;
}

static void disagree(const char *what) {
  fprintf(stderr, "differential: %s\n", what);
  report();
  abort();
}

static const uint8_t *S;
static int32_t sum[28];
static void range(int f, const uint8_t **p, int32_t *n) { *p = S + sum[2 * f]; *n = sum[2 * f + 1]; }

static void same(const char *what, int f, const uint8_t *b, long n) {
  const uint8_t *p;
  int32_t l;
  range(f, &p, &l);
  if (n != l || (n > 0 && memcmp(p, b, (size_t)n) != 0)) {
    fprintf(stderr, "field %s: core %d bytes, OpenSSL %ld\n", what, l, n);
    disagree("cert_parse vs OpenSSL d2i_X509: a decoded field differs");
  }
}

static void same_der(const char *what, int f, int n, uint8_t *der) {
  if (n < 0) disagree("OpenSSL cannot encode a field again");
  same(what, f, der, n);
  OPENSSL_free(der);
}

static int64_t secs(const ASN1_TIME *t) {
  struct tm tm;
  if (ASN1_TIME_to_tm(t, &tm) != 1) disagree("OpenSSL cannot read a validity time the core accepts");
  return (int64_t)timegm(&tm);
}

/* subjectPublicKeyInfo (RFC 5280 4.1.2.7): the algorithm OID and the key bits of the core's range
 * equal OpenSSL's decoded ones (the parameters are an ANY that OpenSSL may not encode back as
 * they were, so they are not compared) */
static void spki_same(X509 *x) {
  const uint8_t *p = S + sum[8], *end = p + sum[9], *oid = NULL, *bits = NULL;
  long l, oidlen = 0, bitslen = 0;
  int tag, cls;
  if (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80) disagree("OpenSSL cannot read the core's subjectPublicKeyInfo");
  const uint8_t *alg = p;
  if (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80) disagree("OpenSSL cannot read the core's AlgorithmIdentifier");
  const uint8_t *after = p + l;
  if (!(ASN1_get_object(&p, &l, &tag, &cls, after - p) & 0x80) && tag == V_ASN1_OBJECT) { oid = p; oidlen = l; }
  p = after;
  if (!(ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80) && tag == V_ASN1_BIT_STRING && l >= 1) { bits = p + 1; bitslen = l - 1; }
  (void)alg;
  ASN1_OBJECT *obj;
  const unsigned char *pk;
  int pklen;
  X509_ALGOR *a;
  if (!X509_PUBKEY_get0_param(&obj, &pk, &pklen, &a, X509_get_X509_PUBKEY(x))) disagree("OpenSSL has no public key");
  if (!oid || OBJ_length(obj) != (size_t)oidlen || (oidlen > 0 && memcmp(OBJ_get0_data(obj), oid, (size_t)oidlen) != 0))
    disagree("subjectPublicKeyInfo algorithm differs");
  if (!bits || pklen != bitslen || (bitslen > 0 && memcmp(pk, bits, (size_t)bitslen) != 0)) disagree("subjectPublicKeyInfo key bits differ");
}

/* OpenSSL's refusal is about a field the core keeps as opaque octets */
static int opaque_field(void) {
  const char *data;
  int flags, known = 0;
  unsigned long e;
  while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0)
    if ((flags & ERR_TXT_STRING) && data &&
        (strstr(data, "Field=issuer") || strstr(data, "Field=subject") || strstr(data, "Field=key,") ||
         strstr(data, "Type=X509_NAME") || strstr(data, "Type=X509_PUBKEY") || strstr(data, "Type=X509_ALGOR")))
      known = 1;
  return known;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n > IN_MAX) return 0;
  GUARD();
  u32 io = X(io_ptr), out = io + IN_MAX;
  memcpy(MEM + io, d, n);
  int32_t r = (int32_t)X(cert_parse, io, (u32)n, out);
  mod_check();
  memcpy(sum, MEM + out, sizeof sum);
  S = d;
  if (r != 0) return 0; /* OpenSSL is asked only about what the core accepts (speed) */
  ERR_clear_error();
  const uint8_t *p = d;
  X509 *x = d2i_X509(NULL, &p, (long)n);
  int whole = x && p == d + n;
  if (!whole) {
    if (!x && opaque_field()) { n_core_only++; return 0; }
    X509_free(x);
    disagree("cert_parse accepts a certificate OpenSSL d2i_X509 refuses");
  }
  n_both++;
  uint8_t *der;
  int len;
  const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
  der = NULL; len = i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, &der);
  if (len > 0) { /* contents octets: skip the INTEGER's header */
    const uint8_t *q = der; long l; int tag, cls;
    ASN1_get_object(&q, &l, &tag, &cls, len);
    same("serialNumber", 1, q, l);
  }
  OPENSSL_free(der);
  der = NULL; same_der("issuer", 2, i2d_X509_NAME(X509_get_issuer_name(x), &der), der);
  der = NULL; same_der("subject", 3, i2d_X509_NAME(X509_get_subject_name(x), &der), der);
  spki_same(x);
  const ASN1_BIT_STRING *sig;
  X509_get0_signature(&sig, NULL, x);
  same("signatureValue", 8, sig->data, sig->length);
  int64_t nb, na;
  memcpy(&nb, (uint8_t *)sum + 80, 8);
  memcpy(&na, (uint8_t *)sum + 88, 8);
  if (secs(X509_get0_notBefore(x)) != nb || secs(X509_get0_notAfter(x)) + skew != na) disagree("validity times differ");
  uint32_t flags = X509_get_extension_flags(x);
  if (flags & EXFLAG_INVALID) { n_known_ext++; X509_free(x); return 0; }
  const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
  same("subjectKeyIdentifier", 5, ski ? ski->data : NULL, ski ? ski->length : 0);
  const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
  same("authorityKeyIdentifier", 6, aki ? aki->data : NULL, aki ? aki->length : 0);
  int32_t ca = sum[24], pathlen = sum[25], ku = sum[26];
  int oca = (flags & EXFLAG_BCONS) ? ((flags & EXFLAG_CA) ? 1 : 0) : -1;
  if (oca != ca) disagree("basicConstraints cA differs");
  if (ca == 1 && X509_get_pathlen(x) != pathlen) disagree("pathLenConstraint differs");
  uint32_t oku = X509_get_key_usage(x), cku = 0;
  if (oku == UINT32_MAX) { if (ku != -1) disagree("keyUsage present for the core only"); }
  else {
    for (int b = 0; b < 9; b++) if (oku & (b < 8 ? 0x80u >> b : 0x8000u >> (b - 8))) cku |= 1u << b;
    if (ku < 0 || (uint32_t)ku != cku) disagree("keyUsage bits differ");
  }
  X509_free(x);
  return 0;
}
