import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import {
  INTERNAL_PATHS,
  internalCallAnswerSchema,
  internalCallRequestSchema,
  McpCallError,
  JsonRpcCode,
  type InternalCallLine,
  type InternalCatalogResponse,
  type UpstreamCall,
} from "@mcphub/contracts";
import type { SupervisorService } from "./supervisor.service.ts";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function errorLine(err: unknown): InternalCallLine {
  if (err instanceof McpCallError) return { error: { code: err.code, message: err.message, data: err.data, reason: err.reason } };
  return { error: { code: JsonRpcCode.InternalError, message: "internal error in the supervisor" } };
}

type Settle = (answer: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } }) => void;

/** `/internal/*` for gateways in other processes: the catalog and forwarded calls. */
export async function internalRoutes(app: FastifyInstance, opts: { supervisor: SupervisorService; token: string }): Promise<void> {
  const expected = `Bearer ${opts.token}`;
  /** Per relayed call (callId), the upstream's requests waiting for the gateway's answer. */
  const waiting = new Map<string, Map<number, Settle>>();
  app.addHook("onRequest", async (req, reply) => {
    if (!sameSecret(req.headers.authorization ?? "", expected)) {
      return reply.code(401).send({ error: { code: "HUB_INTERNAL_UNAUTHORIZED", message: "internal API: missing or wrong INTERNAL_TOKEN" } });
    }
  });

  // The version changes with everything the answer holds (lists, settings, states): readers ask
  // with If-None-Match and an unchanged catalog costs them a 304, not the whole body.
  app.get(INTERNAL_PATHS.catalog, async (req, reply): Promise<InternalCatalogResponse | undefined> => {
    const catalog = opts.supervisor.catalog();
    const etag = `"${catalog.version}"`;
    reply.header("etag", etag);
    if (req.headers["if-none-match"] === etag) return reply.code(304).send();
    return { catalog, status: opts.supervisor.status() };
  });

  app.post(INTERNAL_PATHS.call, async (req, reply) => {
    const parsed = internalCallRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      return reply.code(400).send({ error: { code: "HUB_INVALID_CALL", message: detail } });
    }
    const call = parsed.data;
    // The gateway closes the request when its client cancels or leaves: cancel upstream too.
    const abort = new AbortController();
    // (The response's close, not the request's: a request "closes" once its body is read.)
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    // The answer is NDJSON only once the call streams something (progress, a log message, a
    // request for the client) before its result; a call that just answers, as most do, gets
    // its result as plain JSON, whatever the caller said it could take.
    let streaming = false;
    const write = (line: InternalCallLine) => {
      if (!streaming) {
        streaming = true;
        reply.hijack();
        reply.raw.writeHead(200, { "content-type": "application/x-ndjson" });
      }
      reply.raw.write(`${JSON.stringify(line)}\n`);
    };
    const upstreamCall: UpstreamCall = { server: call.server, method: call.method, params: call.params, signal: abort.signal, headers: call.headers };
    if (call.progress) upstreamCall.onProgress = (progress) => write({ progress });
    const callId = call.callId;
    if (callId !== undefined) {
      const pending = new Map<number, Settle>();
      waiting.set(callId, pending);
      let next = 0;
      upstreamCall.client = {
        origin: call.origin ?? callId,
        notify: (notification) => write({ notification }),
        ask: (request) =>
          new Promise((resolve, reject) => {
            const id = ++next;
            pending.set(id, (a) => (a.result ? resolve(a.result) : reject(new McpCallError(a.error!.code, a.error!.message, a.error!.data))));
            write({ request: { id, ...request } });
          }),
      };
    }
    const final = await opts.supervisor.call(upstreamCall).then((result): InternalCallLine => ({ result }), errorLine);
    if (callId !== undefined) {
      const left = waiting.get(callId);
      waiting.delete(callId);
      for (const settle of left?.values() ?? []) settle({ error: { code: JsonRpcCode.InternalError, message: "the call ended before the client answered" } });
    }
    if (!streaming) return reply.send(final);
    reply.raw.end(`${JSON.stringify(final)}\n`);
    return reply;
  });

  app.post(INTERNAL_PATHS.callAnswer, async (req, reply) => {
    const parsed = internalCallAnswerSchema.safeParse(req.body);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      return reply.code(400).send({ error: { code: "HUB_INVALID_ANSWER", message: detail } });
    }
    const { callId, id, result, error } = parsed.data;
    const settle = waiting.get(callId)?.get(id);
    if (!settle) return reply.code(404).send({ error: { code: "HUB_NO_SUCH_REQUEST", message: `no request ${id} is waiting on call ${callId} (it ended)` } });
    waiting.get(callId)!.delete(id);
    settle({ result, error });
    return reply.code(204).send();
  });
}
