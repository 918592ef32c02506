/* tinycmp-native: the CMP client CLI of the C host. Option names follow the Node CLI and
 * `openssl cmp`; exit 0 on success, 1 when the transaction fails, 2 on bad usage or input, with
 * one line "tinycmp: ..." on stderr. Drives the core's sans-IO transaction (docs/ABI.md tx_*):
 * SEND -> HTTP POST, WAIT -> sleep, until DONE or FAILED. Static buffers only. */
#define _DEFAULT_SOURCE
#include "core.h"
#include "host.h"
#include "http.h"
#include "pem.h"
#include "tinycmp_abi.h"
#ifdef TINYCMP_TPM
#include "tpm.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


static uint8_t arena[96 * 1024]; /* inputs, loaded once at start-up */
static size_t arena_used;
static struct { int item; uint8_t *p; size_t len; } cfg[64];
static int ncfg;
static char errbuf[256];
static void (*on_failure)(void); /* undoes what this run made before it fails (a key generated in the TPM) */

static void die(int code, const char *fmt, ...) {
  va_list ap;
  if (on_failure) { void (*f)(void) = on_failure; on_failure = NULL; f(); }
  va_start(ap, fmt);
  fputs("tinycmp: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(code);
}

static uint8_t *take(size_t n) {
  if (arena_used + n > sizeof arena) die(2, "inputs too large");
  uint8_t *p = arena + arena_used;
  arena_used += (n + 7) & ~(size_t)7;
  return p;
}

static void add(int item, uint8_t *p, size_t len) {
  if (ncfg == (int)(sizeof cfg / sizeof cfg[0])) die(2, "too many inputs");
  cfg[ncfg].item = item;
  cfg[ncfg].p = p;
  cfg[ncfg++].len = len;
}

static size_t read_file(const char *path, uint8_t *out, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) die(2, "cannot read %s: %s", path, strerror(errno));
  size_t n = fread(out, 1, cap, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  if (more) die(2, "%s is too large", path);
  return n;
}

static uint8_t filebuf[48 * 1024];

/* Every object with one of labels in a PEM or DER file, each added as item; their count. */
static int load_all(int item, const char *path, const char *labels) {
  size_t n = read_file(path, filebuf, sizeof filebuf), pos = 0;
  int count = 0;
  for (;;) {
    uint8_t *p = arena + arena_used;
    long l = pem_next((const char *)filebuf, n, &pos, labels, p, sizeof arena - arena_used);
    if (l < 0) die(2, "%s: malformed or too large PEM/DER", path);
    if (l == 0) break;
    take((size_t)l);
    if (item) add(item, p, (size_t)l);
    count++;
  }
  if (count == 0) die(2, "%s: no %s found", path, labels);
  return count;
}

static void load_key(int item, const char *path) {
  size_t n = read_file(path, filebuf, sizeof filebuf), pos = 0;
  uint8_t *d = take(32), *der = arena + arena_used;
  long l = pem_next((const char *)filebuf, n, &pos, "PRIVATE KEY|EC PRIVATE KEY", der, sizeof arena - arena_used);
  if (l <= 0 || key_p256_scalar(der, (size_t)l, d) != 0) die(2, "%s: not an unencrypted P-256 private key", path);
  memset(der, 0, (size_t)l);
  add(item, d, 32);
}

static void add_dn(int item, const char *dn) {
  uint8_t *p = arena + arena_used;
  long l = dn_der(dn, p, 2048);
  if (l < 0) die(2, "malformed distinguished name: %s", dn);
  take((size_t)l);
  add(item, p, (size_t)l);
}

static void add_bytes(int item, const char *s) {
  size_t l = strlen(s);
  uint8_t *p = take(l + 1);
  memcpy(p, s, l);
  add(item, p, l);
}

/* A whole number in [lo, hi], as the option's value; anything else is a usage error. */
/* -geninfo OID:int:N (openssl cmp 3.0): InfoTypeAndValue { OID, INTEGER N } (RFC 9810 5.1.1). */
static void add_geninfo(const char *v) {
  char oid[128];
  const char *colon = strchr(v, ':');
  if (!colon || (size_t)(colon - v) >= sizeof oid || strncasecmp(colon + 1, "int:", 4) != 0) die(2, "-geninfo %s: use OID:int:N", v);
  memcpy(oid, v, (size_t)(colon - v));
  oid[colon - v] = 0;
  char *end;
  errno = 0;
  long long n = strtoll(colon + 5, &end, 10);
  if (colon[5] == 0 || *end != 0 || errno != 0) die(2, "-geninfo %s: N must be a 64-bit whole number", v);
  uint8_t o[64], be[8];
  long ol = oid_der(oid, o, sizeof o);
  if (ol < 0) die(2, "-geninfo %s: bad OID", v);
  for (int k = 0; k < 8; k++) be[k] = (uint8_t)((unsigned long long)n >> (56 - 8 * k));
  int s = 0; /* drop leading bytes that only repeat the sign (X.690 8.3.2) */
  while (s < 7 && ((be[s] == 0 && !(be[s + 1] & 0x80)) || (be[s] == 0xff && (be[s + 1] & 0x80)))) s++;
  int il = 8 - s;
  const uint8_t *in = be + s;
  size_t len = 4 + (size_t)ol + 2 + (size_t)il;
  uint8_t *p = take(len);
  p[0] = 0x30; p[1] = (uint8_t)(len - 2); p[2] = 0x06; p[3] = (uint8_t)ol;
  memcpy(p + 4, o, (size_t)ol);
  p[4 + ol] = 0x02; p[5 + ol] = (uint8_t)il;
  memcpy(p + 6 + ol, in, (size_t)il);
  add(ITEM_GENINFO, p, len);
}

static long int_arg(const char *opt, const char *v, long lo, long hi) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (*v == 0 || *end != 0 || errno != 0 || n < lo || n > hi) die(2, "%s %s: must be a whole number %ld..%ld", opt, v, lo, hi);
  return n;
}

