/* PEM/DER helpers for the CLI (see pem.h). */
#include "pem.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int b64v(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* RFC 4648 4 base64 with whitespace allowed; length or -1. */
static long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    int c = (unsigned char)in[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') { pad++; continue; }
    int v = b64v(c);
    if (v < 0 || pad) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == cap) return -1;
      out[n++] = (uint8_t)(acc >> bits);
    }
  }
  if (pad > 2 || bits >= 6) return -1;
  return (long)n;
}

static const char *find(const char *hay, size_t len, const char *needle) {
  size_t nl = strlen(needle);
  for (size_t i = 0; i + nl <= len; i++) if (memcmp(hay + i, needle, nl) == 0) return hay + i;
  return NULL;
}

static int label_ok(const char *l, size_t ll, const char *labels) {
  for (const char *p = labels; *p;) {
    const char *e = strchr(p, '|');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == ll && memcmp(p, l, n) == 0) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

long pem_next(const char *in, size_t len, size_t *pos, const char *labels, uint8_t *out, size_t cap) {
  if (*pos == 0 && len > 0 && (uint8_t)in[0] == 0x30) { /* DER */
    *pos = len;
    if (len > cap) return -1;
    memcpy(out, in, len);
    return (long)len;
  }
  while (*pos < len) {
    const char *b = find(in + *pos, len - *pos, "-----BEGIN ");
    if (!b) { *pos = len; return 0; }
    const char *l = b + 11;
    const char *le = find(l, (size_t)(in + len - l), "-----");
    if (!le) return -1;
    const char *body = le + 5;
    const char *e = find(body, (size_t)(in + len - body), "-----END ");
    if (!e) return -1;
    const char *ee = find(e + 9, (size_t)(in + len - e - 9), "-----");
    if (!ee) return -1;
    *pos = (size_t)(ee + 5 - in);
    if (!label_ok(l, (size_t)(le - l), labels)) continue;
    if (find(body, (size_t)(e - body), ":")) return -1; /* encrypted (Proc-Type headers) */
    return b64_decode(body, (size_t)(e - body), out, cap);
  }
  return 0;
}

/* ---- minimal DER reading: one TLV at *p within end ---- */
static int tlv(const uint8_t **p, const uint8_t *end, int tag, const uint8_t **v, size_t *vl) {
  const uint8_t *q = *p;
  if (end - q < 2 || q[0] != tag) return -1;
  size_t n = q[1];
  q += 2;
  if (n & 0x80) {
    int k = (int)(n & 0x7f);
    if (k < 1 || k > 3 || end - q < k) return -1;
    n = 0;
    while (k--) n = (n << 8) | *q++;
  }
  if ((size_t)(end - q) < n) return -1;
  *v = q;
  *vl = n;
  *p = q + n;
  return 0;
}

long cert_subject(const uint8_t *der, size_t len, const uint8_t **name) {
  const uint8_t *p = der, *end = der + len, *v;
  size_t vl;
  /* RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
   * serialNumber, signature, issuer, validity, subject, ... } ... } */
  if (tlv(&p, end, 0x30, &v, &vl)) return -1;
  p = v;
  end = v + vl;
  if (tlv(&p, end, 0x30, &v, &vl)) return -1;
  p = v;
  end = v + vl;
  if (p < end && *p == 0xa0 && tlv(&p, end, 0xa0, &v, &vl)) return -1;
  if (tlv(&p, end, 0x02, &v, &vl) || tlv(&p, end, 0x30, &v, &vl) || tlv(&p, end, 0x30, &v, &vl) ||
      tlv(&p, end, 0x30, &v, &vl))
    return -1;
  *name = p;
  if (tlv(&p, end, 0x30, &v, &vl)) return -1;
  return (long)(p - *name);
}

static const uint8_t OID_EC[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* RFC 5915 3: ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] params, [1] pub } */
static int sec1(const uint8_t *der, size_t len, uint8_t d[32]) {
  const uint8_t *p = der, *end = der + len, *v, *s;
  size_t vl, sl;
  if (tlv(&p, end, 0x30, &s, &sl)) return -1;
  end = s + sl;
  p = s;
  if (tlv(&p, end, 0x02, &v, &vl) || vl != 1 || v[0] != 1) return -1;
  if (tlv(&p, end, 0x04, &v, &vl) || vl > 32 || vl == 0) return -1;
  memset(d, 0, 32);
  memcpy(d + 32 - vl, v, vl);
  if (p < end && *p == 0xa0) {
    const uint8_t *o;
    size_t ol;
    if (tlv(&p, end, 0xa0, &v, &vl)) return -1;
    const uint8_t *q = v;
    if (tlv(&q, v + vl, 0x06, &o, &ol) || ol != sizeof OID_P256 || memcmp(o, OID_P256, ol)) return -1;
  }
  return 0;
}

