// The imports of TypeScript sources, read as text: for the tests that hold the tree to its layers
// (test/layers.test.ts: the core, test/layout.test.ts: host/node).
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

/** The module specifiers a source imports or re-exports: `import ... from`, `export ... from`,
 *  `import "x"` and `import("x")`, over several lines too; comments removed first. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\b[^;"']*?\bfrom\s*(["'])([^"']+)\1|\bimport\s*\(?\s*(["'])([^"']+)\3/g)) out.push(m[2] ?? m[4]);
  return out;
}

/** Every .ts file below `dir`, as a path relative to `dir` with "/" separators. */
export function tsFiles(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith(".ts") ? [join(d, e.name)] : []));
  return walk(dir).map((f) => relative(dir, f).split("\\").join("/"));
}
