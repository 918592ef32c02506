/* Runtime adapter: the wasm3 interpreter (wasm3.h), as used on ESP32 and Cortex-M. Imports linked
 * as raw functions of module "env" (those the module does not import are skipped); panic traps.
 * TINYCMP_STACK sets wasm3's stack in bytes (default 32768). TINYCMP_STATS=1 prints wasm3's heap
 * high mark at exit (module, compiled code, stack and linear memory all live on that heap),
 * counted through the allocator functions, which the Makefile wraps (-Wl,--wrap=...). */
#define _DEFAULT_SOURCE
#include "core.h"
#include "host.h"
#include "wasm3.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char core_runtime[] = "wasm3";

static uint8_t module_buf[64 * 1024];
static IM3Environment env;
static IM3Runtime rt;
static IM3Function funcs[CF_COUNT];

#define MEMSIZE m3_GetMemorySize(runtime)

/* ---- heap accounting: every block carries its size in a header ---- */
void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
#define HEAP_HDR 16
static size_t heap_now, heap_peak;
static void heap_add(size_t n) { heap_now += n; if (heap_now > heap_peak) heap_peak = heap_now; }
void *__wrap_malloc(size_t n) {
  uint8_t *p = n > SIZE_MAX - HEAP_HDR ? NULL : __real_malloc(n + HEAP_HDR);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  heap_add(n);
  return p + HEAP_HDR;
}
void *__wrap_calloc(size_t c, size_t n) {
  if (n && c > SIZE_MAX / n) return NULL;
  void *p = __wrap_malloc(c * n);
  if (p) memset(p, 0, c * n);
  return p;
}
void __wrap_free(void *q) {
  if (!q) return;
  uint8_t *p = (uint8_t *)q - HEAP_HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  heap_now -= n;
  __real_free(p);
}
void *__wrap_realloc(void *q, size_t n) {
  if (!q) return __wrap_malloc(n);
  uint8_t *p = (uint8_t *)q - HEAP_HDR;
  size_t old;
  memcpy(&old, p, sizeof old);
  uint8_t *r = n > SIZE_MAX - HEAP_HDR ? NULL : __real_realloc(p, n + HEAP_HDR);
  if (!r) return NULL;
  memcpy(r, &n, sizeof n);
  heap_now -= old;
  heap_add(n);
  return r + HEAP_HDR;
}
static void heap_report(void) { fprintf(stderr, "wasm3 heap: high mark %zu bytes\n", heap_peak); }

static m3ApiRawFunction(m_random) {
  m3ApiReturnType(int32_t);
  m3ApiGetArg(uint32_t, ptr);
  m3ApiGetArg(int32_t, len);
  m3ApiReturn(host_random(_mem, MEMSIZE, ptr, len));
}
static m3ApiRawFunction(m_time) {
  m3ApiReturnType(int64_t);
  (void)_mem;
  m3ApiReturn(host_time());
}
static m3ApiRawFunction(m_log) {
  m3ApiGetArg(int32_t, level);
  m3ApiGetArg(uint32_t, ptr);
  m3ApiGetArg(int32_t, len);
  host_log(_mem, MEMSIZE, level, ptr, len);
  m3ApiSuccess();
}
static m3ApiRawFunction(m_panic) {
  m3ApiGetArg(int32_t, line);
  m3ApiGetArg(int32_t, col);
  (void)_mem;
  host_panic(line, col);
  m3ApiTrap(m3Err_trapUnreachable);
}
static m3ApiRawFunction(m_flash_read) {
  m3ApiReturnType(int32_t);
  m3ApiGetArg(int32_t, slot);
  m3ApiGetArg(int32_t, off);
  m3ApiGetArg(uint32_t, ptr);
  m3ApiGetArg(int32_t, len);
  m3ApiReturn(host_flash_read(_mem, MEMSIZE, slot, off, ptr, len));
}
static m3ApiRawFunction(m_flash_write) {
  m3ApiReturnType(int32_t);
  m3ApiGetArg(int32_t, slot);
  m3ApiGetArg(int32_t, off);
  m3ApiGetArg(uint32_t, ptr);
  m3ApiGetArg(int32_t, len);
  m3ApiReturn(host_flash_write(_mem, MEMSIZE, slot, off, ptr, len));
}
static m3ApiRawFunction(m_flash_erase) {
  m3ApiReturnType(int32_t);
  m3ApiGetArg(int32_t, slot);
  (void)_mem;
  m3ApiReturn(host_flash_erase(slot));
}

