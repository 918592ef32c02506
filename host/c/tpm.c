/* TPM 2.0 keys through tpm2-tss ESAPI (tss2-esys, the TCTI loader tss2-tctildr, tss2-rc for the
 * words of a response code). The core never sees these keys: it asks env.sign for a signature
 * over a digest and verifies what comes back (docs/ABI.md "Host signer"). Keys live at persistent
 * handles (TPM 2.0 Part 1, 15.2: 0x81000000..0x81FFFFFF); the key authValue travels in an
 * unsalted HMAC session, never in the clear on the TPM's bus. */
#define _DEFAULT_SOURCE
#include "tpm.h"
#include "tinycmp_abi.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

char tpm_error[256];

/* persistent handles (TPM 2.0 Part 2, 7.2), spelt out: tss2's TPM2_PERSISTENT_FIRST shifts a
 * signed int into its sign bit */
#define PERSISTENT_FIRST 0x81000000u
#define PERSISTENT_LAST 0x81ffffffu
#define OWNER_PERSISTENT_LAST 0x817fffffu

static ESYS_CONTEXT *ctx;
static TSS2_TCTI_CONTEXT *tcti;
static struct { ESYS_TR obj; uint32_t handle; TPMI_ALG_PUBLIC type; TPMI_ECC_CURVE curve; uint16_t bits; int generated; } keys[3];

static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tpm_error, sizeof tpm_error, fmt, ap);
  va_end(ap);
  return -1;
}

int tpm_connect(const char *conf) {
  if (ctx) return 0;
  if (!conf || !*conf) conf = getenv("TPM2TOOLS_TCTI");
  if (!conf || !*conf) conf = getenv("TSS2_TCTI");
  if (conf && !*conf) conf = NULL;
  setenv("TSS2_LOG", "all+none", 0); /* the CLI's one line on stderr says what failed; TSS2_LOG=all+debug to see more */
  TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &tcti);
  if (rc != TSS2_RC_SUCCESS) {
    tcti = NULL;
    return fail("cannot reach the TPM through TCTI %s: %s", conf ? conf : "(default)", Tss2_RC_Decode(rc));
  }
  rc = Esys_Initialize(&ctx, tcti, NULL);
  if (rc != TSS2_RC_SUCCESS) {
    ctx = NULL;
    Tss2_TctiLdr_Finalize(&tcti);
    return fail("TPM (TCTI %s): %s", conf ? conf : "(default)", Tss2_RC_Decode(rc));
  }
  /* every answer within 5 minutes: a TPM generating an RSA-3072 key may take a minute */
  Esys_SetTimeout(ctx, 300000);
  return 0;
}

void tpm_close(void) {
  for (int i = 0; i < 3; i++) {
    if (keys[i].obj != ESYS_TR_NONE && keys[i].obj != 0) Esys_TR_Close(ctx, &keys[i].obj);
    keys[i].obj = 0;
  }
  if (ctx) Esys_Finalize(&ctx);
  if (tcti) Tss2_TctiLdr_Finalize(&tcti);
  ctx = NULL;
  tcti = NULL;
}

/* ---- DER of a SubjectPublicKeyInfo (RFC 5480 2, RFC 3279 2.3.1) ---- */

/* Prefixes the len bytes at buf with tag and length; the new length. */
static size_t wrap(uint8_t *buf, size_t len, uint8_t tag) {
  size_t h = len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
  memmove(buf + h, buf, len);
  buf[0] = tag;
  if (h == 2) buf[1] = (uint8_t)len;
  else if (h == 3) { buf[1] = 0x81; buf[2] = (uint8_t)len; }
  else { buf[1] = 0x82; buf[2] = (uint8_t)(len >> 8); buf[3] = (uint8_t)len; }
  return h + len;
}

static size_t put_uint(uint8_t *p, const uint8_t *v, size_t n) {
  while (n > 1 && v[0] == 0) { v++; n--; }
  size_t pad = (v[0] & 0x80) ? 1 : 0;
  p[0] = 0;
  memcpy(p + pad, v, n);
  return wrap(p, n + pad, 0x02);
}

