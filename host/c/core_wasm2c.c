/* Runtime adapter: the module translated to C by wabt's wasm2c (1.0.3x naming: Z_<module>Z_<name>)
 * and linked with wasm-rt-impl. Traps (and panic) unwind to core_call through wasm_rt_impl_try. */
#define _DEFAULT_SOURCE
#include "core.h"
#include "host.h"
#include "tinycmp.h"
#include "wasm-rt-impl.h"
#include <stdio.h>
#include <string.h>

const char core_runtime[] = "wasm2c";

struct Z_env_instance_t { int unused; };
static struct Z_env_instance_t env;
static Z_tinycmp_instance_t inst;
static int opened;

#define MEM (inst.w2c_memory.data)
#define SIZE (inst.w2c_memory.size)

u32 Z_envZ_random(struct Z_env_instance_t *e, u32 ptr, u32 len) { (void)e; return (u32)host_random(MEM, SIZE, ptr, (int32_t)len); }
u64 Z_envZ_time(struct Z_env_instance_t *e) { (void)e; return (u64)host_time(); }
void Z_envZ_log(struct Z_env_instance_t *e, u32 level, u32 ptr, u32 len) { (void)e; host_log(MEM, SIZE, (int32_t)level, ptr, (int32_t)len); }
void Z_envZ_panic(struct Z_env_instance_t *e, u32 line, u32 col) {
  (void)e;
  host_panic((int32_t)line, (int32_t)col);
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}
u32 Z_envZ_flash_read(struct Z_env_instance_t *e, u32 slot, u32 off, u32 ptr, u32 len) {
  (void)e; return (u32)host_flash_read(MEM, SIZE, (int32_t)slot, (int32_t)off, ptr, (int32_t)len);
}
u32 Z_envZ_flash_write(struct Z_env_instance_t *e, u32 slot, u32 off, u32 ptr, u32 len) {
  (void)e; return (u32)host_flash_write(MEM, SIZE, (int32_t)slot, (int32_t)off, ptr, (int32_t)len);
}
u32 Z_envZ_flash_erase(struct Z_env_instance_t *e, u32 slot) { (void)e; return (u32)host_flash_erase((int32_t)slot); }
u32 Z_envZ_sign(struct Z_env_instance_t *e, u32 h, u32 alg, u32 ptr, u32 len, u32 out, u32 cap) {
  (void)e; return (u32)host_sign(MEM, SIZE, (int32_t)h, (int32_t)alg, ptr, (int32_t)len, out, (int32_t)cap);
}

int core_open(const char *wasm, char *err, size_t errlen) {
  (void)wasm; (void)err; (void)errlen;
  if (opened) return 0;
  wasm_rt_init();
  Z_tinycmp_init_module();
  Z_tinycmp_instantiate(&inst, &env);
  opened = 1;
  return 0;
}

uint8_t *core_memory(uint32_t *size) {
  *size = SIZE;
  return MEM;
}

int core_call(enum core_fn fn, const uint32_t *a, uint32_t *r, char *err, size_t errlen) {
  host_panic_msg[0] = 0;
  wasm_rt_trap_t t = wasm_rt_impl_try();
  if (t != WASM_RT_TRAP_NONE) {
    snprintf(err, errlen, "%s", host_panic_msg[0] ? host_panic_msg : wasm_rt_strerror(t));
    return -1;
  }
  switch (fn) {
    case CF_IO_PTR: *r = Z_tinycmpZ_io_ptr(&inst); break;
    case CF_IO_SIZE: *r = Z_tinycmpZ_io_size(&inst); break;
    case CF_TX_RESET: Z_tinycmpZ_tx_reset(&inst); *r = 0; break;
    case CF_TX_SET: *r = Z_tinycmpZ_tx_set(&inst, a[0], a[1], a[2]); break;
    case CF_TX_SET_INT: *r = Z_tinycmpZ_tx_set_int(&inst, a[0], a[1]); break;
    case CF_TX_START: *r = Z_tinycmpZ_tx_start(&inst, a[0]); break;
    case CF_TX_INPUT: *r = Z_tinycmpZ_tx_input(&inst, a[0], a[1]); break;
    case CF_TX_POLL: *r = Z_tinycmpZ_tx_poll(&inst); break;
    case CF_TX_OUT: *r = Z_tinycmpZ_tx_out(&inst); break;
    case CF_TX_OUT_LEN: *r = Z_tinycmpZ_tx_out_len(&inst); break;
    case CF_TX_WAIT: *r = Z_tinycmpZ_tx_wait(&inst); break;
    case CF_TX_ERROR: *r = Z_tinycmpZ_tx_error(&inst); break;
    case CF_TX_DETAIL: *r = Z_tinycmpZ_tx_detail(&inst); break;
    case CF_TX_DETAIL_LEN: *r = Z_tinycmpZ_tx_detail_len(&inst); break;
    case CF_TX_STATUS: *r = Z_tinycmpZ_tx_status(&inst); break;
    case CF_TX_FAILINFO: *r = Z_tinycmpZ_tx_failinfo(&inst); break;
    case CF_TX_RESULT: *r = Z_tinycmpZ_tx_result(&inst, a[0], a[1]); break;
    case CF_TX_RESULT_LEN: *r = Z_tinycmpZ_tx_result_len(&inst, a[0], a[1]); break;
    case CF_ABI_VERSION: *r = Z_tinycmpZ_abi_version(&inst); break;
    case CF_STORE_INFO: *r = Z_tinycmpZ_store_info(&inst, a[0]); break;
    case CF_STORE_GET: *r = Z_tinycmpZ_store_get(&inst, a[0], a[1], a[2], a[3], a[4]); break;
    case CF_STORE_PROVISION: *r = Z_tinycmpZ_store_provision(&inst, a[0], a[1]); break;
    case CF_STORE_CLEAR: *r = Z_tinycmpZ_store_clear(&inst, a[0]); break;
    case CF_STORE_PENDING_REF: *r = Z_tinycmpZ_store_pending_ref(&inst, a[0], a[1]); break;
    case CF_STORE_COMMIT: *r = Z_tinycmpZ_store_commit(&inst, a[0], a[1]); break;
    case CF_STORE_USE: *r = Z_tinycmpZ_store_use(&inst, a[0]); break;
    default: snprintf(err, errlen, "unknown export"); return -1;
  }
  return 0;
}
