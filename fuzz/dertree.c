/* DER element tree, structure-aware mutator and PKIMessage surgery for the fuzz harnesses. */
#include "dertree.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

int dt_new(struct dtree *t) {
  if (t->count >= DT_MAX) return -1;
  struct dnode *d = &t->n[t->count];
  memset(d, 0, sizeof *d);
  d->kid = d->next = -1;
  return t->count++;
}

/* Identifier and length octets at p (X.690 8.1.2, 8.1.3; long form of at most 3 octets, as a
 * tolerant reader of what it may have to write back); -1 when not well-formed enough. */
static int head(const uint8_t *b, size_t p, size_t end, size_t *taglen, size_t *hl, size_t *len) {
  if (p >= end) return -1;
  size_t q = p + 1;
  if ((b[p] & 0x1f) == 0x1f) {
    while (q < end && (b[q] & 0x80)) q++;
    q++;
    if (q - p > 5) return -1;
  }
  if (q >= end) return -1;
  *taglen = q - p;
  size_t n = b[q++];
  if (n & 0x80) {
    size_t k = n & 0x7f;
    if (k == 0 || k > 3 || q + k > end) return -1;
    n = 0;
    for (size_t i = 0; i < k; i++) n = n * 256 + b[q++];
  }
  if (q + n > end) return -1;
  *hl = q - p;
  *len = n;
  return 0;
}

static int parse_list(struct dtree *t, const uint8_t *b, size_t s, size_t e, int depth, int *first);

static int parse_at(struct dtree *t, const uint8_t *b, size_t p, size_t end, int depth, size_t *next) {
  size_t taglen, hl, len;
  if (depth > 64 || head(b, p, end, &taglen, &hl, &len) != 0) return -1;
  int i = dt_new(t);
  if (i < 0) return -1;
  memcpy(t->n[i].tag, b + p, taglen);
  t->n[i].taglen = (uint8_t)taglen;
  size_t s = p + hl, e = s + len;
  *next = e;
  if (b[p] & 0x20) {
    int first;
    if (parse_list(t, b, s, e, depth + 1, &first) != 0) return -1;
    t->n[i].has_kids = 1;
    t->n[i].kid = first;
    return i;
  }
  /* an OCTET STRING or BIT STRING holding exactly one DER element is opened (extensions, keys) */
  if (len >= 2 && ((b[p] == 0x04 && (b[s] == 0x30 || b[s] == 0x04 || b[s] == 0x03)) ||
                   (b[p] == 0x03 && b[s] == 0x00 && b[s + 1] == 0x30))) {
    int save = t->count, first;
    size_t off = b[p] == 0x03 ? 1 : 0;
    if (parse_list(t, b, s + off, e, depth + 1, &first) == 0 && first >= 0 && t->n[first].next < 0) {
      t->n[i].has_kids = 1;
      t->n[i].kid = first;
      t->n[i].has_prefix = (uint8_t)off;
      return i;
    }
    t->count = save;
  }
  t->n[i].val = b + s;
  t->n[i].vlen = len;
  return i;
}

static int parse_list(struct dtree *t, const uint8_t *b, size_t s, size_t e, int depth, int *first) {
  int prev = -1;
  *first = -1;
  for (size_t p = s; p < e;) {
    size_t next;
    int k = parse_at(t, b, p, e, depth, &next);
    if (k < 0) return -1;
    if (prev < 0) *first = k; else t->n[prev].next = k;
    prev = k;
    p = next;
  }
  return 0;
}

int dt_parse(struct dtree *t, const uint8_t *b, size_t len) {
  size_t next;
  t->count = 0;
  t->used = 0;
  int r = parse_at(t, b, 0, len, 0, &next);
  return r >= 0 && next == len ? r : -1;
}

static size_t content_size(const struct dtree *t, int i) {
  const struct dnode *d = &t->n[i];
  if (!d->has_kids) return d->vlen;
  size_t n = d->has_prefix;
  for (int k = d->kid; k >= 0; k = t->n[k].next) n += dt_size(t, k);
  return n;
}

static size_t len_octets(size_t n, uint8_t *o) {
  if (n < 0x80) { o[0] = (uint8_t)n; return 1; }
  size_t k = 0;
  for (size_t v = n; v; v >>= 8) k++;
  o[0] = (uint8_t)(0x80 | k);
  for (size_t j = 0; j < k; j++) o[1 + j] = (uint8_t)(n >> (8 * (k - 1 - j)));
  return 1 + k;
}

