// Generates assembly/cmp/text.ts: the ASCII texts of tx_detail as one byte blob (a string
// literal in AssemblyScript is UTF-16 with a header: twice the bytes). Edit the table, then run
// `npm run gen-text`; test/cmp-text.test.ts checks that the generated file is current.
import { readFileSync, writeFileSync } from "node:fs";

export const TEXTS: Record<string, string> = {
  STATUS_NAMES: "accepted,grantedWithMods,rejection,waiting,revocationWarning,revocationNotification,keyUpdateWarning",
  STATUS: "status ",
  FAILINFO: ", failInfo ",
  PLUS: "+",
  STATUS_STRING: "statusString",
  COMMA: ", ",
  QUOTE_OPEN: ' "',
  QUOTE: '"',
  NO_SIGNER: "response is signed but has no extraCerts: signer unknown",
  SIGNER_MALFORMED: "response signer certificate is malformed",
  SENDER_KID: "response senderKID does not match the signer's subjectKeyIdentifier",
  BAD_SIGNATURE: "response signature does not verify: error ",
  SIGNER_KEY_USAGE: "response signer may not sign (keyUsage)",
  SIGNER_UNTRUSTED: "response signer is not trusted: error ",
  SIGNER_NOT_AUTHORIZED: "response signer is neither the issuing CA nor an RA or CA (id-kp-cmcRA, id-kp-cmcCA)",
  BUILD_FAILED: "cannot build the request: error ",
  KEY_WITHOUT_CERT: "KEY given without a valid CERT",
  SIGNER_KEY: "KEY_HANDLE: no signer algorithm for CERT's key, or KEY set too: error ",
  SIGNER_FAILED: "the host signer (env.sign) failed",
  SIGNER_INVALID: "host signer's signature does not verify",
  NO_CREDENTIALS: "neither KEY/CERT nor SECRET configured",
  OLDCERT_MALFORMED: "OLDCERT is malformed",
  NO_ENTROPY: "no entropy for transactionID",
  NEW_KEY_FAILED: "cannot set up the new key: error ",
  TOO_MANY_POLLS: "more than the allowed polls",
  NO_ROOM: "no room for this response beside the results kept",
  BODY_NAMES: "ir,ip,cr,cp,p10cr,popdecc,popdecr,kur,kup,krr,krp,rr,rp,ccr,ccp,ckuann,cann,rann,crlann,pkiconf,nested,genm,genp,error,certConf,pollReq,pollRep",
  BODY: "body ",
  RESPONSE: "response ",
  NOT_PKIMESSAGE: "response is not a PKIMessage: DER error ",
  PVNO: "response pvno ",
  PVNO_END: " is not 2 or 3",
  TID_MISMATCH: "transactionID does not match the request's",
  NONCE_MISMATCH: "recipNonce does not match the request's senderNonce",
  SENDER_NONCE_BAD: "senderNonce missing or too long",
  UNEXPECTED: "unexpected ",
  IN_ANSWER: " in answer to the request",
  MALFORMED: "malformed or unexpected ",
  COLON_ERROR: ": error ",
  UNPROTECTED: "response is not protected",
  MAC_FOR_SIGNED: "response is MAC-protected but the request was signed",
  BAD_MAC: "response MAC does not verify: error ",
  ERROR_MESSAGE: "error message received: ",
  ERROR_CODE: ", errorCode ",
  ERROR_DETAILS: "errorDetails",
  CERT_REJECTED_KEY: "issued certificate rejected: its public key is not the requested one",
  RP_REJECTED: "rp rejected: ",
  WAITING_WITH_CERT: "status waiting with a certificate",
  REJECTED: " rejected: ",
  NO_CERT: "accepts the request but holds no certificate",
  CERT_MALFORMED: "certificate is malformed",
  WRONG_KEY: "issued certificate's public key is not the requested one",
  CERT_UNTRUSTED: "issued certificate does not validate to a trust anchor (certConf rejected it): error ",
  MAC_ITERATIONS: "response MAC uses ",
  MAC_ITERATIONS_LIMIT: " iterations, more than the limit of ",
  MAC_ITERATIONS_MIN: " iterations, fewer than the least accepted, ",
  MAC_SHORT_KEY: "response MAC key is shorter than the HMAC output (RFC 2104 3)",
  MAC_SALT: "response MAC salt has ",
  MAC_SALT_BOUNDS: " octets, not 16 to 128 (SP 800-132 5.1)",
  MAC_ALG: "response MAC algorithm not supported: ",
  TOO_LARGE: "response too large: ",
  TOO_LARGE_LIMIT: " bytes, this module accepts at most ",
  CERT_HASH_ALG: "no certHash for the certificate's signature algorithm ",
  UNMATCHED_ERROR: "error message not answering this request (the server could not read it?): ",
  CRL_STATUS_VALUE: "genm crlStatusList needs its CRLStatusListValue",
  REQIN_BODY: "REQIN is not a PKIMessage whose body is the request of this operation (ir, cr, kur: one CertReqMsg, certReqId 0)",
  TOO_MANY_EXTRA: "response has more extraCerts than the 16 this module keeps",
  SIG_ALG_UNSUPPORTED: "response signature not supported: algorithm ",
  SIG_KEY: ", signer key ",
};

