// Part of `npm run build`: optimizes the release and lean modules until they stop shrinking and
// keeps the smallest. asc's own "converge" setting re-optimizes until an iteration does not
// shrink, but then emits that last, larger module ("Last converge was suboptimal"); here every
// round starts from the smallest binary so far, and a round that does not shrink is dropped.
// The feature set stays MVP + mutable globals, as asconfig.json asks (no bulk-memory,
// sign-extension or non-trapping float-to-int). Plain JavaScript: it runs with node alone.
import binaryen from "binaryen";
import { readFileSync, writeFileSync } from "node:fs";

for (const file of process.argv.slice(2)) {
  const first = readFileSync(file);
  let best = first;
  for (let round = 0; round < 8; round++) {
    const m = binaryen.readBinary(best);
    m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals);
    binaryen.setOptimizeLevel(3);
    binaryen.setShrinkLevel(2);
    m.optimize();
    const ok = m.validate();
    const out = m.emitBinary();
    m.dispose();
    if (!ok) throw new Error(`${file}: binaryen produced an invalid module in round ${round + 1}`);
    if (out.length >= best.length) break;
    best = Buffer.from(out);
  }
  if (best !== first) writeFileSync(file, best);
  console.log(`${file}: ${first.length} -> ${best.length} bytes`);
}
