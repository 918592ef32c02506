// Build variant, from the asconfig target (option `use`: TINYCMP_LEAN=0 for the full module,
// TINYCMP_LEAN=1 for build/tinycmp-lean.wasm; docs/PORTING.md). LEAN is a compile-time
// constant: the checks below refuse what the lean module leaves out (ops other than ir/kur,
// RSA, P-384, P-521, SHA-1, SHA-384/512, PBMAC1) and the compiler drops the unreachable code.
// @ts-ignore: defined by asc --use
@inline export const LEAN: bool = TINYCMP_LEAN != 0;
