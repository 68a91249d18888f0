import type { FastifyError, FastifyInstance } from "fastify";

interface KnownError {
  code: string;
  status: number;
  message: string;
  details?: unknown;
}

/**
 * The REST error shape: `{ error: { code, message, details?, requestId } }` for known errors
 * (HubError-like, or Fastify's own 4xx), a bare 500 for the rest, which is logged.
 */
export function restErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & Partial<KnownError>, req, reply) => {
    if (typeof err.status === "number" && typeof err.code === "string" && err.code.startsWith("HUB_")) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, details: err.details, requestId: req.id } });
    }
    if (err.statusCode && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: `HUB_${err.code ?? "BAD_REQUEST"}`, message: err.message, requestId: req.id } });
    }
    req.log.error({ err }, "unhandled error");
    return reply.code(500).send({ error: { code: "HUB_INTERNAL", message: "internal error", requestId: req.id } });
  });
}