size_t dt_size(const struct dtree *t, int i) {
  const struct dnode *d = &t->n[i];
  size_t c = content_size(t, i);
  uint8_t o[10];
  return d->taglen + (d->lenovlen ? d->lenovlen : len_octets(c, o)) + c;
}

static size_t put(const struct dtree *t, int i, uint8_t *out) {
  const struct dnode *d = &t->n[i];
  size_t c = content_size(t, i), n = d->taglen;
  memcpy(out, d->tag, d->taglen);
  if (d->lenovlen) { memcpy(out + n, d->lenov, d->lenovlen); n += d->lenovlen; }
  else n += len_octets(c, out + n);
  if (!d->has_kids) {
    if (d->vlen) memcpy(out + n, d->val, d->vlen);
    return n + d->vlen;
  }
  if (d->has_prefix) out[n++] = d->prefix;
  for (int k = d->kid; k >= 0; k = t->n[k].next) n += put(t, k, out + n);
  return n;
}

size_t dt_write(const struct dtree *t, int i, uint8_t *out, size_t cap) {
  size_t n = dt_size(t, i);
  if (n > cap) return 0;
  return put(t, i, out);
}

int dt_kid(const struct dtree *t, int i, int k) {
  if (i < 0 || !t->n[i].has_kids) return -1;
  int c = t->n[i].kid;
  while (c >= 0 && k-- > 0) c = t->n[c].next;
  return c;
}

/* ---- mutator ---- */

static uint32_t rs;
static uint32_t rnd(uint32_t n) {
  rs ^= rs << 13; rs ^= rs >> 17; rs ^= rs << 5;
  return n ? rs % n : 0;
}

static const uint8_t TAGS[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0x30, 0x31,
                               0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0x80, 0x81, 0x82, 0x86, 0x87,
                               0xac, 0xb3, 0xb6, 0xb7, 0xba, 0x1f, 0x3f, 0x00};

/* OIDs the core tells apart (contents octets): algorithms, extensions, CMP infoTypes */
static const char *const OIDS[] = {
  "2a8648ce3d0201", "2a8648ce3d030107", "2b81040022", "2b81040023", "2a8648ce3d040302", "2a8648ce3d040303",
  "2a8648ce3d040304", "2a864886f70d010101", "2a864886f70d01010b", "2a864886f70d01010c", "2a864886f70d01010a",
  "2a864886f70d010105", "2a864886f70d010108", "2a864886f67d07420d", "2a864886f70d01050e", "2a864886f70d01050c",
  "2b06010505080102", "2a864886f70d0209", "2a864886f70d020a", "2a864886f70d020b", "2b0e03021a", "608648016503040201",
  "608648016503040202", "608648016503040203", "551d13", "551d0f", "551d25", "551d0e", "551d23", "551d11", "551d1f",
  "551d20", "2b06010505070303", "2b0601050507031c", "2b06010505070411", "2b06010505070414", "2b06010505070413",
  "2b06010505070416", "550403", "55040a", "2b6570", "2b6571", "608648016503040311", "608648016503040312",
  "608648016503040313", "2a864886f70d010907", "2a864886f70d01090e"};

static uint8_t *scratch(struct dtree *t, size_t n) {
  if (t->used + n > sizeof t->scratch) return NULL;
  uint8_t *p = t->scratch + t->used;
  t->used += n;
  return p;
}

static int parent_of(const struct dtree *t, int i, int *prev) {
  for (int p = 0; p < t->count; p++) {
    if (!t->n[p].has_kids) continue;
    int pr = -1;
    for (int k = t->n[p].kid; k >= 0; pr = k, k = t->n[k].next)
      if (k == i) { *prev = pr; return p; }
  }
  return -1;
}

/* Copies subtree j of tree s into t; its index or -1. */
static int copy_from(struct dtree *t, const struct dtree *s, int j, int depth) {
  if (depth > 64) return -1;
  int i = dt_new(t);
  if (i < 0) return -1;
  t->n[i] = s->n[j];
  t->n[i].next = -1;
  t->n[i].kid = -1;
  if (s->n[j].has_kids) {
    int prev = -1;
    for (int k = s->n[j].kid; k >= 0; k = s->n[k].next) {
      int c = copy_from(t, s, k, depth + 1);
      if (c < 0) return -1;
      if (prev < 0) t->n[i].kid = c; else t->n[prev].next = c;
      prev = c;
    }
  }
  return i;
}

