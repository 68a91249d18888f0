import {
  CallToolRequestParamsSchema,
  CompleteRequestParamsSchema,
  GetPromptRequestParamsSchema,
  ReadResourceRequestParamsSchema,
  SetLevelRequestParamsSchema,
  SubscribeRequestParamsSchema,
} from "@modelcontextprotocol/core";
import {
  JsonRpcCode,
  McpCallError,
  type AuditSink,
  type CatalogSnapshot,
  type CallClient,
  type SupervisorPort,
  type UpstreamCall,
} from "@mcphub/contracts";
import { safeErrorMessage, type HubMetrics, type Logger } from "@mcphub/observability";
import type { CatalogView, Routed } from "./catalog-view.ts";
import { NameRouting } from "./name-routing.ts";
import { callMetaTool, type SmartSearcher } from "./smart-tools.ts";
import { errorResponse, rawResultJson, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest } from "./jsonrpc.ts";

/** Protocol revisions served with sessions, newest first. */
export const SESSION_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];
export const HUB_INFO = { name: "mcphub", version: "0.1.0" };

/** Who makes a request, for the audit log: a signed-in user, through one of their keys or not. */
export interface Actor {
  userId: string;
  username: string;
  keyId?: string;
}

export interface DispatchContext {
  view: CatalogView;
  snap: CatalogSnapshot;
  /** Sends a notification to the client while the request runs (progress). */
  emit: (notification: JsonRpcNotification) => void;
  /** Aborted when the client cancels the request or goes away. */
  signal: AbortSignal;
  /** Who is calling, for the audit log. */
  actor?: Actor;
  /** The client's session, where there is one: the way back for an upstream's requests, logs and resource updates. */
  session?: ClientSession;
  /** Headers of the client's request passed on to HTTP upstreams (forwarded-headers.ts). */
  headers?: Record<string, string>;
}

/**
 * What one request may do toward the client of its session while it runs (LiveSessions.clientSession):
 * as a CallClient it takes the upstream's requests and notifications (log messages filtered by the
 * client's level, sent on the request's own channel).
 */
export interface ClientSession extends CallClient {
  setLogLevel(level: string): Promise<void>;
  subscribe(server: string, uri: string): void;
  unsubscribe(server: string, uri: string): void;
  /** The request is over: questions to the client still open are withdrawn. */
  end(): void;
}

