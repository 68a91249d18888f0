import Fastify, { type FastifyInstance } from "fastify";
import type { Env } from "@mcphub/config";
import { MemoryBus } from "@mcphub/bus";
import { openDatabase, type DbHandle, type DbOptions } from "@mcphub/db";
import { allowedHosts, gatewayApp, smartRoutingApi } from "@mcphub/gateway";
import { HubMetrics, metricsPlugin, type Logger, type MetricsPluginOptions, serviceFastifyOptions } from "@mcphub/observability";
import { SettingsRepository, SettingsService, SupervisorService, supervisorApp } from "@mcphub/supervisor";
import { authApp, authServerOptions, createAuthRuntime, DEFAULT_AUTH_POLICY, type AuthenticationService, type AuthPolicy, type AuthRuntime } from "@mcphub/auth";
import { HubError, type AuthenticatorPort } from "@mcphub/contracts";
import { CachingAuthenticator } from "@mcphub/service-clients";
import { BatchingAuditSink } from "./batching-audit-sink.ts";
import { InProcessRouter } from "./in-process-router.ts";
import type { RouterSearchEnv } from "@mcphub/router";
import { DEFAULT_DASHBOARD_DIR, dashboardStatic } from "./dashboard-static.ts";

export interface HubOptions {
  /** The hub's environment; the router's own keys (ROUTER_VECTOR_BACKEND, …) where server.ts parsed them. */
  env: Env & Partial<Pick<RouterSearchEnv, "ROUTER_VECTOR_BACKEND" | "LOCAL_EMBEDDING_MODEL_DIR">>;
  /** The environment spawned servers inherit and settings expand from. */
  hubEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /**
   * Where settings revisions live, opened on first need (the first API change or history
   * read); false runs from the file alone and refuses API writes.
   */
  database: DbOptions | false;
  /**
   * The auth service in this process: users, keys, the audit log, and credentials checked on
   * the MCP endpoints and the settings API. It needs the database, opened before listening.
   * false (SKIP_AUTH=true, or tests about other things) leaves every endpoint open.
   */
  auth: false | ({ jwtSecret: string; adminPassword?: string } & Partial<AuthPolicy>);
  /** Reconnect backoff bounds for upstreams (tests shorten them). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  sessionIdleMs?: number;
  /** The built dashboard served at the root (default: apps/dashboard/dist); false serves none. */
  dashboardDir?: string | false;
}

