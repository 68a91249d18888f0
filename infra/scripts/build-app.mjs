// Bundles an app's src/server.ts with everything it imports into one dist/server.js.
// Workspace packages ship as TypeScript source, and pnpm's strict layout would not let
// dist/ resolve a package's own npm dependencies, so the bundle carries them all, except
// packages that load files next to their own modules (PGlite's wasm and extensions),
// which the app lists as its own dependencies instead.
import { cp, readFile } from "node:fs/promises";
import { build } from "esbuild";

const EXTERNAL = ["@electric-sql/pglite", "@electric-sql/pglite-pgvector"];

// MCPHUB_BUILD_OUT: another directory than dist/ (a test building beside a running cluster).
const outDir = process.env.MCPHUB_BUILD_OUT ?? "dist";
const pkg = JSON.parse(await readFile("package.json", "utf8"));

await build({
  entryPoints: ["src/server.ts"],
  outfile: `${outDir}/server.js`,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  external: EXTERNAL,
  // Comments with non-ASCII characters would make V8 keep the whole 5 MB source as a
  // two-byte string (~11 MB of heap); stripped whitespace and comments keep it one-byte.
  minifyWhitespace: true,
  legalComments: "none",
  // CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __mcphubRequire } from 'node:module'; const require = __mcphubRequire(import.meta.url);" },
});

// The local embedding model runs in a worker thread from its own file (use.worker.mjs), which
// the bundle cannot inline: it travels beside the bundle, and finds the model's packages in
// the app's own dependencies (the hub lists them, as it lists PGlite).
const worker = pkg.name === "@mcphub/router" ? "src/use.worker.mjs" : "../router/src/use.worker.mjs";
if (pkg.name === "@mcphub/router" || pkg.dependencies?.["@mcphub/router"]) await cp(worker, `${outDir}/use.worker.mjs`);

// The database migrations travel with the bundle (packages/db finds them beside it).
if (pkg.dependencies?.["@mcphub/db"]) {
  await cp("../../packages/db/migrations", `${outDir}/migrations`, { recursive: true });
}
