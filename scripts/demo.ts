// `npm start` until the CMP transaction lands: the core makes a device key, signs and verifies
// with it, and computes a PBM, while node:crypto checks each result independently.
import crypto from "node:crypto";
import { Core } from "../host/node/core";

const core = new Core();
const x = core.exports;
const SHA256 = 2, P256 = 1;

const priv = core.reserve(32), pub = core.reserve(65), sig = core.reserve(72);
if (x.p256_keygen(priv, pub) !== 0) throw new Error("p256_keygen failed");
const pubKey = core.read(pub, 65);
console.log(`device key (P-256, made in the core): 04${Buffer.from(pubKey.subarray(1, 9)).toString("hex")}...`);

const msg = Buffer.from("tinycmp demo: a request to protect");
const m = core.put(msg);
const sigLen = x.p256_sign(priv, SHA256, m, msg.length, sig);
if (sigLen < 0) throw new Error(`p256_sign failed: ${sigLen}`);
const key = crypto.createPublicKey({
  key: { kty: "EC", crv: "P-256", x: Buffer.from(pubKey.subarray(1, 33)).toString("base64url"), y: Buffer.from(pubKey.subarray(33)).toString("base64url") },
  format: "jwk",
});
const ok = crypto.verify("sha256", msg, key, core.read(sig, sigLen));
console.log(`ECDSA signature (${sigLen} bytes DER): node:crypto says ${ok ? "valid" : "INVALID"}`);
console.log(`own verification: ${x.ecdsa_verify(P256, SHA256, pub, 65, m, msg.length, sig, sigLen) === 0 ? "valid" : "INVALID"}`);

const secret = Buffer.from("shared-secret"), salt = crypto.randomBytes(16);
const ps = core.put(secret), pl = core.put(salt), out = core.reserve(64);
const start = performance.now();
const macLen = x.pbm(SHA256, SHA256, ps, secret.length, pl, salt.length, 10000, 10000, m, msg.length, out);
const ms = performance.now() - start;
let k = crypto.createHash("sha256").update(secret).update(salt).digest();
for (let i = 1; i < 10000; i++) k = crypto.createHash("sha256").update(k).digest();
const same = Buffer.from(core.read(out, macLen)).equals(crypto.createHmac("sha256", k).update(msg).digest());
console.log(`PasswordBasedMac (SHA-256 x 10000, HMAC-SHA256) in ${ms.toFixed(1)} ms: ${same ? "equals" : "DIFFERS from"} node:crypto`);
if (!ok || !same) process.exit(1);