int key_p256_scalar(const uint8_t *der, size_t len, uint8_t d[32]) {
  const uint8_t *p = der, *end = der + len, *v, *s, *a;
  size_t vl, sl, al;
  if (sec1(der, len, d) == 0) return 0;
  /* RFC 5958 2: PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier, OCTET STRING } */
  if (tlv(&p, end, 0x30, &s, &sl)) return -1;
  p = s;
  end = s + sl;
  if (tlv(&p, end, 0x02, &v, &vl) || vl != 1 || v[0] > 1) return -1;
  if (tlv(&p, end, 0x30, &a, &al)) return -1;
  const uint8_t *q = a;
  if (tlv(&q, a + al, 0x06, &v, &vl) || vl != sizeof OID_EC || memcmp(v, OID_EC, vl)) return -1;
  if (tlv(&q, a + al, 0x06, &v, &vl) || vl != sizeof OID_P256 || memcmp(v, OID_P256, vl)) return -1;
  if (tlv(&p, end, 0x04, &v, &vl)) return -1;
  return sec1(v, vl, d);
}

size_t key_p256_der(const uint8_t d[32], uint8_t *out) {
  static const uint8_t head[] = { 0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20 };
  memcpy(out, head, sizeof head);
  memcpy(out + 7, d, 32);
  out[39] = 0xa0;
  out[40] = 0x0a;
  out[41] = 0x06;
  out[42] = 0x08;
  memcpy(out + 43, OID_P256, 8);
  return 51;
}

/* ---- DER writing ---- */
static long put_hdr(uint8_t *out, size_t cap, size_t at, int tag, size_t n) {
  size_t h = n < 128 ? 2 : n < 256 ? 3 : 4;
  if (n > 0xffff || at + h > cap) return -1;
  out[at] = (uint8_t)tag;
  if (h == 2) out[at + 1] = (uint8_t)n;
  else if (h == 3) { out[at + 1] = 0x81; out[at + 2] = (uint8_t)n; }
  else { out[at + 1] = 0x82; out[at + 2] = (uint8_t)(n >> 8); out[at + 3] = (uint8_t)n; }
  return (long)h;
}

/* Wraps out[at..at+n) in a tag: moves the content right by the header size. */
static long wrap(uint8_t *out, size_t cap, size_t at, int tag, size_t n) {
  uint8_t h[4];
  long hl = put_hdr(h, sizeof h, 0, tag, n);
  if (hl < 0 || at + (size_t)hl + n > cap) return -1;
  memmove(out + at + hl, out + at, n);
  memcpy(out + at, h, (size_t)hl);
  return hl + (long)n;
}