/* Left-pads a TPM2B value of at most size bytes to size. */
static int put_fixed(uint8_t *p, const uint8_t *v, size_t n, size_t size) {
  if (n > size) return -1;
  memset(p, 0, size - n);
  memcpy(p + size - n, v, n);
  return 0;
}

static const uint8_t ALG_EC[] = { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_P384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t ALG_RSA[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };

static int spki_of(const TPMT_PUBLIC *pub, uint8_t *out, size_t cap, size_t *len) {
  size_t n = 0;
  if (cap < 1100) return fail("SubjectPublicKeyInfo buffer too small");
  if (pub->type == TPM2_ALG_ECC) {
    size_t size = pub->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
    const uint8_t *curve = size == 32 ? OID_P256 : OID_P384;
    size_t cl = size == 32 ? sizeof OID_P256 : sizeof OID_P384;
    memcpy(out, ALG_EC, sizeof ALG_EC);
    memcpy(out + sizeof ALG_EC, curve, cl);
    n = wrap(out, sizeof ALG_EC + cl, 0x30);
    uint8_t *b = out + n;
    b[0] = 0x00; /* unused bits */
    b[1] = 0x04; /* uncompressed point (SEC 1 2.3.3) */
    if (put_fixed(b + 2, pub->unique.ecc.x.buffer, pub->unique.ecc.x.size, size) != 0
        || put_fixed(b + 2 + size, pub->unique.ecc.y.buffer, pub->unique.ecc.y.size, size) != 0)
      return fail("TPM returned a point longer than its curve");
    n += wrap(b, 2 + 2 * size, 0x03);
  } else {
    memcpy(out, ALG_RSA, sizeof ALG_RSA);
    n = sizeof ALG_RSA;
    uint8_t *b = out + n, e[4];
    uint32_t exp = pub->parameters.rsaDetail.exponent ? pub->parameters.rsaDetail.exponent : 65537; /* 0: the default 2^16+1 */
    e[0] = (uint8_t)(exp >> 24); e[1] = (uint8_t)(exp >> 16); e[2] = (uint8_t)(exp >> 8); e[3] = (uint8_t)exp;
    size_t l = put_uint(b + 1, pub->unique.rsa.buffer, pub->unique.rsa.size);
    l += put_uint(b + 1 + l, e, 4);
    l = wrap(b + 1, l, 0x30);
    b[0] = 0x00;
    n += wrap(b, l + 1, 0x03);
  }
  *len = wrap(out, n, 0x30);
  return 0;
}

/* ---- keys ---- */

static const char *type_name(TPMI_ALG_PUBLIC type, TPMI_ECC_CURVE curve, uint16_t bits) {
  static char buf[24];
  if (type == TPM2_ALG_ECC) return curve == TPM2_ECC_NIST_P256 ? "P-256" : curve == TPM2_ECC_NIST_P384 ? "P-384" : "EC (other curve)";
  if (type == TPM2_ALG_RSA) { snprintf(buf, sizeof buf, "RSA-%u", (unsigned)bits); return buf; }
  return "not a signing key type";
}

static int is_absent(TSS2_RC rc) {
  return (rc & ~(TSS2_RC)TPM2_RC_N_MASK) == TPM2_RC_HANDLE;
}

/* The lowest persistent handle of the owner's range (0x81000000..0x817FFFFF) no object uses. */
static int free_handle(uint32_t *h) {
  uint32_t want = PERSISTENT_FIRST, prop = PERSISTENT_FIRST;
  TPMI_YES_NO more = TPM2_YES;
  while (more) {
    TPMS_CAPABILITY_DATA *d = NULL;
    TSS2_RC rc = Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, prop,
                                    TPM2_MAX_CAP_HANDLES, &more, &d);
    if (rc != TSS2_RC_SUCCESS) return fail("TPM2_GetCapability (handles): %s", Tss2_RC_Decode(rc));
    uint32_t count = d->data.handles.count;
    int found = 0;
    for (uint32_t i = 0; i < count && !found; i++) {
      uint32_t x = d->data.handles.handle[i];
      if (x == want) want++;
      else if (x > want) found = 1;
    }
    if (count == 0) more = TPM2_NO;
    else prop = d->data.handles.handle[count - 1] + 1;
    free(d);
    if (found) break;
  }
  if (want > OWNER_PERSISTENT_LAST) return fail("no free persistent handle left in the TPM");
  *h = want;
  return 0;
}

