// Every export of the tinycmp module, in one place (imports: host.ts; both in docs/ABI.md).
// All arguments are i32/i64; byte strings are (pointer, length) pairs into linear memory,
// normally inside the I/O buffer. Results: >= 0 success (often a length), < 0 an error code
// from errors.ts.
import "./panic";

// ---- I/O buffer: where hosts place inputs and read outputs ----
export { io_ptr, io_reserve, io_size } from "./tx";

// ---- hashes and MACs (assembly/crypto: hash, hmac, pbm, pbkdf2) ----
import { E_ARG, E_ALG } from "./errors";
import { inMemory } from "./mem";
import { HASH_CTX_SIZE, hashFinal, hashInit, hashOnce, hashSize, hashUpdate } from "./crypto/hash";
import { hmacOnce } from "./crypto/hmac";
import { passwordBasedMac } from "./crypto/pbm";
import { pbkdf2Hmac } from "./crypto/pbkdf2";

// Context of the streaming hash_init / hash_update / hash_final.
const HASH_STREAM = memory.data(HASH_CTX_SIZE, 8);

export function hash(alg: i32, data: usize, len: i32, out: usize): i32 {
  if (!inMemory(data, len) || !inMemory(out, hashSize(alg))) return E_ARG;
  return hashOnce(alg, data, len, out);
}
export function hash_init(alg: i32): i32 {
  return hashInit(HASH_STREAM, alg);
}
export function hash_update(data: usize, len: i32): i32 {
  if (!inMemory(data, len)) return E_ARG;
  hashUpdate(HASH_STREAM, data, len);
  return 0;
}
export function hash_final(out: usize): i32 {
  if (!inMemory(out, hashSize(load<i32>(HASH_STREAM)))) return E_ARG;
  return hashFinal(HASH_STREAM, out);
}
export function hmac(alg: i32, key: usize, keyLen: i32, data: usize, len: i32, out: usize): i32 {
  if (hashSize(alg) == 0) return E_ALG;
  if (!inMemory(key, keyLen) || !inMemory(data, len) || !inMemory(out, hashSize(alg))) return E_ARG;
  return hmacOnce(alg, key, keyLen, data, len, out);
}
export function pbm(owf: i32, mac: i32, secret: usize, secretLen: i32, salt: usize, saltLen: i32,
  iterations: i32, maxIterations: i32, data: usize, len: i32, out: usize): i32 {
  if (hashSize(mac) == 0) return E_ALG;
  if (!inMemory(secret, secretLen) || !inMemory(salt, saltLen) || !inMemory(data, len)
    || !inMemory(out, hashSize(mac))) return E_ARG;
  return passwordBasedMac(owf, mac, secret, secretLen, salt, saltLen, iterations, maxIterations, data, len, out);
}
export function pbkdf2(prf: i32, pass: usize, passLen: i32, salt: usize, saltLen: i32,
  iterations: i32, maxIterations: i32, out: usize, outLen: i32): i32 {
  if (!inMemory(pass, passLen) || !inMemory(salt, saltLen) || !inMemory(out, outLen)) return E_ARG;
  return pbkdf2Hmac(prf, pass, passLen, salt, saltLen, iterations, maxIterations, out, outLen);
}

// ---- DER (assembly/der): checks of the reader and writer on whole inputs ----
import { derReencode, derTimeOf, derWalk } from "./der/tools";

// Walks one DER element: (tag, offset, value length, depth) as 4 i32 per element; count or error.
export function der_walk(input: usize, len: i32, out: usize, cap: i32): i32 {
  return derWalk(input, len, out, cap);
}

// Parses one DER element and writes it again with the writer; output length or error.
export function der_reencode(input: usize, len: i32, out: usize, cap: i32): i32 {
  return derReencode(input, len, out, cap);
}

// One UTCTime / GeneralizedTime element to i64 seconds since 1970 at out; 0 or error.
export function der_time(input: usize, len: i32, out: usize): i32 {
  return derTimeOf(input, len, out);
}

// ---- ECDSA: P-256 keys and signatures, verification on every curve (assembly/crypto: p256, ecdsa) ----
import { p256Keygen, p256Public, p256PubCompress, p256PubDecode, p256Sign } from "./crypto/p256";
import { ecdsaVerify } from "./crypto/ecdsa";