export interface Hub {
  app: FastifyInstance;
  supervisor: SupervisorService;
  settings: SettingsService;
  metrics: HubMetrics;
  /** Applies the settings file and starts its upstreams; throws if the file is invalid. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The all-in-one hub: gateway and supervisor plugins in one Fastify instance, joined by
 * the in-process adapter (the supervisor service itself implements SupervisorPort) and
 * the in-memory bus.
 */
export async function buildHub(opts: HubOptions): Promise<Hub> {
  const { logger, env } = opts;
  const metrics = new HubMetrics();
  const bus = new MemoryBus((err, event) => logger.error({ err, event }, "event handler failed"));
  const supervisor = new SupervisorService({
    initTimeoutMs: env.INIT_TIMEOUT,
    requestTimeoutMs: env.REQUEST_TIMEOUT,
    hubEnv: opts.hubEnv,
    logger,
    metrics,
    bus,
    minBackoffMs: opts.minBackoffMs,
    maxBackoffMs: opts.maxBackoffMs,
  });
  const database = opts.database;
  if (opts.auth && database === false) throw new Error("the all-in-one hub's auth needs its database (users, keys, audit log)");
  // With auth on, the database is opened now: users and keys are checked from the first request.
  let db: Promise<DbHandle> | undefined = opts.auth && database !== false ? openDatabase(database) : undefined;
  const settings = new SettingsService({
    path: env.MCPHUB_SETTING_PATH,
    env: opts.hubEnv,
    logger,
    bus,
    apply: (s) => supervisor.applySettings(s),
    // PGlite costs ~100 MB and, the very first time, seconds of initdb: a hub run from its
    // settings file alone (SKIP_AUTH=true) never pays for it; the first API change does.
    openRepository:
      database === false
        ? undefined
        : async () => {
            const started = Date.now();
            db ??= openDatabase(database);
            const handle = await db;
            logger.info({ kind: handle.kind, ms: Date.now() - started }, "settings database opened");
            // With auth on, audit_logs is in this database: a change's audit row joins its revision's transaction.
            return new SettingsRepository(handle.db, Boolean(opts.auth));
          },
  });

  // Tool search (`/mcp/$smart`) keeps its index in the hub's database; started on first use.
  const router =
    database === false
      ? undefined
      : new InProcessRouter({ source: supervisor, database: () => (db ??= openDatabase(database)), env: { ...env, ROUTER_VECTOR_BACKEND: env.ROUTER_VECTOR_BACKEND ?? "exact" }, logger, metrics });

  let authn: AuthenticationService | undefined;
  const authenticator: AuthenticatorPort | undefined = opts.auth
    ? new CachingAuthenticator({ authenticate: (r) => authn!.authenticate(r) }, { bus })
    : undefined;
  let audit: BatchingAuditSink | undefined;
  let runtime: AuthRuntime | undefined;
  if (opts.auth && db) {
    if (database !== false && !database.url) logger.info("opening the embedded database (its very first start takes several seconds)");
    const handle = await db;
    runtime = createAuthRuntime({
      db: handle.db,
      logger,
      replica: "hub",
      limits: opts.auth.limits ?? DEFAULT_AUTH_POLICY.limits,
      retentionDays: opts.auth.retentionDays ?? DEFAULT_AUTH_POLICY.retentionDays,
      adminPassword: opts.auth.adminPassword,
      registry: metrics.registry,
      bus,
    });
    const repository = runtime.auditRepository;
    audit = new BatchingAuditSink({ write: (events) => repository.insertMany(events), journalPath: database === false ? undefined : `${database.dataDir}/audit.journal` });
    // The first admin exists before the hub listens: a sign-in that comes early is not told "wrong password".
    await runtime.start();
    const recovered = await audit.recover();
    if (recovered) logger.warn({ events: recovered }, "stored audit events a previous run had journaled but not written (it was killed)");
  }

  const app = Fastify(serviceFastifyOptions(logger, { bodyLimit: env.MAX_BODY_BYTES, ...(opts.auth ? authServerOptions : {}) }));
  await app.register(async (scoped) => {
    await scoped.register(metricsPlugin, { metrics, access: metricsAccess(env.METRICS_TOKEN, authenticator) });
    if (runtime && opts.auth) {
      const auth = runtime;
      await scoped.register(authApp, {
        ...auth,
        audit: audit ?? auth.audit,
        logger,
        jwtSecret: opts.auth.jwtSecret,
        tokenTtlSeconds: opts.auth.tokenTtlSeconds ?? DEFAULT_AUTH_POLICY.tokenTtlSeconds,
        checks: () => auth.checks(),
        healthRoutes: false,
        onAuthenticator: (service) => {
          authn = service;
        },
      });
    }
    await scoped.register(supervisorApp, { supervisor, settings, basePath: env.BASE_PATH, authenticator, audit });
    await scoped.register(gatewayApp, {
      supervisor,
      bus,
      metrics,
      logger,
      basePath: env.BASE_PATH,
      bodyLimit: env.MAX_BODY_BYTES,
      streamBufferBytes: env.MAX_STREAM_BUFFER_BYTES,
      maxSessionsPerPrincipal: env.MAX_SESSIONS_PER_PRINCIPAL,
      sessionIdleMs: opts.sessionIdleMs,
      skipAuth: !opts.auth,
      authenticator,
      audit,
      allowedHosts: allowedHosts(env),
      router,
    });
    if (router) await scoped.register(smartRoutingApi, { router, supervisor, authenticator, audit, logger });
    await scoped.register(dashboardStatic, { dir: opts.dashboardDir ?? DEFAULT_DASHBOARD_DIR, basePath: env.BASE_PATH });
  }, { prefix: env.BASE_PATH });

  app.addHook("onClose", async () => {
    settings.stop();
    await router?.close();
    await supervisor.stop();
    await audit?.close();
    await runtime?.stop();
    const handle = await db?.catch(() => undefined);
    await handle?.close();
    await bus.close();
  });

  return {
    app,
    supervisor,
    settings,
    metrics,
    async start() {
      await settings.start();
    },
    close: () => app.close(),
  };
}

/**
 * /metrics names servers and tools and counts sessions: while credentials are enforced it is
 * for Prometheus (`Authorization: Bearer $METRICS_TOKEN`) and admins signed in, nobody else.
 */
function metricsAccess(token: string | undefined, authenticator: AuthenticatorPort | undefined): MetricsPluginOptions["access"] {
  if (!authenticator) return { token };
  return {
    token,
    async authorize(req) {
      const authorization = req.headers.authorization;
      if (!authorization) throw new HubError("HUB_UNAUTHORIZED", "metrics need Authorization: Bearer <METRICS_TOKEN> (or an admin's session token)", 401);
      const principal = await authenticator.authenticate({ authorization });
      if (principal.kind !== "user" || principal.role !== "admin") throw new HubError("HUB_FORBIDDEN", "metrics are for admins and for Prometheus with METRICS_TOKEN", 403);
    },
  };
}
