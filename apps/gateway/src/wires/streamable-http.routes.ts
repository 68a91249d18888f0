import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { forwardedHeaders } from "./forwarded-headers.ts";
import { classify, errorResponse, JsonRpcCode, type Classified, type JsonRpcId } from "../core/jsonrpc.ts";
import { SESSION_PROTOCOL_VERSIONS } from "../core/mcp-dispatcher.ts";
import { ListenStreams } from "./stateless/listen-streams.ts";
import { classifyEra } from "./stateless/era.ts";
import { ModernHttp } from "./stateless/modern-http.ts";
import { checkTarget, httpError, initializeSession, newSession, requireSession, targetPath, type GatewayCore } from "./sessions/session-lifecycle.ts";
import { processSessionMessages, type Responder } from "./sessions/session-messages.ts";
import { SseStream } from "./sse-stream.ts";

type McpRequest = FastifyRequest<{ Params: { target?: string; group?: string }; Body: string }>;

const SESSION_HEADER = "mcp-session-id";

/**
 * Answers one POST: as a plain JSON body when nothing but the responses is sent (the fast,
 * common case), switching to an SSE stream the moment a notification must go out first.
 */
class PostResponder implements Responder {
  private sse: SseStream | undefined;
  private readonly buffered: string[] = [];
  private remaining: number;

  constructor(
    private readonly reply: FastifyReply,
    expected: number,
    private readonly batch: boolean,
    private readonly headers: Record<string, string>,
  ) {
    this.remaining = expected;
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  notify(json: string): void {
    if (this.remaining === 0) return;
    if (!this.sse) {
      this.reply.hijack();
      this.sse = new SseStream(this.reply.raw, this.headers, 0);
      for (const b of this.buffered.splice(0)) this.sse.send(b);
    }
    this.sse.send(json);
  }

  respond(json: string): void {
    this.remaining--;
    if (this.sse) {
      this.sse.send(json);
      if (this.remaining === 0) this.sse.end();
      return;
    }
    this.buffered.push(json);
    if (this.remaining > 0) return;
    const body = this.batch ? `[${this.buffered.join(",")}]` : this.buffered[0]!;
    this.reply.code(200).headers(this.headers).header("content-type", "application/json").send(body);
  }
}

/**
 * Streamable HTTP: the 2025-era session flavour (POST, GET server stream, DELETE) and, told apart
 * per request by the body, the stateless 2026-07-28 revision (modern-http.ts).
 */
export function registerStreamableHttp(app: FastifyInstance, core: GatewayCore): void {
  const targetOf = (req: McpRequest) => targetPath(req.params);
  const listen = new ListenStreams(core);
  const modern = new ModernHttp(core, listen);
  // preClose: open listen streams would otherwise keep the HTTP server from closing.
  // Calls held for a multi-round-trip retry are cancelled upstream.
  app.addHook("preClose", async () => {
    listen.closeAll();
    modern.rounds.close();
  });

  const post = async (req: McpRequest, reply: FastifyReply) => {
    const targetName = targetOf(req);
    const era = classifyEra(req.body, req.headers);
    if (era.kind !== "legacy") return modern.post(req, reply, targetName, era);
    const access = await core.auth.check(req, reply, targetName);
    if (!access) return reply;
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch (err) {
      return httpError(reply, 400, JsonRpcCode.ParseError, `Parse error: ${(err as Error).message}`);
    }
    const batch = Array.isArray(body);
    if (batch && (body as unknown[]).length === 0) return httpError(reply, 400, JsonRpcCode.InvalidRequest, "Invalid Request: empty batch");
    const messages: Classified[] = batch ? (body as unknown[]).map(classify) : [classify(body)];

    const first = messages[0]!;
    if (first.kind === "request" && first.message.method === "initialize") {
      if (batch) return httpError(reply, 400, JsonRpcCode.InvalidRequest, "Invalid Request: initialize must be sent alone, not in a batch");
      if (!checkTarget(core, reply, targetName)) return reply;
      const session = newSession(targetName, "streamable-http", access);
      const init = initializeSession(core, first.message, session);
      if (init.ok) await core.live.create(session);
      const headers = init.ok ? { [SESSION_HEADER]: session.id } : {};
      return reply.code(200).headers(headers).header("content-type", "application/json").send(init.json);
    }
    if (!batch && first.kind === "invalid") {
      return reply.code(400).header("content-type", "application/json")
        .send(JSON.stringify(errorResponse(first.id, JsonRpcCode.InvalidRequest, `invalid JSON-RPC message: ${first.reason}`)));
    }

    const version = req.headers["mcp-protocol-version"];
    if (typeof version === "string" && !SESSION_PROTOCOL_VERSIONS.includes(version)) {
      return httpError(reply, 400, -32000, `Bad Request: unsupported MCP-Protocol-Version "${version}" (supported: ${SESSION_PROTOCOL_VERSIONS.join(", ")})`);
    }
    const session = await requireSession(core, reply, header(req, SESSION_HEADER), targetName, access);
    if (!session) return reply;

    const expected = messages.filter((m) => m.kind === "request" || m.kind === "invalid").length;
    if (expected === 0) {
      processSessionMessages(core, session, messages, { notify() {}, respond() {} });
      return reply.code(202).send();
    }
    const responder = new PostResponder(reply, expected, batch, { [SESSION_HEADER]: session.id });
    // A client that hangs up cancels what it asked for here.
    const ids: JsonRpcId[] = messages.flatMap((m) => (m.kind === "request" ? [m.message.id] : []));
    reply.raw.on("close", () => {
      if (!responder.done) for (const id of ids) core.live.cancel(session.id, id);
    });
    processSessionMessages(core, session, messages, responder, forwardedHeaders(req.headers));
    return reply;
  };

  const get = async (req: McpRequest, reply: FastifyReply) => {
    if (modern.isStatelessSessionVerb(req)) return modern.methodNotAllowed(req, reply, targetOf(req));
    const accept = req.headers.accept ?? "";
    if (!accept.includes("text/event-stream") && !accept.includes("*/*")) {
      return httpError(reply, 406, -32000, "Not Acceptable: the GET stream needs Accept: text/event-stream");
    }
    const access = await core.auth.check(req, reply, targetOf(req));
    if (!access) return reply;
    const session = await requireSession(core, reply, header(req, SESSION_HEADER), targetOf(req), access);
    if (!session) return reply;
    reply.hijack();
    const stream = new SseStream(reply.raw, { [SESSION_HEADER]: session.id });
    core.live.attachStream(session, stream);
    return reply;
  };

  const del = async (req: McpRequest, reply: FastifyReply) => {
    if (modern.isStatelessSessionVerb(req)) return modern.methodNotAllowed(req, reply, targetOf(req));
    const access = await core.auth.check(req, reply, targetOf(req));
    if (!access) return reply;
    const session = await requireSession(core, reply, header(req, SESSION_HEADER), targetOf(req), access);
    if (!session) return reply;
    await core.live.close(session.id);
    return reply.code(200).send();
  };

  // `/mcp/:target/:group` serves `$smart/<group>`; any other two-segment path names nothing (404).
  for (const url of ["/mcp", "/mcp/:target", "/mcp/:target/:group"]) {
    app.post(url, post);
    app.get(url, get);
    app.delete(url, del);
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