static struct dtree ta, tb;
static uint8_t wbuf[1 << 17];

static int mutate_tree(struct dtree *t, const struct dtree *o, int splice) {
  int i = (int)rnd((uint32_t)t->count);
  struct dnode *d = &t->n[i];
  int prev, par = parent_of(t, i, &prev);
  switch (splice ? 6 : rnd(12)) {
    case 0: { /* length fault */
      size_t c = content_size(t, i);
      uint8_t *L = d->lenov;
      switch (rnd(8)) {
        case 0: L[0] = 0x80; d->lenovlen = 1; break;                                 /* indefinite */
        case 1: L[0] = 0x84; L[1] = (uint8_t)(c >> 24); L[2] = (uint8_t)(c >> 16); L[3] = (uint8_t)(c >> 8); L[4] = (uint8_t)c; d->lenovlen = 5; break;
        case 2: L[0] = 0x84; L[1] = rnd(2) ? 0xff : 0x7f; L[2] = L[3] = L[4] = 0xff; d->lenovlen = 5; break; /* huge */
        case 3: L[0] = (uint8_t)(c ? (c - 1 > 127 ? 127 : c - 1) : 1); d->lenovlen = 1; break;   /* short */
        case 4: d->lenovlen = (uint8_t)len_octets(c + 1 + rnd(3), L); break;         /* long */
        case 5: L[0] = 0x81; L[1] = (uint8_t)c; d->lenovlen = 2; break;              /* non-minimal */
        case 6: L[0] = 0x89; memset(L + 1, 0, 9); d->lenovlen = 10; break;
        default: L[0] = 0xff; d->lenovlen = 1; break;
      }
      return 1;
    }
    case 1: /* tag */
      if (rnd(10)) { d->tag[0] = TAGS[rnd(sizeof TAGS)]; d->taglen = 1; }
      else { d->tag[0] |= 0x1f; d->tag[1] = 0x81; d->tag[2] = (uint8_t)rnd(128); d->taglen = 3; }
      return 1;
    case 2: { /* duplicate among siblings */
      if (par < 0) return 0;
      int c = copy_from(t, t, i, 0);
      if (c < 0) return 0;
      t->n[c].next = t->n[i].next;
      t->n[i].next = c;
      return 1;
    }
    case 3: { /* swap contents with a sibling (reorder) */
      if (par < 0) return 0;
      int j = t->n[par].kid;
      for (int k = (int)rnd(8); k > 0 && t->n[j].next >= 0; k--) j = t->n[j].next;
      struct dnode a = t->n[i], b = t->n[j];
      a.next = t->n[j].next; b.next = t->n[i].next;
      t->n[i] = b; t->n[j] = a;
      return 1;
    }
    case 4: /* delete */
      if (par < 0) return 0;
      if (prev < 0) t->n[par].kid = d->next; else t->n[prev].next = d->next;
      return 1;
    case 5: { /* nest in SEQUENCEs (depth bounds) */
      int depth = rnd(2) ? 1 + (int)rnd(8) : 1 + (int)rnd(100), next = t->n[i].next;
      for (int k = 0; k < depth; k++) {
        int w = dt_new(t);
        if (w < 0) break;
        t->n[w] = t->n[i]; /* the node moves down one level */
        t->n[w].next = -1;
        memset(&t->n[i], 0, sizeof t->n[i]);
        t->n[i].tag[0] = rnd(4) ? 0x30 : 0x31;
        t->n[i].taglen = 1;
        t->n[i].has_kids = 1;
        t->n[i].kid = w;
      }
      t->n[i].next = next;
      return 1;
    }
    case 6: { /* splice an element of another input (or of this one) in place of this node */
      const struct dtree *s = o ? o : t;
      int j = (int)rnd((uint32_t)s->count);
      if (s == t && j == i) return 0;
      int c = copy_from(t, s, j, 0);
      if (c < 0) return 0;
      int next = t->n[i].next;
      t->n[i] = t->n[c];
      t->n[i].next = next;
      return 1;
    }
    case 7: { /* flip bytes of a value */
      if (d->has_kids || d->vlen == 0) return 0;
      uint8_t *v = scratch(t, d->vlen);
      if (!v) return 0;
      memcpy(v, d->val, d->vlen);
      for (int k = 1 + (int)rnd(3); k > 0; k--) v[rnd((uint32_t)d->vlen)] ^= (uint8_t)(1u << rnd(8));
      d->val = v;
      return 1;
    }
    case 8: { /* empty or resized value */
      if (d->has_kids) { if (rnd(2)) d->kid = -1; else { d->has_kids = 0; d->val = NULL; d->vlen = 0; } return 1; }
      size_t n = rnd(3) ? rnd(3) : rnd(300);
      uint8_t *v = scratch(t, n);
      if (!v && n) return 0;
      for (size_t k = 0; k < n; k++) v[k] = k < d->vlen ? d->val[k] : (uint8_t)rnd(256);
      d->val = v; d->vlen = n;
      return 1;
    }
    case 9: { /* a known OID */
      if (d->has_kids) return 0;
      const char *h = OIDS[rnd(sizeof OIDS / sizeof *OIDS)];
      size_t n = strlen(h) / 2;
      uint8_t *v = scratch(t, n);
      if (!v) return 0;
      for (size_t k = 0; k < n; k++) { unsigned x; sscanf(h + 2 * k, "%2x", &x); v[k] = (uint8_t)x; }
      d->tag[0] = 0x06; d->taglen = 1; d->val = v; d->vlen = n;
      return 1;
    }
    case 10: { /* small INTEGER / BOOLEAN values at the edges */
      if (d->has_kids) return 0;
      static const uint8_t ints[][3] = {{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 0x7f}, {1, 0x80}, {1, 0xff}, {2, 0, 0x80}, {2, 0, 1}, {2, 0xff, 0xff}, {0}};
      const uint8_t *x = ints[rnd(sizeof ints / sizeof *ints)];
      uint8_t *v = scratch(t, 2);
      if (!v) return 0;
      memcpy(v, x + 1, x[0]);
      d->val = v; d->vlen = x[0];
      return 1;
    }
    default: { /* move a node to the end of its parent, or into a sibling (nesting changes) */
      if (par < 0 || t->n[i].next < 0) return 0;
      int last = i;
      while (t->n[last].next >= 0) last = t->n[last].next;
      if (prev < 0) t->n[par].kid = d->next; else t->n[prev].next = d->next;
      t->n[last].next = i;
      t->n[i].next = -1;
      return 1;
    }
  }
}

