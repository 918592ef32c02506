/* A tolerant DER element tree for the fuzz harnesses (never used by the core): parse, edit and
 * write again with consistent lengths (X.690 8.1), a structure-aware libFuzzer mutator over it,
 * and PKIMessage surgery (RFC 9810 5.1: transactionID, recipNonce, MAC protection recomputed). */
#ifndef FUZZ_DERTREE_H
#define FUZZ_DERTREE_H
#include <stddef.h>
#include <stdint.h>

#define DT_MAX 2048

struct dnode {
  uint8_t tag[6], taglen;
  uint8_t has_kids;       /* constructed, or an OCTET/BIT STRING holding one DER element */
  uint8_t has_prefix, prefix; /* BIT STRING unused-bits octet before encapsulated kids */
  uint8_t lenov[10], lenovlen; /* length octets written as given (a deliberate fault) */
  const uint8_t *val;     /* primitive contents */
  size_t vlen;
  int kid, next;          /* first child, next sibling (-1 none) */
};

struct dtree {
  struct dnode n[DT_MAX];
  int count;
  uint8_t scratch[4096];  /* bytes made by mutations (values point here) */
  size_t used;
};

/* Root node of the element that is exactly [b, b+len), or -1. Values point into b. */
int dt_parse(struct dtree *t, const uint8_t *b, size_t len);
/* Encoding of node i into out (cap); its length, or 0 when it does not fit. */
size_t dt_write(const struct dtree *t, int i, uint8_t *out, size_t cap);
/* Encoded length of node i. */
size_t dt_size(const struct dtree *t, int i);
/* Child k of node i, or -1. */
int dt_kid(const struct dtree *t, int i, int k);
int dt_new(struct dtree *t);

/* Structure-aware mutation of data (size bytes) into data (at most max bytes) using seed: length
 * fields, tags, nesting, order, values, known OIDs; other (may be NULL) gives elements to splice
 * in (only that when splice). New size, or 0 when nothing was done. */
size_t der_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, const uint8_t *other, size_t olen, int splice);

/* A response rewritten to answer a request: transactionID and recipNonce = the request's
 * transactionID and senderNonce (when fix_ids), and PBM/PBMAC1 protection recomputed with
 * secret (when remac and its protectionAlg is a MAC of at most max_iter iterations).
 * Written to out (cap); its length, or 0 when the response does not parse as a PKIMessage. */
size_t pki_answer(const uint8_t *rsp, size_t len, const uint8_t *req, size_t reqlen, int fix_ids, int remac,
                  const uint8_t *secret, size_t slen, unsigned max_iter, uint8_t *out, size_t cap);

#endif
