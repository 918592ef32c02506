#!/usr/bin/env node
// The `tinycmp` command. Installed from the npm package it runs the compiled CLI (dist/, built
// by `npm run dist`); in a checkout (host/node/cli/cli.ts present) it runs the TypeScript sources
// through tsx, a devDependency, so that what runs is always what is checked out.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = new URL("../host/node/cli/cli.ts", import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
  ({ main } = await import(source.href));
} else {
  ({ main } = await import("../dist/node/cli/cli.js"));
}
process.exitCode = await main(process.argv.slice(2));
