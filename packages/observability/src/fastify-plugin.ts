import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Logger } from "pino";
import type { HubMetrics } from "./metrics.ts";

declare module "fastify" {
  interface FastifyInstance {
    metrics: HubMetrics;
  }
}

export interface MetricsPluginOptions {
  metrics: HubMetrics;
  path?: string;
  /**
   * Who may read /metrics (it names servers and tools and counts sessions). A request with
   * `Authorization: Bearer <token>` always may; otherwise `authorize` decides (it throws a
   * HubError-like error, answered with its status: the hub lets admins in). With neither
   * set, /metrics is open (split services: nginx never routes /metrics to them).
   */
  access?: { token?: string; authorize?: (req: FastifyRequest) => Promise<void> };
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Serves `GET /metrics` and times every request by its route pattern (not its URL, to bound labels). */
export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: MetricsPluginOptions) => {
    const { metrics } = opts;
    app.decorate("metrics", metrics);
    app.addHook("onResponse", async (req, reply) => {
      const route = req.routeOptions.url ?? "unmatched";
      metrics.httpRequestDuration.observe(
        { method: req.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      // An access line only at debug: at info, one line per request would cost more than proxying it.
      if ((req.log as unknown as Logger).isLevelEnabled("debug")) req.log.debug({ method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
    });
    const token = opts.access?.token;
    const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
    const authorize = opts.access?.authorize;
    app.get(opts.path ?? "/metrics", async (req, reply) => {
      // Compared as digests: equal lengths, constant time.
      const sent = req.headers.authorization?.trim();
      const tokenOk = expected !== undefined && sent !== undefined && timingSafeEqual(digest(sent), expected);
      if (!tokenOk && (authorize || expected)) {
        try {
          if (!authorize) throw Object.assign(new Error("metrics need Authorization: Bearer <METRICS_TOKEN>"), { status: 401, code: "HUB_METRICS_UNAUTHORIZED" });
          await authorize(req);
        } catch (err) {
          const e = err as { status?: unknown; code?: unknown; message: string };
          if (typeof e.status !== "number" || typeof e.code !== "string") throw err;
          if (e.status === 401) reply.header("www-authenticate", 'Bearer realm="metrics"');
          return reply.code(e.status).send({ error: { code: e.code, message: e.message, requestId: req.id } });
        }
      }
      reply.header("content-type", metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: "mcphub-metrics", fastify: "5.x" },
);
