/* The host ABI (docs/ABI.md, imports of module "env") implemented once for every runtime
 * adapter: each adapter forwards its import calls here with the module's linear memory. */
#ifndef TINYCMP_HOST_H
#define TINYCMP_HOST_H
#include <stdint.h>
#include <stddef.h>

/* random(ptr, len): getrandom(2); 0, or non-zero when there is no entropy (never weak bytes). */
int32_t host_random(uint8_t *mem, uint32_t size, uint32_t ptr, int32_t len);
/* time(): seconds since 1970 (CLOCK_REALTIME). */
int64_t host_time(void);
/* log(level, ptr, len): one line on stderr when level <= host_verbosity. */
void host_log(uint8_t *mem, uint32_t size, int32_t level, uint32_t ptr, int32_t len);
/* panic(line, col): records the message; the adapter then aborts the call (trap). */
void host_panic(int32_t line, int32_t col);
extern char host_panic_msg[96];
extern int host_verbosity;

/* Flash: one file per slot in host_flash_dir, host_flash_slots slots of host_flash_slot_size
 * bytes, erased state 0xFF; every write is fsync'ed. 0 (read/write/erase), or negative. */
int32_t host_flash_read(uint8_t *mem, uint32_t size, int32_t slot, int32_t off, uint32_t ptr, int32_t len);
int32_t host_flash_write(uint8_t *mem, uint32_t size, int32_t slot, int32_t off, uint32_t ptr, int32_t len);
int32_t host_flash_erase(int32_t slot);
/* env.sign (full module, docs/ABI.md "Host signer"): hands the input and the output room, checked
 * to lie in linear memory, to host_signer; without one (NULL) it answers -1, so a transaction
 * configured with a key handle fails with E_SIGNER. The signature's length, or -1. */
typedef int32_t (*host_signer_fn)(int32_t handle, int32_t alg, const uint8_t *in, int32_t len, uint8_t *out, int32_t cap);
extern host_signer_fn host_signer;
int32_t host_sign(uint8_t *mem, uint32_t size, int32_t handle, int32_t alg, uint32_t ptr, int32_t len, uint32_t out, int32_t cap);
extern const char *host_flash_dir;
extern int32_t host_flash_slots;
extern int32_t host_flash_slot_size;

/* True when [ptr, ptr+len) lies inside memory of the given size. */
int host_in_memory(uint32_t size, uint32_t ptr, int32_t len);

#endif
