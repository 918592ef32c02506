/* tinycmp firmware host: the core (the release module translated by wasm2c) enrolls over USART1
 * through `tinycmp bridge` on a gateway. The host gives the core its imports (time from SysTick
 * plus the bridge's base time, randomness, flash slots), frames CMP messages over the serial line
 * (protocol.md) and runs the gateway's commands: ir with MAC, ir with the IDevID, kur, status.
 * Keys stay in the core's store (docs/STORE.md). Static memory only. */
#include "fw.h"
#include "tinycmp.h"
#include "tinycmp_abi.h"
#include <string.h>

#ifndef FW_MODULE
#define FW_MODULE "full"
#endif

/* ---- frames (protocol.md): A5 type seq len16 payload crc32 ---- */
enum { SOF = 0xA5 };
enum { F_HELLO = 'H', F_BOOT = 'B', F_CMD = 'C', F_REQUEST = 'Q', F_RESPONSE = 'R', F_TRANSPORT_ERROR = 'E',
       F_LOG = 'L', F_DONE = 'D' };
/* errors of the firmware host (the core's own codes are in docs/ABI.md) */
enum { FW_TIMEOUT = -200, FW_FRAME = -201, FW_SEQUENCE = -202, FW_TRANSPORT = -203, FW_TOO_LONG = -204,
       FW_TRAP = -205, FW_PROTOCOL = -206, FW_CMD = -207 };
/* commands of the bridge (protocol.md); the core's numbers are those of tinycmp_abi.h */
enum { CMD_IR_MAC = 1, CMD_IR_SIG = 2, CMD_KUR = 3, CMD_STATUS = 4, CMD_RESET = 5 };
enum { CMD_REF = 1, CMD_SECRET = 2, CMD_SUBJECT = 3 };

static struct Z_env_instance_t { int unused; } env;
static Z_tinycmp_instance_t core;
#define MEM (core.w2c_memory.data)
#define MEM_SIZE (core.w2c_memory.size)

static uint8_t cmd[512];          /* the one command frame (or boot frame) being handled */
static uint8_t list[4096];        /* item list of the record to commit (a record payload is <= 4064 B) */
static int64_t base_time;         /* seconds since 1970 at board_ms() == 0 */
static uint64_t core_cycles;      /* SysTick cycles spent inside the core since the command began */
static uint8_t tx_seq;

static uint32_t crc32_update(uint32_t c, const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c;
}

static void frame_send2(uint8_t type, uint8_t seq, const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen) {
  uint32_t len = alen + blen;
  uint8_t h[5] = { SOF, type, seq, (uint8_t)len, (uint8_t)(len >> 8) };
  uint32_t c = crc32_update(0xFFFFFFFFu, h + 1, 4);
  c = ~crc32_update(crc32_update(c, a, alen), b, blen);
  uint8_t t[4] = { (uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24) };
  uart_write(h, 5);
  uart_write(a, alen);
  uart_write(b, blen);
  uart_write(t, 4);
}

static void log_text(const char *s) { frame_send2(F_LOG, 0, (const uint8_t *)s, (uint32_t)strlen(s), 0, 0); }

void fw_fatal(const char *why) {
  log_text("fatal: ");
  log_text(why);
  for (;;) board_idle();
}

/* Receives one frame before deadline (board_ms); the payload of a response goes to the core's I/O
 * buffer, any other to cmd. Its type, or FW_TIMEOUT, FW_FRAME (a type the device does not take, or the CRC), FW_TOO_LONG. */
static int frame_recv(uint32_t deadline, uint8_t *seq, uint32_t *len) {
  int c;
  do {
    if ((c = uart_read(deadline)) < 0) return FW_TIMEOUT;
  } while (c != SOF);
  uint8_t h[4];
  for (int i = 0; i < 4; i++) {
    if ((c = uart_read(deadline)) < 0) return FW_TIMEOUT;
    h[i] = (uint8_t)c;
    if (i == 0 && c != F_BOOT && c != F_CMD && c != F_RESPONSE && c != F_TRANSPORT_ERROR) return FW_FRAME; /* noise */
  }
  uint32_t n = (uint32_t)h[2] | (uint32_t)h[3] << 8;
  uint8_t *dst = cmd;
  uint32_t cap = sizeof cmd;
  if (h[0] == F_RESPONSE) {
    dst = MEM + Z_tinycmpZ_io_ptr(&core);
    cap = Z_tinycmpZ_io_size(&core);
  }
  if (n > cap) return FW_TOO_LONG;
  for (uint32_t i = 0; i < n; i++) {
    if ((c = uart_read(deadline)) < 0) return FW_TIMEOUT;
    dst[i] = (uint8_t)c;
  }
  uint32_t want = ~crc32_update(crc32_update(0xFFFFFFFFu, h, 4), dst, n), got = 0;
  for (int i = 0; i < 4; i++) {
    if ((c = uart_read(deadline)) < 0) return FW_TIMEOUT;
    got |= (uint32_t)c << (8 * i);
  }
  if (got != want) return FW_FRAME;
  *seq = h[1];
  *len = n;
  return h[0];
}

