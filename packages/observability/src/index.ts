export * from "./logger.ts";
export * from "./metrics.ts";
export * from "./fastify-plugin.ts";
export * from "./process.ts";
export * from "./error-handler.ts";
export * from "./fastify-options.ts";
export * from "./request-context.ts";
export * from "./audit-spool.ts";
