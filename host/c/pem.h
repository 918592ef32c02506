/* PEM/DER inputs for the CLI: base64 (RFC 4648), PEM blocks (RFC 7468), P-256 private keys
 * (PKCS#8 RFC 5958 or SEC 1 ECPrivateKey RFC 5915) to their 32-byte scalar, distinguished names
 * in OpenSSL's "/CN=a/O=b" form and OIDs to DER. Caller-owned buffers only. */
#ifndef TINYCMP_PEM_H
#define TINYCMP_PEM_H
#include <stddef.h>
#include <stdint.h>

/* Next DER object in a PEM or DER file: a PEM block whose label is one of labels ("|"-separated)
 * starting at *pos, decoded into out (cap); or the whole input when it is DER. Its length,
 * 0 when no more, -1 when malformed or too large. */
long pem_next(const char *in, size_t len, size_t *pos, const char *labels, uint8_t *out, size_t cap);
/* 32-byte P-256 private scalar from PKCS#8 PrivateKeyInfo or SEC 1 ECPrivateKey DER; 0 or -1. */
int key_p256_scalar(const uint8_t *der, size_t len, uint8_t d[32]);
/* SEC 1 ECPrivateKey (P-256) DER of a scalar into out (cap >= 64); its length. */
size_t key_p256_der(const uint8_t d[32], uint8_t *out);
/* The subject Name element of a DER certificate (*name points into der); its length or -1. */
long cert_subject(const uint8_t *der, size_t len, const uint8_t **name);
/* "/CN=x/O=y" to a DER Name; its length or -1. */
long dn_der(const char *dn, uint8_t *out, size_t cap);
/* Dotted OID (or a CMP infoType name) to its content octets; length or -1. */
long oid_der(const char *oid, uint8_t *out, size_t cap);
/* PEM text of DER under label into out; its length or -1. */
long pem_write(const char *label, const uint8_t *der, size_t len, char *out, size_t cap);

#endif