/* After a bad frame: drop what follows until the line is quiet for 50 ms, so that the rest of a
 * refused frame is not taken for the start of the next one. */
static void drain(void) {
  while (uart_read(board_ms() + 50) >= 0) {}
}

/* ---- randomness ---- */
#if TINYCMP_QEMU
/* QEMU only: ChaCha20 (RFC 8439 2.3) keystream under the 32-byte seed the bridge gives at boot.
 * The banner says so; a board image never takes a seed from outside. */
static uint32_t chacha_key[8], chacha_counter;
static int seeded;
#define ROTL(a, b) (((a) << (b)) | ((a) >> (32 - (b))))
#define QR(a, b, c, d) (a += b, d ^= a, d = ROTL(d, 16), c += d, b ^= c, b = ROTL(b, 12), \
                        a += b, d ^= a, d = ROTL(d, 8), c += d, b ^= c, b = ROTL(b, 7))
static void chacha_block(uint8_t out[64]) {
  uint32_t s[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 }, x[16];
  memcpy(s + 4, chacha_key, 32);
  s[12] = chacha_counter++;
  s[13] = s[14] = s[15] = 0;
  memcpy(x, s, sizeof x);
  for (int i = 0; i < 10; i++) {
    QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]); QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
    QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]); QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; i++) { uint32_t v = x[i] + s[i]; memcpy(out + 4 * i, &v, 4); }
  memset(x, 0, sizeof x);
  memset(s, 0, sizeof s);
}
static int random_fill(uint8_t *p, uint32_t n) {
  if (!seeded) return -1;
  uint8_t b[64];
  while (n > 0) {
    chacha_block(b);
    uint32_t k = n < 64 ? n : 64;
    memcpy(p, b, k);
    p += k;
    n -= k;
  }
  memset(b, 0, sizeof b);
  return 0;
}
#define RANDOMNESS "SEED FROM THE BRIDGE (QEMU test build: the emulator has no RNG; never for a device)"
#else
static int random_fill(uint8_t *p, uint32_t n) { return rng_fill(p, n); }
#define RANDOMNESS "STM32 RNG"
#endif

/* ---- the module's imports (docs/ABI.md) ---- */
static int in_mem(uint32_t ptr, uint32_t len) { return (uint64_t)ptr + len <= MEM_SIZE && len <= 0x7FFFFFFFu; }

