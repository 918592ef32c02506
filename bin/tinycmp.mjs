#!/usr/bin/env node
// The `tinycmp` command: runs the TypeScript CLI (host/node/cli.ts) through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../host/node/cli.ts");
process.exitCode = await main(process.argv.slice(2));