// Names of the PKIFailureInfo bits (RFC 9810 5.2.3), apart from TEXT in a function: the lean
// module prints bit numbers instead and carries none of them.
export const FAIL_NAMES =
  "badAlg,badMessageCheck,badRequest,badTime,badCertId,badDataFormat,wrongAuthority,incorrectData,missingTimeStamp,badPOP,certRevoked,certConfirmed,wrongIntegrity,badRecipientNonce,timeNotAvailable,unacceptedPolicy,unacceptedExtension,addInfoNotAvailable,badSenderNonce,badCertTemplate,signerNotTrusted,transactionIdInUse,unsupportedVersion,notAuthorized,systemUnavail,systemFailure,duplicateCertReq";

// Texts said only in code the lean module leaves out (polling, rp, genm, the host signer): kept
// apart in textFull(), which the lean module never compiles, so it carries none of their bytes.
export const FULL_ONLY = new Set([
  "SIGNER_KEY",
  "SIGNER_FAILED",
  "SIGNER_INVALID",
  "CRL_STATUS_VALUE",
  "RP_REJECTED",
  "TOO_MANY_POLLS",
  "WAITING_WITH_CERT",
  "REQIN_BODY",
]);
const FULL = 1 << 30;

export function generate(): string {
  const bytes: number[] = [];
  const full: number[] = [];
  const consts: string[] = [];
  for (const [name, text] of Object.entries(TEXTS)) {
    if (text.length > 4095 || /[^\x20-\x7e]/.test(text)) throw new Error(`text ${name}: printable ASCII, at most 4095`);
    const into = FULL_ONLY.has(name) ? full : bytes;
    consts.push(`export const T_${name}: i32 = 0x${((FULL_ONLY.has(name) ? FULL : 0) | (into.length << 12) | text.length).toString(16)};`);
    for (const c of text) into.push(c.charCodeAt(0));
  }
  const rows = (b: number[], indent: string) => {
    const out: string[] = [];
    for (let i = 0; i < b.length; i += 24) out.push(indent + b.slice(i, i + 24).join(", ") + ",");
    return out.join("\n");
  };
  const fail = [...FAIL_NAMES].map((c) => c.charCodeAt(0));
  return `// Generated by scripts/gen-text.ts (npm run gen-text): do not edit. The texts of tx_detail as
// ASCII bytes; T_* = offset << 12 | length, with bit 30 for a text of textFull() (full module only;
// assembly/cmp/detail.ts say()).
export const TEXT = memory.data<u8>([
${rows(bytes, "  ")}
]);
${consts.join("\n")}

// The texts of the full module's own code (FULL_ONLY in scripts/gen-text.ts).
export function textFull(): usize {
  return memory.data<u8>([
${rows(full, "    ")}
  ]);
}

// PKIFailureInfo bit names, comma-separated (FAIL_NAMES_LEN bytes).
export function failNames(): usize {
  return memory.data<u8>([
${rows(fail, "    ")}
  ]);
}
export const FAIL_NAMES_LEN: i32 = ${fail.length};
`;
}

const OUT = new URL("../assembly/cmp/text.ts", import.meta.url);
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  writeFileSync(OUT, generate());
}
export function current(): boolean {
  return readFileSync(OUT, "utf8") === generate();
}
