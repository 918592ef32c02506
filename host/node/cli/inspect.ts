// `tinycmp inspect FILE [-secret ...] [-trusted ...] [-srvcert ...] [-attime T] [--json]`: prints what
// inspect() (host/node/lib/inspect.ts) finds in a PKIMessage, as text or JSON.
import { readFileSync } from "node:fs";
import { pemOrDer, readCerts, secretArg } from "../lib/files";
import { inspect, type Inspection } from "../lib/inspect";

export async function inspectMain(argv: string[]): Promise<number> {
  let file: string | undefined,
    secret: string | undefined,
    json = false,
    at: number | undefined;
  let srvCert: Uint8Array | undefined;
  const trusted: Uint8Array[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json" || a === "-json") json = true;
    else if (a === "-secret") secret = secretArg(argv[++i] ?? "");
    else if (a === "-trusted") trusted.push(...readCerts(...(argv[++i] ?? "").split(",")));
    else if (a === "-attime") {
      at = Number(argv[++i]);
      if (!Number.isInteger(at)) throw new Error("inspect: -attime takes seconds since 1970");
    } else if (a === "-srvcert") srvCert = readCerts(argv[++i] ?? "")[0];
    else if (!a.startsWith("-") && !file) file = a;
    else throw new Error(`inspect: unknown option ${a}`);
  }
  if (!file) throw new Error("inspect: no FILE given");
  const der = pemOrDer(readFileSync(file), "PKIMESSAGE")[0] ?? new Uint8Array(0);
  let r: Inspection;
  try {
    r = inspect(der, { secret, trusted, srvCert, at });
  } catch (e) {
    console.error(`tinycmp: inspect ${file}: ${(e as Error).message}`);
    return 1;
  }
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(`${file}: ${r.body}`);
    if (r.status) {
      const s = r.status;
      console.log(
        `  PKIStatus: ${s.status}${s.failInfo?.length ? `, failInfo: ${s.failInfo.join(", ")}` : ""}${s.statusString?.length ? `, statusString: ${s.statusString.map((x) => JSON.stringify(x)).join(" ")}` : ""}`,
      );
      if (s.errorCode !== undefined || s.errorDetails)
        console.log(
          `  errorCode: ${s.errorCode ?? "none"}${s.errorDetails ? `, errorDetails: ${s.errorDetails.map((x) => JSON.stringify(x)).join(" ")}` : ""}`,
        );
    }
    if (r.error) console.log(`  ${r.error}`);
    for (const [k, v] of Object.entries(r.header)) console.log(`  ${k}: ${v}`);
    console.log(
      `  protection: ${r.protection.alg ?? "none"}, verified: ${r.protection.verified ?? "not checked"}${r.protection.note ? ` (${r.protection.note})` : ""}`,
    );
    const when = r.trustedAt ? ` at ${r.trustedAt.time} (${r.trustedAt.source})` : "";
    console.log(`  extraCerts: ${r.extraCerts}, signer trusted${when}: ${r.trusted ?? "not checked"}`);
  }
  return 0;
}