static void total_timeout_expired(int sig) {
  static const char msg[] = "tinycmp: -total_timeout exceeded\n";
  (void)sig;
  if (write(2, msg, sizeof msg - 1) < 0) {}
  _exit(1);
}

static const char *secret_value(const char *s) {
  if (strncmp(s, "pass:", 5) == 0) return s + 5;
  if (strncmp(s, "env:", 4) == 0) {
    const char *v = getenv(s + 4);
    if (!v) die(2, "-secret: environment variable %s is not set", s + 4);
    return v;
  }
  die(2, "-secret must be pass:<secret> or env:<variable>");
  return NULL;
}

/* ---- keys in a TPM 2.0: "tpm:0x81000001" (a persistent handle); "tpm:" alone for -newkey ---- */
static const char *tpm_key, *tpm_newkey, *keypass, *newkeypass, *tpm_tcti, *newkeytype;
static uint32_t tpm_newkey_handle;
static int store_mode; /* -store: the credential in the core's store (-flash DIR), keys by reference */
static int cert_at, cert_n; /* the items of -cert FILE in cfg */

static uint32_t call(enum core_fn fn, uint32_t a, uint32_t b, uint32_t c);
static uint32_t call5(enum core_fn fn, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e);
static uint8_t *mem_at(uint32_t ptr, uint32_t len);
static void core_load(const char *wasm);
static uint32_t io, io_size;

static int is_tpm(const char *v) { return strncmp(v, "tpm:", 4) == 0; }

#ifdef TINYCMP_TPM
/* The key's authValue from env:VAR or file:PATH (its first line); never from the command line.
 * At most 64 bytes (a TPM2B_AUTH holds a SHA-512 digest's worth, TPM 2.0 Part 2, 10.4.5). */
static const char *auth_value(const char *opt, const char *s) {
  static char buf[2][128];
  char *b = buf[strcmp(opt, "-newkeypass") == 0];
  const char *v = b;
  if (!s) return NULL;
  if (strncmp(s, "env:", 4) == 0) {
    v = getenv(s + 4);
    if (!v) die(2, "%s: environment variable %s is not set", opt, s + 4);
  } else if (strncmp(s, "file:", 5) == 0) {
    FILE *f = fopen(s + 5, "r");
    if (!f) die(2, "%s: cannot read %s: %s", opt, s + 5, strerror(errno));
    if (!fgets(b, sizeof buf[0], f)) b[0] = 0;
    fclose(f);
    b[strcspn(b, "\r\n")] = 0;
  } else {
    die(2, "%s must be env:VARIABLE or file:PATH (a key's auth is not given on the command line)", opt);
  }
  if (strlen(v) > 64) die(2, "%s: an auth value of at most 64 bytes", opt);
  return v;
}

static uint32_t tpm_handle_of(const char *opt, const char *ref, int may_be_empty) {
  const char *h = ref + 4;
  if (*h == 0 && may_be_empty) return 0;
  char *end;
  errno = 0;
  unsigned long v = strtoul(h, &end, 16);
  if (strncmp(h, "0x", 2) != 0 || end == h + 2 || *end != 0 || errno != 0 || v < 0x81000000UL || v > 0x81ffffffUL)
    die(2, "%s %s: a TPM key is tpm:0x81xxxxxx (a persistent handle)%s", opt, ref, may_be_empty ? ", or tpm: for a free one" : "");
  return (uint32_t)v;
}

static int32_t tpm_signer(int32_t handle, int32_t alg, const uint8_t *in, int32_t len, uint8_t *out, int32_t cap) {
  return tpm_sign(handle, alg, in, len, out, cap);
}

static uint8_t tpm_spki[1200];

/* -newkeytype: any (0), or P-256 when generated */
static enum tpm_key_type newkey_type(void) {
  static const char *const types[] = { "P-256", "P-384", "RSA-2048", "RSA-3072" };
  int t = 0;
  if (!newkeytype) return 0;
  for (int i = 0; i < 4; i++) if (!strcmp(newkeytype, types[i])) t = i + 1;
  if (!strcmp(newkeytype, "Ed25519")) die(2, "-newkeytype Ed25519: Ed25519 is not in TPM 2.0 (P-256, P-384, RSA-2048, RSA-3072)");
  if (!t) die(2, "-newkeytype must be P-256, P-384, RSA-2048 or RSA-3072");
  return (enum tpm_key_type)t;
}

/* Opens the TPM keys of -key and -newkey (generating the new key when its handle is free) before
 * anything is sent; a TPM absent, a key not found or unfit is an input error (exit 2). */
