import { delimiter, join, resolve } from "node:path";

/**
 * The environment stdio servers are spawned with, the same in the all-in-one hub and in a
 * supervisor of its own: the process's environment, with the project's `node_modules/.bin`
 * after the user's PATH (so the servers installed with the hub, the example settings'
 * `mcp-server-everything`, can be named by their bin) and DATA_DIR made absolute (settings
 * may say `${DATA_DIR}` for files a server keeps).
 */
export function stdioServerEnv(env: NodeJS.ProcessEnv, projectRoot: string, dataDir: string): NodeJS.ProcessEnv {
  const bin = join(projectRoot, "node_modules", ".bin");
  const path = (env.PATH ?? "").split(delimiter).filter(Boolean);
  return {
    ...env,
    DATA_DIR: resolve(dataDir),
    PATH: (path.includes(bin) ? path : [...path, bin]).join(delimiter),
  };
}