export function p256_keygen(priv: usize, pub: usize): i32 {
  if (!inMemory(priv, 32) || !inMemory(pub, 65)) return E_ARG;
  return p256Keygen(priv, pub);
}
export function p256_public(priv: usize, pub: usize): i32 {
  if (!inMemory(priv, 32) || !inMemory(pub, 65)) return E_ARG;
  return p256Public(priv, pub);
}
export function p256_sign(priv: usize, hashAlg: i32, msg: usize, msgLen: i32, sig: usize): i32 {
  if (!inMemory(priv, 32) || !inMemory(msg, msgLen) || !inMemory(sig, 72)) return E_ARG;
  return p256Sign(priv, hashAlg, msg, msgLen, sig);
}
export function p256_pub_decode(input: usize, len: i32, out: usize): i32 {
  if (!inMemory(input, len) || !inMemory(out, 65)) return E_ARG;
  return p256PubDecode(input, len, out);
}
export function p256_pub_compress(pub: usize, out: usize): i32 {
  if (!inMemory(pub, 65) || !inMemory(out, 33)) return E_ARG;
  return p256PubCompress(pub, out);
}
export function ecdsa_verify(curve: i32, hashAlg: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (!inMemory(pub, pubLen) || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return E_ARG;
  return ecdsaVerify(curve, hashAlg, pub, pubLen, msg, msgLen, sig, sigLen);
}

// ---- CMP transaction (assembly/cmp): the sans-IO step API (tx.ts, shared with lean.ts) ----
export {
  tx_reset, tx_set, tx_set_int, tx_start, tx_input, tx_poll, tx_suspend, tx_resume, tx_out, tx_out_len, tx_wait, tx_error, tx_detail,
  tx_detail_len, tx_status, tx_failinfo, tx_result, tx_result_len,
} from "./tx";
// ---- signature verification: RSA, ECDSA P-384 / P-521 (assembly/crypto: bignum, rsa, weierstrass) ----
import { rsaVerify } from "./crypto/rsa";
// RFC 8017 RSASSA-PKCS1-v1_5 (scheme 1) / RSASSA-PSS (scheme 2, saltLen -1 = any) verification.
export function rsa_verify(scheme: i32, hashAlg: i32, n: usize, nLen: i32, e: usize, eLen: i32,
  msg: usize, msgLen: i32, sig: usize, sigLen: i32, saltLen: i32, flags: i32): i32 {
  if (!inMemory(n, nLen) || !inMemory(e, eLen) || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return E_ARG;
  return rsaVerify(scheme, hashAlg, n, nLen, e, eLen, msg, msgLen, sig, sigLen, saltLen, flags);
}

// ---- SHA-3, EdDSA, ML-DSA (assembly/crypto: sha3, eddsa, mldsa) ----
import { sha3Once } from "./crypto/sha3";
import { eddsaVerify } from "./crypto/eddsa";
import { mldsaVerify } from "./crypto/mldsa";

// FIPS 202: kind 1 SHA3-256, 2 SHA3-512 (outLen 32 / 64), 3 SHAKE128, 4 SHAKE256 (any outLen).
export function sha3(kind: i32, data: usize, len: i32, out: usize, outLen: i32): i32 {
  if (kind < 1 || kind > 4) return E_ALG;
  if (kind <= 2 && outLen != (kind == 1 ? 32 : 64)) return E_ARG;
  if (!inMemory(data, len) || !inMemory(out, outLen)) return E_ARG;
  sha3Once(kind == 1 || kind == 4 ? 136 : kind == 2 ? 72 : 168, kind <= 2 ? 0x06 : 0x1f, data, len, out, outLen);
  return outLen;
}
// RFC 8032 pure Ed25519 (curve 1) / Ed448 (curve 2) verification: 0 or an error code.
export function eddsa_verify(curve: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (!inMemory(pub, pubLen) || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return E_ARG;
  return eddsaVerify(curve, pub, pubLen, msg, msgLen, sig, sigLen);
}
// FIPS 204 ML-DSA-44/65/87 (set 44, 65, 87) verification with context ctx: 0 or an error code.
export function mldsa_verify(set: i32, pub: usize, pubLen: i32, msg: usize, msgLen: i32, ctx: usize, ctxLen: i32,
  sig: usize, sigLen: i32): i32 {
  if (!inMemory(pub, pubLen) || !inMemory(msg, msgLen) || !inMemory(ctx, ctxLen) || !inMemory(sig, sigLen)) return E_ARG;
  return mldsaVerify(set, pub, pubLen, msg, msgLen, ctx, ctxLen, sig, sigLen);
}

// ---- pkix: certificates, signatures under AlgorithmIdentifiers, path validation (assembly/pkix) ----
import { CERT_RANGES, CERT_VIEW, certParse } from "./pkix/cert";
import { verifySignature } from "./pkix/signature";
import { setSigBudget, SIG_BUDGET, validatePath } from "./pkix/path";

const CERT_SUMMARY = memory.data(CERT_VIEW, 8);

// Parses a certificate; writes 112 bytes at out (docs/ABI.md): 0 or E_CERT_PARSE / E_ARG.
export function cert_parse(der: usize, len: i32, out: usize): i32 {
  if (!inMemory(out, 112)) return E_ARG;
  const rc = certParse(CERT_SUMMARY, der, len);
  if (rc < 0) return rc;
  for (let i = 0; i < 112; i += 4) {
    let w = load<u32>(CERT_SUMMARY + i);
    if (i < CERT_RANGES * 8 && (i & 4) == 0 && w != 0) w -= <u32>der; // range pointers as offsets
    store<u32>(out + i, w);
  }
  return 0;
}
export function cert_verify_path(target: usize, targetLen: i32, pool: usize, poolCount: i32,
  anchors: usize, anchorCount: i32, now: i64, flags: i32): i32 {
  setSigBudget(SIG_BUDGET);
  return validatePath(target, targetLen, pool, poolCount, anchors, anchorCount, now, flags);
}
export function sig_verify(alg: usize, algLen: i32, spki: usize, spkiLen: i32, data: usize, dataLen: i32,
  sig: usize, sigLen: i32, flags: i32): i32 {
  if (!inMemory(alg, algLen) || !inMemory(spki, spkiLen) || !inMemory(data, dataLen) || !inMemory(sig, sigLen)) {
    return E_ARG;
  }
  return verifySignature(alg, algLen, spki, spkiLen, data, dataLen, sig, sigLen, flags);
}

// ---- credential store on host flash slots (assembly/store; docs/STORE.md) ----
import { storeClear, storeCommit, storeGet, storeInfo, KEY, keyDone, storeLoadKey, storePendingNew, storeProvision, storePublic, storeSave, storeSign } from "./store/store";
import { KIND_STATE } from "./store/record";
import { txSet } from "./cmp/transaction";
import { ITEM_KEY, ITEM_NEWKEY } from "./cmp/config";

export function store_info(kind: i32): i32 { return storeInfo(kind); }
export function store_get(kind: i32, tag: i32, index: i32, out: usize, cap: i32): i32 {
  if (!inMemory(out, cap)) return E_ARG;
  return storeGet(kind, tag, index, out, cap);
}
export function store_provision(list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  return storeProvision(list, len);
}
export function store_save(kind: i32, list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  return storeSave(kind, list, len);
}
export function store_clear(kind: i32): i32 { return storeClear(kind); }
export function store_pending_new(): i32 { return storePendingNew(); }
export function store_commit(list: usize, len: i32): i32 {
  if (!inMemory(list, len)) return E_ARG;
  return storeCommit(list, len);
}
export function store_public(kind: i32, out: usize): i32 {
  if (!inMemory(out, 65)) return E_ARG;
  return storePublic(kind, out);
}
export function store_sign(kind: i32, hashAlg: i32, msg: usize, len: i32, sig: usize): i32 {
  if (!inMemory(msg, len) || !inMemory(sig, 72)) return E_ARG;
  return storeSign(kind, hashAlg, msg, len, sig);
}

// The store and the CMP transaction meet here, above both (docs/ARCHITECTURE.md): a stored key
// is given to the transaction without passing through the I/O buffer: kind 1 (IDevID) or 2
// (credential) as its KEY (signature protection of ir / kur / rr), kind 4 (the pending key) as
// its NEWKEY. 0, or an error of the store or of tx_set; the store's KEY is wiped before returning.
export function store_use(kind: i32): i32 {
  let r = storeLoadKey(kind, KEY);
  if (r == 0) r = txSet(kind == KIND_STATE ? ITEM_NEWKEY : ITEM_KEY, KEY, 32);
  return keyDone(r);
}
