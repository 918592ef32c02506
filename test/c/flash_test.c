/* Unit test of the C host's file-backed flash slots (host/c/host.c): erased state, NOR writes,
 * bounds, persistence. Built and run by test/chost.test.ts; prints "ok" or the failed check. */
#include "host.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CHECK(c) do { if (!(c)) { printf("failed: %s (line %d)\n", #c, __LINE__); return 1; } } while (0)

int main(int argc, char **argv) {
  static uint8_t mem[65536];
  static char dir[400], path[450];
  struct stat st;
  if (argc < 2) return 2;
  snprintf(dir, sizeof dir, "%s/store", argv[1]);                           /* created by the host */
  host_flash_dir = dir;
  host_flash_slots = 4;
  host_flash_slot_size = 4096;
  CHECK(host_flash_read(mem, sizeof mem, 0, 0, 0, 16) == 0);
  for (int i = 0; i < 16; i++) CHECK(mem[i] == 0xFF);                     /* new slot: erased */
  memcpy(mem + 100, "\x0F\xF0\xAA", 3);
  CHECK(host_flash_write(mem, sizeof mem, 1, 4093, 100, 3) == 0);            /* last bytes */
  memcpy(mem + 100, "\xF3\x3F\xFF", 3);
  CHECK(host_flash_write(mem, sizeof mem, 1, 4093, 100, 3) == 0);            /* second write ANDs */
  CHECK(host_flash_read(mem, sizeof mem, 1, 4093, 200, 3) == 0);
  CHECK(mem[200] == 0x03 && mem[201] == 0x30 && mem[202] == 0xAA);
  CHECK(host_flash_write(mem, sizeof mem, 1, 4094, 100, 3) != 0);            /* past the slot */
  CHECK(host_flash_read(mem, sizeof mem, 4, 0, 0, 1) != 0);                  /* no slot 4 */
  CHECK(host_flash_read(mem, sizeof mem, -1, 0, 0, 1) != 0);
  CHECK(host_flash_read(mem, sizeof mem, 0, 0, 65530, 16) != 0);             /* outside memory */
  CHECK(host_flash_read(mem, sizeof mem, 0, -1, 0, 1) != 0);
  CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);                 /* it holds keys */
  snprintf(path, sizeof path, "%s/slot1.bin", dir);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK(chmod(path, 0644) == 0 && host_flash_read(mem, sizeof mem, 1, 0, 0, 1) == 0);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);                /* tightened */
  CHECK(host_flash_erase(1) == 0);
  CHECK(host_flash_read(mem, sizeof mem, 1, 4093, 200, 3) == 0);
  CHECK(mem[200] == 0xFF && mem[201] == 0xFF && mem[202] == 0xFF);
  CHECK(host_random(mem, sizeof mem, 0, 64) == 0);
  CHECK(host_random(mem, sizeof mem, 65500, 64) != 0);
  CHECK(host_time() > 1700000000);
  printf("ok\n");
  return 0;
}
