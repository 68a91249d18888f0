import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from "fastify";
import type { Logger } from "pino";

/**
 * The Fastify options every MCPHub service starts with. Per-request log lines and per-request
 * child loggers (pino re-running its redaction setup each time) cost more than proxying a
 * call does; metrics time every request instead, and handlers log through the service logger.
 */
export function serviceFastifyOptions(logger: Logger, extra: FastifyServerOptions = {}): FastifyServerOptions & { loggerInstance: FastifyBaseLogger } {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (parent) => parent,
    // Session ids and cursors are opaque; keep long ones intact in route parameters.
    routerOptions: { maxParamLength: 500 },
    ...extra,
  };
}