size_t der_mutate(uint8_t *data, size_t size, size_t max, unsigned seed, const uint8_t *other, size_t olen, int splice) {
  rs = seed * 2654435761u + 1;
  int root = dt_parse(&ta, data, size);
  if (root < 0) return 0;
  int oroot = other ? dt_parse(&tb, other, olen) : -1;
  int done = 0;
  for (int k = 1 + (rnd(4) == 0 ? (int)rnd(3) : 0); k > 0; k--) done |= mutate_tree(&ta, oroot >= 0 ? &tb : NULL, splice);
  if (!done) return 0;
  size_t n = dt_write(&ta, root, wbuf, max < sizeof wbuf ? max : sizeof wbuf);
  if (n == 0) return 0;
  memcpy(data, wbuf, n);
  return n;
}

/* ---- PKIMessage surgery (RFC 9810 5.1.1, 5.1.3) ---- */

static const uint8_t OID_PBM[] = {0x2a, 0x86, 0x48, 0x86, 0xf6, 0x7d, 0x07, 0x42, 0x0d};
static const uint8_t OID_PBMAC1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0e};
static const uint8_t OID_PBKDF2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c};

static int is_oid(const struct dtree *t, int i, const uint8_t *oid, size_t n) {
  return i >= 0 && !t->n[i].has_kids && t->n[i].tag[0] == 0x06 && t->n[i].vlen == n && memcmp(t->n[i].val, oid, n) == 0;
}

/* Hash of a digest AlgorithmIdentifier's or HMAC OID's contents; NULL when unknown. */
static const EVP_MD *md_of(const struct dtree *t, int alg) {
  int o = dt_kid(t, alg, 0);
  if (o < 0 || t->n[o].has_kids) return NULL;
  const uint8_t *v = t->n[o].val;
  size_t n = t->n[o].vlen;
  static const struct { const char *hex; int md; } M[] = {
    {"2b0e03021a", 1}, {"608648016503040201", 256}, {"608648016503040202", 384}, {"608648016503040203", 512},
    {"2b06010505080102", 1}, {"2a864886f70d0207", 1}, {"2a864886f70d0208", 224}, {"2a864886f70d0209", 256},
    {"2a864886f70d020a", 384}, {"2a864886f70d020b", 512}};
  for (size_t k = 0; k < sizeof M / sizeof *M; k++) {
    size_t hl = strlen(M[k].hex) / 2;
    if (hl != n) continue;
    int same = 1;
    for (size_t j = 0; j < n && same; j++) { unsigned x; sscanf(M[k].hex + 2 * j, "%2x", &x); same = v[j] == x; }
    if (same) switch (M[k].md) {
      case 1: return EVP_sha1();
      case 224: return EVP_sha224();
      case 256: return EVP_sha256();
      case 384: return EVP_sha384();
      default: return EVP_sha512();
    }
  }
  return NULL;
}

