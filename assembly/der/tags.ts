// Tag octets (X.690 8.1.2): class in bits 8-7, constructed bit 6, number in bits 5-1 (< 31: the
// high-tag-number form is rejected). Context tags are built as CONTEXT | n (IMPLICIT, primitive)
// or CONTEXT | CONSTRUCTED | n (EXPLICIT, or IMPLICIT of a constructed type).
export const TAG_BOOLEAN: i32 = 0x01;
export const TAG_INTEGER: i32 = 0x02;
export const TAG_BIT_STRING: i32 = 0x03;
export const TAG_OCTET_STRING: i32 = 0x04;
export const TAG_NULL: i32 = 0x05;
export const TAG_OID: i32 = 0x06;
export const TAG_UTF8_STRING: i32 = 0x0c;
export const TAG_PRINTABLE_STRING: i32 = 0x13;
export const TAG_IA5_STRING: i32 = 0x16;
export const TAG_UTC_TIME: i32 = 0x17;
export const TAG_GENERALIZED_TIME: i32 = 0x18;
export const TAG_SEQUENCE: i32 = 0x30;
export const TAG_SET: i32 = 0x31;

export const CONSTRUCTED: i32 = 0x20;
export const CONTEXT: i32 = 0x80;