static m3ApiRawFunction(m_sign) {
  m3ApiReturnType(int32_t);
  m3ApiGetArg(int32_t, h);
  m3ApiGetArg(int32_t, alg);
  m3ApiGetArg(int32_t, ptr);
  m3ApiGetArg(int32_t, len);
  m3ApiGetArg(int32_t, out);
  m3ApiGetArg(int32_t, cap);
  m3ApiReturn(host_sign(_mem, MEMSIZE, h, alg, (uint32_t)ptr, len, (uint32_t)out, cap));
}

static const struct { const char *name, *sig; M3RawCall f; } natives[] = {
  { "random", "i(ii)", m_random }, { "time", "I()", m_time }, { "log", "v(iii)", m_log },
  { "panic", "v(ii)", m_panic }, { "flash_read", "i(iiii)", m_flash_read },
  { "flash_write", "i(iiii)", m_flash_write }, { "flash_erase", "i(i)", m_flash_erase },
  { "sign", "i(iiiiii)", m_sign },
};

int core_open(const char *wasm, char *err, size_t errlen) {
  const char *st = getenv("TINYCMP_STACK");
  if (getenv("TINYCMP_STATS")) atexit(heap_report);
  FILE *f = fopen(wasm, "rb");
  if (!f) { snprintf(err, errlen, "cannot open %s", wasm); return -1; }
  size_t n = fread(module_buf, 1, sizeof module_buf, f);
  fclose(f);
  if (n == 0 || n == sizeof module_buf) { snprintf(err, errlen, "%s: empty or too large", wasm); return -1; }
  IM3Module mod;
  M3Result r;
  if (!(env = m3_NewEnvironment()) || !(rt = m3_NewRuntime(env, st ? (uint32_t)atoi(st) : 32768, NULL))) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if ((r = m3_ParseModule(env, &mod, module_buf, (uint32_t)n)) || (r = m3_LoadModule(rt, mod))) {
    snprintf(err, errlen, "%s", r);
    return -1;
  }
  for (size_t i = 0; i < sizeof natives / sizeof natives[0]; i++) {
    r = m3_LinkRawFunction(mod, "env", natives[i].name, natives[i].sig, natives[i].f);
    if (r && r != m3Err_functionLookupFailed) { snprintf(err, errlen, "%s: %s", natives[i].name, r); return -1; }
  }
  for (int i = 0; i < CF_COUNT; i++)
    if ((r = m3_FindFunction(&funcs[i], rt, core_fn_name[i])) && !CORE_FN_OPTIONAL(i)) {
      snprintf(err, errlen, "export %s: %s", core_fn_name[i], r);
      return -1;
    }
  return 0;
}

uint8_t *core_memory(uint32_t *size) {
  return m3_GetMemory(rt, size, 0);
}

int core_call(enum core_fn fn, const uint32_t *a, uint32_t *res, char *err, size_t errlen) {
  const void *argp[CORE_MAX_PARAMS];
  if (!funcs[fn]) { snprintf(err, errlen, "export %s missing", core_fn_name[fn]); return -1; }
  for (int i = 0; i < core_fn_params[fn]; i++) argp[i] = &a[i];
  host_panic_msg[0] = 0;
  M3Result r = m3_Call(funcs[fn], core_fn_params[fn], argp);
  if (!r && !CORE_FN_VOID(fn)) r = m3_GetResultsV(funcs[fn], res);
  if (r) {
    snprintf(err, errlen, "%s", host_panic_msg[0] ? host_panic_msg : r);
    return -1;
  }
  if (CORE_FN_VOID(fn)) *res = 0;
  return 0;
}
