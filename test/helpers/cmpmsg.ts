// Test-side CMP requests built from the test PKI's schema classes, for what `openssl cmp` 3.0
// cannot send (genm for caCerts/rootCaCert/certReqTemplate/crlStatusList, PBMAC1, nonce faults).
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, GeneralName, Name } from "@peculiar/asn1-x509";
import { randomBytes } from "node:crypto";
import { PBKDF2Params, PBMAC1Params, PBMParameter, PKIBody, PKIHeader, PKIMessage, InfoTypeAndValue, InfoTypeAndValues } from "../../host/node/testpki/asn1.js";
import * as oids from "../../host/node/testpki/oids.js";
import { computeMac, protectedPart } from "../../host/node/testpki/protection.js";

const ab = (b: Uint8Array) => new Uint8Array(b).buffer as ArrayBuffer;

export function pbmAlgorithm(): AlgorithmIdentifier {
  const p = new PBMParameter({
    salt: ab(randomBytes(16)),
    owf: new AlgorithmIdentifier({ algorithm: oids.id_sha256 }),
    iterationCount: 500,
    mac: new AlgorithmIdentifier({ algorithm: oids.id_hmacWithSHA256 }),
  });
  return new AlgorithmIdentifier({ algorithm: oids.id_PasswordBasedMac, parameters: AsnConvert.serialize(p) });
}

export function pbmac1Algorithm(): AlgorithmIdentifier {
  const kdf = new PBKDF2Params({
    salt: ab(randomBytes(16)),
    iterationCount: 1000,
    keyLength: 32,
    prf: new AlgorithmIdentifier({ algorithm: oids.id_hmacWithSHA256, parameters: null }),
  });
  const p = new PBMAC1Params({
    keyDerivationFunc: new AlgorithmIdentifier({ algorithm: oids.id_PBKDF2, parameters: AsnConvert.serialize(kdf) }),
    messageAuthScheme: new AlgorithmIdentifier({ algorithm: oids.id_hmacWithSHA256, parameters: null }),
  });
  return new AlgorithmIdentifier({ algorithm: oids.id_PBMAC1, parameters: AsnConvert.serialize(p) });
}

export interface MacRequest {
  ref: string;
  secret: string;
  body: PKIBody;
  alg?: AlgorithmIdentifier;
  transactionID?: Uint8Array;
  recipNonce?: Uint8Array;
}

/** A MAC-protected request (RFC 9483 3.1 header, RFC 9810 5.1.3.1 protection). */
export function macRequest(r: MacRequest): Uint8Array {
  const header = new PKIHeader({
    pvno: 2,
    sender: new GeneralName({ directoryName: new Name() }),
    recipient: new GeneralName({ directoryName: new Name() }),
    messageTime: new Date(Math.floor(Date.now() / 1000) * 1000),
    protectionAlg: r.alg ?? pbmAlgorithm(),
    senderKID: ab(Buffer.from(r.ref)),
    transactionID: ab(r.transactionID ?? randomBytes(16)),
    senderNonce: ab(randomBytes(16)),
    recipNonce: r.recipNonce ? ab(r.recipNonce) : undefined,
  });
  const h = new Uint8Array(AsnConvert.serialize(header));
  const b = new Uint8Array(AsnConvert.serialize(r.body));
  const protection = computeMac(header.protectionAlg!, Buffer.from(r.secret), protectedPart(h, b));
  return new Uint8Array(AsnConvert.serialize(new PKIMessage({ header, body: r.body, protection: ab(protection) })));
}

export function genm(...itavs: InfoTypeAndValue[]): PKIBody {
  return new PKIBody({ genm: new InfoTypeAndValues(itavs) });
}

export async function post(url: string, der: Uint8Array, path = "/pkix/"): Promise<PKIMessage> {
  const res = await fetch(url + path, { method: "POST", headers: { "Content-Type": "application/pkixcmp" }, body: Buffer.from(der) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return AsnConvert.parse(new Uint8Array(await res.arrayBuffer()), PKIMessage);
}
