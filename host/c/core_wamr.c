/* Runtime adapter: WAMR's native API (wasm_export.h). Natives registered for module "env", app
 * heap 0, everything (module, instance, exec env, linear memory) in one static pool so that the
 * runtime's RAM is bounded and measurable (TINYCMP_STATS=1 prints the pool's high mark).
 * TINYCMP_STACK sets the wasm operand/call stack in bytes (default 16384). */
#define _DEFAULT_SOURCE
#include "core.h"
#include "host.h"
#include "wasm_export.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char core_runtime[] = "wamr";

static uint8_t pool[320 * 1024]; /* measured high mark: docs/PORTING.md (npm run footprint) */
static uint8_t module_buf[64 * 1024];
static wasm_module_t module;
static wasm_module_inst_t inst;
static wasm_exec_env_t exec_env;
static wasm_function_inst_t funcs[CF_COUNT];

static uint8_t *mem_of(wasm_exec_env_t e, uint32_t *size) {
  wasm_memory_inst_t m = wasm_runtime_get_default_memory(wasm_runtime_get_module_inst(e));
  *size = (uint32_t)(wasm_memory_get_cur_page_count(m) * wasm_memory_get_bytes_per_page(m));
  return wasm_memory_get_base_address(m);
}

static int32_t n_random(wasm_exec_env_t e, int32_t ptr, int32_t len) {
  uint32_t size; uint8_t *m = mem_of(e, &size);
  return host_random(m, size, (uint32_t)ptr, len);
}
static int64_t n_time(wasm_exec_env_t e) { (void)e; return host_time(); }
static void n_log(wasm_exec_env_t e, int32_t level, int32_t ptr, int32_t len) {
  uint32_t size; uint8_t *m = mem_of(e, &size);
  host_log(m, size, level, (uint32_t)ptr, len);
}
static void n_panic(wasm_exec_env_t e, int32_t line, int32_t col) {
  host_panic(line, col);
  wasm_runtime_set_exception(wasm_runtime_get_module_inst(e), host_panic_msg);
}
static int32_t n_flash_read(wasm_exec_env_t e, int32_t slot, int32_t off, int32_t ptr, int32_t len) {
  uint32_t size; uint8_t *m = mem_of(e, &size);
  return host_flash_read(m, size, slot, off, (uint32_t)ptr, len);
}
static int32_t n_flash_write(wasm_exec_env_t e, int32_t slot, int32_t off, int32_t ptr, int32_t len) {
  uint32_t size; uint8_t *m = mem_of(e, &size);
  return host_flash_write(m, size, slot, off, (uint32_t)ptr, len);
}
static int32_t n_flash_erase(wasm_exec_env_t e, int32_t slot) { (void)e; return host_flash_erase(slot); }

static int32_t n_sign(wasm_exec_env_t e, int32_t h, int32_t alg, int32_t ptr, int32_t len, int32_t out, int32_t cap) {
  uint32_t size; uint8_t *m = mem_of(e, &size);
  return host_sign(m, size, h, alg, (uint32_t)ptr, len, (uint32_t)out, cap);
}

static NativeSymbol natives[] = {
  { "random", (void *)n_random, "(ii)i", NULL },
  { "time", (void *)n_time, "()I", NULL },
  { "log", (void *)n_log, "(iii)", NULL },
  { "panic", (void *)n_panic, "(ii)", NULL },
  { "flash_read", (void *)n_flash_read, "(iiii)i", NULL },
  { "flash_write", (void *)n_flash_write, "(iiii)i", NULL },
  { "flash_erase", (void *)n_flash_erase, "(i)i", NULL },
  { "sign", (void *)n_sign, "(iiiiii)i", NULL },
};

static void stats(void) {
  mem_alloc_info_t info;
  if (wasm_runtime_get_mem_alloc_info(&info))
    fprintf(stderr, "wamr pool: total %u, free %u, high mark %u bytes\n", info.total_size, info.total_free_size,
            info.highmark_size);
}

int core_open(const char *wasm, char *err, size_t errlen) {
  RuntimeInitArgs args;
  const char *st = getenv("TINYCMP_STACK");
  uint32_t stack = st ? (uint32_t)atoi(st) : 16384;
  memset(&args, 0, sizeof args);
  args.mem_alloc_type = Alloc_With_Pool;
  args.mem_alloc_option.pool.heap_buf = pool;
  args.mem_alloc_option.pool.heap_size = sizeof pool;
  args.native_module_name = "env";
  args.native_symbols = natives;
  args.n_native_symbols = sizeof natives / sizeof natives[0];
  if (!wasm_runtime_full_init(&args)) { snprintf(err, errlen, "wasm_runtime_full_init failed"); return -1; }
  FILE *f = fopen(wasm, "rb");
  if (!f) { snprintf(err, errlen, "cannot open %s", wasm); return -1; }
  size_t n = fread(module_buf, 1, sizeof module_buf, f);
  fclose(f);
  if (n == 0 || n == sizeof module_buf) { snprintf(err, errlen, "%s: empty or too large", wasm); return -1; }
  if (!(module = wasm_runtime_load(module_buf, (uint32_t)n, err, (uint32_t)errlen))) return -1;
  if (!(inst = wasm_runtime_instantiate(module, stack, 0, err, (uint32_t)errlen))) return -1;
  if (!(exec_env = wasm_runtime_create_exec_env(inst, stack))) { snprintf(err, errlen, "no exec env"); return -1; }
  for (int i = 0; i < CF_COUNT; i++)
    if (!(funcs[i] = wasm_runtime_lookup_function(inst, core_fn_name[i])) && !CORE_FN_OPTIONAL(i)) {
      snprintf(err, errlen, "export %s missing", core_fn_name[i]);
      return -1;
    }
  if (getenv("TINYCMP_STATS")) atexit(stats);
  return 0;
}

uint8_t *core_memory(uint32_t *size) {
  return mem_of(exec_env, size);
}

int core_call(enum core_fn fn, const uint32_t *a, uint32_t *r, char *err, size_t errlen) {
  uint32_t argv[CORE_MAX_PARAMS] = { 0 };
  if (!funcs[fn]) { snprintf(err, errlen, "export %s missing", core_fn_name[fn]); return -1; }
  for (int i = 0; i < core_fn_params[fn]; i++) argv[i] = a[i];
  if (!wasm_runtime_call_wasm(exec_env, funcs[fn], core_fn_params[fn], argv)) {
    const char *x = wasm_runtime_get_exception(inst);
    snprintf(err, errlen, "%s", x ? x : "trap");
    wasm_runtime_clear_exception(inst);
    return -1;
  }
  *r = CORE_FN_VOID(fn) ? 0 : argv[0];
  return 0;
}
