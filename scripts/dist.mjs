// `npm run dist`: the npm package's JavaScript. esbuild bundles the library (lib/index), the test
// PKI (testpki/index) and the CLI (cli/cli) into dist/node/ as ES modules sharing chunks (in
// dist/node/lib/), with the runtime dependencies left as imports; tsc writes the type declarations
// to dist/types/, whose relative imports get the ".js" Node's ESM resolution needs. dist/node/ has
// the folders of host/node/, so every bundled file sits three levels below the package root as
// host/node/lib/core.ts does, and finds build/tinycmp.wasm the same way in both.
// Plain JavaScript: it runs with node alone.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: ["host/node/lib/index.ts", "host/node/testpki/index.ts", "host/node/cli/cli.ts"],
  outbase: "host/node",
  outdir: "dist/node",
  chunkNames: "lib/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  tsconfig: "tsconfig.json",
  logLevel: "warning",
});

execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.dist.json"], { cwd: root, stdio: "inherit" });

const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
for (const file of walk(join(dist, "types")).filter((f) => f.endsWith(".d.ts"))) {
  const text = readFileSync(file, "utf8").replace(/(from\s+|import\()(["'])(\.\.?\/[^"']*?)\2/g, (m, pre, q, spec) => {
    if (/\.js$/.test(spec)) return m;
    const base = resolve(dirname(file), spec);
    if (existsSync(`${base}.d.ts`)) return `${pre}${q}${spec}.js${q}`;
    if (existsSync(join(base, "index.d.ts"))) return `${pre}${q}${spec}/index.js${q}`;
    throw new Error(`${file}: cannot resolve ${spec}`);
  });
  writeFileSync(file, text);
}
console.log(`dist: ${walk(dist).length} files`);
