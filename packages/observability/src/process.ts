import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";

/**
 * Closes `app` on SIGINT/SIGTERM and exits; a second signal or a stuck close (10 s)
 * exits at once. Every service's server.ts uses it, so Ctrl-C behaves the same everywhere.
 */
export function closeOnSignals(app: FastifyInstance, logger: Logger, extra: () => Promise<void> = async () => {}): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    logger.info({ signal }, "shutting down");
    setTimeout(() => process.exit(1), 10_000).unref();
    app
      .close()
      .then(extra)
      .then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

/** Adds `x-mcphub-replica` to every response, streams included, so a test or an operator sees who answered. */
export function tagReplica(app: FastifyInstance, replica: string): void {
  app.addHook("onRequest", async (_req, reply) => {
    reply.raw.setHeader("x-mcphub-replica", replica);
  });
}

/**
 * Runs a service's main function as the process: a configuration error prints its message
 * alone (every bad variable, one per line), anything else its stack; both exit 1.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(err instanceof Error && err.name === "ConfigError" ? err.message : err);
    process.exit(1);
  });
}
