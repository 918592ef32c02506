/* tinycmp firmware for the STM32F405: the board layer (board.c) under the host (main.c). */
#ifndef TINYCMP_FW_H
#define TINYCMP_FW_H
#include <setjmp.h>
#include <stdint.h>

/* Build flags (Makefile): TINYCMP_QEMU=1 is the image for QEMU's netduinoplus2, which has no RNG,
 * no RCC and read-only flash: randomness from a seed the bridge gives at boot (announced in the
 * banner), credential slots in files on the emulator's host through semihosting. TINYCMP_QEMU=0
 * is the image for a real board: STM32 RNG, flash sectors 5-11 as slots, PLL at 168 MHz. */
#ifndef TINYCMP_QEMU
#define TINYCMP_QEMU 0
#endif

#define FW_CPU_HZ 168000000u

/* Unwinds a trap of the translated core (wasm_rt_fw.c) to the host. */
extern jmp_buf fw_trap_jmp;
void fw_fatal(const char *why) __attribute__((noreturn));

void board_init(void);
/* SysTick at the CPU clock: cycles since boot (at 168 MHz; in QEMU with -icount shift=0 the
 * virtual clock advances 1 ns per instruction, so cycles * 1000 / 168 = instructions). */
uint64_t board_cycles(void);
uint32_t board_ms(void);
/* USART1 (PA9/PA10): bytes out (blocking), bytes in from an interrupt-fed ring; -1 at deadline. */
void uart_write(const uint8_t *p, uint32_t n);
int uart_read(uint32_t deadline_ms);
void board_idle(void);
void board_reset(void) __attribute__((noreturn));

/* The STM32 RNG (RM0090 24): 0, or -1 (clock or seed error, or the continuous test failed):
 * never weak bytes. Only in the TINYCMP_QEMU=0 image. */
int rng_fill(uint8_t *out, uint32_t len);

/* Credential slots (docs/STORE.md): SLOT_COUNT slots of SLOT_SIZE bytes, erased state 0xFF,
 * writes only to erased bytes. 0 or -1. */
#define SLOT_COUNT 7
#define SLOT_SIZE 4096
int slot_read(int32_t slot, int32_t off, uint8_t *out, int32_t len);
int slot_write(int32_t slot, int32_t off, const uint8_t *in, int32_t len);
int slot_erase(int32_t slot);

/* Stack high-water mark since boot (painted stack), in bytes. */
uint32_t board_stack_peak(void);

#endif
