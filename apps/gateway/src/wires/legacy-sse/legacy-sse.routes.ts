import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { forwardedHeaders } from "../forwarded-headers.ts";
import { classify, JsonRpcCode, type Classified } from "../../core/jsonrpc.ts";
import { checkTarget, httpError, initializeSession, newSession, targetPath, type GatewayCore } from "../sessions/session-lifecycle.ts";
import { processSessionMessages } from "../sessions/session-messages.ts";
import { SseStream } from "../sse-stream.ts";

/**
 * The HTTP+SSE transport of protocol 2024-11-05, still used by many clients: GET /sse opens
 * the stream and names the POST endpoint; every answer travels on that stream. The session
 * lives as long as its stream.
 */
export function registerLegacySse(app: FastifyInstance, core: GatewayCore): void {
  const open = async (req: FastifyRequest<{ Params: { target?: string; group?: string } }>, reply: FastifyReply) => {
    const targetName = targetPath(req.params);
    const access = await core.auth.check(req, reply, targetName);
    if (!access) return reply;
    if (!checkTarget(core, reply, targetName)) return reply;
    const session = newSession(targetName, "sse", access);
    await core.live.create(session);
    reply.hijack();
    const stream = new SseStream(reply.raw, {});
    core.live.attachStream(session, stream);
    stream.onClose(() => core.live.inBackground(core.live.close(session.id), "end a legacy SSE session whose stream closed"));
    stream.send(`${core.basePath}/messages?sessionId=${session.id}`, "endpoint");
    return reply;
  };

  const message = async (req: FastifyRequest<{ Querystring: { sessionId?: string }; Body: string }>, reply: FastifyReply) => {
    const sessionId = req.query.sessionId;
    if (!sessionId) return httpError(reply, 400, -32000, "Bad Request: the sessionId query parameter is required");
    const session = await core.live.store.get(sessionId);
    const access = session && (await core.auth.check(req, reply, session.targetName));
    if (session && !access) return reply;
    if (!session || session.transport !== "sse" || session.principalKey !== access!.principalKey) {
      return httpError(reply, 404, -32001, "Session not found (its SSE stream is closed; open GET /sse again)");
    }
    core.live.store.touch(sessionId);
    // The stream may be held by another replica: answers reach it through the bus.
    const send = (json: string) => core.live.deliver(sessionId, json);
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch (err) {
      return httpError(reply, 400, JsonRpcCode.ParseError, `Parse error: ${(err as Error).message}`);
    }
    const messages: Classified[] = Array.isArray(body) ? body.map(classify) : [classify(body)];
    const rest: Classified[] = [];
    for (const m of messages) {
      if (m.kind === "request" && m.message.method === "initialize") {
        const init = initializeSession(core, m.message, session);
        if (init.ok) await core.live.store.create(session);
        send(init.json);
      } else {
        rest.push(m);
      }
    }
    processSessionMessages(core, session, rest, { notify: send, respond: send }, forwardedHeaders(req.headers));
    return reply.code(202).send("Accepted");
  };

  app.get("/sse", open);
  app.get("/sse/:target", open);
  app.get("/sse/:target/:group", open);
  app.post("/messages", message);
}
