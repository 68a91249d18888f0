import Fastify from "fastify";
import { hostname } from "node:os";
import { join } from "node:path";
import { parseEnv } from "@mcphub/config";
import { RedisBus } from "@mcphub/bus";
import { openDatabase } from "@mcphub/db";
import { closeOnSignals, createLogger, HubMetrics, metricsPlugin, tagReplica, serviceFastifyOptions } from "@mcphub/observability";
import routerApp from "./app.ts";
import { routerEnvSchema } from "./config.ts";
import { createRouterService, stopRouterService } from "./create-router.ts";
import { RemoteCatalog } from "@mcphub/service-clients";

/** The router as its own process: indexes the supervisor's catalog and serves /internal/search. */
export async function runRouter(): Promise<void> {
  const env = parseEnv(routerEnvSchema, process.env);
  const replica = env.REPLICA_ID ?? `router@${hostname()}:${env.PORT}`;
  const logger = createLogger({ level: env.LOG_LEVEL, file: env.LOG_FILE, service: "router" });
  const metrics = new HubMetrics();
  const bus = new RedisBus({ url: env.REDIS_URL, name: replica, onError: (err, context) => logger.warn({ err, context }, "bus error") });
  // Without DATABASE_URL, PGlite in a directory of its own: a supervisor on the same DATA_DIR holds its own.
  const db = await openDatabase({ url: env.DATABASE_URL, dataDir: join(env.DATA_DIR, "router") });
  const catalog = new RemoteCatalog({ url: env.SUPERVISOR_URL, token: env.INTERNAL_TOKEN, bus, logger });
  const { router, repository } = createRouterService({ source: catalog, db, env, logger, metrics });
  logger.info({ backend: router.status().backend, database: db.kind }, "router starting");

  const app = Fastify(serviceFastifyOptions(logger));
  tagReplica(app, replica);
  // BASE_PATH prefixes the public routes as in every service; /internal stays at the root for the gateways.
  await app.register(metricsPlugin, { metrics, path: `${env.BASE_PATH}/metrics`, access: { token: env.METRICS_TOKEN } });
  app.get(`${env.BASE_PATH}/api/health`, async () => ({ status: "ok", replica, index: router.status() }));
  app.get(`${env.BASE_PATH}/api/health/ready`, async (_req, reply) => {
    const index = router.status();
    const database = await repository.ping();
    const ready = index.ready && database;
    reply.code(ready ? 200 : 503);
    return { status: ready ? "ready" : database ? "indexing" : "database unreachable", database, index };
  });
  await app.register(routerApp, { router, token: env.INTERNAL_TOKEN });
  app.addHook("onClose", async () => {
    await catalog.close();
    await stopRouterService(router);
    await db.close();
    await bus.close();
  });
  closeOnSignals(app, logger);
  await app.listen({ host: env.HOST, port: env.PORT });
  // Listening first: health answers while the supervisor is still unreachable; readiness waits for the index.
  await catalog.start();
  router.start();
}
