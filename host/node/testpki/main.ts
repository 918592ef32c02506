// Standalone test PKI: tinycmp testpki [--port P] [--dir DIR] [--signer TYPE] [--ca TYPE]
//   [--ref REF] [--secret SECRET] [--poll N] [--rollover] [--idevid-pubkey FILE]
// TYPE: P-256, P-384, RSA-2048 (signer only), Ed25519, ML-DSA-44, ML-DSA-65, ML-DSA-87
// Prints the URL, MAC reference and secret; writes PEMs and DIR/testpki.json; stops on Ctrl-C/SIGTERM.
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { TestPki } from "./index.js";
import type { KeyType } from "./keys.js";

export async function testpkiMain(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "0" },
      dir: { type: "string" },
      signer: { type: "string", default: "P-256" },
      ca: { type: "string", default: "P-256" },
      ref: { type: "string" },
      secret: { type: "string" },
      poll: { type: "string", default: "0" },
      rollover: { type: "boolean", default: false },
      "idevid-pubkey": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });

  if (values.help) {
    console.log("usage: testpki [--port P] [--dir DIR] [--signer P-256|P-384|RSA-2048|Ed25519|ML-DSA-44|ML-DSA-65|ML-DSA-87]");
    console.log("         [--ca P-256|Ed25519|ML-DSA-44|ML-DSA-65|ML-DSA-87] [--ref REF] [--secret S] [--poll N] [--rollover]");
    console.log("         [--idevid-pubkey FILE: the IDevID certifies this public key (PEM or DER), e.g. one held in a TPM]");
    process.exit(0);
  }
  const PURE = ["Ed25519", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87"];
  if (![...["P-256", "P-384", "RSA-2048"], ...PURE].includes(values.signer!)) {
    console.error(`unknown signer key type ${values.signer}`);
    process.exit(2);
  }
  if (!["P-256", ...PURE].includes(values.ca!)) {
    console.error(`unknown issuing CA key type ${values.ca}`);
    process.exit(2);
  }

  let idevidKey: Uint8Array | undefined;
  if (values["idevid-pubkey"]) {
    try {
      const raw = readFileSync(values["idevid-pubkey"]);
      const k = raw.includes("-----BEGIN") ? createPublicKey(raw) : createPublicKey({ key: raw, format: "der", type: "spki" });
      idevidKey = new Uint8Array(k.export({ format: "der", type: "spki" }));
    } catch (e) {
      console.error(`--idevid-pubkey ${values["idevid-pubkey"]}: not a public key (${(e as Error).message})`);
      process.exit(2);
    }
  }

  const pki = await TestPki.start({
    port: Number(values.port),
    signerKeyType: values.signer as KeyType,
    caKeyType: values.ca as KeyType,
    ref: values.ref,
    secret: values.secret,
    pollCount: Number(values.poll),
    rootRollover: values.rollover,
  });
  const { dir, files } = await pki.writeFiles(values.dir, idevidKey);
  console.log(`tinycmp test PKI listening on ${pki.url}`);
  console.log(`  CMP paths: ${pki.url}/pkix/ and ${pki.url}/.well-known/cmp/<operation>`);
  console.log(`  MAC reference: ${pki.ref}`);
  console.log(`  MAC secret:    ${pki.secret}`);
  console.log(`  files:         ${dir}/testpki.json (root ${files.root}, IDevID ${files.idevid_cert})`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await pki.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
