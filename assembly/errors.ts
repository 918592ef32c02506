// Error codes returned by every export of the module (negative i32; 0 or a length means success).
// One place for all of them; docs/ABI.md lists them for hosts. Ranges: DER -1..-19,
// crypto -20..-49, pkix -50..-79, cmp -80..-119, store -120..-139.

// DER (assembly/der)
export const E_DER_TRUNCATED: i32 = -1; // element runs past the end of its input or parent
export const E_DER_INDEFINITE: i32 = -2; // indefinite length (0x80) is BER, not DER (X.690 10.1)
export const E_DER_LENGTH: i32 = -3; // non-minimal length encoding (X.690 10.1)
export const E_DER_LENGTH_HUGE: i32 = -4; // length does not fit in 31 bits
export const E_DER_DEPTH: i32 = -5; // nesting deeper than DER_MAX_DEPTH
export const E_DER_TAG: i32 = -6; // unexpected tag
export const E_DER_TAG_FORM: i32 = -7; // high tag number form or wrong primitive/constructed bit
export const E_DER_VALUE: i32 = -8; // value not valid for its type (BOOLEAN, INTEGER, NULL, BIT STRING ...)
export const E_DER_TIME: i32 = -9; // malformed UTCTime / GeneralizedTime
export const E_DER_TRAILING: i32 = -10; // bytes left after the outermost element (or unread in one left)
export const E_DER_BUFFER: i32 = -11; // writer: output buffer too small

// crypto (assembly/crypto)
export const E_ARG: i32 = -20; // argument out of range (length, size, unknown id)
export const E_ALG: i32 = -21; // unsupported algorithm
export const E_RANDOM: i32 = -22; // host has no entropy: the operation is aborted
export const E_ITERATIONS: i32 = -23; // iteration count above the caller's limit (or zero)
export const E_KEY: i32 = -24; // invalid private or public key (not on curve, out of range)
export const E_SIG_ENCODING: i32 = -25; // signature not a valid DER ECDSA-Sig-Value / wrong length
export const E_SIG_INVALID: i32 = -26; // signature does not verify
export const E_LEGACY: i32 = -27; // legacy algorithm (SHA-1 signatures) not enabled
export const E_SIGNER: i32 = -28; // the host signer (env.sign) failed: no token, wrong PIN, key not found
export const E_SIGNER_INVALID: i32 = -29; // the host signer returned a signature that does not verify with the key

// store (assembly/store)
export const E_STORE_EMPTY: i32 = -120; // no valid record of this kind (never written, or torn/corrupt)
export const E_STORE_FLASH: i32 = -121; // a host flash operation failed
export const E_STORE_VERIFY: i32 = -122; // the record read back after writing is not the one written
export const E_STORE_FULL: i32 = -123; // record larger than a slot
export const E_STORE_SECRET: i32 = -124; // private keys never leave the store (nor enter it here)
export const E_STORE_ITEM: i32 = -125; // item absent, or payload not a valid item list
export const E_STORE_READONLY: i32 = -126; // the IDevID is already provisioned
export const E_STORE_MISMATCH: i32 = -127; // certificate does not carry the key's public key
export const E_STORE_KEYREF: i32 = -128; // the record names a key held by the host: no key here to use (lean module, store_public)
// cmp (assembly/cmp): the transaction API and checks on responses
export const E_CMP_STATE: i32 = -80; // call out of order (no transaction, or not expecting this)
export const E_CMP_STORE: i32 = -81; // configuration or result store full
export const E_CMP_CONFIG: i32 = -82; // configuration missing, invalid or set twice
export const E_CMP_PARSE: i32 = -83; // response is not a well-formed PKIMessage of its type
export const E_CMP_PVNO: i32 = -84; // response pvno is not 2 or 3
export const E_CMP_TRANSACTION_ID: i32 = -85; // response transactionID differs from the request's
export const E_CMP_RECIP_NONCE: i32 = -86; // response recipNonce differs from the request's senderNonce
export const E_CMP_UNPROTECTED: i32 = -87; // response without protection (or with an unexpected kind)
export const E_CMP_PROTECTION: i32 = -88; // response protection does not verify
export const E_CMP_BODY: i32 = -89; // response body type not expected in this state
export const E_CMP_CERT_REQ_ID: i32 = -90; // response certReqId is not the request's (0)
export const E_CMP_REJECTED: i32 = -91; // the server rejected the request (PKIStatus rejection)
export const E_CMP_ERROR_MSG: i32 = -92; // the server answered with an error message
export const E_CMP_WRONG_KEY: i32 = -93; // issued certificate's public key is not the requested one
export const E_CMP_POLLS: i32 = -94; // more polls than allowed
export const E_CMP_NO_CERT: i32 = -95; // positive response without a certificate
export const E_CMP_SIGNER: i32 = -96; // response signer certificate missing, untrusted or not authorized
export const E_CMP_SENDER_KID: i32 = -97; // response senderKID does not match the signer's key identifier
export const E_CMP_STATUS: i32 = -98; // unexpected PKIStatus (e.g. waiting where not allowed)
export const E_CMP_TOO_LARGE: i32 = -99; // response larger than the module accepts (io_reserve)
// pkix (assembly/pkix)
export const E_CERT_PARSE: i32 = -50; // malformed certificate
export const E_CERT_SIGNATURE: i32 = -51; // a certificate signature does not verify
export const E_CERT_EXPIRED: i32 = -52; // a certificate of the path is expired at the given time
export const E_CERT_NOT_YET_VALID: i32 = -53; // ... or not yet valid
export const E_CERT_UNTRUSTED: i32 = -54; // no path to a trust anchor
export const E_CERT_NOT_CA: i32 = -55; // an issuer without basicConstraints cA, or keyUsage without keyCertSign
export const E_CERT_PATH_LEN: i32 = -56; // an issuer's pathLenConstraint is exceeded
export const E_CERT_KEY_USAGE: i32 = -57; // the end certificate may not be used so (e.g. no digitalSignature)
export const E_CERT_NAME: i32 = -58; // issuer/subject name chaining broken (key identifiers match, names differ)
export const E_CERT_UNSUPPORTED: i32 = -59; // unknown critical extension, or unsupported algorithm or key
export const E_CERT_POOL: i32 = -60; // too many certificates, path longer than PATH_MAX, search budget spent
