// The browser bundles made from the package's sources with esbuild: the dashboard's script (committed, so that
// `make run` needs no Node) and the example React page of the browser tests.
import { fileURLToPath } from "node:url";

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

// Resolve the package's own name to its sources, as a frontend resolves it to the installed package.
const alias = {
  "@databiz/jobs-client/react": root("src/react.ts"),
  "@databiz/jobs-client": root("src/index.ts"),
};

export const DASHBOARD_BUNDLE = root("../../databiz/dashboard/static/dashboard/dashboard.js");

/** esbuild's options for the dashboard's script: readable (not minified), one file, no source map. */
export const dashboard = {
  entryPoints: [root("../../databiz/dashboard/src/dashboard.ts")],
  outfile: DASHBOARD_BUNDLE,
  bundle: true,
  format: "iife",
  target: "es2020",
  alias,
  nodePaths: [root("node_modules")],
  legalComments: "none",
  banner: { js: "// Built by clients/js (npm run build) from databiz/dashboard/src/dashboard.ts: edit that, not this." },
  logLevel: "warning",
};

/** The example React page of the browser tests (databiz/dashboard/tests/test_client_browser.py). */
export const example = {
  entryPoints: [root("example/app.tsx")],
  outfile: root("example/dist/app.js"),
  bundle: true,
  format: "esm",
  target: "es2020",
  jsx: "automatic",
  alias,
  define: { "process.env.NODE_ENV": '"production"' },
  minify: true,
  logLevel: "warning",
};

/** The core alone, minified: what a frontend's bundle grows by (scripts/size.mjs). */
export const core = {
  entryPoints: [root("src/index.ts")],
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  write: false,
  logLevel: "warning",
};
