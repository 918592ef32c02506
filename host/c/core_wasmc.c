/* Runtime adapter: the standard WebAssembly C API (wasm.h), as implemented by wasmtime's C library
 * (and WAMR's wasm_c_api). Standard API only: vectors through wasm_*_vec_new, names compared by
 * length, imports matched to the module's import list, traps returned from callbacks. */
#define _DEFAULT_SOURCE
#include "core.h"
#include "host.h"
#ifndef WASM_H
#define WASM_H "wasm.h"
#endif
#include WASM_H
#include <stdio.h>
#include <string.h>

const char core_runtime[] = "wasm-c-api";

static uint8_t module_buf[64 * 1024];
static wasm_engine_t *engine;
static wasm_store_t *store;
static wasm_instance_t *instance;
static wasm_memory_t *memory;
static wasm_func_t *funcs[CF_COUNT];

enum { IM_RANDOM, IM_TIME, IM_LOG, IM_PANIC, IM_FLASH_READ, IM_FLASH_WRITE, IM_FLASH_ERASE, IM_SIGN, IM_COUNT };
static const char *const import_name[IM_COUNT] = {
  "random", "time", "log", "panic", "flash_read", "flash_write", "flash_erase", "sign",
};

static int name_is(const wasm_name_t *n, const char *s) {
  size_t l = strlen(s);
  /* compared by length: wasmtime's names carry no NUL, WAMR's count a terminating one */
  return (n->size == l || (n->size == l + 1 && n->data[l] == 0)) && memcmp(n->data, s, l) == 0;
}

static wasm_trap_t *trap(const char *msg) {
  wasm_message_t m;
  wasm_byte_vec_new(&m, strlen(msg) + 1, msg);
  wasm_trap_t *t = wasm_trap_new(store, &m);
  wasm_byte_vec_delete(&m);
  return t;
}

static wasm_trap_t *callback(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  const wasm_val_t *a = args->data;
  uint8_t *m = memory ? (uint8_t *)wasm_memory_data(memory) : NULL;
  uint32_t size = memory ? (uint32_t)wasm_memory_data_size(memory) : 0;
  int32_t r = 0;
  switch ((int)(intptr_t)env) {
    case IM_RANDOM: r = host_random(m, size, (uint32_t)a[0].of.i32, a[1].of.i32); break;
    case IM_TIME:
      results->data[0].kind = WASM_I64;
      results->data[0].of.i64 = host_time();
      return NULL;
    case IM_LOG: host_log(m, size, a[0].of.i32, (uint32_t)a[1].of.i32, a[2].of.i32); return NULL;
    case IM_PANIC: host_panic(a[0].of.i32, a[1].of.i32); return trap(host_panic_msg);
    case IM_FLASH_READ: r = host_flash_read(m, size, a[0].of.i32, a[1].of.i32, (uint32_t)a[2].of.i32, a[3].of.i32); break;
    case IM_FLASH_WRITE: r = host_flash_write(m, size, a[0].of.i32, a[1].of.i32, (uint32_t)a[2].of.i32, a[3].of.i32); break;
    case IM_FLASH_ERASE: r = host_flash_erase(a[0].of.i32); break;
    case IM_SIGN: r = host_sign(m, size, a[0].of.i32, a[1].of.i32, (uint32_t)a[2].of.i32, a[3].of.i32, (uint32_t)a[4].of.i32, a[5].of.i32); break;
    default: return trap("unknown import");
  }
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = r;
  return NULL;
}

