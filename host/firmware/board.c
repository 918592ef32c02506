/* STM32F405 board layer: vector table and start-up, SysTick, USART1 with an interrupt-fed receive
 * ring, the RNG driver, and the credential slots (flash sectors on a board; semihosting files in
 * QEMU, whose flash is read-only). Registers from RM0090 (STM32F405/415 reference manual) and the
 * ARMv7-M architecture reference manual. No allocation. */
#include "fw.h"
#include <string.h>

#define REG(a) (*(volatile uint32_t *)(a))

/* ---- start-up ---- */
extern uint32_t __stack_bottom[], __stack_top[], __data_start[], __data_end[], __data_load[], __bss_start[], __bss_end[];
int main(void);
void reset_handler(void);
static void default_handler(void) { fw_fatal("unexpected exception"); }
static void hard_fault_handler(void) { fw_fatal("hard fault"); }
void systick_handler(void);
void usart1_handler(void);

#define STACK_PAINT 0xA5A5A5A5u

__attribute__((section(".isr_vector"), used))
static void (*const vectors[16 + 82])(void) = {
  [0] = (void (*)(void))__stack_top,
  [1] = reset_handler,
  [2] = default_handler,        /* NMI */
  [3] = hard_fault_handler,
  [4] = hard_fault_handler,     /* MemManage */
  [5] = hard_fault_handler,     /* BusFault (stack overflow below SRAM lands here) */
  [6] = hard_fault_handler,     /* UsageFault */
  [11] = default_handler,       /* SVCall */
  [14] = default_handler,       /* PendSV */
  [15] = systick_handler,
  [16 + 37] = usart1_handler,
};

void reset_handler(void) {
  memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
  memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
  /* paint the stack below the current frame, to find the high-water mark later */
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t *p = __stack_bottom; p < sp - 16; p++) *p = STACK_PAINT;
  main();
  for (;;) board_idle();
}

uint32_t board_stack_peak(void) {
  uint32_t *p = __stack_bottom;
  while (p < __stack_top && *p == STACK_PAINT) p++;
  return (uint32_t)((char *)__stack_top - (char *)p);
}

/* ---- clocks (a board: 8 MHz HSE -> PLL 168 MHz, 48 MHz for the RNG; QEMU needs none) ---- */
#define RCC 0x40023800u
#define FLASH_R 0x40023C00u

static void clock_init(void) {
#if !TINYCMP_QEMU
  REG(RCC + 0x00) |= 1u << 16;                            /* HSEON */
  for (uint32_t i = 0; !(REG(RCC + 0x00) & (1u << 17)); i++) if (i > 1000000) fw_fatal("no HSE");
  /* PLLM 8, PLLN 336, PLLP 2 (168 MHz), PLLQ 7 (48 MHz: RNG, USB), source HSE */
  REG(RCC + 0x04) = 8u | (336u << 6) | (0u << 16) | (1u << 22) | (7u << 24);
  REG(RCC + 0x00) |= 1u << 24;                            /* PLLON */
  for (uint32_t i = 0; !(REG(RCC + 0x00) & (1u << 25)); i++) if (i > 1000000) fw_fatal("no PLL lock");
  REG(FLASH_R + 0x00) = 5u | (1u << 8) | (1u << 9) | (1u << 10); /* 5 wait states, prefetch, caches */
  REG(RCC + 0x08) = (5u << 10) | (4u << 13) | 2u;        /* APB1 /4 (42 MHz), APB2 /2 (84 MHz), SW = PLL */
  for (uint32_t i = 0; ((REG(RCC + 0x08) >> 2) & 3u) != 2u; i++) if (i > 1000000) fw_fatal("PLL not selected");
  REG(RCC + 0x30) |= 1u << 0;                             /* GPIOA */
  REG(RCC + 0x34) |= 1u << 6;                             /* RNG */
  REG(RCC + 0x44) |= 1u << 4;                             /* USART1 */
  /* PA9 TX, PA10 RX: alternate function 7 */
  REG(0x40020000u + 0x00) = (REG(0x40020000u + 0x00) & ~(0xFu << 18)) | (0xAu << 18);
  REG(0x40020000u + 0x24) = (REG(0x40020000u + 0x24) & ~0xFF0u) | (0x77u << 4);
#endif
}

/* ---- SysTick: 1 ms interrupts at the 168 MHz processor clock ---- */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define TICK (FW_CPU_HZ / 1000u)
static volatile uint32_t ms;

void systick_handler(void) { ms++; }

uint32_t board_ms(void) { return ms; }

uint64_t board_cycles(void) {
  uint32_t a, v;
  do { /* a tick between the two reads is seen as a change of ms: read again */
    a = ms;
    v = REG(SYST_CVR);
  } while (a != ms);
  return (uint64_t)a * TICK + (TICK - 1u - v);
}