static void set_auth(ESYS_TR obj, const char *auth) {
  TPM2B_AUTH a = { 0 };
  size_t n = auth ? strlen(auth) : 0;
  if (n > sizeof a.buffer) n = sizeof a.buffer;
  a.size = (UINT16)n;
  if (n) memcpy(a.buffer, auth, n);
  Esys_TR_SetAuth(ctx, obj, &a);
  memset(&a, 0, sizeof a);
}

/* A signing key under the owner hierarchy's primary (the ECC P-256 storage key template of the
 * TCG TPM v2.0 Provisioning Guidance, 7.5.1), made persistent at handle with EvictControl. */
static int generate(uint32_t handle, enum tpm_key_type type, const char *auth, ESYS_TR *out) {
  TPM2B_SENSITIVE_CREATE none = { 0 };
  TPM2B_DATA outside = { 0 };
  TPML_PCR_SELECTION pcrs = { 0 };
  TPM2B_PUBLIC srk = { 0 };
  srk.publicArea.type = TPM2_ALG_ECC;
  srk.publicArea.nameAlg = TPM2_ALG_SHA256;
  srk.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN
    | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  srk.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  srk.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
  srk.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  srk.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  srk.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  srk.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  ESYS_TR primary = ESYS_TR_NONE, obj = ESYS_TR_NONE;
  TSS2_RC rc = Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &none, &srk,
                                  &outside, &pcrs, &primary, NULL, NULL, NULL, NULL);
  if (rc != TSS2_RC_SUCCESS) return fail("TPM2_CreatePrimary (owner hierarchy): %s", Tss2_RC_Decode(rc));

  /* an unrestricted signing key with no scheme of its own: each TPM2_Sign names ECDSA, RSASSA
   * or RSAPSS and the hash (TPM 2.0 Part 1, 25.2.3) */
  TPM2B_PUBLIC t = { 0 };
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN
    | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
  if (type == TPM_P256 || type == TPM_P384) {
    t.publicArea.type = TPM2_ALG_ECC;
    t.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    t.publicArea.parameters.eccDetail.curveID = type == TPM_P256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
    t.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  } else {
    t.publicArea.type = TPM2_ALG_RSA;
    t.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    t.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    t.publicArea.parameters.rsaDetail.keyBits = type == TPM_RSA2048 ? 2048 : 3072;
    t.publicArea.parameters.rsaDetail.exponent = 0;
  }
  TPM2B_SENSITIVE_CREATE sens = { 0 };
  size_t n = auth ? strlen(auth) : 0;
  if (n > sizeof sens.sensitive.userAuth.buffer) { Esys_FlushContext(ctx, primary); return fail("the new key's auth is longer than %u bytes", (unsigned)sizeof sens.sensitive.userAuth.buffer); }
  sens.sensitive.userAuth.size = (UINT16)n;
  if (n) memcpy(sens.sensitive.userAuth.buffer, auth, n);
  TPM2B_PRIVATE *priv = NULL;
  TPM2B_PUBLIC *pub = NULL;
  rc = Esys_Create(ctx, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &t, &outside, &pcrs, &priv, &pub,
                   NULL, NULL, NULL);
  memset(&sens, 0, sizeof sens);
  if (rc != TSS2_RC_SUCCESS) {
    Esys_FlushContext(ctx, primary);
    return fail("TPM2_Create (%s key): %s", type_name(t.publicArea.type, t.publicArea.parameters.eccDetail.curveID,
                                                     t.publicArea.parameters.rsaDetail.keyBits), Tss2_RC_Decode(rc));
  }
  rc = Esys_Load(ctx, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &obj);
  free(priv);
  free(pub);
  Esys_FlushContext(ctx, primary);
  if (rc != TSS2_RC_SUCCESS) return fail("TPM2_Load: %s", Tss2_RC_Decode(rc));
  rc = Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, handle, out);
  Esys_FlushContext(ctx, obj);
  if (rc != TSS2_RC_SUCCESS) return fail("TPM2_EvictControl to 0x%08x: %s", (unsigned)handle, Tss2_RC_Decode(rc));
  return 0;
}

