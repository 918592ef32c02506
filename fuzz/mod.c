/* Imports and helpers for the module under test (mod.h). */
#include "mod.h"
#include <string.h>

struct Z_env_instance_t { int unused; };
static struct Z_env_instance_t env;
Z_tinycmp_instance_t mod;
uint64_t mod_now = 1767225600; /* 2026-01-01; harnesses set the capture time */
static uint32_t rng = 1;

void mod_seed(uint32_t s) { rng = s ? s : 1; }

u32 Z_envZ_random(struct Z_env_instance_t *e, u32 ptr, u32 len) {
  (void)e;
  if ((u64)ptr + len > mod.w2c_memory.size) return 1;
  for (u32 i = 0; i < len; i++) {
    rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
    MEM[ptr + i] = (uint8_t)(rng >> 11);
  }
  return 0;
}
u64 Z_envZ_time(struct Z_env_instance_t *e) { (void)e; return mod_now; }
void Z_envZ_log(struct Z_env_instance_t *e, u32 level, u32 ptr, u32 len) { (void)e; (void)level; (void)ptr; (void)len; }
void Z_envZ_panic(struct Z_env_instance_t *e, u32 line, u32 col) {
  (void)e;
  fprintf(stderr, "module panic at line %u col %u\n", line, col);
  abort();
}
u32 Z_envZ_flash_read(struct Z_env_instance_t *e, u32 s, u32 o, u32 p, u32 l) { (void)e; (void)s; (void)o; (void)p; (void)l; return 1; }
u32 Z_envZ_flash_write(struct Z_env_instance_t *e, u32 s, u32 o, u32 p, u32 l) { (void)e; (void)s; (void)o; (void)p; (void)l; return 1; }
u32 Z_envZ_flash_erase(struct Z_env_instance_t *e, u32 s) { (void)e; (void)s; return 1; }
/* no host signer (docs/ABI.md: a host without one answers every request with an error) */
u32 Z_envZ_sign(struct Z_env_instance_t *e, u32 h, u32 alg, u32 p, u32 n, u32 out, u32 cap) {
  (void)e; (void)h; (void)alg; (void)p; (void)n; (void)out; (void)cap; return (u32)-1;
}

void mod_open(void) {
  static int opened;
  if (opened) return;
  wasm_rt_init();
  Z_tinycmp_init_module();
  Z_tinycmp_instantiate(&mod, &env);
  opened = 1;
}

void mod_trap(wasm_rt_trap_t t) {
  fprintf(stderr, "module trapped: %s\n", wasm_rt_strerror(t));
  abort();
}

void mod_check(void) {
  if (mod.w2c_memory.size != 65536) {
    fprintf(stderr, "linear memory grew to %llu bytes\n", (unsigned long long)mod.w2c_memory.size);
    abort();
  }
}

uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
  *len = fread(b, 1, n > 0 ? (size_t)n : 0, f);
  fclose(f);
  return b;
}

size_t next_der(const uint8_t *b, size_t len, size_t *pos) {
  size_t p = *pos;
  if (p + 2 > len) return 0;
  size_t q = p + 2, n = b[p + 1];
  if (n & 0x80) {
    size_t k = n & 0x7f;
    if (k == 0 || k > 3 || q + k > len) return 0;
    n = 0;
    for (size_t i = 0; i < k; i++) n = n << 8 | b[q++];
  }
  if (q + n > len) return 0;
  *pos = q + n;
  return q + n - p;
}