/* ---- USART1 at 115200 8N1; receive through a ring filled by the RXNE interrupt ---- */
#define USART1 0x40011000u
#define NVIC_ISER1 0xE000E104u
static volatile uint8_t ring[256];
static volatile uint32_t ring_head, ring_tail;

void usart1_handler(void) {
  while (REG(USART1 + 0x00) & (1u << 5)) {                /* RXNE */
    uint8_t c = (uint8_t)REG(USART1 + 0x04);
    if (ring_head - ring_tail < sizeof ring) ring[ring_head++ % sizeof ring] = c;
    /* a full ring drops the byte: the frame's CRC or length check then refuses the frame */
  }
}

static void uart_init(void) {
  REG(USART1 + 0x08) = 729u;                              /* 84 MHz / 115200 */
  REG(USART1 + 0x0C) = (1u << 13) | (1u << 5) | (1u << 3) | (1u << 2); /* UE, RXNEIE, TE, RE */
  REG(NVIC_ISER1) = 1u << (37 - 32);
}

void uart_write(const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    while (!(REG(USART1 + 0x00) & (1u << 7))) {}          /* TXE */
    REG(USART1 + 0x04) = p[i];
  }
}

int uart_read(uint32_t deadline_ms) {
  for (;;) {
    if (ring_head != ring_tail) return ring[ring_tail++ % sizeof ring];
    if ((int32_t)(ms - deadline_ms) >= 0) return -1;
    board_idle();
  }
}

void board_idle(void) { __asm__ volatile("wfi"); }

void board_reset(void) {
  REG(0xE000ED0Cu) = 0x05FA0004u;                         /* AIRCR: SYSRESETREQ */
  for (;;) {}
}

void board_init(void) {
  clock_init();
  REG(SYST_RVR) = TICK - 1u;
  REG(SYST_CVR) = 0;
  REG(SYST_CSR) = 7u;                                     /* processor clock, interrupt, enable */
  uart_init();
  __asm__ volatile("cpsie i");
}

/* ---- RNG (RM0090 24.3): discard the first word, compare each word with the previous one ---- */
#define RNG 0x50060800u
int rng_fill(uint8_t *out, uint32_t len) {
#if TINYCMP_QEMU
  (void)out; (void)len;
  return -1; /* QEMU does not emulate the RNG; main.c uses the bridge's seed instead */
#else
  static uint32_t last;
  static int primed;
  REG(RNG + 0x00) |= 1u << 2;                             /* RNGEN */
  while (len > 0) {
    uint32_t i = 0, sr;
    while (!((sr = REG(RNG + 0x04)) & 1u)) {              /* DRDY */
      if ((sr & 0x66u) || ++i > 100000) {                 /* CECS/SECS (or their interrupt flags), or stuck */
        REG(RNG + 0x04) = 0;
        memset(out, 0, len);
        return -1;
      }
    }
    uint32_t w = REG(RNG + 0x08);
    if (!primed) { last = w; primed = 1; continue; }
    if (w == last) { memset(out, 0, len); return -1; }    /* FIPS 140-2 continuous test */
    last = w;
    uint32_t n = len < 4 ? len : 4;
    memcpy(out, &w, n);
    out += n;
    len -= n;
  }
  return 0;
#endif
}

/* ---- credential slots ---- */
static int slot_range(int32_t slot, int32_t off, int32_t len) {
  return slot >= 0 && slot < SLOT_COUNT && off >= 0 && len >= 0 && (int64_t)off + len <= SLOT_SIZE;
}

#if TINYCMP_QEMU
/* ARM semihosting (bkpt 0xAB; QEMU -semihosting-config enable=on,target=native): slot N is the
 * file slot-N.bin of SLOT_SIZE bytes in the emulator's working directory (the layout of
 * host/node/lib/flash.ts), so that the factory image is written by the Node host and a reset or a
 * new QEMU process keeps it. A missing file reads as erased. */
