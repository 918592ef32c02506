// `tinycmp agent`: the long-lived agent over a file-backed store (README: configuration, systemd).
// Usage: tinycmp agent --store DIR [--config FILE] [--once] [--decommission]
//        [--provision KEY.pem CERT.pem [CHAIN.pem]]
// Exit status: 0 stopped (SIGTERM/SIGINT) or --once done, 1 failure worth a restart (transport,
// server unavailable, retries exhausted), 2 permanent failure (rejected, bad configuration).
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, CmpFailure, type AgentConfig } from "./agent.js";
import { Core } from "./core.js";
import { Flash } from "./flash.js";
import { Store } from "./store.js";

const pems = (file: string) =>
  (readFileSync(file, "utf8").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [])
    .map((p) => new Uint8Array(new X509Certificate(p).raw));

function usage(msg: string): never {
  console.error(`${msg}\nusage: tinycmp agent --store DIR [--config FILE] [--once] [--decommission] [--provision KEY.pem CERT.pem [CHAIN.pem]]`);
  process.exit(2);
}

export async function agentMain(argv: string[]): Promise<number> {
  const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const dir = arg("--store") ?? usage("--store DIR is required");
  const flash = new Flash({ dir });
  const p = argv.indexOf("--provision");
  if (p >= 0) {
    const [keyFile, certFile, chainFile] = argv.slice(p + 1).filter((a) => !a.startsWith("--"));
    if (!keyFile || !certFile) usage("--provision KEY.pem CERT.pem [CHAIN.pem]");
    const d = Buffer.from(createPrivateKey(readFileSync(keyFile)).export({ format: "jwk" }).d!, "base64url");
    new Store(new Core({ flash })).provision(d, pems(certFile)[0], chainFile ? pems(chainFile) : []);
    console.log(JSON.stringify({ time: new Date().toISOString(), level: "info", event: "idevid.provisioned" }));
    return 0;
  }
  const file = arg("--config");
  const raw = file ? JSON.parse(readFileSync(file, "utf8")) : {};
  const config: AgentConfig = { ...raw, url: raw.url ?? process.env.TINYCMP_URL, subject: raw.subject ?? "CN=tinycmp device" };
  if (!config.url) usage("no CMP server: \"url\" in the configuration file or TINYCMP_URL");
  if (typeof raw.trusted === "string" || Array.isArray(raw.trusted)) config.trusted = [raw.trusted].flat().flatMap(pems);
  const agent = new Agent(config, { flash });
  const stop = new AbortController();
  for (const s of ["SIGTERM", "SIGINT"] as const) process.on(s, () => stop.abort());
  try {
    if (argv.includes("--decommission")) {
      await agent.decommission();
      return 0;
    }
    if (argv.includes("--once")) {
      await agent.step();
      return 0;
    }
    const code = await agent.run(stop.signal);
    if (stop.signal.aborted) process.exit(code); // the sleep that SIGTERM cut short holds a timer
    return code;
  } catch (e) {
    return e instanceof CmpFailure ? 2 : 1;
  } finally {
    agent.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await agentMain(process.argv.slice(2));