static void tpm_setup(void) {
  enum tpm_key_type type = newkey_type();
  uint32_t key = tpm_key ? tpm_handle_of("-key", tpm_key, 0) : 0;
  tpm_newkey_handle = tpm_newkey ? tpm_handle_of("-newkey", tpm_newkey, 1) : 0;
  const char *auth = auth_value("-keypass", keypass), *newauth = auth_value("-newkeypass", newkeypass);
  if (tpm_connect(tpm_tcti) != 0) die(2, "%s", tpm_error);
  size_t n;
  if (tpm_key && tpm_open_key(1, &key, auth, 0, 0, tpm_spki, sizeof tpm_spki, &n) != 0) die(2, "-key: %s", tpm_error);
  if (tpm_newkey) {
    on_failure = tpm_discard_generated;
    if (tpm_open_key(2, &tpm_newkey_handle, newauth, 1, type, tpm_spki, sizeof tpm_spki, &n) != 0) die(2, "-newkey: %s", tpm_error);
    add(ITEM_NEWPUBKEY, memcpy(take(n), tpm_spki, n), n);
  }
  host_signer = tpm_signer;
  tpm_error[0] = 0;
}

/* ---- -store: the core's credential store over the flash slots of -flash DIR (docs/STORE.md
 * "Keys held by the host"). Records name TPM keys by KEYREF "tpm:0x81xxxxxx" with their PUBKEY;
 * no key material is ever stored. store_use(kind) makes the core call env.sign with handle = kind:
 * 1 (IDevID) and 2 (credential) sign with the TPM key opened as signer 1, 4 (pending) with the
 * new key opened as signer 2. ---- */
static uint8_t list[16 * 1024];
static size_t list_len;
static int pending_saved;

static int32_t store_signer(int32_t handle, int32_t alg, const uint8_t *in, int32_t len, uint8_t *out, int32_t cap) {
  if (handle == KIND_IDEVID || handle == KIND_CRED) return tpm_sign(1, alg, in, len, out, cap);
  if (handle == KIND_STATE) return tpm_sign(2, alg, in, len, out, cap);
  return -1;
}

static void list_add(int tag, const uint8_t *v, size_t n) {
  if (list_len + 3 + n > sizeof list || n > 0xffff) die(2, "-store: record too large");
  list[list_len] = (uint8_t)tag;
  list[list_len + 1] = (uint8_t)n;
  list[list_len + 2] = (uint8_t)(n >> 8);
  memcpy(list + list_len + 3, v, n);
  list_len += 3 + n;
}

/* Copies the list into the I/O buffer and calls fn(io, len). */
static int32_t list_call(enum core_fn fn) {
  if (list_len > io_size) die(2, "-store: record too large");
  memcpy(mem_at(io, (uint32_t)list_len), list, list_len);
  return (int32_t)call(fn, io, (uint32_t)list_len, 0);
}

/* The index-th item with tag of kind's current record, in the I/O buffer; its length or an error. */
static int32_t item(int kind, int tag, int index) {
  return (int32_t)call5(CF_STORE_GET, (uint32_t)kind, (uint32_t)tag, (uint32_t)index, io, io_size);
}

/* The TPM handle the KEYREF of kind's record names, opened as signer slot with auth; the TPM's
 * public key there must be the record's PUBKEY (a key swapped in the TPM is refused before
 * anything is sent). */
static uint32_t open_stored(int kind, const char *what, const char *auth) {
  static char ref[64];
  int32_t n = item(kind, TAG_KEYREF, 0);
  if (n == E_STORE_ITEM) die(2, "-store: the stored %s key is not in a TPM (no key reference)", what);
  if (n < 0 || n >= (int32_t)sizeof ref || strncmp((const char *)mem_at(io, (uint32_t)n), "tpm:", 4) != 0)
    die(2, "-store: the stored %s key is not a TPM key (error %d)", what, (int)n);
  memcpy(ref, mem_at(io, (uint32_t)n), (size_t)n);
  ref[n] = 0;
  uint32_t h = tpm_handle_of("-store", ref, 0);
  size_t sl;
  if (tpm_open_key(1, &h, auth, 0, 0, tpm_spki, sizeof tpm_spki, &sl) != 0) die(2, "-store (%s %s): %s", what, ref, tpm_error);
  n = item(kind, TAG_PUBKEY, 0);
  if (n < 0 || (size_t)n != sl || memcmp(mem_at(io, (uint32_t)n), tpm_spki, sl) != 0)
    die(2, "-store: the TPM key at %s is not the stored %s key", ref, what);
  return h;
}

/* A failed ir/kur: the pending reference is dropped, then the new TPM key evicted; the credential
 * stays as it was (one record write never happened). */
static void store_abandon(void) {
  if (pending_saved) call(CF_STORE_CLEAR, KIND_STATE, 0, 0);
  tpm_discard_generated();
}

/* ir: provisions the IDevID by reference when the store has none (-key tpm:..., -cert FILE: the
 * IDevID certificate first, then its chain); ir and kur: opens the signing key the store names,
 * configures its certificate and chain (as extraCerts, RFC 9483 3.3), makes the new key in the
 * TPM and saves its reference as the pending key before anything is sent. */
