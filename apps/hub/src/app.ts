import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Env, Settings } from "@mcphub/config";
import { MemoryBus } from "@mcphub/bus";
import { gatewayApp } from "@mcphub/gateway";
import { HubMetrics, metricsPlugin, type Logger } from "@mcphub/observability";
import { SettingsWatcher, SupervisorService, supervisorApp } from "@mcphub/supervisor";

export interface HubOptions {
  env: Env;
  /** The environment spawned servers inherit. */
  hubEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /** Reconnect backoff bounds for upstreams (tests shorten them). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  sessionIdleMs?: number;
}

export interface Hub {
  app: FastifyInstance;
  supervisor: SupervisorService;
  metrics: HubMetrics;
  /** Starts the upstreams from the settings file and watches it; throws on an invalid file. */
  start(): Promise<void>;
  /** Applies settings directly (without the file), e.g. in tests. */
  apply(settings: Settings): Promise<void>;
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
  const watcher = new SettingsWatcher({
    path: env.MCPHUB_SETTING_PATH,
    env: opts.hubEnv,
    logger,
    apply: (s) => supervisor.applySettings(s),
  });

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
    await scoped.register(supervisorApp, { supervisor });
    await scoped.register(gatewayApp, {
      supervisor,
      metrics,
      logger,
      basePath: env.BASE_PATH,
      bodyLimit: env.MAX_BODY_BYTES,
      sessionIdleMs: opts.sessionIdleMs,
    });
  }, { prefix: env.BASE_PATH });
  app.addHook("onClose", async () => {
    watcher.stop();
    await supervisor.stop();
    await bus.close();
  });

  return {
    app,
    supervisor,
    metrics,
    start: () => watcher.start(),
    apply: (s) => supervisor.applySettings(s),
    close: () => app.close(),
  };
}
