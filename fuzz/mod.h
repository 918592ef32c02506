/* The module under test, translated by wasm2c (release or lean build, linked one per harness
 * binary), with deterministic imports: random bytes from a seeded generator, a fixed clock, no
 * flash. A trap or panic of the module is a bug in the core: the harness aborts (a crash for
 * libFuzzer), as it does when linear memory grows. */
#ifndef FUZZ_MOD_H
#define FUZZ_MOD_H
#include "tinycmp.h"
#include "../host/c/tinycmp_abi.h" /* the ABI's names (generated from the core) */
#include "wasm-rt-impl.h"
#include <stdio.h>
#include <stdlib.h>

extern Z_tinycmp_instance_t mod;
extern uint64_t mod_now;      /* env.time */
void mod_open(void);
void mod_seed(uint32_t s);    /* env.random restarts from s */
void mod_trap(wasm_rt_trap_t t);
void mod_check(void);         /* memory still one page */

#define MEM (mod.w2c_memory.data)
#define X(name, ...) Z_tinycmpZ_##name(&mod, ##__VA_ARGS__)
/* Every export called after GUARD() in the same function unwinds here on a trap. */
#define GUARD() do { wasm_rt_trap_t t_ = wasm_rt_impl_try(); if (t_ != WASM_RT_TRAP_NONE) mod_trap(t_); } while (0)

/* Reads a whole file (NULL when absent); *len its size. */
uint8_t *read_file(const char *path, size_t *len);
/* Next DER element of a concatenation at *pos (tolerant header); its length, 0 at the end. */
size_t next_der(const uint8_t *b, size_t len, size_t *pos);

#endif
