// Working memory shared by the signature verifiers that are never active at the same time
// (eddsa.ts, mldsa.ts): one region, each lays out its own buffers in it. Its size is the larger
// of their needs (eddsa.ts EDDSA_SCRATCH, mldsa.ts MLDSA_SCRATCH, both checked against it).
// Inside a function: a module without these verifiers (the lean one) reserves none of it.
export const VERIFY_SCRATCH_SIZE: i32 = 3648;
export function verifyScratch(): usize {
  return memory.data(VERIFY_SCRATCH_SIZE, 8);
}