int tpm_open_key(int slot, uint32_t *handle, const char *auth, int generate_absent, enum tpm_key_type type,
                 uint8_t *spki, size_t cap, size_t *spki_len) {
  if (slot < 1 || slot > 2) return fail("signer slot %d", slot);
  ESYS_TR obj = ESYS_TR_NONE;
  int made = 0;
  if (*handle == 0) {
    if (!generate_absent) return fail("tpm: names no handle");
    if (free_handle(handle) != 0) return -1;
  } else if (*handle < PERSISTENT_FIRST || *handle > PERSISTENT_LAST) {
    return fail("tpm:0x%08x is not a persistent handle (0x81000000..0x81ffffff)", (unsigned)*handle);
  }
  TSS2_RC rc = Esys_TR_FromTPMPublic(ctx, *handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &obj);
  if (rc != TSS2_RC_SUCCESS) {
    if (!is_absent(rc)) return fail("tpm:0x%08x: %s", (unsigned)*handle, Tss2_RC_Decode(rc));
    if (!generate_absent) return fail("tpm:0x%08x: no key at this handle", (unsigned)*handle);
    if (generate(*handle, type ? type : TPM_P256, auth, &obj) != 0) return -1;
    made = 1;
  }
  TPM2B_PUBLIC *pub = NULL;
  rc = Esys_ReadPublic(ctx, obj, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
  if (rc != TSS2_RC_SUCCESS) { Esys_TR_Close(ctx, &obj); return fail("TPM2_ReadPublic 0x%08x: %s", (unsigned)*handle, Tss2_RC_Decode(rc)); }
  const TPMT_PUBLIC *p = &pub->publicArea;
  int r = 0;
  if (!(p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
    r = fail("tpm:0x%08x is not a signing key", (unsigned)*handle);
  else if (p->objectAttributes & TPMA_OBJECT_RESTRICTED) /* it signs only digests the TPM made (Part 1, 25.2.3) */
    r = fail("tpm:0x%08x is a restricted signing key: it cannot sign CMP messages", (unsigned)*handle);
  else if (!((p->type == TPM2_ALG_RSA && p->parameters.rsaDetail.keyBits >= 2048 && p->parameters.rsaDetail.keyBits <= 4096)
             || (p->type == TPM2_ALG_ECC && (p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256
                                             || p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384))))
    r = fail("tpm:0x%08x: a %s key; this host signs with P-256, P-384 and RSA keys of 2048 to 4096 bits", (unsigned)*handle,
             type_name(p->type, p->parameters.eccDetail.curveID, p->parameters.rsaDetail.keyBits));
  else if (!made && type && !(type <= TPM_P384 ? p->type == TPM2_ALG_ECC && p->parameters.eccDetail.curveID == (type == TPM_P256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384)
                                       : p->type == TPM2_ALG_RSA && p->parameters.rsaDetail.keyBits == (type == TPM_RSA2048 ? 2048 : 3072)))
    r = fail("tpm:0x%08x holds a %s key, not the key type asked for", (unsigned)*handle,
             type_name(p->type, p->parameters.eccDetail.curveID, p->parameters.rsaDetail.keyBits));
  else
    r = spki_of(p, spki, cap, spki_len);
  if (r == 0) {
    keys[slot].obj = obj;
    keys[slot].handle = *handle;
    keys[slot].type = p->type;
    keys[slot].curve = p->type == TPM2_ALG_ECC ? p->parameters.eccDetail.curveID : 0;
    keys[slot].bits = p->type == TPM2_ALG_RSA ? p->parameters.rsaDetail.keyBits : 0;
    keys[slot].generated = made;
    set_auth(obj, auth);
  } else if (made) {
    ESYS_TR gone;
    Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, *handle, &gone);
  } else {
    Esys_TR_Close(ctx, &obj);
  }
  free(pub);
  return r;
}

void tpm_discard_generated(void) {
  for (int i = 1; i < 3; i++) {
    if (!keys[i].generated) continue;
    ESYS_TR gone;
    /* EvictControl of a persistent object removes it (TPM 2.0 Part 3, 28.5) */
    Esys_EvictControl(ctx, ESYS_TR_RH_OWNER, keys[i].obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, keys[i].handle, &gone);
    keys[i].generated = 0;
    keys[i].obj = 0;
  }
}

int32_t tpm_sign(int slot, int32_t alg, const uint8_t *in, int32_t len, uint8_t *out, int32_t cap) {
  if (slot < 1 || slot > 2 || keys[slot].obj == 0) return fail("no TPM key for signer handle %d", slot);
  static const char *const alg_name[] = { "", "ECDSA P-256", "ECDSA P-384", "RSA PKCS#1 v1.5", "RSASSA-PSS", "Ed25519" };
  if (alg == SIGN_ED25519) return fail("Ed25519 is not in TPM 2.0: a TPM cannot sign with an Ed25519 key");
  int ec = alg == SIGN_ECDSA_P256 || alg == SIGN_ECDSA_P384, want_len = alg == SIGN_ECDSA_P384 ? 48 : 32;
  TPMI_ECC_CURVE curve = alg == SIGN_ECDSA_P256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
  if (alg < 1 || alg > 4) return fail("signing algorithm %d unknown", (int)alg);
  if (ec ? keys[slot].type != TPM2_ALG_ECC || keys[slot].curve != curve : keys[slot].type != TPM2_ALG_RSA)
    return fail("tpm:0x%08x is a %s key, asked to sign %s", (unsigned)keys[slot].handle,
                type_name(keys[slot].type, keys[slot].curve, keys[slot].bits), alg_name[alg]);
  if (len != want_len) return fail("%s needs a %d-byte digest, got %d", alg_name[alg], want_len, (int)len);

  TPM2B_DIGEST digest = { .size = (UINT16)len };
  memcpy(digest.buffer, in, (size_t)len);
  TPMT_SIG_SCHEME scheme = { 0 };
  scheme.scheme = ec ? TPM2_ALG_ECDSA : alg == SIGN_RSA_PKCS1 ? TPM2_ALG_RSASSA : TPM2_ALG_RSAPSS;
  scheme.details.any.hashAlg = alg == SIGN_ECDSA_P384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256;
  /* a digest the TPM did not hash itself: the null ticket, which unrestricted keys accept */
  TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL, .digest = { .size = 0 } };
  TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
                                     TPM2_SE_HMAC, &none, TPM2_ALG_SHA256, &session);
  if (rc != TSS2_RC_SUCCESS) return fail("TPM2_StartAuthSession: %s", Tss2_RC_Decode(rc));
  TPMT_SIGNATURE *sig = NULL;
  rc = Esys_Sign(ctx, keys[slot].obj, session, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &ticket, &sig);
  Esys_FlushContext(ctx, session);
  if (rc != TSS2_RC_SUCCESS) return fail("TPM2_Sign with tpm:0x%08x: %s", (unsigned)keys[slot].handle, Tss2_RC_Decode(rc));
  int32_t n = -1;
  if (ec && sig->sigAlg == TPM2_ALG_ECDSA) {
    size_t size = (size_t)want_len; /* r || s, each of the curve's size (IEEE P1363) */
    if ((int32_t)(2 * size) <= cap && put_fixed(out, sig->signature.ecdsa.signatureR.buffer, sig->signature.ecdsa.signatureR.size, size) == 0
        && put_fixed(out + size, sig->signature.ecdsa.signatureS.buffer, sig->signature.ecdsa.signatureS.size, size) == 0)
      n = (int32_t)(2 * size);
  } else if (!ec && (sig->sigAlg == TPM2_ALG_RSASSA || sig->sigAlg == TPM2_ALG_RSAPSS)) {
    if ((int32_t)sig->signature.rsassa.sig.size <= cap) {
      memcpy(out, sig->signature.rsassa.sig.buffer, sig->signature.rsassa.sig.size);
      n = (int32_t)sig->signature.rsassa.sig.size;
    }
  }
  free(sig);
  if (n < 0) return fail("TPM2_Sign returned a signature of another form than asked");
  return n;
}
