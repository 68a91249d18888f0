import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Env } from "@mcphub/config";
import { MemoryBus } from "@mcphub/bus";
import { openDatabase, type DbHandle, type DbOptions } from "@mcphub/db";
import { gatewayApp } from "@mcphub/gateway";
import { HubMetrics, metricsPlugin, type Logger } from "@mcphub/observability";
import { SettingsRepository, SettingsService, SupervisorService, supervisorApp } from "@mcphub/supervisor";

export interface HubOptions {
  env: Env;
  /** The environment spawned servers inherit and settings expand from. */
  hubEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where settings revisions live; false runs from the file alone (no REST writes). */
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
  /**
   * Applies the settings file and starts its upstreams (throws if the file is invalid),
   * then opens the database in the background: PGlite's first start takes seconds and
   * must not delay the MCP endpoints. `databaseReady` settles when it is attached.
   */
  start(): Promise<void>;
  databaseReady: Promise<void>;
  close(): Promise<void>;
}

const SUPPORTED_TARGETS = ["all", "gateway", "supervisor"];

/**
 * The all-in-one hub: gateway and supervisor plugins in one Fastify instance, joined by
 * the in-process adapter (the supervisor service itself implements SupervisorPort) and
 * the in-memory bus.
 */
export async function buildHub(opts: HubOptions): Promise<Hub> {
  const targets = opts.env.HUB_TARGETS.split(",").map((t) => t.trim());
  const unknown = targets.filter((t) => !SUPPORTED_TARGETS.includes(t));
  if (unknown.length) throw new Error(`HUB_TARGETS: unknown or not yet available target(s) ${unknown.join(", ")}; use "all"`);

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
  const settings = new SettingsService({
    path: env.MCPHUB_SETTING_PATH,
    env: opts.hubEnv,
    logger,
    bus,
    apply: (s) => supervisor.applySettings(s),
  });
  let repository: SettingsRepository | undefined;
  let db: DbHandle | undefined;

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request log lines cost more than the proxying itself; metrics time every request instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: env.MAX_BODY_BYTES,
    // Session ids and cursors are opaque; keep long query strings intact.
    routerOptions: { maxParamLength: 500 },
  });
  await app.register(async (scoped) => {
    await scoped.register(metricsPlugin, { metrics });
    await scoped.register(supervisorApp, { supervisor, settings, repository: () => repository, basePath: env.BASE_PATH });
    await scoped.register(gatewayApp, {
      supervisor,
      bus,
      metrics,
      logger,
      basePath: env.BASE_PATH,
      bodyLimit: env.MAX_BODY_BYTES,
      sessionIdleMs: opts.sessionIdleMs,
    });
  }, { prefix: env.BASE_PATH });

  let resolveDb!: () => void;
  let rejectDb!: (err: unknown) => void;
  const databaseReady = new Promise<void>((res, rej) => {
    resolveDb = res;
    rejectDb = rej;
  });
  databaseReady.catch(() => {}); // reported in start(); awaiting it is optional

  app.addHook("onClose", async () => {
    settings.stop();
    await supervisor.stop();
    await databaseReady.catch(() => {});
    await db?.close();
    await bus.close();
  });

  const attachDatabase = async (options: DbOptions) => {
    const started = Date.now();
    db = await openDatabase(options);
    repository = new SettingsRepository(db.db);
    await settings.attachRepository(repository);
    logger.info({ kind: db.kind, ms: Date.now() - started }, "settings database attached");
  };

  return {
    app,
    supervisor,
    settings,
    metrics,
    databaseReady,
    async start() {
      await settings.start();
      if (opts.database === false) {
        resolveDb();
        return;
      }
      attachDatabase(opts.database).then(resolveDb, (err) => {
        logger.error({ err }, "could not open the settings database; settings stay file-only");
        rejectDb(err);
      });
    },
    close: () => app.close(),
  };
}