static void store_setup(int op, const char *wasm, const char *certfile) {
  int kind = op == OP_IR ? KIND_IDEVID : KIND_CRED;
  const char *what = op == OP_IR ? "IDevID" : "credential";
  enum tpm_key_type type = newkey_type();
  const char *auth = auth_value("-keypass", keypass), *newauth = auth_value("-newkeypass", newkeypass);
  core_load(wasm);
  if (tpm_connect(tpm_tcti) != 0) die(2, "%s", tpm_error);
  int32_t info = (int32_t)call(CF_STORE_INFO, (uint32_t)kind, 0, 0);
  if (info == E_STORE_EMPTY && op == OP_IR) { /* the IDevID by reference (docs/STORE.md) */
    if (!tpm_key || !certfile) die(2, "-store: the store has no IDevID: give -key tpm:0x81xxxxxx -cert FILE to provision it");
    uint32_t h = tpm_handle_of("-key", tpm_key, 0);
    size_t sl;
    char ref[16];
    if (tpm_open_key(1, &h, auth, 0, 0, tpm_spki, sizeof tpm_spki, &sl) != 0) die(2, "-key: %s", tpm_error);
    snprintf(ref, sizeof ref, "tpm:0x%08x", (unsigned)h);
    list_len = 0;
    list_add(TAG_KEYREF, (const uint8_t *)ref, strlen(ref));
    list_add(TAG_PUBKEY, tpm_spki, sl);
    for (int k = 0; k < cert_n; k++) list_add(k ? TAG_CHAIN : TAG_CERT, cfg[cert_at + k].p, cfg[cert_at + k].len);
    int32_t r = list_call(CF_STORE_PROVISION);
    if (r != 0) die(2, "-store: provisioning the IDevID refused (error %d): does %s certify tpm:0x%08x?", (int)r, certfile, (unsigned)h);
    tpm_close(); /* opened again below as the store names it */
    if (tpm_connect(tpm_tcti) != 0) die(2, "%s", tpm_error);
  } else if (info < 0) {
    die(2, "-store: no %s in the store %s (error %d)%s", what, host_flash_dir, (int)info, op == OP_KUR ? ": enroll with -cmd ir -store first" : "");
  } else if (tpm_key || certfile) {
    die(2, "-store: the %s comes from the store %s: no -key or -cert", what, host_flash_dir);
  }
  if (certfile) { /* the IDevID now comes from the store like every later run's */
    memmove(cfg + cert_at, cfg + cert_at + cert_n, (size_t)(ncfg - cert_at - cert_n) * sizeof cfg[0]);
    ncfg -= cert_n;
  }
  open_stored(kind, what, auth);
  for (int i = 0;; i++) { /* the certificate, then its chain as extraCerts */
    int32_t n = item(kind, i ? TAG_CHAIN : TAG_CERT, i ? i - 1 : 0);
    if (n == E_STORE_ITEM && i) break;
    if (n < 0) die(2, "-store: the stored %s has no certificate (error %d)", what, (int)n);
    add(i ? ITEM_EXTRA : ITEM_CERT, memcpy(take((size_t)n), mem_at(io, (uint32_t)n), (size_t)n), (size_t)n);
  }
  /* the new key, made in the TPM; its reference pending before the request is sent */
  tpm_newkey_handle = tpm_newkey ? tpm_handle_of("-newkey", tpm_newkey, 1) : 0;
  on_failure = store_abandon;
  size_t sl;
  if (tpm_open_key(2, &tpm_newkey_handle, newauth, 1, type, tpm_spki, sizeof tpm_spki, &sl) != 0) die(2, "-newkey: %s", tpm_error);
  char ref[16];
  snprintf(ref, sizeof ref, "tpm:0x%08x", (unsigned)tpm_newkey_handle);
  list_len = 0;
  list_add(TAG_KEYREF, (const uint8_t *)ref, strlen(ref));
  list_add(TAG_PUBKEY, tpm_spki, sl);
  int32_t r = list_call(CF_STORE_PENDING_REF);
  if (r != 0) die(1, "-store: saving the new key's reference failed (error %d)", (int)r);
  pending_saved = 1;
  /* env.sign for handle 4 must be the key the pending record names */
  int32_t n = item(KIND_STATE, TAG_KEYREF, 0);
  if (n != (int32_t)strlen(ref) || memcmp(mem_at(io, (uint32_t)n), ref, (size_t)n) != 0) die(1, "-store: the pending key reads back wrong");
  host_signer = store_signer;
  tpm_error[0] = 0;
}

/* After DONE: the issued certificate and chain become the credential (store_commit checks that
 * the certificate carries the pending key), in one record write. */
static void store_finish(void) {
  list_len = 0;
  for (int chain = 0; chain < 2; chain++) /* the certificate, then every chain certificate */
    for (uint32_t i = 0;; i++) {
      uint32_t kind = chain ? RESULT_CHAIN : RESULT_CERT;
      int32_t n = (int32_t)call(CF_TX_RESULT_LEN, kind, i, 0);
      if (n < 0) break;
      list_add(chain ? TAG_CHAIN : TAG_CERT, mem_at(call(CF_TX_RESULT, kind, i, 0), (uint32_t)n), (size_t)n);
      if (!chain) break;
    }
  int32_t r = list_call(CF_STORE_COMMIT);
  if (r != 0) { /* the credential written but the state not cleared still counts: the key stays */
    char ref[16];
    int32_t n = item(KIND_CRED, TAG_KEYREF, 0);
    snprintf(ref, sizeof ref, "tpm:0x%08x", (unsigned)tpm_newkey_handle);
    if (n == (int32_t)strlen(ref) && memcmp(mem_at(io, (uint32_t)n), ref, (size_t)n) == 0) on_failure = NULL;
    die(1, "-store: committing the new credential failed (error %d)", (int)r);
  }
  on_failure = NULL; /* the new key is the credential's now */
}
#else
static void tpm_setup(void) {
  die(2, "%s: built without TPM support (host/c was built where pkg-config found no libtss2-esys)", tpm_key ? tpm_key : tpm_newkey);
}
static void store_setup(int op, const char *wasm, const char *certfile) {
  (void)op; (void)wasm; (void)certfile;
  die(2, "-store: built without TPM support (host/c was built where pkg-config found no libtss2-esys)");
}
static void store_finish(void) {}
#endif

