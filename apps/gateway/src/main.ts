import Fastify from "fastify";
import { hostname } from "node:os";
import { z } from "zod";
import { parseEnv, splitServiceEnvSchema } from "@mcphub/config";
import { AuditProducer, logAuditSpool, RedisBus } from "@mcphub/bus";
import { auditSpoolGauge, closeOnSignals, createLogger, currentRequestId, HubMetrics, metricsPlugin, tagReplica, serviceFastifyOptions } from "@mcphub/observability";
import gatewayApp from "./app.ts";
import { Redis } from "ioredis";
import { RedisSessionStore } from "./state/redis-session.store.ts";
import { CachingAuthenticator, RemoteAuthenticator, RemoteRouter, RemoteSupervisor } from "@mcphub/service-clients";
import { smartRoutingApi } from "./rest/smart-routing.routes.ts";
import { allowedHosts } from "./wires/origin-guard.ts";

/** A gateway replica's environment (exported for the deployment files' checks). */
export const gatewayEnvSchema = splitServiceEnvSchema
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
  // Revocations published by the auth service drop cached credentials at once.
  const authenticator = remoteAuth && new CachingAuthenticator(remoteAuth, { bus });
  const redis = new Redis(env.REDIS_URL, { connectionName: `${replica}-sessions`, maxRetriesPerRequest: 2 });
  redis.on("error", (err) => logger.warn({ err: err.message }, "session store connection error"));
  const sessionIdleMs = 30 * 60_000;
  const sessions = new RedisSessionStore({ redis, idleMs: sessionIdleMs });
  // Without ROUTER_URL the smart-routing endpoints answer that search is unavailable here.
  const router = env.ROUTER_URL ? new RemoteRouter({ url: env.ROUTER_URL, token: env.INTERNAL_TOKEN }) : undefined;
  if (!router) logger.warn("ROUTER_URL is not set: /mcp/$smart cannot search tools on this replica");
  // Spooled locally while Redis is away (bounded), so a blip loses no audit event.
  const audit = new AuditProducer(redis, env.AUDIT_STREAM, { onSpool: logAuditSpool(logger), requestId: currentRequestId });
  auditSpoolGauge(metrics.registry, () => audit.spooled);

  const app = Fastify(serviceFastifyOptions(logger, { bodyLimit: env.MAX_BODY_BYTES }));
  tagReplica(app, replica);
  await app.register(async (scoped) => {
    await scoped.register(metricsPlugin, { metrics, access: { token: env.METRICS_TOKEN } });
    scoped.get("/api/health", async () => ({ status: "ok", replica, auth: authenticator ? "enforced" : "open (SKIP_AUTH=true)", servers: supervisor.status() }));
    // Ready when this replica can serve a session: its Redis (session records, relay) and the supervisor answer.
    scoped.get("/api/health/ready", async (_req, reply) => {
      const checks = await readinessChecks(redis, env.SUPERVISOR_URL, env.INTERNAL_TOKEN);
      const ready = checks.redis && checks.supervisor;
      reply.code(ready ? 200 : 503);
      return { status: ready ? "ready" : "degraded", replica, checks };
    });
    await scoped.register(gatewayApp, {
      supervisor,
      bus,
      sessions,
      sessionIdleMs,
      authenticator,
      skipAuth: env.SKIP_AUTH,
      audit,
      allowedHosts: allowedHosts(env),
      metrics,
      logger,
      basePath: env.BASE_PATH,
      bodyLimit: env.MAX_BODY_BYTES,
      streamBufferBytes: env.MAX_STREAM_BUFFER_BYTES,
      maxSessionsPerPrincipal: env.MAX_SESSIONS_PER_PRINCIPAL,
      replica,
      router,
    });
    if (router) await scoped.register(smartRoutingApi, { router, supervisor, authenticator, audit, logger });
  }, { prefix: env.BASE_PATH });
  app.addHook("onClose", async () => {
    await supervisor.close();
    await remoteAuth?.close();
    await router?.close();
    await bus.close();
    redis.disconnect();
  });
  closeOnSignals(app, logger);
  await app.listen({ host: env.HOST, port: env.PORT });
}

async function readinessChecks(redis: Redis, supervisorUrl: string, token: string): Promise<{ redis: boolean; supervisor: boolean }> {
  const signal = AbortSignal.timeout(2000);
  const [redisOk, supervisorOk] = await Promise.all([
    Promise.race([redis.ping().then((r) => r === "PONG"), new Promise<boolean>((res) => signal.addEventListener("abort", () => res(false)))]).catch(() => false),
    // HEAD answers without sending the catalog itself.
    fetch(new URL("/internal/catalog", supervisorUrl), { method: "HEAD", headers: { authorization: `Bearer ${token}` }, signal }).then((r) => r.ok, () => false),
  ]);
  return { redis: redisOk, supervisor: supervisorOk };
}
