// The built-in test PKI in its own thread, so its CPU time is measured apart from the devices'.
// Messages in: { idevids: n } -> { idevids: [{ cert, chain, key }] }; { stop: true } -> { stopped, requests }.
import { parentPort, workerData } from "node:worker_threads";
import { pemOrDer, p256Scalar } from "../files";
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

parentPort!.on("message", async (m: { idevids?: number; prefix?: string; stop?: boolean }) => {
  if (m.idevids) {
    const out = [];
    for (let i = 0; i < m.idevids; i++) {
      const d = await pki.createIdevid(`${m.prefix ?? "FLEET"}-${i}`);
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
