/* Host ABI imports (docs/ABI.md) for POSIX systems: getrandom(2), clock_gettime(2), stderr log,
 * file-backed flash slots. No allocation. */
#define _DEFAULT_SOURCE
#include "host.h"
#include "core.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const core_fn_name[CF_COUNT] = {
  "io_ptr", "io_size", "tx_reset", "tx_set", "tx_set_int", "tx_start", "tx_input", "tx_poll",
  "tx_out", "tx_out_len", "tx_wait", "tx_error", "tx_detail", "tx_detail_len", "tx_status",
  "tx_failinfo", "tx_result", "tx_result_len", "abi_version",
  "store_info", "store_get", "store_provision", "store_clear", "store_pending_ref", "store_commit", "store_use",
};
const uint8_t core_fn_params[CF_COUNT] = { 0, 0, 0, 3, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 1, 5, 2, 1, 2, 2, 1 };

char host_panic_msg[96];
int host_verbosity = 0;
const char *host_flash_dir = "tinycmp-flash";
int32_t host_flash_slots = 8;
int32_t host_flash_slot_size = 8192;

int host_in_memory(uint32_t size, uint32_t ptr, int32_t len) {
  return len >= 0 && (uint64_t)ptr + (uint64_t)(uint32_t)len <= (uint64_t)size;
}

int32_t host_random(uint8_t *mem, uint32_t size, uint32_t ptr, int32_t len) {
  const char *e = getenv("TINYCMP_ENTROPY"); /* "none": simulate a board without entropy (tests) */
  if (!host_in_memory(size, ptr, len) || (e && strcmp(e, "none") == 0)) return -1;
  uint8_t *p = mem + ptr;
  size_t left = (size_t)len;
  while (left > 0) {
    ssize_t n = getrandom(p, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { memset(mem + ptr, 0, (size_t)len); return -1; }
    p += n;
    left -= (size_t)n;
  }
  return 0;
}

int64_t host_time(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec;
}

void host_log(uint8_t *mem, uint32_t size, int32_t level, uint32_t ptr, int32_t len) {
  if (level > host_verbosity || !host_in_memory(size, ptr, len)) return;
  fprintf(stderr, "tinycmp[%d]: %.*s\n", (int)level, (int)len, (const char *)(mem + ptr));
}

void host_panic(int32_t line, int32_t col) {
  snprintf(host_panic_msg, sizeof host_panic_msg, "core panic at %d:%d", (int)line, (int)col);
}

/* ---- flash slots: <dir>/slot<N>.bin, created erased (0xFF) on first use ----
 * They hold private keys: the directory is created 0700 and the files 0600 (looser modes left by
 * an older version are tightened). Writes program bytes in place (NOR: only the slot being
 * written changes, nothing is truncated) and each write or erase is fsync'ed before it returns;
 * a slot file created here is made durable with an fsync of the directory (docs/STORE.md). */

static int dir_sync(void) {
  int d = open(host_flash_dir, O_RDONLY | O_DIRECTORY);
  if (d < 0) return -1;
  int r = fsync(d);
  close(d);
  return r;
}

static int slot_open(int32_t slot) {
  char path[512];
  if (slot < 0 || slot >= host_flash_slots) return -1;
  if (snprintf(path, sizeof path, "%s/slot%d.bin", host_flash_dir, (int)slot) >= (int)sizeof path) return -1;
  if (mkdir(host_flash_dir, 0700) != 0 && errno != EEXIST) return -1;
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600), created = fd >= 0;
  if (!created) fd = open(path, O_RDWR | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)) { close(fd); return -1; }
  off_t end = st.st_size;
  if (end < (off_t)host_flash_slot_size) { /* new (or short) slot: fill with the erased state */
    uint8_t ff[256];
    memset(ff, 0xFF, sizeof ff);
    for (off_t o = end; o < (off_t)host_flash_slot_size;) {
      size_t n = (size_t)((off_t)host_flash_slot_size - o < 256 ? (off_t)host_flash_slot_size - o : 256);
      if (pwrite(fd, ff, n, o) != (ssize_t)n) { close(fd); return -1; }
      o += (off_t)n;
    }
    if (fsync(fd) != 0 || (created && dir_sync() != 0)) { close(fd); return -1; }
  }
  return fd;
}

static int range_ok(int32_t off, int32_t len) {
  return off >= 0 && len >= 0 && (int64_t)off + len <= host_flash_slot_size;
}

int32_t host_flash_read(uint8_t *mem, uint32_t size, int32_t slot, int32_t off, uint32_t ptr, int32_t len) {
  if (!range_ok(off, len) || !host_in_memory(size, ptr, len)) return -1;
  int fd = slot_open(slot);
  if (fd < 0) return -1;
  ssize_t n = pread(fd, mem + ptr, (size_t)len, off);
  close(fd);
  return n == len ? 0 : -1;
}

int32_t host_flash_write(uint8_t *mem, uint32_t size, int32_t slot, int32_t off, uint32_t ptr, int32_t len) {
  if (!range_ok(off, len) || !host_in_memory(size, ptr, len)) return -1;
  int fd = slot_open(slot);
  if (fd < 0) return -1;
  /* NOR semantics: programming only clears bits, as on the boards' flash (erase sets them) */
  uint8_t old[256];
  int ok = 1;
  for (int32_t o = 0; ok && o < len; o += 256) {
    size_t n = (size_t)(len - o < 256 ? len - o : 256);
    ok = pread(fd, old, n, off + o) == (ssize_t)n;
    for (size_t i = 0; ok && i < n; i++) old[i] &= mem[ptr + (uint32_t)o + i];
    ok = ok && pwrite(fd, old, n, off + o) == (ssize_t)n;
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  return ok ? 0 : -1;
}

int32_t host_flash_erase(int32_t slot) {
  int fd = slot_open(slot);
  if (fd < 0) return -1;
  uint8_t ff[256];
  memset(ff, 0xFF, sizeof ff);
  int ok = 1;
  for (int32_t o = 0; ok && o < host_flash_slot_size; o += 256) {
    size_t n = (size_t)(host_flash_slot_size - o < 256 ? host_flash_slot_size - o : 256);
    ok = pwrite(fd, ff, n, o) == (ssize_t)n;
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  return ok ? 0 : -1;
}

host_signer_fn host_signer;

int32_t host_sign(uint8_t *mem, uint32_t size, int32_t handle, int32_t alg, uint32_t ptr, int32_t len, uint32_t out, int32_t cap) {
  if (!host_signer || !host_in_memory(size, ptr, len) || !host_in_memory(size, out, cap)) return -1;
  int32_t n = host_signer(handle, alg, mem + ptr, len, mem + out, cap);
  return n > cap ? -1 : n;
}
