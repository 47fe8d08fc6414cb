// npm run size: the core's size as a frontend's bundle carries it, minified and gzipped; fails above the budget.
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

import { core } from "./bundles.mjs";

const BUDGET = 5 * 1024;
const { outputFiles } = await build(core);
const minified = outputFiles[0].contents;
const gzipped = gzipSync(minified, { level: 9 }).length;
console.log(`core bundle: ${minified.length} B minified, ${gzipped} B min+gzip (budget ${BUDGET} B)`);
if (gzipped > BUDGET) {
  console.error("FAIL: the core's bundle is over its budget");
  process.exit(1);
}
