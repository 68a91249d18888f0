// Bundles an app's src/server.ts with everything it imports into one dist/server.js.
// Workspace packages ship as TypeScript source, and pnpm's strict layout would not let
// dist/ resolve a package's own npm dependencies, so the bundle carries them all.
import { build } from "esbuild";

await build({
  entryPoints: ["src/server.ts"],
  outfile: "dist/server.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  // CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __mcphubRequire } from 'node:module'; const require = __mcphubRequire(import.meta.url);" },
});