interface ZodLike {
  safeParse(v: unknown): { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** Checks params with the SDK's schema; the message names the field and the reason. */
function checkParams(schema: ZodLike, params: unknown, method: string): void {
  const r = schema.safeParse(params ?? {});
  if (!r.success) {
    const detail = r.error.issues.map((i) => `params${i.path.map((p) => `.${String(p)}`).join("")}: ${i.message}`).join("; ");
    throw new McpCallError(JsonRpcCode.InvalidParams, `invalid ${method} request: ${detail}`);
  }
}

/**
 * Answers one client request against a target's view: lists from the cached view,
 * everything else routed to the one upstream that owns the name or URI.
 * Returns the JSON text of the response.
 */
export class McpDispatcher {
  constructor(
    private readonly supervisor: SupervisorPort,
    metrics: HubMetrics,
    private readonly logger: Logger,
    /** Where every tool call is recorded (the audit stream, or the database in one process). */
    private readonly audit?: AuditSink,
    /** Tool search for the smart-routing endpoints; without one they answer that search is unavailable. */
    private readonly smart?: SmartSearcher,
  ) {
    this.routes = new NameRouting(supervisor, metrics);
  }

  private readonly routes: NameRouting;

  /** The server that serves `uri` in this view (McpCallError when none does); for subscriptions outside a session. */
  resourceOwner(uri: string, view: CatalogView, snap: CatalogSnapshot): string {
    return this.routes.resource(uri, { view, snap });
  }

  initializeResult(params: Record<string, unknown> | undefined, view: CatalogView): Record<string, unknown> {
    const requested = typeof params?.protocolVersion === "string" ? params.protocolVersion : undefined;
    const protocolVersion = requested && SESSION_PROTOCOL_VERSIONS.includes(requested) ? requested : SESSION_PROTOCOL_VERSIONS[0];
    return {
      protocolVersion,
      capabilities: view.capabilities,
      serverInfo: HUB_INFO,
      ...(view.instructions ? { instructions: view.instructions } : {}),
    };
  }

  async handle(req: JsonRpcRequest, ctx: DispatchContext): Promise<string> {
    try {
      switch (req.method) {
        case "ping":
          return rawResultJson(req.id, "{}");
        case "tools/list":
          this.routes.requireReadyForSingle(ctx);
          return rawResultJson(req.id, ctx.view.toolsJson);
        case "prompts/list":
          this.routes.requireReadyForSingle(ctx);
          return rawResultJson(req.id, ctx.view.promptsJson);
        case "resources/list":
          this.routes.requireReadyForSingle(ctx);
          return rawResultJson(req.id, ctx.view.resourcesJson);
        case "resources/templates/list":
          this.routes.requireReadyForSingle(ctx);
          return rawResultJson(req.id, ctx.view.templatesJson);
        case "logging/setLevel":
          // Upstream connections are shared by every client, so one client's level is not
          // forwarded: the hub filters the log messages it passes to this session instead.
          checkParams(SetLevelRequestParamsSchema, req.params, req.method);
          await ctx.session?.setLogLevel(String(req.params!.level));
          return rawResultJson(req.id, "{}");
        case "resources/subscribe":
        case "resources/unsubscribe":
          return await this.subscription(req, ctx);
        case "tools/call":
          if (ctx.view.target.kind !== "smart") return await this.callTool(req, ctx);
          checkParams(CallToolRequestParamsSchema, req.params, req.method);
          return await callMetaTool(req, ctx, { searcher: this.smart, routes: this.routes, callTool: (r, c) => this.callTool(r, c) });
        case "prompts/get": {
          checkParams(GetPromptRequestParamsSchema, req.params, req.method);
          const routed = this.routes.prompt(String(req.params!.name), ctx);
          return await this.forward(req, ctx, routed.server, { ...req.params, name: routed.name });
        }
        case "resources/read": {
          checkParams(ReadResourceRequestParamsSchema, req.params, req.method);
          const server = this.routes.resource(String(req.params!.uri), ctx);
          return await this.forward(req, ctx, server, req.params!);
        }
        case "completion/complete":
          return await this.complete(req, ctx);
        case "initialize":
          return JSON.stringify(errorResponse(req.id, JsonRpcCode.InvalidRequest, "this session is already initialized"));
        default:
          return JSON.stringify(errorResponse(req.id, JsonRpcCode.MethodNotFound, `method "${req.method}" is not supported by this endpoint`));
      }
    } catch (err) {
      return JSON.stringify(this.toError(req.id, err));
    }
  }

  private toError(id: JsonRpcId, err: unknown) {
    if (err instanceof McpCallError) return errorResponse(id, err.code, err.message, err.data);
    this.logger.error({ err }, "request failed inside the hub");
    return errorResponse(id, JsonRpcCode.InternalError, "internal error in the hub");
  }

  private async callTool(req: JsonRpcRequest, ctx: DispatchContext): Promise<string> {
    const params = req.params ?? {};
    // The common, well-formed call skips the schema walk; anything else gets the SDK's check and its message.
    const args = params.arguments;
    if (typeof params.name !== "string" || (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args)))) {
      checkParams(CallToolRequestParamsSchema, params, req.method);
    }
    const routed = this.routes.tool(String(params.name), ctx);
    if (!this.audit) return this.forward(req, ctx, routed.server, { ...params, name: routed.name });
    const started = performance.now();
    let outcome = "ok";
    try {
      return await this.forward(req, ctx, routed.server, { ...params, name: routed.name }, (result) => {
        if (result.isError === true) outcome = "tool_error";
      });
    } catch (err) {
      outcome = err instanceof McpCallError ? (err.reason ?? `error ${err.code}`) : "error";
      throw err;
    } finally {
      this.recordCall(ctx, routed, params, outcome, performance.now() - started);
    }
  }

