/* libFuzzer hooks: the structure-aware DER mutator (dertree.c) beside libFuzzer's own byte
 * mutations, and crossover that splices an element of one corpus input into another.
 * fuzz_skip: bytes before the DER element (a harness's selector octets), kept as they are
 * by the DER mutations. */
#include "dertree.h"
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t fuzz_skip;

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned seed) {
  if (seed % 8 < 5 && size > fuzz_skip && max > fuzz_skip) {
    if (fuzz_skip && seed % 8 == 0) data[seed % fuzz_skip] ^= (uint8_t)(1u << (seed / 8 % 8));
    size_t n = der_mutate(data + fuzz_skip, size - fuzz_skip, max - fuzz_skip, seed, NULL, 0, 0);
    if (n) return n + fuzz_skip;
  }
  return LLVMFuzzerMutate(data, size, max);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out,
                                 size_t max, unsigned seed) {
  if (s1 > max || s1 < fuzz_skip || s2 < fuzz_skip) return 0;
  memcpy(out, d1, s1);
  size_t n = der_mutate(out + fuzz_skip, s1 - fuzz_skip, max - fuzz_skip, seed, d2 + fuzz_skip, s2 - fuzz_skip, 1);
  if (n) return n + fuzz_skip;
  /* not DER: a plain splice of a prefix of one and a suffix of the other */
  size_t a = s1 ? seed % (s1 + 1) : 0, b = s2 ? (seed / 7) % (s2 + 1) : 0;
  if (a + (s2 - b) > max) return 0;
  memcpy(out + a, d2 + b, s2 - b);
  return a + (s2 - b);
}