static unsigned uint_of(const struct dtree *t, int i) {
  if (i < 0 || t->n[i].has_kids || t->n[i].tag[0] != 0x02 || t->n[i].vlen > 4) return 0;
  unsigned v = 0;
  for (size_t k = 0; k < t->n[i].vlen; k++) v = v << 8 | t->n[i].val[k];
  return v;
}

/* Header field [n] of the header node (after pvno, sender, recipient); sets *prev to the node it
 * follows (where it is, or where it goes). */
static int field(const struct dtree *t, int hdr, int n, int *prev) {
  int k = t->n[hdr].kid, p = -1;
  for (int j = 0; j < 3 && k >= 0; j++) { p = k; k = t->n[k].next; }
  for (; k >= 0; p = k, k = t->n[k].next) {
    int tag = t->n[k].tag[0];
    if (tag == (0xa0 | n)) { *prev = p; return k; }
    if ((tag & 0xe0) == 0xa0 && (tag & 0x1f) > n) break;
  }
  *prev = p;
  return -1;
}

static void set_octets(struct dtree *t, int hdr, int n, const uint8_t *v, size_t len) {
  int prev, f = field(t, hdr, n, &prev);
  int o = dt_new(t);
  if (o < 0) return;
  t->n[o].tag[0] = 0x04; t->n[o].taglen = 1; t->n[o].val = v; t->n[o].vlen = len;
  if (f < 0) {
    f = dt_new(t);
    if (f < 0) return;
    t->n[f].next = prev >= 0 ? t->n[prev].next : t->n[hdr].kid;
    if (prev >= 0) t->n[prev].next = f; else t->n[hdr].kid = f;
  }
  t->n[f].tag[0] = (uint8_t)(0xa0 | n); t->n[f].taglen = 1; t->n[f].has_kids = 1; t->n[f].has_prefix = 0;
  t->n[f].lenovlen = 0; t->n[f].kid = o;
}

/* contents of OCTET STRING inside header field [n] of a request */
static int req_octets(const struct dtree *t, int root, int n, const uint8_t **v, size_t *len) {
  int prev, f = field(t, dt_kid(t, root, 0), n, &prev);
  int o = dt_kid(t, f, 0);
  if (o < 0 || t->n[o].has_kids) return -1;
  *v = t->n[o].val;
  *len = t->n[o].vlen;
  return 0;
}

static int mac_key(const struct dtree *t, int alg, const uint8_t *secret, size_t slen, unsigned max_iter,
                   uint8_t *key, unsigned *klen, const EVP_MD **hmac) {
  int oid = dt_kid(t, alg, 0), params = dt_kid(t, alg, 1);
  if (params < 0 || !t->n[params].has_kids) return -1;
  if (is_oid(t, oid, OID_PBM, sizeof OID_PBM)) { /* RFC 9810 5.1.3.1 */
    int salt = dt_kid(t, params, 0);
    const EVP_MD *owf = md_of(t, dt_kid(t, params, 1));
    unsigned it = uint_of(t, dt_kid(t, params, 2));
    *hmac = md_of(t, dt_kid(t, params, 3));
    if (salt < 0 || t->n[salt].has_kids || !owf || !*hmac || it < 1 || it > max_iter) return -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, owf, NULL);
    EVP_DigestUpdate(c, secret, slen);
    EVP_DigestUpdate(c, t->n[salt].val, t->n[salt].vlen);
    EVP_DigestFinal_ex(c, key, klen);
    for (unsigned k = 1; k < it; k++) {
      EVP_DigestInit_ex(c, owf, NULL);
      EVP_DigestUpdate(c, key, *klen);
      EVP_DigestFinal_ex(c, key, klen);
    }
    EVP_MD_CTX_free(c);
    return 0;
  }
  if (is_oid(t, oid, OID_PBMAC1, sizeof OID_PBMAC1)) { /* RFC 9480 6.1, RFC 8018 A.5 */
    int kdf = dt_kid(t, params, 0);
    *hmac = md_of(t, dt_kid(t, params, 1));
    int kp = dt_kid(t, kdf, 1);
    if (!is_oid(t, dt_kid(t, kdf, 0), OID_PBKDF2, sizeof OID_PBKDF2) || kp < 0 || !*hmac) return -1;
    int salt = dt_kid(t, kp, 0), k2 = dt_kid(t, kp, 2);
    unsigned it = uint_of(t, dt_kid(t, kp, 1));
    int has_len = k2 >= 0 && t->n[k2].tag[0] == 0x02;
    unsigned kl = has_len ? uint_of(t, k2) : 32;
    int prf_alg = dt_kid(t, kp, has_len ? 3 : 2);
    const EVP_MD *prf = prf_alg >= 0 ? md_of(t, prf_alg) : EVP_sha1();
    if (salt < 0 || t->n[salt].has_kids || it < 1 || it > max_iter || kl < 1 || kl > 64 || !prf) return -1;
    if (!PKCS5_PBKDF2_HMAC((const char *)secret, (int)slen, t->n[salt].val, (int)t->n[salt].vlen, (int)it, prf, (int)kl, key)) return -1;
    *klen = kl;
    return 0;
  }
  return -1;
}