  /** Appends a tool.call audit event without holding up the answer; a failed append is logged with the event. */
  private recordCall(ctx: DispatchContext, routed: Routed, params: Record<string, unknown>, outcome: string, ms: number): void {
    const event = {
      action: "tool.call",
      resource: routed.server,
      resourceId: routed.name,
      success: outcome === "ok",
      ...(ctx.actor ? { userId: ctx.actor.userId, username: ctx.actor.username } : {}),
      details: {
        outcome,
        durationMs: Math.round(ms * 10) / 10,
        ...(ctx.actor?.keyId ? { apiKeyId: ctx.actor.keyId } : {}),
        ...(ctx.snap.audit.logArguments && params.arguments !== undefined ? { arguments: params.arguments } : {}),
      },
    };
    this.audit!.append(event).catch((err: unknown) =>
      this.logger.error({ err: safeErrorMessage(err), action: event.action, server: event.resource, tool: event.resourceId }, "could not append an audit event"),
    );
  }

  private async complete(req: JsonRpcRequest, ctx: DispatchContext): Promise<string> {
    checkParams(CompleteRequestParamsSchema, req.params, req.method);
    const ref = req.params!.ref as { type: string; name?: string; uri?: string };
    if (ref.type === "ref/prompt") {
      const routed = this.routes.prompt(String(ref.name), ctx);
      return this.forward(req, ctx, routed.server, { ...req.params, ref: { ...ref, name: routed.name } });
    }
    const server = this.routes.resource(String(ref.uri), ctx);
    return this.forward(req, ctx, server, req.params!);
  }

  private async subscription(req: JsonRpcRequest, ctx: DispatchContext): Promise<string> {
    checkParams(SubscribeRequestParamsSchema, req.params, req.method);
    const uri = String(req.params!.uri);
    if (!ctx.session) throw new McpCallError(JsonRpcCode.MethodNotFound, `${req.method} needs a session to deliver updates to`);
    const server = this.routes.resource(uri, ctx);
    if (req.method === "resources/unsubscribe") {
      // Not forwarded: the upstream connection is shared and other sessions may still want it.
      ctx.session.unsubscribe(server, uri);
      return rawResultJson(req.id, "{}");
    }
    const resources = ctx.snap.servers[server]?.capabilities.resources as { subscribe?: boolean } | undefined;
    if (!resources?.subscribe) throw new McpCallError(JsonRpcCode.MethodNotFound, `server "${server}" does not support resource subscriptions`);
    const json = await this.forward(req, ctx, server, req.params!);
    ctx.session.subscribe(server, uri);
    return json;
  }

  /**
   * Sends the request to its upstream, relaying progress under the client's own token, and,
   * within a session, the upstream's requests and log messages back to this client.
   */
  private async forward(
    req: JsonRpcRequest,
    ctx: DispatchContext,
    server: string,
    params: Record<string, unknown>,
    inspect?: (result: Record<string, unknown>) => void,
  ): Promise<string> {
    const meta = params._meta as Record<string, unknown> | undefined;
    const progressToken = meta?.progressToken;
    let upstreamParams = params;
    if (meta && progressToken !== undefined) {
      // The upstream connection is shared: it gets its own token, mapped back here.
      const { progressToken: _t, ...rest } = meta;
      upstreamParams = { ...params, _meta: rest };
    }
    const call: UpstreamCall = {
      server,
      method: req.method,
      params: upstreamParams,
      signal: ctx.signal,
      onProgress:
        progressToken === undefined
          ? undefined
          : (p) => ctx.emit({ jsonrpc: "2.0", method: "notifications/progress", params: { ...p, progressToken } }),
      client: ctx.session,
      headers: ctx.headers,
    };
    try {
      const result = await this.supervisor.call(call);
      inspect?.(result);
      return JSON.stringify({ jsonrpc: "2.0", id: req.id, result });
    } finally {
      ctx.session?.end();
    }
  }

}