/* ---- calls into the core ---- */
static uint32_t call5(enum core_fn fn, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e) {
  uint32_t args[CORE_MAX_PARAMS] = { a, b, c, d, e }, r = 0;
  if (core_call(fn, args, &r, errbuf, sizeof errbuf) != 0) die(1, "core %s failed: %s", core_fn_name[fn], errbuf);
  return r;
}
static uint32_t call(enum core_fn fn, uint32_t a, uint32_t b, uint32_t c) { return call5(fn, a, b, c, 0, 0); }

static void core_load(const char *wasm) {
  static int loaded;
  if (loaded) return;
  if (core_open(wasm, errbuf, sizeof errbuf) != 0) die(2, "cannot load the core (%s): %s", core_runtime, errbuf);
  /* the module's numbers are those of tinycmp_abi.h only when its ABI version is (docs/ABI.md) */
  int32_t abi = (int32_t)call(CF_ABI_VERSION, 0, 0, 0);
  if (abi != TINYCMP_ABI_VERSION) die(2, "the core has ABI version %d, this host needs %d: use the module built with this host", (int)abi, TINYCMP_ABI_VERSION);
  io = call(CF_IO_PTR, 0, 0, 0);
  io_size = call(CF_IO_SIZE, 0, 0, 0);
  loaded = 1;
}

static uint8_t *mem_at(uint32_t ptr, uint32_t len) {
  uint32_t size;
  uint8_t *m = core_memory(&size);
  if (!host_in_memory(size, ptr, (int32_t)len)) die(1, "core returned a range outside its memory");
  return m + ptr;
}

static char outbuf[48 * 1024];

static void write_out(const char *path, const char *label, int kind, int all) {
  size_t at = 0;
  int i;
  for (i = 0; all || i == 0; i++) {
    int32_t n = (int32_t)call(CF_TX_RESULT_LEN, (uint32_t)kind, (uint32_t)i, 0);
    if (n < 0) break;
    uint32_t p = call(CF_TX_RESULT, (uint32_t)kind, (uint32_t)i, 0);
    long w = pem_write(label, mem_at(p, (uint32_t)n), (size_t)n, outbuf + at, sizeof outbuf - at);
    if (w < 0) die(1, "%s: output too large", path);
    at += (size_t)w;
  }
  if (i == 0 && !all) die(1, "no result to write to %s", path);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(outbuf, 1, at, f) != at || fclose(f) != 0) die(1, "cannot write %s", path);
}

static void print_oid(const uint8_t *v, size_t n) {
  unsigned long acc = 0;
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 7) | (v[i] & 0x7f);
    if (v[i] & 0x80) continue;
    if (first) printf("%lu.%lu", acc < 80 ? acc / 40 : 2, acc < 80 ? acc % 40 : acc - 80);
    else printf(".%lu", acc);
    first = 0;
    acc = 0;
  }
}