static int semihost(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
enum { SYS_OPEN = 1, SYS_CLOSE = 2, SYS_WRITE = 5, SYS_READ = 6, SYS_SEEK = 10 };
enum { MODE_RB = 1, MODE_RPLUSB = 3, MODE_WB = 5 };

static int slot_open(int32_t slot, int mode) {
  char name[] = "slot-0.bin";
  name[5] = (char)('0' + slot);
  uint32_t a[3] = { (uint32_t)name, (uint32_t)mode, sizeof name - 1 };
  return semihost(SYS_OPEN, a);
}
static void slot_close(int h) { uint32_t a[1] = { (uint32_t)h }; semihost(SYS_CLOSE, a); }
static int slot_io(int h, int op, int32_t off, uint8_t *p, int32_t len) {
  uint32_t s[2] = { (uint32_t)h, (uint32_t)off };
  if (semihost(SYS_SEEK, s) != 0) return -1;
  uint32_t a[3] = { (uint32_t)h, (uint32_t)p, (uint32_t)len };
  return semihost(op, a) == 0 ? 0 : -1; /* both return the count NOT transferred */
}

int slot_read(int32_t slot, int32_t off, uint8_t *out, int32_t len) {
  if (!slot_range(slot, off, len)) return -1;
  int h = slot_open(slot, MODE_RB);
  if (h < 0) { memset(out, 0xFF, (size_t)len); return 0; }
  int r = slot_io(h, SYS_READ, off, out, len);
  slot_close(h);
  return r;
}

int slot_erase(int32_t slot) {
  if (!slot_range(slot, 0, 0)) return -1;
  uint8_t ff[128];
  memset(ff, 0xFF, sizeof ff);
  int h = slot_open(slot, MODE_WB), r = h < 0 ? -1 : 0;
  for (int32_t o = 0; r == 0 && o < SLOT_SIZE; o += (int32_t)sizeof ff) r = slot_io(h, SYS_WRITE, o, ff, sizeof ff);
  if (h >= 0) slot_close(h);
  return r;
}

int slot_write(int32_t slot, int32_t off, const uint8_t *in, int32_t len) {
  uint8_t old[128];
  if (!slot_range(slot, off, len)) return -1;
  for (int32_t o = 0; o < len; o += (int32_t)sizeof old) { /* NOR: only erased bytes are programmed */
    int32_t n = len - o < (int32_t)sizeof old ? len - o : (int32_t)sizeof old;
    if (slot_read(slot, off + o, old, n) != 0) return -1;
    for (int32_t i = 0; i < n; i++) if (old[i] != 0xFF) return -1;
  }
  int h = slot_open(slot, MODE_RPLUSB);
  if (h < 0) return -1;
  int r = slot_io(h, SYS_WRITE, off, (uint8_t *)in, len);
  slot_close(h);
  return r;
}
#else
/* Flash sectors 5..11 (128 KiB each, from 0x08020000; the linker script keeps code out of them),
 * one per slot, of which the store uses the first SLOT_SIZE bytes. Programming by byte (PSIZE x8,
 * any supply voltage); RM0090 3.6. */
#define SLOT_BASE(s) (0x08020000u + (uint32_t)(s) * 0x20000u)
#define FLASH_KEYR (FLASH_R + 0x04)
#define FLASH_SR (FLASH_R + 0x0C)
#define FLASH_CR (FLASH_R + 0x10)
#define SR_ERRORS 0xF2u /* OPERR, WRPERR, PGAERR, PGPERR, PGSERR */

static int flash_wait(void) {
  for (uint32_t i = 0; REG(FLASH_SR) & (1u << 16); i++) if (i > 50000000u) return -1; /* BSY */
  uint32_t sr = REG(FLASH_SR);
  REG(FLASH_SR) = sr & (SR_ERRORS | 1u);
  return (sr & SR_ERRORS) ? -1 : 0;
}
static void flash_unlock(void) {
  if (REG(FLASH_CR) & (1u << 31)) { REG(FLASH_KEYR) = 0x45670123u; REG(FLASH_KEYR) = 0xCDEF89ABu; }
}
static void flash_lock(void) { REG(FLASH_CR) |= 1u << 31; }

int slot_read(int32_t slot, int32_t off, uint8_t *out, int32_t len) {
  if (!slot_range(slot, off, len)) return -1;
  memcpy(out, (const void *)(SLOT_BASE(slot) + (uint32_t)off), (size_t)len);
  return 0;
}

int slot_erase(int32_t slot) {
  if (!slot_range(slot, 0, 0) || flash_wait() != 0) return -1;
  flash_unlock();
  REG(FLASH_CR) = (1u << 1) | ((uint32_t)(5 + slot) << 3); /* SER, SNB, PSIZE x8 */
  REG(FLASH_CR) |= 1u << 16;                              /* STRT */
  int r = flash_wait();
  REG(FLASH_CR) = 0;
  flash_lock();
  return r;
}

int slot_write(int32_t slot, int32_t off, const uint8_t *in, int32_t len) {
  if (!slot_range(slot, off, len)) return -1;
  volatile uint8_t *dst = (volatile uint8_t *)(SLOT_BASE(slot) + (uint32_t)off);
  for (int32_t i = 0; i < len; i++) if (dst[i] != 0xFF) return -1;
  if (flash_wait() != 0) return -1;
  flash_unlock();
  REG(FLASH_CR) = 1u << 0;                                /* PG, PSIZE x8 */
  int r = 0;
  for (int32_t i = 0; r == 0 && i < len; i++) {
    dst[i] = in[i];
    r = flash_wait();
  }
  REG(FLASH_CR) = 0;
  flash_lock();
  return r == 0 && memcmp((const void *)dst, in, (size_t)len) == 0 ? 0 : -1;
}
#endif