u32 Z_envZ_random(struct Z_env_instance_t *e, u32 ptr, u32 len) {
  (void)e;
  return in_mem(ptr, len) && random_fill(MEM + ptr, len) == 0 ? 0 : 1;
}
u64 Z_envZ_time(struct Z_env_instance_t *e) {
  (void)e;
  return (u64)(base_time + board_ms() / 1000u);
}
u32 Z_envZ_flash_read(struct Z_env_instance_t *e, u32 slot, u32 off, u32 ptr, u32 len) {
  (void)e;
  return in_mem(ptr, len) && slot_read((int32_t)slot, (int32_t)off, MEM + ptr, (int32_t)len) == 0 ? 0 : 1;
}
u32 Z_envZ_flash_write(struct Z_env_instance_t *e, u32 slot, u32 off, u32 ptr, u32 len) {
  (void)e;
  return in_mem(ptr, len) && slot_write((int32_t)slot, (int32_t)off, MEM + ptr, (int32_t)len) == 0 ? 0 : 1;
}
u32 Z_envZ_flash_erase(struct Z_env_instance_t *e, u32 slot) {
  (void)e;
  return slot_erase((int32_t)slot) == 0 ? 0 : 1;
}
/* env.sign (full module): this board has no signer; a key handle then fails with E_SIGNER. */
u32 Z_envZ_sign(struct Z_env_instance_t *e, u32 h, u32 alg, u32 ptr, u32 len, u32 out, u32 cap) {
  (void)e; (void)h; (void)alg; (void)ptr; (void)len; (void)out; (void)cap;
  return (u32)-1;
}
void Z_envZ_panic(struct Z_env_instance_t *e, u32 line, u32 col) {
  (void)e; (void)line; (void)col;
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

/* ---- one command ---- */
/* Calls into the core, counting the cycles spent there (not those waiting for the bridge). */
#define CORE(call) ({ uint64_t t0_ = board_cycles(); __typeof__(call) r_ = (call); core_cycles += board_cycles() - t0_; r_; })
#define X(name, ...) CORE(Z_tinycmpZ_##name(&core, ##__VA_ARGS__))
#define XV(name) do { uint64_t t0_ = board_cycles(); Z_tinycmpZ_##name(&core); core_cycles += board_cycles() - t0_; } while (0)
static uint32_t io_ptr(void) { return Z_tinycmpZ_io_ptr(&core); }
static uint32_t io_size(void) { return Z_tinycmpZ_io_size(&core); }

struct outcome { int32_t code; uint8_t certconf; const char *detail; uint32_t detail_len; };

/* Finds item tag in the command's item list. */
static const uint8_t *cmd_item(uint32_t n, int tag, uint32_t *len) {
  for (uint32_t i = 2; i + 3 <= n;) {
    uint32_t l = (uint32_t)cmd[i + 1] | (uint32_t)cmd[i + 2] << 8;
    if (i + 3 + l > n) return 0;
    if (cmd[i] == tag) { *len = l; return cmd + i + 3; }
    i += 3 + l;
  }
  return 0;
}

static int32_t set_bytes(int item, const uint8_t *p, uint32_t n) {
  uint32_t io = io_ptr();
  if (n > io_size()) return FW_CMD;
  memcpy(MEM + io, p, n);
  return (int32_t)X(tx_set, (u32)item, io, n);
}

/* Every item `tag` of store record `kind` as configuration item `item`; 0 or the first error
 * (E_STORE_ITEM after the last one ends the list). */
static int32_t set_from_store(int item, int kind, int tag, int all) {
  uint32_t io = io_ptr(), cap = io_size();
  for (uint32_t i = 0;; i++) {
    int32_t n = (int32_t)X(store_get, (u32)kind, (u32)tag, i, io, cap);
    if (n < 0) return all && (n == E_STORE_ITEM || n == E_STORE_EMPTY) ? 0 : n; /* a list may end or be empty */
    int32_t r = (int32_t)X(tx_set, (u32)item, io, (u32)n);
    if (r < 0 || !all) return r;
  }
}

static uint32_t list_put(uint32_t at, int tag, uint32_t ptr, int32_t n) {
  if (n < 0 || !in_mem(ptr, (uint32_t)n) || at + 3 + (uint32_t)n > sizeof list) return UINT32_MAX;
  list[at] = (uint8_t)tag;
  list[at + 1] = (uint8_t)n;
  list[at + 2] = (uint8_t)((uint32_t)n >> 8);
  memcpy(list + at + 3, MEM + ptr, (uint32_t)n);
  return at + 3 + (uint32_t)n;
}

/* The issued certificate and its chain (without itself) as the new credential (store_commit). */
static int32_t commit(void) {
  uint32_t at = list_put(0, TAG_CERT, X(tx_result, RESULT_CERT, 0), (int32_t)X(tx_result_len, RESULT_CERT, 0));
  for (uint32_t i = 1; at != UINT32_MAX && (int32_t)X(tx_result_len, RESULT_CHAIN, i) >= 0; i++) {
    at = list_put(at, TAG_CHAIN, X(tx_result, RESULT_CHAIN, i), (int32_t)X(tx_result_len, RESULT_CHAIN, i));
  }
  if (at == UINT32_MAX) return E_STORE_FULL;
  uint32_t io = io_ptr();
  memcpy(MEM + io, list, at);
  memset(list, 0, at);
  return (int32_t)X(store_commit, io, at);
}

static struct outcome fail(int32_t code, const char *detail) {
  struct outcome o = { code, 0, detail, (uint32_t)strlen(detail) };
  return o;
}

/* Sends the core's request and waits for its response in the I/O buffer: its length or an error. */
static int32_t exchange(uint32_t timeout_ms, const char **why) {
  uint32_t out = X(tx_out), n = X(tx_out_len);
  if (!in_mem(out, n)) { *why = "request outside linear memory"; return FW_PROTOCOL; }
  uint8_t seq = ++tx_seq, rseq;
  frame_send2(F_REQUEST, seq, MEM + out, n, 0, 0);
  uint32_t len;
  int t = frame_recv(board_ms() + timeout_ms, &rseq, &len);
  if (t == FW_FRAME || t == FW_TOO_LONG) drain();
  switch (t) {
    case FW_TIMEOUT: *why = "no response from the bridge in time"; return t;
    case FW_FRAME: *why = "malformed frame from the bridge (type or CRC)"; return t;
    case FW_TOO_LONG: *why = "response longer than the I/O buffer (one static page)"; return t;
    case F_RESPONSE: break;
    case F_TRANSPORT_ERROR: *why = "the bridge could not reach the CA"; return FW_TRANSPORT;
    default: *why = "unexpected frame while waiting for the response (bridge restarted?)"; return FW_PROTOCOL;
  }
  if (rseq != seq) { *why = "response to another request (sequence number)"; return FW_SEQUENCE; }
  return (int32_t)len;
}

static struct outcome transaction(int op, uint32_t n, uint32_t timeout_ms) {
  uint32_t l1 = 0, l2 = 0, l3 = 0;
  const uint8_t *ref = cmd_item(n, CMD_REF, &l1), *secret = cmd_item(n, CMD_SECRET, &l2),
                *subject = cmd_item(n, CMD_SUBJECT, &l3);
  int32_t r;
  XV(tx_reset);
  if ((r = X(store_pending_new)) < 0) return fail(r, "no new key (store_pending_new)");
  if (op == CMD_IR_MAC) {
    if (!ref || !secret) return fail(FW_CMD, "ir with MAC needs ref and secret");
    if ((r = set_bytes(ITEM_REF, ref, l1)) < 0 || (r = set_bytes(ITEM_SECRET, secret, l2)) < 0) return fail(r, "MAC configuration refused");
  } else {
    int kind = op == CMD_IR_SIG ? KIND_IDEVID : KIND_CRED;
    if ((r = X(store_use, (u32)kind)) < 0) return fail(r, op == CMD_IR_SIG ? "no IDevID in the store" : "no credential to renew");
    if ((r = set_from_store(ITEM_CERT, kind, TAG_CERT, 0)) < 0) return fail(r, "signer certificate missing");
    if ((r = set_from_store(ITEM_EXTRA, kind, TAG_CHAIN, 1)) < 0) return fail(r, "signer chain refused");
    if (op == CMD_KUR && (r = set_from_store(ITEM_OLDCERT, KIND_CRED, TAG_CERT, 0)) < 0) return fail(r, "old certificate refused");
  }
  if ((r = X(store_use, KIND_STATE)) < 0) return fail(r, "pending key unusable");
  if (op != CMD_KUR && subject && (r = set_bytes(ITEM_SUBJECT, subject, l3)) < 0) return fail(r, "subject refused");
  if ((r = set_from_store(ITEM_TRUSTED, KIND_TRUST, TAG_ANCHOR, 1)) < 0) return fail(r, "trust anchors refused");
  X(tx_set_int, INT_OPTIONS, 0); /* explicit certConf (RFC 9483 4.1.1) */
  int32_t action = (int32_t)X(tx_start, op == CMD_KUR ? (u32)OP_KUR : (u32)OP_IR);
  uint32_t sends = 0;
  for (;;) {
    if (action == ACTION_SEND) {
      const char *why = "";
      int32_t len = exchange(timeout_ms, &why);
      if (len < 0) return fail(len, why);
      sends++;
      action = (int32_t)X(tx_input, io_ptr(), (u32)len);
    } else if (action == ACTION_WAIT) {
      uint32_t s = X(tx_wait);
      uint32_t until = board_ms() + (s > 60 ? 60 : s) * 1000u;
      while ((int32_t)(board_ms() - until) < 0) board_idle();
      action = (int32_t)X(tx_poll);
    } else if (action == ACTION_DONE) {
      if ((r = commit()) < 0) return fail(r, "certificate accepted but not stored (store_commit)");
      struct outcome o = { 0, sends >= 2, "", 0 };
      return o;
    } else if (action == ACTION_FAILED) {
      struct outcome o = { (int32_t)X(tx_error), 0, 0, X(tx_detail_len) };
      uint32_t d = X(tx_detail);
      o.detail = in_mem(d, o.detail_len) ? (const char *)MEM + d : "";
      return o;
    } else {
      return fail(action, "the core refused the step");
    }
  }
}

static void done(uint8_t seq, int op, struct outcome o, const uint8_t *data, uint32_t data_len) {
  uint8_t h[20];
  uint64_t c = core_cycles;
  uint32_t stack = board_stack_peak();
  h[0] = (uint8_t)op;
  for (int i = 0; i < 4; i++) h[1 + i] = (uint8_t)((uint32_t)o.code >> (8 * i));
  for (int i = 0; i < 8; i++) h[5 + i] = (uint8_t)(c >> (8 * i));
  for (int i = 0; i < 4; i++) h[13 + i] = (uint8_t)(stack >> (8 * i));
  h[17] = o.certconf;
  if (o.detail_len > 1024) o.detail_len = 1024;
  h[18] = (uint8_t)o.detail_len;
  h[19] = (uint8_t)(o.detail_len >> 8);
  /* detail and data go out of static or linear memory in one frame */
  uint32_t len = 20 + o.detail_len + data_len;
  uint8_t fh[5] = { SOF, F_DONE, seq, (uint8_t)len, (uint8_t)(len >> 8) };
  uint32_t crc = crc32_update(0xFFFFFFFFu, fh + 1, 4);
  crc = ~crc32_update(crc32_update(crc32_update(crc, h, 20), (const uint8_t *)o.detail, o.detail_len), data, data_len);
  uint8_t t[4] = { (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24) };
  uart_write(fh, 5);
  uart_write(h, 20);
  uart_write((const uint8_t *)o.detail, o.detail_len);
  uart_write(data, data_len);
  uart_write(t, 4);
}

static void run_command(uint8_t seq, uint32_t n) {
  int op = n >= 2 ? cmd[0] : 0;
  uint32_t timeout_ms = (n >= 2 && cmd[1] ? cmd[1] : 30) * 1000u;
  core_cycles = 0;
  if (setjmp(fw_trap_jmp) != 0) { /* a trap of the core: the transaction is over, the store untouched */
    done(seq, op, fail(FW_TRAP, "the core trapped"), 0, 0);
    return;
  }
  if (op == CMD_IR_MAC || op == CMD_IR_SIG || op == CMD_KUR) {
    struct outcome o = transaction(op, n, timeout_ms);
    memset(cmd, 0, sizeof cmd); /* the shared secret */
    done(seq, op, o, 0, 0);
    XV(tx_reset); /* wipes the keys the store lent the transaction */
  } else if (op == CMD_STATUS) {
    uint32_t io = io_ptr();
    int32_t l = (int32_t)X(store_get, KIND_CRED, TAG_CERT, 0, io, io_size());
    struct outcome o = l < 0 ? fail(l, "no credential") : (struct outcome){ 0, 0, "", 0 };
    done(seq, op, o, l < 0 ? 0 : MEM + io, l < 0 ? 0 : (uint32_t)l);
  } else if (op == CMD_RESET) {
    done(seq, op, fail(0, "reset"), 0, 0);
    board_reset();
  } else {
    done(seq, op, fail(FW_CMD, "unknown command"), 0, 0);
  }
}

static void boot(uint32_t n) {
  if (n < 8) return;
  int64_t t = 0;
  for (int i = 7; i >= 0; i--) t = (t << 8) | cmd[i];
  base_time = t - (int64_t)(board_ms() / 1000u);
#if TINYCMP_QEMU
  if (n == 8 + 32) {
    memcpy(chacha_key, cmd + 8, 32);
    chacha_counter = 0;
    seeded = 1;
  }
#endif
  memset(cmd, 0, sizeof cmd);
}

static char banner[256];

int main(void) {
  board_init();
  if (setjmp(fw_trap_jmp) != 0) fw_fatal("the core trapped while loading");
  wasm_rt_init();
  Z_tinycmp_init_module();
  Z_tinycmp_instantiate(&core, &env);
  if (X(abi_version) != TINYCMP_ABI_VERSION) fw_fatal("the core's ABI version is not this firmware's (tinycmp_abi.h)");
  uint32_t io_bytes = io_size();
  char num[12], *p = num + sizeof num;
  *--p = 0;
  do { *--p = (char)('0' + io_bytes % 10); io_bytes /= 10; } while (io_bytes);
  strcpy(banner, "tinycmp firmware, " FW_MODULE " module (wasm2c), STM32F405; linear memory: one static 64 KiB page; "
         "responses up to ");
  strcat(banner, p);
  strcat(banner, " B; randomness: " RANDOMNESS);
  for (;;) { /* announce until the bridge answers with the boot frame */
    frame_send2(F_HELLO, 0, (const uint8_t *)banner, (uint32_t)strlen(banner), 0, 0);
    uint8_t seq;
    uint32_t n;
    if (frame_recv(board_ms() + 2000, &seq, &n) == F_BOOT) { boot(n); break; }
  }
  for (;;) {
    uint8_t seq;
    uint32_t n;
    int t = frame_recv(board_ms() + 0x7FFFFFFFu, &seq, &n);
    if (t == F_CMD) run_command(seq, n);
    else if (t == F_BOOT) boot(n); /* the bridge restarted */
    else if (t == FW_FRAME || t == FW_TOO_LONG) drain();
  }
}
