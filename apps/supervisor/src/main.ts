import Fastify from "fastify";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { parseEnv, splitServiceEnvSchema, stdioServerEnv } from "@mcphub/config";
import { AuditProducer, logAuditSpool, RedisBus } from "@mcphub/bus";
import { Redis } from "ioredis";
import { auditSpoolGauge, closeOnSignals, createLogger, currentRequestId, HubMetrics, metricsPlugin, tagReplica, serviceFastifyOptions } from "@mcphub/observability";
import supervisorApp from "./app.ts";
import { internalRoutes } from "./internal.routes.ts";
import { openDatabase } from "@mcphub/db";
import { SettingsRepository } from "./settings.repository.ts";
import { SettingsService } from "./settings.service.ts";
import { CachingAuthenticator, RemoteAuthenticator } from "@mcphub/service-clients";
import { SupervisorService } from "./supervisor.service.ts";

// src/ (from source) and apps/hub/dist/ (the bundle) both sit two levels below the project root.
const projectRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The supervisor as its own process: upstream connections, catalog, settings, /internal API. */
export async function runSupervisor(): Promise<void> {
  const env = parseEnv(splitServiceEnvSchema, process.env);
  const replica = env.REPLICA_ID ?? `supervisor@${hostname()}`;
  const logger = createLogger({ level: env.LOG_LEVEL, file: env.LOG_FILE, service: "supervisor" });
  const metrics = new HubMetrics();
  const bus = new RedisBus({ url: env.REDIS_URL, name: replica, onError: (err, context) => logger.warn({ err, context }, "bus error") });
  const supervisor = new SupervisorService({
    initTimeoutMs: env.INIT_TIMEOUT,
    requestTimeoutMs: env.REQUEST_TIMEOUT,
    // The same PATH and DATA_DIR as the all-in-one hub gives its stdio servers.
    hubEnv: stdioServerEnv(process.env, projectRoot, env.DATA_DIR),
    logger,
    metrics,
    bus,
  });
  const settings = new SettingsService({ path: env.MCPHUB_SETTING_PATH, env: process.env, logger, bus, apply: (s) => supervisor.applySettings(s) });
  const db = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR });
  // One database with the auth service: a settings change's audit row is stored in its revision's
  // transaction (the stream would lose it if this process died before Redis had it).
  const repository = new SettingsRepository(db.db, true);

  const app = Fastify(serviceFastifyOptions(logger));
  tagReplica(app, replica);
  const remoteAuth = env.AUTH_URL && !env.SKIP_AUTH ? new RemoteAuthenticator({ url: env.AUTH_URL, token: env.INTERNAL_TOKEN }) : undefined;
  // Revocations published by the auth service drop cached credentials at once.
  const authenticator = remoteAuth && new CachingAuthenticator(remoteAuth, { bus });
  if (!authenticator) logger.warn("no AUTH_URL (or SKIP_AUTH=true): the settings API is open to anyone who can reach this service");
  const auditRedis = new Redis(env.REDIS_URL, { connectionName: `${replica}-audit`, maxRetriesPerRequest: null });
  auditRedis.on("error", (err) => logger.warn({ err: err.message }, "audit stream connection error"));
  const audit = new AuditProducer(auditRedis, env.AUDIT_STREAM, { onSpool: logAuditSpool(logger), requestId: currentRequestId });
  auditSpoolGauge(metrics.registry, () => audit.spooled);
  // BASE_PATH prefixes the public routes as in the all-in-one hub; /internal stays at the root for
  // peers. The metrics plugin sits at the root so it times (and at debug, logs) /internal too.
  await app.register(metricsPlugin, { metrics, path: `${env.BASE_PATH}/metrics`, access: { token: env.METRICS_TOKEN } });
  await app.register(async (scoped) => {
    await scoped.register(supervisorApp, { supervisor, settings, basePath: env.BASE_PATH, authenticator, audit });
  }, { prefix: env.BASE_PATH });
  await app.register(internalRoutes, { supervisor, token: env.INTERNAL_TOKEN });
  app.addHook("onClose", async () => {
    settings.stop();
    await supervisor.stop();
    await db.close();
    auditRedis.disconnect();
    await bus.close();
  });
  closeOnSignals(app, logger);
  await app.listen({ host: env.HOST, port: env.PORT });
  await settings.start();
  await settings.attachRepository(repository);
}