static long oid_body(const char *s, size_t sl, uint8_t *out, size_t cap) {
  unsigned long arc[32];
  int na = 0;
  const char *p = s, *e = s + sl;
  while (p < e) {
    char *q;
    if (*p < '0' || *p > '9' || na == 32) return -1;
    arc[na++] = strtoul(p, &q, 10);
    p = q;
    if (p < e && *p++ != '.') return -1;
  }
  if (na < 2 || arc[0] > 2 || (arc[0] < 2 && arc[1] > 39)) return -1;
  size_t n = 0;
  for (int i = 1; i < na; i++) {
    unsigned long v = i == 1 ? arc[0] * 40 + arc[1] : arc[i];
    uint8_t tmp[10];
    int k = 0;
    do tmp[k++] = (uint8_t)(v & 0x7f); while ((v >>= 7) && k < 10);
    if (n + (size_t)k > cap) return -1;
    while (k--) out[n++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
  }
  return (long)n;
}

long oid_der(const char *oid, uint8_t *out, size_t cap) {
  static const char *const names[][2] = {
    { "caCerts", "1.3.6.1.5.5.7.4.17" }, { "rootCaCert", "1.3.6.1.5.5.7.4.20" },
    { "certReqTemplate", "1.3.6.1.5.5.7.4.19" }, { "crlStatusList", "1.3.6.1.5.5.7.4.22" },
    { "signKeyPairTypes", "1.3.6.1.5.5.7.4.2" }, { "currentCRL", "1.3.6.1.5.5.7.4.6" },
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(oid, names[i][0]) == 0) oid = names[i][1];
  return oid_body(oid, strlen(oid), out, cap);
}

/* RFC 5280 4.1.2.4 / X.520 attribute types accepted in -subject and -recipient. */
static const struct { const char *name, *oid; int tag; } ATTR[] = {
  { "CN", "2.5.4.3", 0x0c }, { "C", "2.5.4.6", 0x13 }, { "L", "2.5.4.7", 0x0c }, { "ST", "2.5.4.8", 0x0c },
  { "O", "2.5.4.10", 0x0c }, { "OU", "2.5.4.11", 0x0c }, { "serialNumber", "2.5.4.5", 0x13 },
  { "DC", "0.9.2342.19200300.100.1.25", 0x16 }, { "UID", "0.9.2342.19200300.100.1.1", 0x0c },
  { "emailAddress", "1.2.840.113549.1.9.1", 0x16 },
};

long dn_der(const char *dn, uint8_t *out, size_t cap) {
  size_t at = 0;
  if (*dn != '/') return -1;
  const char *p = dn + 1;
  while (*p) {
    const char *eq = strchr(p, '=');
    if (!eq) return -1;
    size_t tl = (size_t)(eq - p);
    int a = -1;
    for (size_t i = 0; i < sizeof ATTR / sizeof ATTR[0]; i++)
      if (strlen(ATTR[i].name) == tl && strncmp(ATTR[i].name, p, tl) == 0) a = (int)i;
    if (a < 0) return -1;
    const char *v = eq + 1, *ve = v;
    while (*ve && *ve != '/') ve += (*ve == '\\' && ve[1]) ? 2 : 1;
    /* AttributeTypeAndValue: OID then the string value, unescaping "\/" */
    size_t start = at;
    long ol = oid_body(ATTR[a].oid, strlen(ATTR[a].oid), out + at + 4, cap > at + 4 ? cap - at - 4 : 0);
    if (ol < 0) return -1;
    memmove(out + at, out + at + 4, (size_t)ol);
    long w = wrap(out, cap, at, 0x06, (size_t)ol);
    if (w < 0) return -1;
    at += (size_t)w;
    size_t vs = at;
    for (const char *c = v; c < ve; c++) {
      if (*c == '\\' && c + 1 < ve) c++;
      if (at == cap) return -1;
      out[at++] = (uint8_t)*c;
    }
    if ((w = wrap(out, cap, vs, ATTR[a].tag, at - vs)) < 0) return -1;
    at = vs + (size_t)w;
    if ((w = wrap(out, cap, start, 0x30, at - start)) < 0) return -1;
    if ((w = wrap(out, cap, start, 0x31, (size_t)w)) < 0) return -1;
    at = start + (size_t)w;
    p = *ve ? ve + 1 : ve;
  }
  return wrap(out, cap, 0, 0x30, at);
}

long pem_write(const char *label, const uint8_t *der, size_t len, char *out, size_t cap) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int n = snprintf(out, cap, "-----BEGIN %s-----\n", label);
  if (n < 0 || (size_t)n >= cap) return -1;
  size_t at = (size_t)n;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)der[i] << 16 | (i + 1 < len ? (uint32_t)der[i + 1] << 8 : 0) | (i + 2 < len ? der[i + 2] : 0);
    if (at + 6 > cap) return -1;
    out[at++] = T[v >> 18];
    out[at++] = T[(v >> 12) & 63];
    out[at++] = i + 1 < len ? T[(v >> 6) & 63] : '=';
    out[at++] = i + 2 < len ? T[v & 63] : '=';
    if ((i / 3) % 16 == 15 || i + 3 >= len) out[at++] = '\n';
  }
  n = snprintf(out + at, cap - at, "-----END %s-----\n", label);
  if (n < 0 || (size_t)n >= cap - at) return -1;
  return (long)(at + (size_t)n);
}