static struct dtree tr, tq;
static uint8_t pp[1 << 16];

size_t pki_answer(const uint8_t *rsp, size_t len, const uint8_t *req, size_t reqlen, int fix_ids, int remac,
                  const uint8_t *secret, size_t slen, unsigned max_iter, uint8_t *out, size_t cap) {
  int root = dt_parse(&tr, rsp, len);
  int hdr = dt_kid(&tr, root, 0), body = dt_kid(&tr, root, 1);
  if (hdr < 0 || body < 0 || !tr.n[hdr].has_kids || dt_kid(&tr, hdr, 2) < 0) return 0;
  if (fix_ids) {
    int qroot = dt_parse(&tq, req, reqlen);
    const uint8_t *tid, *nonce;
    size_t tl, nl;
    if (qroot >= 0 && req_octets(&tq, qroot, 4, &tid, &tl) == 0 && req_octets(&tq, qroot, 5, &nonce, &nl) == 0) {
      set_octets(&tr, hdr, 4, tid, tl);
      set_octets(&tr, hdr, 6, nonce, nl);
    }
  }
  if (remac) {
    int prev, f = field(&tr, hdr, 1, &prev);
    uint8_t key[64], mac[EVP_MAX_MD_SIZE + 1];
    unsigned klen = 0, mlen = 0;
    const EVP_MD *h;
    if (f >= 0 && mac_key(&tr, dt_kid(&tr, f, 0), secret, slen, max_iter, key, &klen, &h) == 0) {
      /* ProtectedPart ::= SEQUENCE { header, body } (RFC 9810 5.1.3) */
      size_t hs = dt_size(&tr, hdr), bs = dt_size(&tr, body), n = 0;
      uint8_t L[10];
      size_t ll = len_octets(hs + bs, L);
      if (1 + ll + hs + bs <= sizeof pp) {
        pp[n++] = 0x30;
        memcpy(pp + n, L, ll); n += ll;
        n += put(&tr, hdr, pp + n);
        n += put(&tr, body, pp + n);
        mac[0] = 0;
        HMAC(h, key, (int)klen, pp, n, mac + 1, &mlen);
        uint8_t *v = scratch(&tr, mlen + 1);
        int bits = dt_new(&tr), prot = dt_kid(&tr, root, 2);
        if (v && bits >= 0) {
          memcpy(v, mac, mlen + 1);
          tr.n[bits].tag[0] = 0x03; tr.n[bits].taglen = 1; tr.n[bits].val = v; tr.n[bits].vlen = mlen + 1;
          if (prot < 0 || tr.n[prot].tag[0] != 0xa0) {
            int p = dt_new(&tr);
            if (p >= 0) { tr.n[p].next = tr.n[body].next; tr.n[body].next = p; prot = p; }
          }
          if (prot >= 0) {
            tr.n[prot].tag[0] = 0xa0; tr.n[prot].taglen = 1; tr.n[prot].has_kids = 1; tr.n[prot].has_prefix = 0;
            tr.n[prot].lenovlen = 0; tr.n[prot].kid = bits;
          }
        }
      }
    }
  }
  return dt_write(&tr, root, out, cap);
}
