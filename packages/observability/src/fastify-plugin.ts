import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { HubMetrics } from "./metrics.ts";

declare module "fastify" {
  interface FastifyInstance {
    metrics: HubMetrics;
  }
}

/** Serves `GET /metrics` and times every request by its route pattern (not its URL, to bound labels). */
export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: { metrics: HubMetrics; path?: string }) => {
    const { metrics } = opts;
    app.decorate("metrics", metrics);
    app.addHook("onResponse", async (req, reply) => {
      const route = req.routeOptions.url ?? "unmatched";
      metrics.httpRequestDuration.observe(
        { method: req.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    app.get(opts.path ?? "/metrics", async (_req, reply) => {
      reply.header("content-type", metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: "mcphub-metrics", fastify: "5.x" },
);
