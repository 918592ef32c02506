// The built-in test PKI in its own thread, so its CPU time is measured apart from the devices'.
// Messages in: { idevids: [serialNumber, ...] } -> { idevids: [{ cert, chain, key }] };
// { stop: true } -> { stopped, requests }.
import { parentPort, workerData } from "node:worker_threads";
import { pemOrDer, p256Scalar } from "../lib/files";
import { TestPki } from "../testpki/index";
import { ownTid } from "./threads";

const pki = await TestPki.start({ ...(workerData ?? {}) });
const der = (pemText: string) => pemOrDer(Buffer.from(pemText), "CERTIFICATE")[0];
parentPort!.postMessage({
  ready: true,
  tid: ownTid(),
  url: pki.url,
  ref: pki.ref,
  secret: pki.secret,
  root: pki.root.der,
});

parentPort!.on("message", async (m: { idevids?: string[]; stop?: boolean }) => {
  if (m.idevids) {
    const out = [];
    for (const serial of m.idevids) {
      const d = await pki.createIdevid(serial);
      out.push({ cert: der(d.certPem), chain: [der(d.chain[0])], key: p256Scalar(d.keyPem) });
    }
    parentPort!.postMessage({ idevids: out });
  }
  if (m.stop) {
    const requests = pki.requests.length;
    await pki.close();
    parentPort!.postMessage({ stopped: true, requests });
    parentPort!.close();
  }
});
