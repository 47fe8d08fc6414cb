// npm run build: the package (dist/, by tsc), the dashboard's script and the example page (by esbuild).
import { execFileSync } from "node:child_process";
import { build } from "esbuild";

import { dashboard, example } from "./bundles.mjs";

execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
await build(dashboard);
await build(example);
console.log("built dist/, databiz/dashboard/static/dashboard/dashboard.js and example/dist/app.js");
