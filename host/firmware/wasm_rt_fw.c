/* The wasm2c runtime for the firmware, in place of wabt's wasm-rt-impl.c (which maps guard pages
 * and allocates): linear memory is ONE static 64 KiB page, growth is refused (memory.grow returns
 * -1), every access is bounds-checked by the generated code (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0),
 * call depth is counted (WASM_RT_MAX_CALL_STACK_DEPTH), and a trap unwinds with longjmp to the
 * host's fw_core_try. No allocation at all. */
#include "wasm-rt.h"
#include "fw.h"
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#define PAGE 65536u

/* the module's linear memory (aligned for the 8-byte loads of the translated code) */
static uint8_t linear_memory[PAGE] __attribute__((aligned(8)));
static int memory_taken;

jmp_buf fw_trap_jmp;
uint32_t wasm_rt_call_stack_depth;
static bool initialized;

void wasm_rt_init(void) { initialized = true; }
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = false; }

WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t code) {
  wasm_rt_call_stack_depth = 0;
  longjmp(fw_trap_jmp, (int)code + 1);
}

/* One page, once: a module asking for more initial pages (or a second memory) cannot run here. */
void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint32_t initial_pages, uint32_t max_pages) {
  (void)max_pages;
  if (initial_pages != 1 || memory_taken) fw_fatal("module needs more than one static 64 KiB page");
  memory_taken = 1;
  memset(linear_memory, 0, sizeof linear_memory);
  m->data = linear_memory;
  m->pages = 1;
  m->max_pages = 1; /* growth refused: the image accepts responses up to the I/O buffer (io_size) */
  m->size = PAGE;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t pages) {
  return pages == 0 ? m->pages : UINT32_MAX;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m) { (void)m; }

/* Function types: the same signature gets the same index (compared by call_indirect). A static
 * table; a module with more signatures than it holds cannot run here. */
#define MAX_TYPES 48
#define MAX_TYPE_ARITY 14
static struct { uint8_t params, results, types[MAX_TYPE_ARITY]; } func_types[MAX_TYPES];
static uint32_t func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint8_t t[MAX_TYPE_ARITY];
  if (params + results > MAX_TYPE_ARITY) fw_fatal("function type too long");
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < params + results; i++) t[i] = (uint8_t)va_arg(ap, int);
  va_end(ap);
  for (uint32_t i = 0; i < func_type_count; i++) {
    if (func_types[i].params == params && func_types[i].results == results &&
        memcmp(func_types[i].types, t, params + results) == 0) return i;
  }
  if (func_type_count == MAX_TYPES) fw_fatal("too many function types");
  func_types[func_type_count].params = (uint8_t)params;
  func_types[func_type_count].results = (uint8_t)results;
  memcpy(func_types[func_type_count].types, t, params + results);
  return func_type_count++;
}

const char *wasm_rt_strerror(wasm_rt_trap_t t) {
  switch (t) {
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable";
    case WASM_RT_TRAP_CALL_INDIRECT: return "call_indirect";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
    default: return "trap";
  }
}

void __assert_func(const char *file, int line, const char *fn, const char *expr) {
  (void)file; (void)line; (void)fn; (void)expr;
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}
