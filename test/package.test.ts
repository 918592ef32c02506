// The npm package as a user gets it: `npm pack`, installed from the tarball into an empty folder
// (the registry supplies the dependencies), then `npx tinycmp` against the openssl mock server,
// `tinycmp testpki` outside the checkout, the library and its type declarations.
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeCreds, type Creds, withMockServer } from "./helpers/openssl-cmp";

const root = fileURLToPath(new URL("..", import.meta.url));
let app: string;
let files: string[];
let creds: Creds;

beforeAll(() => {
  creds = makeCreds();
  execFileSync(process.execPath, [join(root, "scripts/dist.mjs")], { cwd: root, stdio: "pipe", timeout: 240_000 });
  const pack = mkdtempSync(join(tmpdir(), "tinycmp-pack-"));
  const info = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", pack], { cwd: root, encoding: "utf8", timeout: 120_000 }),
  );
  files = info[0].files.map((f: { path: string }) => f.path);
  app = mkdtempSync(join(tmpdir(), "tinycmp-app-"));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", join(pack, info[0].filename)], { cwd: app, stdio: "pipe", timeout: 240_000 });
}, 600_000);

const npx = (args: string[], timeout = 60_000) => spawnSync("npx", ["--no-install", "tinycmp", ...args], { cwd: app, encoding: "utf8", timeout });

describe("the npm package", () => {
  it("ships the compiled CLI and library, their types and both modules, and no sources or tests", () => {
    for (const f of [
      "bin/tinycmp.mjs",
      "dist/node/cli/cli.js",
      "dist/node/lib/index.js",
      "dist/node/testpki/index.js",
      "dist/types/lib/index.d.ts",
      "dist/types/testpki/index.d.ts",
      "build/tinycmp.wasm",
      "build/tinycmp-lean.wasm",
      "package.json",
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^(test|assembly|host|scripts|boards)\/|\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(app, "node_modules/tinycmp/package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies)).not.toContain("tsx");
    expect(existsSync(join(app, "node_modules/tsx"))).toBe(false);
    expect(existsSync(join(app, "node_modules/esbuild"))).toBe(false);
  });

  it("npx tinycmp ir against openssl cmp, from a folder that is not the checkout", async () => {
    const dir = join(app, "out");
    mkdirSync(dir, { recursive: true });
    await withMockServer(creds, [], async (s) => {
      const r = npx([
        "-cmd",
        "ir",
        "-server",
        `127.0.0.1:${s.port}`,
        "-path",
        "pkix/",
        "-ref",
        "ref",
        "-secret",
        "pass:secret",
        "-newkey",
        creds.file("rsp.key"),
        "-subject",
        "/CN=tinycmp device",
        "-certout",
        "out/dev.pem",
        "-msg_timeout",
        "20",
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ir done: /);
    });
    expect(new X509Certificate(readFileSync(join(dir, "dev.pem"))).raw.equals(new X509Certificate(readFileSync(creds.file("rsp.crt"))).raw)).toBe(true);
    const bad = npx(["-cmd", "ir", "-bogus"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("tinycmp: unknown option -bogus (tinycmp -help lists them)");
  });

  it("tinycmp testpki runs outside the checkout", async () => {
    // its own process group: npx does not pass SIGTERM on to the node process it starts
    const proc = spawn("npx", ["--no-install", "tinycmp", "testpki", "--port", "0", "--dir", join(app, "pki")], {
      cwd: app,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let text = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`testpki did not start: ${text}`)), 60_000);
        const on = (d: Buffer) => {
          text += d;
          if (/listening on/.test(text)) {
            clearTimeout(timer);
            resolve();
          }
        };
        proc.stdout!.on("data", on);
        proc.stderr!.on("data", on);
        proc.once("exit", () => {
          clearTimeout(timer);
          reject(new Error(`testpki exited: ${text}`));
        });
      });
      expect(existsSync(join(app, "pki/testpki.json"))).toBe(true);
    } finally {
      await new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once("exit", () => r());
        process.kill(-proc.pid!, "SIGTERM");
      });
    }
  });

  it("the library: Device, Agent and Core from 'tinycmp', the test PKI from 'tinycmp/testpki'", () => {
    writeFileSync(
      join(app, "lib.mjs"),
      `
      import { Device, Agent, Core, LEAN_WASM, pemOrDer } from "tinycmp";
      import { TestPki } from "tinycmp/testpki";
      const pki = await TestPki.start({ port: 0 });
      const device = Device.http({ url: pki.url + "/pkix/" });
      const trusted = [pemOrDer(Buffer.from(pki.root.certPem), "CERTIFICATE")[0]];
      const out = await device.general({ ref: pki.ref, secret: pki.secret, trusted, infoTypes: [] });
      device.close();
      await pki.close();
      console.log(JSON.stringify({ agent: typeof Agent, io: new Core().ioSize, lean: new Core({ wasm: LEAN_WASM }).ioSize, status: out.status, genp: out.genp.length }));
    `,
    );
    const r = spawnSync("node", ["lib.mjs"], { cwd: app, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ agent: "function", status: expect.any(Number), genp: expect.any(Number) });
    expect(JSON.parse(r.stdout).io).toBeGreaterThan(0);
    expect(JSON.parse(r.stdout).lean).toBeGreaterThan(0);
  }, 90_000);

  it("its type declarations resolve under Node's ESM rules (tsc --moduleResolution nodenext)", () => {
    writeFileSync(
      join(app, "types.ts"),
      `
      import { Device, Agent, Core, type Outcome } from "tinycmp";
      import { TestPki } from "tinycmp/testpki";
      const n: number = new Core().ioSize;
      // @ts-expect-error: ioSize is a number (an unresolved type would be any and this line fine)
      const s: string = new Core().ioSize;
      let o: Outcome | undefined;
      export { Device, Agent, TestPki, n, s, o };
    `,
    );
    const r = spawnSync(
      process.execPath,
      [
        join(root, "node_modules/typescript/bin/tsc"),
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--typeRoots",
        join(root, "node_modules/@types"),
        "--types",
        "node",
        "types.ts",
      ],
      { cwd: app, encoding: "utf8", timeout: 180_000 },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 200_000);
});
