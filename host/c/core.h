/* The runtime adapter interface: one file per WebAssembly runtime implements these functions
 * over the same module (build/tinycmp.wasm); the rest of the C host is runtime independent.
 * Exports are called by number (enum core_fn); every argument and result is an i32 (docs/ABI.md), at most CORE_MAX_PARAMS arguments. */
#ifndef TINYCMP_CORE_H
#define TINYCMP_CORE_H
#include <stdint.h>
#include <stddef.h>

enum core_fn {
  CF_IO_PTR, CF_IO_SIZE, CF_TX_RESET, CF_TX_SET, CF_TX_SET_INT, CF_TX_START, CF_TX_INPUT, CF_TX_POLL,
  CF_TX_OUT, CF_TX_OUT_LEN, CF_TX_WAIT, CF_TX_ERROR, CF_TX_DETAIL, CF_TX_DETAIL_LEN, CF_TX_STATUS,
  CF_TX_FAILINFO, CF_TX_RESULT, CF_TX_RESULT_LEN, CF_ABI_VERSION,
  /* the credential store (docs/STORE.md), for -store; optional: the lean module lacks some, and a
   * runtime adapter loads a module without them (calling one then fails) */
  CF_STORE_INFO, CF_STORE_GET, CF_STORE_PROVISION, CF_STORE_CLEAR, CF_STORE_PENDING_REF, CF_STORE_COMMIT,
  CF_STORE_USE, CF_COUNT
};
#define CORE_FN_OPTIONAL(fn) ((fn) >= CF_STORE_INFO)
#define CORE_MAX_PARAMS 5

/* Export names and parameter counts, indexed by enum core_fn (host.c). */
extern const char *const core_fn_name[CF_COUNT];
extern const uint8_t core_fn_params[CF_COUNT];
/* tx_reset is the one export without a result. */
#define CORE_FN_VOID(fn) ((fn) == CF_TX_RESET)

/* Loads and instantiates the module (wasm: path of the .wasm file; ignored by wasm2c, which links
 * the translated module). 0, or -1 with a message in err. */
int core_open(const char *wasm, char *err, size_t errlen);
/* Calls an export; 0 with its result in *result, or -1 when the module trapped or panicked
 * (message in err). */
int core_call(enum core_fn fn, const uint32_t *args, uint32_t *result, char *err, size_t errlen);
/* The linear memory (base and size in bytes); valid until the next core_call. */
uint8_t *core_memory(uint32_t *size);
/* The runtime's name, for messages and footprint reports. */
extern const char core_runtime[];

#endif