static void usage(void) {
  fputs("usage: tinycmp-native -cmd ir|cr|kur|p10cr|rr|genm -server host:port[/path] [-path PATH] [options]\n"
        "  -ref REF -secret pass:S|env:VAR   MAC protection (PBM)\n"
        "  -cert FILE -key FILE              signature protection (P-256)\n"
        "  -key tpm:0x81xxxxxx -newkey tpm:[0x81xxxxxx]   keys in a TPM 2.0 (P-256, P-384, RSA)\n"
        "  -keypass|-newkeypass env:VAR|file:PATH  their auth; -newkeytype P-256|P-384|RSA-2048|RSA-3072\n"
        "  -tpm_tcti CONF (or TPM2TOOLS_TCTI, TSS2_TCTI) -rsa_pss\n"
        "  -trusted FILE -untrusted FILE -extracerts FILE   (repeatable; PEM bundles or DER)\n"
        "  -recipient DN -subject DN -newkey FILE -csr FILE -oldcert FILE\n"
        "  -revreason N (-1: none) -infotype NAME|OID -implicit_confirm -unprotected_errors\n"
        "  -issuer DN -days N -geninfo OID:int:N -disable_confirm -ignore_keyusage -partial_chain\n"
        "  -certout FILE -chainout FILE -cacertsout FILE -extracertsout FILE -newkeyout FILE\n"
        "  -msg_timeout SECONDS -total_timeout SECONDS (0: no limit) -max_wait SECONDS\n"
        "  -store   ir/kur keeping the credential in the store of -flash DIR, TPM keys by reference\n"
        "  -wasm FILE -flash DIR -v\n", stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *cmd = NULL, *server = NULL, *certout = NULL, *chainout = NULL, *cacertsout = NULL;
  const char *extracertsout = NULL, *newkeyout = NULL, *wasm = "build/tinycmp.wasm", *path = NULL;
  const char *certfile = NULL;
  long options = 0, revreason = LONG_MIN, msg_timeout = 10, total_timeout = 0, max_wait = 60, days = 0;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (o[0] == '-' && o[1] == '-') o++;
    if (!strcmp(o, "-implicit_confirm")) { options |= OPT_IMPLICIT_CONFIRM; continue; }
    if (!strcmp(o, "-unprotected_errors")) { options |= OPT_ACCEPT_UNPROTECTED; continue; }
    if (!strcmp(o, "-rsa_pss")) { options |= OPT_RSA_PSS; continue; }
    if (!strcmp(o, "-disable_confirm")) { /* violates RFC 9810 5.3.18, as openssl cmp's manual warns */
      options |= OPT_DISABLE_CONFIRM;
      fputs("tinycmp: warning: -disable_confirm: the new certificate is neither confirmed nor implicitly confirmed; this violates RFC 9810 5.3.18\n", stderr);
      continue;
    }
    if (!strcmp(o, "-ignore_keyusage")) { options |= OPT_IGNORE_KEYUSAGE; continue; }
    if (!strcmp(o, "-partial_chain")) continue; /* every -trusted certificate may end a path here */
    if (!strcmp(o, "-v")) { host_verbosity++; continue; }
    if (!strcmp(o, "-store")) { store_mode = 1; continue; }
    if (!strcmp(o, "-help") || !strcmp(o, "-h")) usage();
    if (!v) die(2, "option %s needs a value (or is unknown)", o);
    i++;
    if (!strcmp(o, "-cmd")) cmd = v;
    else if (!strcmp(o, "-server")) server = v;
    else if (!strcmp(o, "-path")) path = v;
    else if (!strcmp(o, "-ref")) add_bytes(ITEM_REF, v);
    else if (!strcmp(o, "-secret")) add_bytes(ITEM_SECRET, secret_value(v));
    else if (!strcmp(o, "-cert")) { /* further certificates in the file go to extraCerts, as in the Node CLI */
      certfile = v;
      cert_at = ncfg;
      cert_n = load_all(ITEM_CERT, v, "CERTIFICATE");
      for (int k = 1; k < cert_n; k++) cfg[ncfg - k].item = ITEM_EXTRA;
    }
    else if (!strcmp(o, "-key")) { if (is_tpm(v)) tpm_key = v; else load_key(ITEM_KEY, v); }
    else if (!strcmp(o, "-newkey")) { if (is_tpm(v)) tpm_newkey = v; else load_key(ITEM_NEWKEY, v); }
    else if (!strcmp(o, "-keypass")) keypass = v;
    else if (!strcmp(o, "-newkeypass")) newkeypass = v;
    else if (!strcmp(o, "-newkeytype")) newkeytype = v;
    else if (!strcmp(o, "-tpm_tcti")) tpm_tcti = v;
    else if (!strcmp(o, "-trusted")) load_all(ITEM_TRUSTED, v, "CERTIFICATE");
    else if (!strcmp(o, "-untrusted")) load_all(ITEM_UNTRUSTED, v, "CERTIFICATE");
    else if (!strcmp(o, "-extracerts")) load_all(ITEM_EXTRA, v, "CERTIFICATE");
    else if (!strcmp(o, "-oldcert")) load_all(ITEM_OLDCERT, v, "CERTIFICATE");
    else if (!strcmp(o, "-csr")) load_all(ITEM_CSR, v, "CERTIFICATE REQUEST|NEW CERTIFICATE REQUEST");
    else if (!strcmp(o, "-subject")) add_dn(ITEM_SUBJECT, v);
    else if (!strcmp(o, "-recipient")) add_dn(ITEM_RECIPIENT, v);
    else if (!strcmp(o, "-issuer")) add_dn(ITEM_ISSUER, v);
    else if (!strcmp(o, "-days")) days = int_arg(o, v, 0, 1000000);
    else if (!strcmp(o, "-geninfo")) add_geninfo(v);
    else if (!strcmp(o, "-infotype")) {
      uint8_t *p = arena + arena_used;
      long l = oid_der(v, p, 64);
      if (l < 0) die(2, "unknown -infotype %s", v);
      add(ITEM_INFOTYPE, take((size_t)l), (size_t)l);
    }
    else if (!strcmp(o, "-revreason")) {
      revreason = int_arg(o, v, -1, 10);
      if (revreason == 7) die(2, "-revreason 7 is not a CRLReason (RFC 5280 5.3.1)");
    }
    else if (!strcmp(o, "-certout")) certout = v;
    else if (!strcmp(o, "-chainout")) chainout = v;
    else if (!strcmp(o, "-cacertsout")) cacertsout = v;
    else if (!strcmp(o, "-extracertsout")) extracertsout = v;
    else if (!strcmp(o, "-newkeyout")) newkeyout = v;
    else if (!strcmp(o, "-msg_timeout")) msg_timeout = int_arg(o, v, 0, 2000000);
    else if (!strcmp(o, "-total_timeout")) total_timeout = int_arg(o, v, 0, 2000000);
    else if (!strcmp(o, "-max_wait")) max_wait = int_arg(o, v, 0, 2000000);
    else if (!strcmp(o, "-wasm")) wasm = v;
    else if (!strcmp(o, "-flash")) host_flash_dir = v;
    else die(2, "unknown option %s", o);
  }
  static const char *const ops[] = { "ir", "cr", "kur", "p10cr", "rr", "genm" }; /* OP_IR .. OP_GENM */
  int op = 0;
  for (int i = 0; cmd && i < 6; i++) if (!strcmp(cmd, ops[i])) op = OP_IR + i;
  if (!op) die(2, "-cmd must be one of ir, cr, kur, p10cr, rr, genm");
  static struct http_conn conn;
  static char target[512];
  if (!server) die(2, "no -server given");
  /* -path replaces any path in -server, as in openssl cmp */
  if (path) {
    const char *host = strncmp(server, "http://", 7) == 0 ? server + 7 : server;
    size_t hl = strcspn(host, "/");
    if (snprintf(target, sizeof target, "%.*s/%s", (int)hl, host, path[0] == '/' ? path + 1 : path) >= (int)sizeof target) die(2, "-server/-path too long");
    server = target;
  }
  if (http_target(&conn, server) != 0) die(2, "-server must be host:port[/path]");
  conn.timeout_ms = msg_timeout == 0 ? -1 : (int)msg_timeout * 1000; /* 0: no limit */
  if (total_timeout > 0) {
    signal(SIGALRM, total_timeout_expired);
    alarm((unsigned)total_timeout);
  }
  if (store_mode) {
    if (op != OP_IR && op != OP_KUR) die(2, "-store is for -cmd ir and kur");
    for (int i = 0; i < ncfg; i++)
      if (cfg[i].item == ITEM_KEY || cfg[i].item == ITEM_NEWKEY) die(2, "-store keeps keys in the TPM: -key and -newkey name tpm: keys");
    if (!tpm_newkey) tpm_newkey = "tpm:";
    store_setup(op, wasm, certfile);
  }
  if (op <= OP_P10CR && !certout && !store_mode) die(2, "-cmd %s needs -certout", cmd);
  { /* -issuer is also the recipient when no -recipient names one, as in openssl cmp */
    int issuer = -1, recipient = 0;
    for (int i = 0; i < ncfg; i++) { if (cfg[i].item == ITEM_ISSUER) issuer = i; recipient |= cfg[i].item == ITEM_RECIPIENT; }
    if (issuer >= 0 && !recipient) add(ITEM_RECIPIENT, cfg[issuer].p, cfg[issuer].len);
  }
  if (op == OP_KUR) { /* kur (RFC 9483 4.1.3): oldCertID and subject default to those of -cert */
    int have_old = 0, have_subject = 0, cert = -1;
    for (int i = 0; i < ncfg; i++) {
      have_old |= cfg[i].item == ITEM_OLDCERT;
      have_subject |= cfg[i].item == ITEM_SUBJECT;
      if (cfg[i].item == ITEM_CERT) cert = i;
    }
    int from = cert;
    for (int i = 0; i < ncfg; i++) if (cfg[i].item == ITEM_OLDCERT) from = i;
    if (!have_old && cert >= 0) add(ITEM_OLDCERT, cfg[cert].p, cfg[cert].len);
    const uint8_t *name;
    long nl = from >= 0 ? cert_subject(cfg[from].p, cfg[from].len, &name) : -1;
    if (!have_subject && nl > 0) add(ITEM_SUBJECT, (uint8_t *)name, (size_t)nl);
  }

  if ((keypass && !tpm_key && !store_mode) || ((newkeypass || newkeytype) && !tpm_newkey))
    die(2, "-keypass, -newkeypass and -newkeytype are for keys in a TPM (tpm:)");
  if (tpm_newkey && !strcmp(tpm_newkey, "tpm:") && !newkeyout && !store_mode)
    die(2, "-newkey tpm: makes the key at a free handle: give -newkeyout to learn which (or name the handle)");
  if ((tpm_key || tpm_newkey) && !store_mode) tpm_setup();

  core_load(wasm);
  call(CF_TX_RESET, 0, 0, 0);
  for (int i = 0; i < ncfg; i++) {
    if (cfg[i].len > io_size) die(2, "input of %lu bytes exceeds the I/O buffer", (unsigned long)cfg[i].len);
    memcpy(mem_at(io, (uint32_t)cfg[i].len), cfg[i].p, cfg[i].len);
    int32_t r = (int32_t)call(CF_TX_SET, (uint32_t)cfg[i].item, io, (uint32_t)cfg[i].len);
    if (r < 0) die(2, "configuration item %d refused (error %d)", cfg[i].item, (int)r);
  }
  { /* a MAC and no -trusted: the caPubs of the MAC-protected answer are the anchors (RFC 9483 4.1.1) */
    int mac = 0, key = 0, trusted = 0;
    for (int i = 0; i < ncfg; i++) {
      mac |= cfg[i].item == ITEM_SECRET; key |= cfg[i].item == ITEM_KEY; trusted |= cfg[i].item == ITEM_TRUSTED;
    }
    key |= tpm_key != NULL || store_mode;
    if (mac && !key && !trusted) options |= OPT_CAPUBS_TRUSTED;
  }
  memset(arena, 0, sizeof arena); /* keys and secrets now live only in the core */
  if ((int32_t)call(CF_TX_SET_INT, INT_OPTIONS, (uint32_t)options, 0) < 0) die(2, "options refused");
  /* -store: the stored keys, by reference: env.sign with handle = the store kind */
  if (store_mode && ((int32_t)call(CF_STORE_USE, op == OP_IR ? KIND_IDEVID : KIND_CRED, 0, 0) != 0 || (int32_t)call(CF_STORE_USE, KIND_STATE, 0, 0) != 0))
    die(2, "-store: the stored keys refused by the core (a module without env.sign?)");
  /* the TPM keys sign through env.sign as signer 1 (protection) and 2 (the new key's POP) */
  else if (tpm_key && (int32_t)call(CF_TX_SET_INT, INT_KEY_HANDLE, 1, 0) < 0) die(2, "-key %s refused by the core (a module without env.sign?)", tpm_key);
  if (tpm_newkey && !store_mode && (int32_t)call(CF_TX_SET_INT, INT_NEWKEY_HANDLE, 2, 0) < 0) die(2, "-newkey %s refused by the core (a module without env.sign?)", tpm_newkey);
  /* -revreason -1: no crlEntryDetails (the core's default is 0, unspecified, as RFC 9483 4.2 asks) */
  if (revreason != LONG_MIN && (int32_t)call(CF_TX_SET_INT, INT_REVREASON, (uint32_t)revreason, 0) < 0) die(2, "-revreason refused");
  if (days > 0 && (int32_t)call(CF_TX_SET_INT, INT_DAYS, (uint32_t)days, 0) < 0) die(2, "-days refused");

  int32_t action = (int32_t)call(CF_TX_START, (uint32_t)op, 0, 0);
  for (;;) {
    if (action == ACTION_SEND) {
      uint32_t out = call(CF_TX_OUT, 0, 0, 0), len = call(CF_TX_OUT_LEN, 0, 0, 0);
      uint8_t *req = mem_at(out, len);
      if (host_verbosity) fprintf(stderr, "tinycmp: sending %u bytes\n", (unsigned)len);
      /* the response goes straight into the I/O buffer; the request is sent before it is read */
      long n = http_post(&conn, req, len, mem_at(io, io_size), io_size, errbuf, sizeof errbuf);
      if (n < 0) die(1, "transfer to %s failed: %s", server, errbuf);
      action = (int32_t)call(CF_TX_INPUT, io, (uint32_t)n, 0);
    } else if (action == ACTION_WAIT) {
      int32_t s = (int32_t)call(CF_TX_WAIT, 0, 0, 0);
      if (s < 0) s = 0;
      if (s > max_wait) s = max_wait;
      if (host_verbosity) fprintf(stderr, "tinycmp: waiting %d s before polling\n", (int)s);
      /* the connection stays open: openssl cmp 3.0 forgets the transaction when it closes */
      struct timespec ts = { s, 0 };
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
      action = (int32_t)call(CF_TX_POLL, 0, 0, 0);
    } else if (action == ACTION_DONE) {
      break;
    } else if (action == ACTION_FAILED) {
      uint32_t d = call(CF_TX_DETAIL, 0, 0, 0), dl = call(CF_TX_DETAIL_LEN, 0, 0, 0);
      int32_t code = (int32_t)call(CF_TX_ERROR, 0, 0, 0);
      const char *why = "";
#ifdef TINYCMP_TPM
      if (code == E_SIGNER && tpm_error[0]) why = tpm_error; /* the TPM's reason */
#endif
      const char *name = tinycmp_error_name(code);
      die(1, "%s failed (error %d %s): %.*s%s%s", cmd, (int)code, name ? name : "?", (int)dl, (const char *)mem_at(d, dl),
          *why ? ": " : "", why);
    } else {
      die(1, "core refused the step (error %d)", (int)action);
    }
  }
  http_close(&conn);
  if (store_mode) store_finish();
  if (certout) write_out(certout, "CERTIFICATE", RESULT_CERT, 0);
  if (chainout) write_out(chainout, "CERTIFICATE", RESULT_CHAIN, 1);
  if (cacertsout) write_out(cacertsout, "CERTIFICATE", RESULT_CA_PUB, 1);
  if (extracertsout) write_out(extracertsout, "CERTIFICATE", RESULT_EXTRA_CERT, 1);
  if (newkeyout && tpm_newkey) { /* the reference only: the key never leaves the TPM */
    FILE *f = fopen(newkeyout, "wb");
    if (!f || fprintf(f, "tpm:0x%08x\n", (unsigned)tpm_newkey_handle) < 0 || fclose(f) != 0) die(1, "cannot write %s", newkeyout);
  } else if (newkeyout) {
    int32_t n = (int32_t)call(CF_TX_RESULT_LEN, RESULT_NEW_KEY, 0, 0);
    if (n == 32) {
      uint8_t der[64];
      size_t l = key_p256_der(mem_at(call(CF_TX_RESULT, RESULT_NEW_KEY, 0, 0), 32), der);
      long w = pem_write("EC PRIVATE KEY", der, l, outbuf, sizeof outbuf);
      memset(der, 0, sizeof der);
      /* a private key: 0600 from its creation on, never readable by other users */
      int fd = open(newkeyout, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
      if (!f || fwrite(outbuf, 1, (size_t)w, f) != (size_t)w || fclose(f) != 0) die(1, "cannot write %s", newkeyout);
      memset(outbuf, 0, (size_t)w);
    }
  }
  if (op == OP_GENM) { /* genm: one line per InfoTypeAndValue: its infoType */
    for (uint32_t i = 0;; i++) {
      int32_t n = (int32_t)call(CF_TX_RESULT_LEN, RESULT_GENP_ITAV, i, 0);
      if (n < 0) break;
      const uint8_t *p = mem_at(call(CF_TX_RESULT, RESULT_GENP_ITAV, i, 0), (uint32_t)n);
      /* SEQUENCE { OBJECT IDENTIFIER, ... }: short lengths suffice for an OID */
      size_t h = (n > 1 && p[1] & 0x80) ? 2 + (p[1] & 0x7f) : 2;
      if ((size_t)n >= h + 2 && p[h] == 0x06 && h + 2 + p[h + 1] <= (size_t)n) {
        printf("infoType ");
        print_oid(p + h + 2, p[h + 1]);
        printf("\n");
      }
    }
  }
  if (host_verbosity) fprintf(stderr, "tinycmp: %s done, PKIStatus %d (%s)\n", cmd, (int)call(CF_TX_STATUS, 0, 0, 0), core_runtime);
  on_failure = NULL;
  if (store_mode) call(CF_TX_RESET, 0, 0, 0); /* wipes the configuration (docs/STORE.md) */
#ifdef TINYCMP_TPM
  if (tpm_key || tpm_newkey) tpm_close();
#endif
  return 0;
}
