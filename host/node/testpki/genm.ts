// General messages (RFC 9810 5.3.19, RFC 9483 4.3): genm -> genp for CA certificates, root CA
// key update, certificate request template and CRL update. Unknown infoTypes are echoed
// without a value (RFC 9810 5.3.19: "the ... may respond with an empty InfoTypeAndValue").
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate, CertificateList, Name } from "@peculiar/asn1-x509";
import { ECParameters } from "@peculiar/asn1-ecc";
import {
  AttributeTypeAndValue,
  CMPCertificates,
  Controls,
  CRLStatusListValue,
  CRLsValue,
  CertReqTemplateContent,
  CertTemplate,
  InfoTypeAndValue,
  InfoTypeAndValues,
  PKIFailureInfo,
  PKIFreeText,
  RootCaKeyUpdateContent,
} from "./asn1.js";
import { fail } from "./failure.js";
import { Hierarchy } from "./hierarchy.js";
import * as oids from "./oids.js";
import { u8 } from "./protection.js";
import * as x509 from "./x509.js";

const id_regCtrl_algId = "1.3.6.1.5.5.7.5.1.11"; // RFC 9483 4.3.3
const id_it_certProfile = "1.3.6.1.5.5.7.4.21";
/** The certificate profiles offered: the one this test PKI issues (any certProfile gets it). */
export const CERT_PROFILES = ["tinycmp-device"];
const id_ecPublicKey = "1.2.840.10045.2.1";
const secp256r1 = "1.2.840.10045.3.1.7";

const cert = (der: ArrayBuffer | Uint8Array) => AsnConvert.parse(der, Certificate);

export async function answerGenm(h: Hierarchy, genm: InfoTypeAndValues): Promise<InfoTypeAndValues> {
  const out = new InfoTypeAndValues();
  for (const itav of genm) out.push(await answer(h, itav));
  return out;
}

async function answer(h: Hierarchy, itav: InfoTypeAndValue): Promise<InfoTypeAndValue> {
  switch (itav.infoType) {
    case oids.id_it_caCerts:
      // RFC 9483 4.3.1: the current CA certificates, here the issuing CA and its root
      return new InfoTypeAndValue({
        infoType: oids.id_it_caCerts,
        infoValue: AsnConvert.serialize(new CMPCertificates([cert(h.issuingCa.cred.der), cert(h.root.cred.der)])),
      });
    case oids.id_it_rootCaCert: {
      // RFC 9483 4.3.2: answered with id-it-rootCaKeyUpdate; no value if there is no update
      const r = new InfoTypeAndValue({ infoType: oids.id_it_rootCaKeyUpdate });
      const old = itav.infoValue ? u8(itav.infoValue) : undefined;
      const isCurrent = !old || Buffer.from(old).equals(Buffer.from(h.root.cred.der));
      if (h.rollover && isCurrent) {
        r.infoValue = AsnConvert.serialize(
          new RootCaKeyUpdateContent({
            newWithNew: cert(h.rollover.newWithNew.rawData),
            newWithOld: cert(h.rollover.newWithOld.rawData),
            oldWithNew: cert(h.rollover.oldWithNew.rawData),
          }),
        );
      }
      return r;
    }
    case oids.id_it_certReqTemplate: {
      // RFC 9483 4.3.3: a template with the fixed part of the subject and the key type wanted
      const subject = AsnConvert.parse(new x509.Name("O=tinycmp test PKI").toArrayBuffer(), Name);
      const template = new CertTemplate({ subject });
      const algId = new AlgorithmIdentifier({
        algorithm: id_ecPublicKey,
        parameters: AsnConvert.serialize(new ECParameters({ namedCurve: secp256r1 })),
      });
      return new InfoTypeAndValue({
        infoType: oids.id_it_certReqTemplate,
        infoValue: AsnConvert.serialize(
          new CertReqTemplateContent({
            certTemplate: template,
            keySpec: new Controls([new AttributeTypeAndValue({ type: id_regCtrl_algId, value: AsnConvert.serialize(algId) })]),
          }),
        ),
      });
    }
    case oids.id_it_crlStatusList: {
      // RFC 9483 4.3.4: the current CRL unless the requester's (thisUpdate) is as new
      let list: CRLStatusListValue;
      try {
        list = AsnConvert.parse(itav.infoValue ?? new ArrayBuffer(0), CRLStatusListValue);
      } catch {
        return fail(PKIFailureInfo.badDataFormat, "CRLStatusListValue cannot be parsed");
      }
      const crl = await h.issuingCa.currentCrl();
      const have = list[0]?.thisUpdate;
      const haveTime = have ? (have.utcTime ?? have.generalTime) : undefined;
      const r = new InfoTypeAndValue({ infoType: oids.id_it_crls });
      if (!haveTime || haveTime.getTime() < crl.thisUpdate.getTime())
        r.infoValue = AsnConvert.serialize(new CRLsValue([AsnConvert.parse(crl.rawData, CertificateList)]));
      return r;
    }
    case id_it_certProfile:
      // RFC 9810 5.3.19.16: the certificate profiles this PKI offers (CertProfileValue)
      return new InfoTypeAndValue({ infoType: id_it_certProfile, infoValue: AsnConvert.serialize(new PKIFreeText(CERT_PROFILES)) });
    default:
      return new InfoTypeAndValue({ infoType: itav.infoType });
  }
}
