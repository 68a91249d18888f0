import Fastify, { type FastifyInstance } from "fastify";
import type { Env } from "@mcphub/config";
import { MemoryBus } from "@mcphub/bus";
import { openDatabase, type DbHandle, type DbOptions } from "@mcphub/db";
import { gatewayApp } from "@mcphub/gateway";
import { HubMetrics, metricsPlugin, type Logger, serviceFastifyOptions } from "@mcphub/observability";
import { SettingsRepository, SettingsService, SupervisorService, supervisorApp } from "@mcphub/supervisor";

export interface HubOptions {
  env: Env;
  /** The environment spawned servers inherit and settings expand from. */
  hubEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /**
   * Where settings revisions live, opened on first need (the first API change or history
   * read); false runs from the file alone and refuses API writes.
   */
  database: DbOptions | false;
  /** Reconnect backoff bounds for upstreams (tests shorten them). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  sessionIdleMs?: number;
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
  let db: Promise<DbHandle> | undefined;
  const database = opts.database;
  const settings = new SettingsService({
    path: env.MCPHUB_SETTING_PATH,
    env: opts.hubEnv,
    logger,
    bus,
    apply: (s) => supervisor.applySettings(s),
    // PGlite costs ~100 MB and, the very first time, seconds of initdb: a hub run from its
    // settings file alone never pays for it; the first API change or history read does.
    openRepository:
      database === false
        ? undefined
        : async () => {
            const started = Date.now();
            db ??= openDatabase(database);
            const handle = await db;
            logger.info({ kind: handle.kind, ms: Date.now() - started }, "settings database opened");
            return new SettingsRepository(handle.db);
          },
  });

  const app = Fastify(serviceFastifyOptions(logger, { bodyLimit: env.MAX_BODY_BYTES }));
  await app.register(async (scoped) => {
    await scoped.register(metricsPlugin, { metrics });
    await scoped.register(supervisorApp, { supervisor, settings, basePath: env.BASE_PATH });
    await scoped.register(gatewayApp, {
      supervisor,
      bus,
      metrics,
      logger,
      basePath: env.BASE_PATH,
      bodyLimit: env.MAX_BODY_BYTES,
      sessionIdleMs: opts.sessionIdleMs,
      skipAuth: env.SKIP_AUTH,
    });
  }, { prefix: env.BASE_PATH });

  app.addHook("onClose", async () => {
    settings.stop();
    await supervisor.stop();
    const handle = await db?.catch(() => undefined);
    await handle?.close();
    await bus.close();
  });

  return {
    app,
    supervisor,
    settings,
    metrics,
    start: () => settings.start(),
    close: () => app.close(),
  };
}
