import { access, copyFile, mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, envSchema, parseEnv, stdioServerEnv } from "@mcphub/config";
import { closeOnSignals, createLogger, runMain } from "@mcphub/observability";
import { authPolicy, authPolicyEnv, resolveJwtSecret } from "@mcphub/auth";
import { routerSearchEnv } from "@mcphub/router";
import { buildHub } from "./app.ts";

// src/ and dist/ both sit two levels below the project root.
const root = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * HUB_TARGETS=all (the default) runs the all-in-one hub; one service's name runs that
 * service alone, so one build (and one image) serves every container of the split topology.
 */
const SERVICES: Record<string, () => Promise<Record<string, unknown>>> = {
  gateway: () => import("@mcphub/gateway/main"),
  supervisor: () => import("@mcphub/supervisor/main"),
  router: () => import("@mcphub/router/main"),
  auth: () => import("@mcphub/auth/main"),
};

/** The hub's environment: every process's, plus what the auth service and the router read the same way. */
const hubEnvSchema = envSchema.extend({ ...authPolicyEnv, ...routerSearchEnv });

async function main(): Promise<void> {
  const env = parseEnv(hubEnvSchema, process.env);
  const target = env.HUB_TARGETS.trim();
  if (target !== "all") {
    const load = SERVICES[target];
    if (!load) {
      throw new ConfigError("environment", [`HUB_TARGETS: "${target}" is not a service; use "all" (everything in one process) or one of ${Object.keys(SERVICES).join(", ")}`]);
    }
    const mod = await load();
    // A service's main module exports its run function (and may export its env schema beside it).
    const run = Object.values(mod).find((v): v is () => Promise<void> => typeof v === "function");
    return run!();
  }
  const logger = createLogger({ level: env.LOG_LEVEL, file: env.LOG_FILE, service: "hub" });

  if (!(await exists(env.MCPHUB_SETTING_PATH))) {
    await copyFile(`${root}mcp_settings.example.json`, env.MCPHUB_SETTING_PATH);
    logger.info({ path: env.MCPHUB_SETTING_PATH }, "created settings from mcp_settings.example.json");
  }
  const dataDir = resolve(env.DATA_DIR);
  await mkdir(dataDir, { recursive: true });
  const hubEnv = stdioServerEnv(process.env, root, dataDir);
  if (env.SKIP_AUTH) logger.warn("SKIP_AUTH=true: every endpoint is open, without credentials; use it only on a trusted machine");
  else if (env.NODE_ENV === "production" && (env.JWT_SECRET ?? "").length < 32) {
    throw new ConfigError("environment", ["JWT_SECRET: must be set to at least 32 characters when NODE_ENV=production"]);
  }
  const auth = env.SKIP_AUTH ? false : { jwtSecret: resolveJwtSecret(env, (msg) => logger.warn(msg)), adminPassword: env.ADMIN_PASSWORD, ...authPolicy(env) };
  const hub = await buildHub({ env, hubEnv, logger, database: { url: env.DATABASE_URL, dataDir }, auth });

  closeOnSignals(hub.app, logger);

  await hub.app.listen({ host: env.HOST, port: env.PORT });
  // Listening first: the endpoints answer (with servers "connecting") while upstreams start.
  await hub.start();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

runMain(main);
