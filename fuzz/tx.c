/* libFuzzer harness: tx_input of a live CMP transaction (RFC 9810, RFC 9483) in the release or
 * lean module (-DLEAN), waiting for ip/cp/kup, rp, genp, pollRep or pkiConf. Each input is
 * two selector octets and a response:
 *   octet 0: op = 1 + (b % 6) (ir cr kur p10cr rr genm); configuration (b >> 3) & 3: MAC, MAC with
 *            the lenient options, signature, signature lenient
 *   octet 1: bit 0 answer the request (transactionID, recipNonce := the request's), bit 1 recompute
 *            the MAC protection (PBM or PBMAC1 with the configured secret), bits 2-3 state: 0 the
 *            first response, 1 after an accepted ip without implicitConfirm (waiting for pkiConf),
 *            2 after an ip "waiting" and the pollReq (waiting for pollRep), 3 the response twice
 * so that mutations reach the checks behind the protection. The configuration (keys,
 * certificates, trust anchors, the two prefix responses, the capture time) comes from the file
 * $TINYCMP_FUZZ_TX, written by host/node/tools/fuzz-native.ts from a live capture (for the lean module,
 * with MAC-protected responses turned to PBM over SHA-256, its one hash). A trap aborts; so does
 * a result outside linear memory.
 * Speed: the module's whole state (linear memory and globals) is saved once per (op,
 * configuration, state) right before the fuzzed response is handed in, and restored for each
 * input, so that tx_start (request MAC, proof-of-possession signature) and the prefix responses
 * run once, not per input. */
#include "dertree.h"
#include "mod.h"
#include <string.h>

#define IN_MAX 16000
extern size_t fuzz_skip;

struct item { int cfg, item; const uint8_t *v; uint32_t len; };
static struct item items[64];
static int nitems, have_sig;
static const uint8_t *prefix_conf, *prefix_wait, *secret;
static size_t prefix_conf_len, prefix_wait_len, secret_len;
static unsigned long outcome[4][5]; /* state x action (0 other) */
static int debug; /* TINYCMP_FUZZ_DEBUG: each input's outcome on stderr */

