import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const pkgDir = (name: string) => dirname(require.resolve(`${name}/package.json`));
export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export const EVERYTHING_JS = join(pkgDir("@modelcontextprotocol/server-everything"), "dist/index.js");
export const MEMORY_JS = join(pkgDir("@modelcontextprotocol/server-memory"), "dist/index.js");
export const FILESYSTEM_JS = join(pkgDir("@modelcontextprotocol/server-filesystem"), "dist/index.js");
export const PROBE_TS = fileURLToPath(new URL("../fixtures/probe-server.ts", import.meta.url));

/** Settings entries for the real servers from npm, spawned with this Node. */
export const upstream = {
  everything: (extra: Record<string, unknown> = {}) => ({ type: "stdio", command: process.execPath, args: [EVERYTHING_JS, "stdio"], ...extra }),
  memory: (file: string, extra: Record<string, unknown> = {}) => ({
    type: "stdio",
    command: process.execPath,
    args: [MEMORY_JS],
    env: { MEMORY_FILE_PATH: file },
    ...extra,
  }),
  filesystem: (dir: string, extra: Record<string, unknown> = {}) => ({ type: "stdio", command: process.execPath, args: [FILESYSTEM_JS, dir], ...extra }),
  /** Our test fixture (test/fixtures/probe-server.ts) for cancellation, slow calls and list changes. */
  probe: (args: string[] = [], extra: Record<string, unknown> = {}) => ({
    type: "stdio",
    command: process.execPath,
    args: ["--import", "tsx", PROBE_TS, ...args],
    ...extra,
  }),
};
