import Fastify from "fastify";
import { hostname } from "node:os";
import { parseEnv } from "@mcphub/config";
import { openDatabase } from "@mcphub/db";
import { closeOnSignals, createLogger, HubMetrics, metricsPlugin, tagReplica, serviceFastifyOptions } from "@mcphub/observability";
import authApp, { authServerOptions } from "./app.ts";
import { authEnvSchema, authPolicy, resolveJwtSecret } from "./config.ts";
import { createAuthRuntime } from "./runtime.ts";
import { auditBacklogGauge } from "./audit-backlog.ts";

/** The auth service as its own process: users, sign-in, API keys, the audit log. */
export async function runAuth(): Promise<void> {
  const env = parseEnv(authEnvSchema, process.env);
  const replica = env.REPLICA_ID ?? `auth@${hostname()}`;
  const logger = createLogger({ level: env.LOG_LEVEL, file: env.LOG_FILE, service: "auth" });
  const jwtSecret = resolveJwtSecret(env, (msg) => logger.warn(msg));
  const policy = authPolicy(env);
  const metrics = new HubMetrics();
  const db = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR });
  const runtime = createAuthRuntime({
    db: db.db,
    logger,
    replica,
    redisUrl: env.REDIS_URL,
    auditStream: env.AUDIT_STREAM,
    auditGroup: env.AUDIT_GROUP,
    limits: policy.limits,
    retentionDays: policy.retentionDays,
    adminPassword: env.ADMIN_PASSWORD,
    registry: metrics.registry,
  });

  if (runtime.redis) auditBacklogGauge(metrics.registry, runtime.redis, env.AUDIT_STREAM, env.AUDIT_GROUP);

  const app = Fastify(serviceFastifyOptions(logger, authServerOptions));
  tagReplica(app, replica);
  await app.register(metricsPlugin, { metrics, path: `${env.BASE_PATH}/metrics`, access: { token: env.METRICS_TOKEN } });
  await app.register(authApp, {
    ...runtime,
    logger,
    jwtSecret,
    tokenTtlSeconds: policy.tokenTtlSeconds,
    internalToken: env.INTERNAL_TOKEN,
    basePath: env.BASE_PATH,
    checks: () => runtime.checks(),
  });
  app.addHook("onClose", async () => {
    await runtime.stop();
    await db.close();
  });
  closeOnSignals(app, logger);
  // The first admin exists before the service reports healthy.
  await runtime.start();
  await app.listen({ host: env.HOST, port: env.PORT });
}
