// Protocol constants of the transaction: operations (tx_start), PKIBody types, protection kinds.
export const OP_IR: i32 = 1,
  OP_CR: i32 = 2,
  OP_KUR: i32 = 3,
  OP_P10CR: i32 = 4,
  OP_RR: i32 = 5,
  OP_GENM: i32 = 6;

// PKIBody CHOICE tags (RFC 9810 5.1.2), EXPLICIT: 0xa0 | type.
export const BODY_IR: i32 = 0,
  BODY_IP: i32 = 1,
  BODY_CR: i32 = 2,
  BODY_CP: i32 = 3,
  BODY_P10CR: i32 = 4,
  BODY_KUR: i32 = 7,
  BODY_KUP: i32 = 8,
  BODY_RR: i32 = 11,
  BODY_RP: i32 = 12,
  BODY_PKICONF: i32 = 19,
  BODY_GENM: i32 = 21,
  BODY_GENP: i32 = 22,
  BODY_ERROR: i32 = 23,
  BODY_CERT_CONF: i32 = 24,
  BODY_POLL_REQ: i32 = 25,
  BODY_POLL_REP: i32 = 26;

// Protection of our requests (and expected of responses).
export const PROT_NONE: i32 = 0,
  PROT_MAC: i32 = 1,
  PROT_SIG: i32 = 2;