int core_open(const char *wasm, char *err, size_t errlen) {
  FILE *f = fopen(wasm, "rb");
  if (!f) { snprintf(err, errlen, "cannot open %s", wasm); return -1; }
  size_t n = fread(module_buf, 1, sizeof module_buf, f);
  fclose(f);
  if (n == 0 || n == sizeof module_buf) { snprintf(err, errlen, "%s: empty or too large", wasm); return -1; }
  engine = wasm_engine_new();
  store = engine ? wasm_store_new(engine) : NULL;
  if (!store) { snprintf(err, errlen, "no engine"); return -1; }
  wasm_byte_vec_t bin;
  wasm_byte_vec_new(&bin, n, (const wasm_byte_t *)module_buf);
  wasm_module_t *module = wasm_module_new(store, &bin);
  wasm_byte_vec_delete(&bin);
  if (!module) { snprintf(err, errlen, "module does not compile"); return -1; }

  wasm_importtype_vec_t its;
  wasm_module_imports(module, &its);
  wasm_extern_t *ext[16];
  if (its.size > 16) { snprintf(err, errlen, "too many imports"); return -1; }
  for (size_t i = 0; i < its.size; i++) {
    const wasm_name_t *mod = wasm_importtype_module(its.data[i]), *nm = wasm_importtype_name(its.data[i]);
    int k = -1;
    for (int j = 0; j < IM_COUNT && name_is(mod, "env"); j++) if (name_is(nm, import_name[j])) k = j;
    const wasm_functype_t *ft = wasm_externtype_as_functype_const(wasm_importtype_type(its.data[i]));
    if (k < 0 || !ft) { snprintf(err, errlen, "unknown import %.*s", (int)nm->size, nm->data); return -1; }
    ext[i] = wasm_func_as_extern(wasm_func_new_with_env(store, ft, callback, (void *)(intptr_t)k, NULL));
  }
  wasm_extern_vec_t imports;
  wasm_extern_vec_new(&imports, its.size, ext);
  wasm_trap_t *t = NULL;
  instance = wasm_instance_new(store, module, &imports, &t);
  wasm_importtype_vec_delete(&its);
  if (!instance) { snprintf(err, errlen, "instantiation failed"); return -1; }

  wasm_exporttype_vec_t ets;
  wasm_extern_vec_t exs;
  wasm_module_exports(module, &ets);
  wasm_instance_exports(instance, &exs);
  for (size_t i = 0; i < ets.size && i < exs.size; i++) {
    const wasm_name_t *nm = wasm_exporttype_name(ets.data[i]);
    if (name_is(nm, "memory")) memory = wasm_extern_as_memory(exs.data[i]);
    for (int j = 0; j < CF_COUNT; j++) if (name_is(nm, core_fn_name[j])) funcs[j] = wasm_extern_as_func(exs.data[i]);
  }
  wasm_exporttype_vec_delete(&ets);
  for (int j = 0; j < CF_COUNT; j++)
    if (!funcs[j] && !CORE_FN_OPTIONAL(j)) { snprintf(err, errlen, "export %s missing", core_fn_name[j]); return -1; }
  if (!memory) { snprintf(err, errlen, "memory not exported"); return -1; }
  return 0;
}

uint8_t *core_memory(uint32_t *size) {
  *size = (uint32_t)wasm_memory_data_size(memory);
  return (uint8_t *)wasm_memory_data(memory);
}

int core_call(enum core_fn fn, const uint32_t *a, uint32_t *r, char *err, size_t errlen) {
  wasm_val_t av[CORE_MAX_PARAMS];
  wasm_val_vec_t args, res;
  if (!funcs[fn]) { snprintf(err, errlen, "export %s missing", core_fn_name[fn]); return -1; }
  for (int i = 0; i < core_fn_params[fn]; i++) { av[i].kind = WASM_I32; av[i].of.i32 = (int32_t)a[i]; }
  wasm_val_vec_new(&args, core_fn_params[fn], av);
  wasm_val_vec_new_uninitialized(&res, CORE_FN_VOID(fn) ? 0 : 1);
  wasm_trap_t *t = wasm_func_call(funcs[fn], &args, &res);
  *r = !t && res.size == 1 ? (uint32_t)res.data[0].of.i32 : 0;
  wasm_val_vec_delete(&args);
  wasm_val_vec_delete(&res);
  if (t) {
    wasm_message_t m;
    wasm_trap_message(t, &m);
    snprintf(err, errlen, "%.*s", (int)m.size, m.data);
    wasm_byte_vec_delete(&m);
    wasm_trap_delete(t);
    return -1;
  }
  return 0;
}
