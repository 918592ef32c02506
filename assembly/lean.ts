// Entry of the lean module (asconfig target `lean`, build/tinycmp-lean.wasm): the I/O buffer and
// the CMP transaction API of abi.ts, nothing else; compiled with TINYCMP_LEAN=1 (features.ts):
// ir/kur with certConf and error messages, P-256, SHA-256, PBM. docs/PORTING.md.
import "./panic";
export {
  abi_version,
  io_ptr,
  io_size,
  io_reserve,
  tx_reset,
  tx_set,
  tx_set_int,
  tx_start,
  tx_input,
  tx_poll,
  tx_suspend,
  tx_resume,
  tx_out,
  tx_out_len,
  tx_wait,
  tx_error,
  tx_detail,
  tx_detail_len,
  tx_status,
  tx_failinfo,
  tx_result,
  tx_result_len,
} from "./tx";
// The credential store (docs/STORE.md) for boards that keep keys in the core: what an ir/kur
// needs (read the record, make and use the pending key, commit the issued certificate).
export { store_info, store_get, store_pending_new, store_use, store_commit } from "./abi";
