import type { FastifyReply, FastifyRequest } from "fastify";
import { CLIENT_CAPABILITIES_META_KEY, LOG_LEVEL_META_KEY } from "@modelcontextprotocol/client";
import { McpCallError } from "@mcphub/contracts";
import { resolveTarget, type CatalogView } from "../../core/catalog-view.ts";
import { errorResponse, JsonRpcCode, rawResultJson } from "../../core/jsonrpc.ts";
import type { ListenStreams } from "./listen-streams.ts";
import { forwardedHeaders } from "../forwarded-headers.ts";
import type { McpAccess } from "../mcp-auth.ts";
import { HUB_INFO, type DispatchContext } from "../../core/mcp-dispatcher.ts";
import { MULTI_ROUND_TRIP_METHODS, MultiRoundTrips } from "../../state/multi-round-trips.ts";
import { checkTarget, type GatewayCore } from "../sessions/session-lifecycle.ts";
import { MODERN_PROTOCOL_VERSIONS, isModernVersion, MODERN_METHODS, VIEW_LISTS, ModernCode, type EraRoute, headerOf, metaOf, standardHeaderProblem } from "./era.ts";
import { paramHeaderProblem } from "./param-headers.ts";
import { withoutEnvelope, toModernResponse, stampResult, ModernResponder, isRawResult, sendError } from "./responses.ts";

function actorOf(access: McpAccess) {
  const p = access.principal;
  return p ? { userId: p.userId, username: p.username, ...(p.keyId ? { keyId: p.keyId } : {}) } : undefined;
}

/** The 2026-07-28 revision on the MCP endpoints: stateless POSTs and subscriptions/listen streams. */
export class ModernHttp {
  /** 2026-07-28 list results per view (views live as long as their catalog version): stamped once, not per request. */
  private readonly lists = new WeakMap<CatalogView, Map<string, string>>();

  /** Calls kept running while their clients answer the upstream's questions. */
  readonly rounds = new MultiRoundTrips();

  constructor(
    private readonly core: GatewayCore,
    private readonly listen: ListenStreams,
  ) {}

