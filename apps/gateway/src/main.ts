import Fastify from "fastify";
import { hostname } from "node:os";
import { z } from "zod";
import { parseEnv, splitServiceEnvSchema } from "@mcphub/config";
import { AuditProducer, RedisBus } from "@mcphub/bus";
import { closeOnSignals, createLogger, HubMetrics, metricsPlugin, tagReplica, serviceFastifyOptions } from "@mcphub/observability";
import gatewayApp from "./app.ts";
import { Redis } from "ioredis";
import { RedisSessionStore } from "./redis-session.store.ts";
import { CachingAuthenticator, RemoteAuthenticator, RemoteSupervisor } from "@mcphub/service-clients";

const gatewayEnvSchema = splitServiceEnvSchema
  .extend({ SUPERVISOR_URL: z.url() })
  .refine((env) => env.AUTH_URL !== undefined || env.SKIP_AUTH, {
    path: ["AUTH_URL"],
    message: "required: the auth service that checks MCP clients' credentials (or SKIP_AUTH=true to open the endpoints on purpose)",
  });

/** A gateway replica as its own process: the MCP endpoints, talking to the supervisor over HTTP. */
export async function runGateway(): Promise<void> {
  const env = parseEnv(gatewayEnvSchema, process.env);
  const replica = env.REPLICA_ID ?? `gateway@${hostname()}:${env.PORT}`;
  const logger = createLogger({ level: env.LOG_LEVEL, file: env.LOG_FILE, service: "gateway" }).child({ replica });
  const metrics = new HubMetrics();
  const bus = new RedisBus({ url: env.REDIS_URL, name: replica, onError: (err, context) => logger.warn({ err, context }, "bus error") });
  const supervisor = new RemoteSupervisor({ url: env.SUPERVISOR_URL, token: env.INTERNAL_TOKEN, bus, logger });
  await supervisor.start();
  const remoteAuth = env.AUTH_URL && !env.SKIP_AUTH ? new RemoteAuthenticator({ url: env.AUTH_URL, token: env.INTERNAL_TOKEN }) : undefined;
  const authenticator = remoteAuth && new CachingAuthenticator(remoteAuth);
  const redis = new Redis(env.REDIS_URL, { connectionName: `${replica}-sessions`, maxRetriesPerRequest: 2 });
  redis.on("error", (err) => logger.warn({ err: err.message }, "session store connection error"));
  const sessionIdleMs = 30 * 60_000;
  const sessions = new RedisSessionStore({ redis, idleMs: sessionIdleMs });

  const app = Fastify(serviceFastifyOptions(logger, { bodyLimit: env.MAX_BODY_BYTES }));
  tagReplica(app, replica);
  await app.register(async (scoped) => {
    await scoped.register(metricsPlugin, { metrics });
    scoped.get("/api/health", async () => ({ status: "ok", replica, auth: authenticator ? "enforced" : "open (SKIP_AUTH=true)", servers: supervisor.status() }));
    await scoped.register(gatewayApp, {
      supervisor,
      bus,
      sessions,
      sessionIdleMs,
      authenticator,
      skipAuth: env.SKIP_AUTH,
      audit: new AuditProducer(redis, env.AUDIT_STREAM),
      allowedHosts: env.ALLOWED_HOSTS,
      metrics,
      logger,
      basePath: env.BASE_PATH,
      bodyLimit: env.MAX_BODY_BYTES,
    });
  }, { prefix: env.BASE_PATH });
  app.addHook("onClose", async () => {
    await supervisor.close();
    await remoteAuth?.close();
    await bus.close();
    redis.disconnect();
  });
  closeOnSignals(app, logger);
  await app.listen({ host: env.HOST, port: env.PORT });
}
