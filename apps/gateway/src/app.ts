import type { FastifyError, FastifyInstance } from "fastify";
import type { Bus } from "@mcphub/bus";
import type { AuditSink, AuthenticatorPort, RouterPort, SupervisorPort } from "@mcphub/contracts";
import type { HubMetrics, Logger } from "@mcphub/observability";
import { CatalogViews } from "./core/catalog-view.ts";
import { errorResponse, JsonRpcCode } from "./core/jsonrpc.ts";
import { registerLegacySse } from "./wires/legacy-sse/legacy-sse.routes.ts";
import { LiveSessions } from "./state/live-sessions.ts";
import { McpAuth } from "./wires/mcp-auth.ts";
import { originGuard } from "./wires/origin-guard.ts";
import { McpDispatcher } from "./core/mcp-dispatcher.ts";
import { SmartSearcher } from "./core/smart-tools.ts";
import { DEFAULT_STREAM_BUFFER_BYTES, SseStream } from "./wires/sse-stream.ts";
import { MemorySessionStore, type SessionStore } from "./state/session.store.ts";
import type { GatewayCore } from "./wires/sessions/session-lifecycle.ts";
import { registerStreamableHttp } from "./wires/streamable-http.routes.ts";

export interface GatewayDeps {
  supervisor: SupervisorPort;
  /** Relays session traffic between replicas (the in-memory bus in one process). */
  bus: Bus;
  metrics: HubMetrics;
  logger: Logger;
  /** The BASE_PATH this plugin is mounted under; legacy SSE announces URLs with it. */
  basePath: string;
  bodyLimit: number;
  sessions?: SessionStore;
  /** Checks credentials on every MCP request; without one, only the settings' bearer key (if on) is checked. */
  authenticator?: AuthenticatorPort;
  /** SKIP_AUTH=true: no credential checked at all, on purpose. */
  skipAuth?: boolean;
  /** Every tool call is recorded here. */
  audit?: AuditSink;
  /** Host names the MCP endpoints answer to (Host and Origin); undefined: any. */
  allowedHosts?: readonly string[];
  /** Sessions without a stream and unused this long are forgotten. */
  sessionIdleMs?: number;
  /** Tool search for `/mcp/$smart`: the router in process, or its HTTP client (ROUTER_URL). */
  router?: RouterPort;
  /** Unread bytes a client's stream may hold before the client is dropped (MAX_STREAM_BUFFER_BYTES). */
  streamBufferBytes?: number;
  /** Sessions one principal may hold (MAX_SESSIONS_PER_PRINCIPAL); the least recently used go first. */
  maxSessionsPerPrincipal?: number;
  /** This replica's name (REPLICA_ID): its address for the session traffic other replicas relay. */
  replica?: string;
}

/** The MCP endpoints: Streamable HTTP at /mcp[/:target], legacy SSE at /sse[/:target] + /messages. */
export default async function gatewayApp(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  SseStream.bufferLimitBytes = deps.streamBufferBytes ?? DEFAULT_STREAM_BUFFER_BYTES;
  const views = new CatalogViews();
  const smart = deps.router ? new SmartSearcher(deps.router, deps.logger, deps.audit) : undefined;
  const dispatcher = new McpDispatcher(deps.supervisor, deps.metrics, deps.logger, deps.audit, smart);
  const live = new LiveSessions(deps.sessions ?? new MemorySessionStore(), deps.supervisor, views, deps.metrics, deps.logger, deps.bus, {
    maxPerPrincipal: deps.maxSessionsPerPrincipal,
    replica: deps.replica,
  });
  const auth = new McpAuth({ authenticator: deps.authenticator, skipAuth: deps.skipAuth ?? false, supervisor: deps.supervisor, basePath: deps.basePath });
  auth.register(app);
  if (deps.skipAuth) deps.logger.warn("SKIP_AUTH=true: the MCP endpoints accept every request without credentials");
  const core: GatewayCore = { live, dispatcher, supervisor: deps.supervisor, views, auth, basePath: deps.basePath };

  // JSON is parsed in the handlers, so malformed JSON becomes a JSON-RPC -32700 instead of a generic 400.
  // Fastify's default text/plain parser would also hand the handlers a string, letting a
  // non-JSON content type through: only application/json may reach them (415 otherwise).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string", bodyLimit: deps.bodyLimit }, (_req, body, done) => done(null, body));
  app.addHook("preValidation", async (req, reply) => {
    if (req.method === "POST" && typeof req.body !== "string") {
      return reply.code(415).header("content-type", "application/json")
        .send(JSON.stringify(errorResponse(null, JsonRpcCode.InvalidRequest, "Unsupported Media Type: send Content-Type: application/json")));
    }
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).header("content-type", "application/json")
        .send(JSON.stringify(errorResponse(null, JsonRpcCode.InvalidRequest, `Payload Too Large: the body exceeds ${deps.bodyLimit} bytes`)));
    }
    if (status < 500) {
      return reply.code(status).header("content-type", "application/json").send(JSON.stringify(errorResponse(null, JsonRpcCode.InvalidRequest, err.message)));
    }
    req.log.error({ err }, "unhandled error on an MCP endpoint");
    return reply.code(500).header("content-type", "application/json").send(JSON.stringify(errorResponse(null, JsonRpcCode.InternalError, "internal error in the hub")));
  });

  // Every route of this plugin is an MCP endpoint (or its metadata): one guard for all.
  app.addHook("onRequest", originGuard(deps.allowedHosts));
  registerStreamableHttp(app, core);
  registerLegacySse(app, core);

  // Coalesce bursts (a restart changes state twice) into one pass over the sessions.
  let pending = false;
  const unsubscribe = deps.supervisor.onCatalogChanged(() => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      live.notifyListChanges();
    });
  });
  const idleMs = deps.sessionIdleMs ?? 30 * 60_000;
  const sweep = setInterval(() => live.inBackground(live.expireIdle(idleMs), "expire idle sessions"), Math.min(idleMs, 60_000));
  sweep.unref();

  // preClose: open SSE streams would otherwise keep the HTTP server from closing.
  app.addHook("preClose", async () => {
    unsubscribe();
    clearInterval(sweep);
    await live.closeAll();
  });
}