static void report(void) {
  static const char *const S[] = {"first", "pkiConf", "pollRep", "twice"};
  fprintf(stderr, "tx outcomes (state: SEND WAIT DONE FAILED other):");
  for (int s = 0; s < 4; s++)
    fprintf(stderr, " %s %lu %lu %lu %lu %lu;", S[s], outcome[s][1], outcome[s][2], outcome[s][3], outcome[s][4], outcome[s][0]);
  fprintf(stderr, "\n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  fuzz_skip = 2;
  debug = getenv("TINYCMP_FUZZ_DEBUG") != NULL;
  mod_open();
  size_t n = 0;
  const char *path = getenv("TINYCMP_FUZZ_TX");
  uint8_t *b = read_file(path, &n);
  if (!b) { fprintf(stderr, "tx harness: set TINYCMP_FUZZ_TX to the configuration file (host/node/tools/fuzz-native.ts)\n"); exit(2); }
  for (size_t p = 0; p + 6 <= n && nitems < 64;) {
    struct item it = {b[p], b[p + 1], b + p + 6, (uint32_t)b[p + 2] | (uint32_t)b[p + 3] << 8 | (uint32_t)b[p + 4] << 16 | (uint32_t)b[p + 5] << 24};
    p += 6 + it.len;
    if (p > n) break;
    if (it.item == 100 && it.len == 8) memcpy(&mod_now, it.v, 8);
    else if (it.item == 101) { prefix_conf = it.v; prefix_conf_len = it.len; }
    else if (it.item == 102) { prefix_wait = it.v; prefix_wait_len = it.len; }
    else if (it.item == ITEM_SECRET && it.cfg == 1) { secret = it.v; secret_len = it.len; items[nitems++] = it; }
    else items[nitems++] = it;
    if (it.cfg == 2) have_sig = 1;
  }
  atexit(report);
  return 0;
}

static uint8_t req[IN_MAX], ans[IN_MAX + 512];
static size_t reqlen;

static void configure(int cfg) {
  X(tx_reset);
  u32 io = X(io_ptr);
  int sig = cfg >= 2;
  for (int i = 0; i < nitems; i++) {
    const struct item *it = &items[i];
    if (it->cfg != 0 && it->cfg != (sig ? 2 : 1)) continue;
    if (it->item >= INT_OPTIONS) {
      int32_t v;
      memcpy(&v, it->v, 4);
      X(tx_set_int, (u32)it->item, (u32)v);
    } else {
      memcpy(MEM + io, it->v, it->len);
      X(tx_set, (u32)it->item, io, it->len);
    }
  }
  X(tx_set_int, INT_PBM_ITERATIONS, 1);     /* cheap request MACs */
  X(tx_set_int, INT_MAX_ITERATIONS, 10000); /* bounded work per response */
  X(tx_set_int, INT_MAX_POLLS, 3);
  /* the lenient options, and bit 5 (unused: must change nothing) */
  if (cfg & 1) X(tx_set_int, INT_OPTIONS, (sig ? 0 : OPT_IMPLICIT_CONFIRM) | OPT_ACCEPT_UNPROTECTED | OPT_CAPUBS_TRUSTED | OPT_LEGACY | 32);
}

static void take_request(void) {
  reqlen = X(tx_out_len);
  u32 p = X(tx_out);
  if (reqlen > sizeof req || (u64)p + reqlen > 65536) { fprintf(stderr, "request outside memory\n"); abort(); }
  memcpy(req, MEM + p, reqlen);
}

/* Hands in rsp (answered to the pending request as flags say); the action. */
static int32_t feed(const uint8_t *rsp, size_t n, int flags) {
  size_t m = (flags & 3) ? pki_answer(rsp, n, req, reqlen, flags & 1, flags & 2, secret, secret_len, 10000, ans, sizeof ans) : 0;
  if (m == 0) { if (n > sizeof ans) return -1; memcpy(ans, rsp, n); m = n; }
  u32 io = X(io_ptr), size = X(io_size);
  if (m > size) return -1;
  memcpy(MEM + io, ans, m);
  int32_t a = (int32_t)X(tx_input, io, (u32)m);
  mod_check();
  return a;
}

static void check_results(void) {
  for (int kind = RESULT_CERT; kind <= RESULT_CHAIN; kind++)
    for (int i = 0; i < 66; i++) {
      int32_t len = (int32_t)X(tx_result_len, (u32)kind, (u32)i);
      u32 p = X(tx_result, (u32)kind, (u32)i);
      if (len < 0) break;
      if ((u64)p + (u64)len > 65536 || p == 0) { fprintf(stderr, "result %d/%d outside memory\n", kind, i); abort(); }
    }
  u32 d = X(tx_detail), dl = X(tx_detail_len);
  if ((u64)d + dl > 65536) { fprintf(stderr, "detail outside memory\n"); abort(); }
}

struct snapshot { Z_tinycmp_instance_t inst; uint8_t mem[65536]; uint8_t req[IN_MAX]; size_t reqlen; int ok; };
static struct snapshot *snaps[6 * 4 * 3];

/* The transaction started with op and cfg, up to the state where the fuzzed response is due
 * (saved the first time); 0 when it never gets there. */
static int reach(int op, int cfg, int state) {
  int k = ((op - 1) * 4 + cfg) * 3 + (state == 3 ? 0 : state);
  struct snapshot *s = snaps[k];
  if (!s) {
    s = snaps[k] = calloc(1, sizeof *s);
    configure(cfg);
    mod_seed(0x5eed + (uint32_t)k);
    int32_t a = (int32_t)X(tx_start, (u32)op);
    if (a == ACTION_SEND) take_request();
    if (a == ACTION_SEND && (state == 1 || state == 2) && !(state == 1 ? prefix_conf : prefix_wait)) a = 0; /* not captured */
    if (a == ACTION_SEND && (state == 1 || state == 2)) {
      a = state == 1 ? feed(prefix_conf, prefix_conf_len, 3) : feed(prefix_wait, prefix_wait_len, 3);
      while (a == ACTION_WAIT) a = (int32_t)X(tx_poll);
      if (a == ACTION_SEND) take_request();
    }
    s->ok = a == ACTION_SEND;
    if (!s->ok && debug) {
      u32 dp = X(tx_detail), dl = X(tx_detail_len);
      fprintf(stderr, "tx harness: op %d configuration %d state %d not reached: action %d, error %d: %.*s\n", op, cfg,
              state, a, (int32_t)X(tx_error), (int)dl, (const char *)MEM + dp);
    }
    s->inst = mod;
    memcpy(s->mem, MEM, 65536);
    memcpy(s->req, req, reqlen);
    s->reqlen = reqlen;
  }
  mod = s->inst;
  memcpy(MEM, s->mem, 65536);
  memcpy(req, s->req, s->reqlen);
  reqlen = s->reqlen;
  mod_seed(0x5eed);
  return s->ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n < 2 || n > IN_MAX) return 0;
  GUARD();
  int op = 1 + d[0] % 6, cfg = (d[0] >> 3) & 3, flags = d[1], state = (flags >> 2) & 3;
  if (!have_sig) cfg &= 1;
  else if (op == OP_KUR) cfg |= 2; /* kur is signed with the current key */
  if (state == 1 || state == 2) op = OP_IR; /* the prefix responses answer an ir */
#ifdef LEAN
  if (op != OP_KUR) op = OP_IR; /* the lean module does ir and kur only */
#endif
  if (!reach(op, cfg, state)) { outcome[state][0]++; return 0; }
  int32_t a = feed(d + 2, n - 2, flags);
  while (a == ACTION_WAIT) a = (int32_t)X(tx_poll);
  if (state == 3 && a == ACTION_SEND) {
    take_request();
    a = feed(d + 2, n - 2, flags);
    while (a == ACTION_WAIT) a = (int32_t)X(tx_poll);
  }
  outcome[state][a >= ACTION_SEND && a <= ACTION_FAILED ? a : 0]++;
  if (debug) {
    u32 dp = X(tx_detail), dl = X(tx_detail_len);
    fprintf(stderr, "tx harness: op %d configuration %d state %d: action %d, error %d: %.*s\n", op, cfg, state, a,
            a == ACTION_FAILED ? (int32_t)X(tx_error) : 0, a == ACTION_FAILED ? (int)dl : 0, (const char *)MEM + dp);
  }
  check_results();
  return 0;
}
