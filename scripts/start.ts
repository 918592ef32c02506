// `npm start`: the main job. A simulated device enrolls against the built-in test PKI (or, with
// --server, a real CA): MAC and IDevID bootstrap (ir), CA certificates (genm), certificate update
// with a new key (kur), revocation of the old certificate (rr). Exit status 0 when every step worked.
import { X509Certificate } from "node:crypto";
import { parseArgs } from "node:util";
import { CmpError, Device, type Outcome } from "../host/node/lib/device";
import { nameDer, p256Scalar, pemOrDer, readCerts, readP256Key } from "../host/node/lib/files";
import { TestPki } from "../host/node/testpki/index";
import { oidContents } from "../host/node/cli/cli";

const { values: o } = parseArgs({
  options: {
    server: { type: "string" },
    ref: { type: "string" },
    secret: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    trusted: { type: "string" },
    subject: { type: "string", default: "/CN=tinycmp demo device" },
  },
});

const step = (n: number, text: string) => console.log(`\n${n}. ${text}`);
const show = (label: string, der: Uint8Array) => {
  const c = new X509Certificate(der);
  console.log(`   ${label}: ${c.subject.replace(/\n/g, ", ")}`);
  console.log(`     serial ${c.serialNumber}, valid ${c.validFrom} .. ${c.validTo}, issuer ${c.issuer.replace(/\n/g, ", ")}`);
};
const elapsed = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

const t0 = performance.now();
let pki: TestPki | undefined;
let url: string, ref: string, secret: string, trusted: Uint8Array[];
let idevKey: Uint8Array | undefined,
  idevChain: Uint8Array[] = [];

if (o.server) {
  url = o.server.includes("://") ? o.server : `http://${o.server}`;
  ref = o.ref ?? "";
  secret = o.secret ?? "";
  trusted = o.trusted ? readCerts(...o.trusted.split(",")) : [];
  if (o.cert && o.key) {
    idevChain = readCerts(o.cert);
    idevKey = readP256Key(o.key);
  }
  console.log(`tinycmp against ${url}`);
} else {
  pki = await TestPki.start({ responseProtection: "signature" });
  const dev = await pki.createIdevid("SN-0001");
  url = `${pki.url}/pkix/`;
  ref = pki.ref;
  secret = pki.secret;
  trusted = [pemOrDer(Buffer.from(pki.root.certPem), "CERTIFICATE")[0]];
  idevChain = pemOrDer(Buffer.from(dev.certPem + dev.chain.join("")), "CERTIFICATE");
  idevKey = p256Scalar(dev.keyPem);
  console.log(`tinycmp against the built-in test PKI at ${pki.url}`);
  show("simulated device IDevID", idevChain[0]);
}

const device = Device.http({ url, msgTimeoutMs: 10_000, totalTimeoutMs: 60_000 });
const subject = nameDer(o.subject!);
let code = 0;
try {
  let t = performance.now();
  if (secret) {
    step(1, "bootstrap with a shared secret (ir, PasswordBasedMac)");
    const mac = await device.enroll({ op: "ir", ref, secret, subject, trusted });
    show("issued", mac.cert!);
    console.log(`   new P-256 key made in the core, ${elapsed(t)}`);
  }

  let current: Outcome | undefined;
  let currentKey: Uint8Array | undefined;
  if (idevKey) {
    t = performance.now();
    step(2, "bootstrap with the IDevID (ir, signature protection)");
    current = await device.enroll({ op: "ir", key: idevKey, cert: idevChain[0], extraCerts: idevChain.slice(1), subject, trusted });
    currentKey = current.newKey;
    show("issued", current.cert!);
    current.chain.slice(1).forEach((c, i) => show(`chain[${i + 1}]`, c)); // [0] is the certificate itself
    console.log(`   ${elapsed(t)}`);
  }

  t = performance.now();
  step(3, "fetch the CA certificates (genm caCerts)");
  const protection = current && currentKey ? { key: currentKey, cert: current.cert!, extraCerts: current.chain } : { ref, secret };
  const genp = await device.general({ ...protection, trusted, infoTypes: [oidContents("1.3.6.1.5.5.7.4.17")] });
  console.log(`   genp with ${genp.genp.length} InfoTypeAndValue, ${elapsed(t)}`);

  if (current && currentKey) {
    t = performance.now();
    step(4, "update the certificate with a new key (kur)");
    const updated = await device.enroll({ op: "kur", key: currentKey, cert: current.cert!, extraCerts: current.chain, oldCert: current.cert!, trusted });
    show("updated", updated.cert!);
    console.log(`   ${elapsed(t)}`);

    t = performance.now();
    step(5, "revoke the old certificate (rr)");
    // RFC 9483 4.2: rr is signed with the key of the certificate being revoked
    await device.revoke({ key: currentKey, cert: current.cert!, extraCerts: current.chain, oldCert: current.cert!, revReason: 4, trusted });
    console.log(`   revoked serial ${new X509Certificate(current.cert!).serialNumber} (superseded), ${elapsed(t)}`);
    if (pki) console.log(`   the test PKI's CRL now lists ${pki.revoked().length} certificate(s)`);
  }
  console.log(`\ndone in ${elapsed(t0)}`);
} catch (e) {
  code = 1;
  console.error(e instanceof CmpError ? `\nfailed: ${e.detail} (error ${e.code})` : `\nfailed: ${(e as Error).message}`);
} finally {
  device.close();
  await pki?.close();
}
process.exit(code);