  /** Serves a POST that classifyEra did not leave to the session code. */
  async post(req: FastifyRequest, reply: FastifyReply, targetName: string, route: Exclude<EraRoute, { kind: "legacy" }>): Promise<FastifyReply> {
    const access = await this.core.auth.check(req, reply, targetName);
    if (!access) return reply;
    if (route.kind === "reject") return sendError(reply, route.status, route.code, route.message, route.data, route.id);
    if (!checkTarget(this.core, reply, targetName)) return reply;
    // Nothing a client notifies is kept between stateless requests; a listen stream ends with its connection.
    if (route.kind === "notification") return reply.code(202).send();

    const message = route.message;
    const id = message.id;
    if (!MODERN_PROTOCOL_VERSIONS.includes(route.revision)) {
      return sendError(reply, 400, ModernCode.UnsupportedProtocolVersion, `Unsupported protocol version: ${route.revision}`, { supported: MODERN_PROTOCOL_VERSIONS, requested: route.revision }, id);
    }
    const headerProblem = standardHeaderProblem(message, req.headers, route.revision);
    if (headerProblem?.kind === "reject") return sendError(reply, headerProblem.status, headerProblem.code, headerProblem.message, headerProblem.data, id);
    if (!MODERN_METHODS.has(message.method)) {
      // The revision's method registry answers before any handler, so on HTTP this is a 404.
      return sendError(reply, 404, JsonRpcCode.MethodNotFound, "Method not found", undefined, id);
    }

    const snap = this.core.supervisor.catalog();
    const view = this.core.views.view(snap, resolveTarget(targetName, snap)!, access.servers);
    if (message.method === "subscriptions/listen") {
      return this.listen.serve(reply, message, { targetName, servers: access.servers, capabilities: modernCapabilities(view), serverInfo: HUB_INFO });
    }
    if (message.method === "server/discover") {
      const result = {
        supportedVersions: MODERN_PROTOCOL_VERSIONS,
        capabilities: modernCapabilities(view),
        ...(view.instructions ? { instructions: view.instructions } : {}),
      };
      const json = toModernResponse(message.method, id, JSON.stringify({ jsonrpc: "2.0", id, result }));
      return reply.code(200).header("content-type", "application/json").send(json);
    }
    if (message.method === "tools/call") {
      const problem = paramHeaderProblem(message, req.headers, view, snap.servers);
      if (problem?.kind === "reject") return sendError(reply, problem.status, problem.code, problem.message, problem.data, id);
    }

    const responder = new ModernResponder(reply);
    const ctl = new AbortController();
    // No session to send notifications/cancelled in: a client cancels by closing its POST.
    reply.raw.on("close", () => {
      if (!responder.done) ctl.abort();
    });
    const request = withoutEnvelope(message);
    const actor = actorOf(access);
    const headers = forwardedHeaders(req.headers);
    const context = (signal: AbortSignal, emit: (json: string) => void): DispatchContext => ({
      view,
      snap,
      signal,
      ...(actor ? { actor } : {}),
      ...(headers ? { headers } : {}),
      emit: (n) => emit(JSON.stringify(n)),
    });
    let json: string;
    try {
      if (MULTI_ROUND_TRIP_METHODS.has(message.method)) {
        // The upstream may ask the client something (sampling, elicitation, roots) mid-call:
        // that ends this round as input_required, and the client's retry resumes the call.
        const meta = metaOf(message.params) ?? {};
        const { inputResponses: _r, requestState: _s, ...params } = request.params ?? {};
        json = await this.rounds.serve({
          id,
          method: message.method,
          params: request.params ?? {},
          principalKey: access.principalKey,
          clientCapabilities: (meta[CLIENT_CAPABILITIES_META_KEY] ?? {}) as Record<string, unknown>,
          logLevel: meta[LOG_LEVEL_META_KEY] as string | undefined,
          signal: ctl.signal,
          emit: (n) => responder.notify(n),
          start: (session, emit, signal) => this.core.dispatcher.handle({ ...request, params }, { ...context(signal, emit), session }),
        });
      } else {
        json = await this.core.dispatcher.handle(request, context(ctl.signal, (n) => responder.notify(n)));
      }
      const list = VIEW_LISTS[message.method]?.(view);
      // A list straight from the view (the dispatcher's common answer): its stamped form is cached.
      if (list !== undefined && isRawResult(json, id, list)) json = rawResultJson(id, this.modernList(view, message.method, list));
      else json = toModernResponse(message.method, id, json);
    } catch (err) {
      // A bad retry (unknown requestState, malformed inputResponses) says which field; handle()
      // turns every other failure into a JSON-RPC error, so this is a last resort.
      json = JSON.stringify(
        err instanceof McpCallError ? errorResponse(id, err.code, err.message, err.data) : errorResponse(id, JsonRpcCode.InternalError, "internal error in the hub"),
      );
    }
    responder.respond(json);
    return reply;
  }

  private modernList(view: CatalogView, method: string, listJson: string): string {
    let byMethod = this.lists.get(view);
    if (!byMethod) this.lists.set(view, (byMethod = new Map()));
    let json = byMethod.get(method);
    if (json === undefined) byMethod.set(method, (json = JSON.stringify(stampResult(method, JSON.parse(listJson) as Record<string, unknown>))));
    return json;
  }

  /**
   * GET and DELETE are 2025-era session operations. A client of a stateless revision (it names
   * one in MCP-Protocol-Version and holds no session) is told the endpoint takes only POST from it.
   */
  isStatelessSessionVerb(req: FastifyRequest): boolean {
    const version = headerOf(req.headers, "mcp-protocol-version");
    return version !== undefined && isModernVersion(version) && headerOf(req.headers, "mcp-session-id") === undefined;
  }

  async methodNotAllowed(req: FastifyRequest, reply: FastifyReply, targetName: string): Promise<FastifyReply> {
    const access = await this.core.auth.check(req, reply, targetName);
    if (!access) return reply;
    return sendError(reply, 405, -32000, "Method not allowed.", undefined, null);
  }
}

/** What the endpoint offers a stateless client: as a session's, without the tasks the revision left out. */
function modernCapabilities(view: CatalogView): Record<string, unknown> {
  const { tasks: _removed, ...caps } = view.capabilities;
  return caps;
}
