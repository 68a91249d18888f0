import {
  HubError,
  JsonRpcCode,
  McpCallError,
  SEARCH_LIMIT_DEFAULT,
  SEARCH_LIMIT_MAX,
  SEARCH_QUERY_MAX_CHARS,
  type AuditSink,
  type CatalogSnapshot,
  type RouterPort,
} from "@mcphub/contracts";
import { safeErrorMessage, type Logger } from "@mcphub/observability";
import type { CatalogView } from "./catalog-view.ts";
import type { JsonRpcRequest } from "./jsonrpc.ts";
import { CALL_TOOL, DESCRIBE_TOOL, SEARCH_TOOLS } from "./meta-tools.ts";
import type { NameRouting, RouteContext } from "./name-routing.ts";
import type { Actor } from "./mcp-dispatcher.ts";

export interface SmartHit {
  /** The name to call it by here (`<server><sep><tool>`). */
  name: string;
  server: string;
  tool: string;
  description: string;
  score: number;
  inputSchema?: unknown;
}

export interface SmartSearch {
  query: string;
  limit: number;
  hits: SmartHit[];
  ranking: "hybrid" | "lexical";
  degraded?: string;
  threshold: number;
  /** When nothing matched: the servers in scope and ready, with what they are for, so the model can rephrase. */
  servers: { name: string; description?: string; tools: number }[];
}

type Args = Record<string, unknown>;

function invalid(field: string, why: string, tool = SEARCH_TOOLS): never {
  throw new McpCallError(JsonRpcCode.InvalidParams, `${tool}: arguments.${field} ${why}`);
}

/** The `query` and `limit` of a search, checked; the error names the field and why. */
export function searchArgs(args: Args, tool = SEARCH_TOOLS): { query: string; limit: number } {
  const query = args.query;
  if (typeof query !== "string") invalid("query", query === undefined ? "is required" : "must be a string", tool);
  const trimmed = query.trim();
  if (!trimmed) invalid("query", "must not be empty", tool);
  if (trimmed.length > SEARCH_QUERY_MAX_CHARS) invalid("query", `must be at most ${SEARCH_QUERY_MAX_CHARS} characters (got ${trimmed.length})`, tool);
  const limit = args.limit ?? SEARCH_LIMIT_DEFAULT;
  if (typeof limit !== "number" || !Number.isInteger(limit)) invalid("limit", "must be an integer", tool);
  if (limit < 1 || limit > SEARCH_LIMIT_MAX) invalid("limit", `must be between 1 and ${SEARCH_LIMIT_MAX} (got ${limit})`, tool);
  return { query: trimmed, limit };
}

/** The `toolName` a call_tool or describe_tool names. */
export function toolNameArg(args: Args, tool: string): string {
  const name = args.toolName;
  if (typeof name !== "string" || !name) invalid("toolName", name === undefined ? "is required" : "must be a non-empty string", tool);
  return name;
}

export function callArguments(args: Args): Record<string, unknown> | undefined {
  const a = args.arguments;
  if (a === undefined) return undefined;
  if (typeof a !== "object" || a === null || Array.isArray(a)) invalid("arguments", "must be an object", CALL_TOOL);
  return a as Record<string, unknown>;
}

/**
 * Searches a smart view's scope through the router and keeps only what the view may show:
 * the router is told the scope, and every hit is checked against the view again, so a group's
 * picks, a key's servers and disabled tools hold even against a stale index.
 */
export class SmartSearcher {
  constructor(
    private readonly router: RouterPort,
    private readonly logger: Logger,
    private readonly audit?: AuditSink,
  ) {}

  async search(view: CatalogView, snap: CatalogSnapshot, query: string, limit: number): Promise<SmartSearch> {
    const scope: Record<string, "all" | string[]> = {};
    for (const [server, picks] of view.members) if (snap.servers[server]) scope[server] = picks === "all" ? "all" : [...picks];
    const threshold = snap.smartRouting.threshold;
    if (!Object.keys(scope).length) return { query, limit, hits: [], ranking: "hybrid", threshold, servers: [] };
    let response;
    try {
      response = await this.router.search({ query, limit, scope, threshold });
    } catch (err) {
      const message = err instanceof HubError || err instanceof Error ? err.message : String(err);
      throw new McpCallError(JsonRpcCode.UpstreamUnavailable, `tool search is unavailable: ${message}`, undefined, "unavailable");
    }
    const sep = snap.nameSeparator;
    const disclose = !snap.smartRouting.progressiveDisclosure;
    const hits: SmartHit[] = [];
    for (const r of response.results) {
      const name = `${r.server}${sep}${r.tool}`;
      const routed = view.tools.get(name);
      const definition = view.definitions?.get(name);
      if (!routed || routed.server !== r.server || !definition) continue;
      hits.push({
        name,
        server: r.server,
        tool: r.tool,
        description: typeof definition.description === "string" ? definition.description : r.description,
        score: Math.round(r.score * 1000) / 1000,
        ...(disclose && definition.inputSchema !== undefined ? { inputSchema: definition.inputSchema } : {}),
      });
    }
    // The servers are named only when nothing matched (the answer then lists them): a search with hits does not pay for it.
    const servers = hits.length ? [] : serversInScope(view, snap, Object.keys(scope));
    return { query, limit, hits, ranking: response.ranking, ...(response.degraded ? { degraded: response.degraded } : {}), threshold, servers };
  }

  /** Records a search without holding up the answer: its size and outcome, the query itself only with `audit.logArguments`. */
  record(search: SmartSearch, view: CatalogView, snap: CatalogSnapshot, actor: Actor | undefined, source: string): void {
    if (!this.audit) return;
    const target = view.target;
    const event = {
      action: "tool.search",
      resource: target.kind === "smart" && target.group !== undefined ? `$smart/${target.group}` : "$smart",
      success: true,
      ...(actor ? { userId: actor.userId, username: actor.username } : {}),
      details: {
        source,
        queryLength: search.query.length,
        limit: search.limit,
        results: search.hits.length,
        ranking: search.ranking,
        ...(actor?.keyId ? { apiKeyId: actor.keyId } : {}),
        ...(snap.audit.logArguments ? { query: search.query } : {}),
      },
    };
    this.audit.append(event).catch((err: unknown) => this.logger.error({ err: safeErrorMessage(err), action: event.action }, "could not append an audit event"));
  }
}

export interface MetaToolDeps<C extends RouteContext> {
  /** Absent on a gateway without a router: search_tools then says it is unavailable. */
  searcher?: SmartSearcher;
  routes: NameRouting;
  /** The ordinary tools/call of the dispatcher. */
  callTool(req: JsonRpcRequest, ctx: C): Promise<string>;
}

/**
 * The meta-tools of a smart-routing endpoint. call_tool re-enters the ordinary call on the same
 * view, so filters, scopes, audit, timeouts, progress, cancellation and passthrough are the
 * direct call's own code. Returns the JSON text of the response.
 */
export async function callMetaTool<C extends RouteContext & { actor?: Actor }>(req: JsonRpcRequest, ctx: C, deps: MetaToolDeps<C>): Promise<string> {
  const params = req.params ?? {};
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  switch (params.name) {
    case SEARCH_TOOLS: {
      const { query, limit } = searchArgs(args);
      if (!deps.searcher) throw new McpCallError(JsonRpcCode.UpstreamUnavailable, "tool search is unavailable: this gateway has no router (set ROUTER_URL)", undefined, "unavailable");
      const search = await deps.searcher.search(ctx.view, ctx.snap, query, limit);
      deps.searcher.record(search, ctx.view, ctx.snap, ctx.actor, "mcp");
      return JSON.stringify({ jsonrpc: "2.0", id: req.id, result: searchResult(search) });
    }
    case DESCRIBE_TOOL: {
      const name = toolNameArg(args, DESCRIBE_TOOL);
      deps.routes.tool(name, ctx, false);
      const definition = ctx.view.definitions!.get(name)!;
      return JSON.stringify({ jsonrpc: "2.0", id: req.id, result: { content: [{ type: "text", text: JSON.stringify(definition) }], structuredContent: definition } });
    }
    case CALL_TOOL: {
      const name = toolNameArg(args, CALL_TOOL);
      const inner = callArguments(args);
      const call: JsonRpcRequest = { ...req, params: { ...(params._meta ? { _meta: params._meta } : {}), name, ...(inner ? { arguments: inner } : {}) } };
      return deps.callTool(call, ctx);
    }
    default:
      throw new McpCallError(JsonRpcCode.InvalidParams, `unknown tool "${String(params.name)}": this smart-routing endpoint offers ${SEARCH_TOOLS}, ${CALL_TOOL} and ${DESCRIBE_TOOL}`);
  }
}

/** search_tools' answer: the hits as JSON text and structured content, or, when none passed the threshold, a sentence saying so. */
export function searchResult(search: SmartSearch): Record<string, unknown> {
  const meta = { ranking: search.ranking, threshold: search.threshold, ...(search.degraded ? { degraded: search.degraded } : {}) };
  if (search.hits.length) {
    const structured = { tools: search.hits };
    return { content: [{ type: "text", text: JSON.stringify(structured) }], structuredContent: structured, _meta: { "mcphub/search": meta } };
  }
  const lines = search.servers.length
    ? [
        `No tool matched "${search.query}" closely enough (relevance threshold ${search.threshold}). Try other words: say what the tool should do, or name the kind of server.`,
        "Servers you can reach here:",
        ...search.servers.map((s) => `- ${s.name} (${s.tools} tools)${s.description ? `: ${s.description}` : ""}`),
      ]
    : ["No server is ready in this scope, so there is no tool to search yet."];
  return { content: [{ type: "text", text: lines.join("\n") }], structuredContent: { tools: [] }, _meta: { "mcphub/search": meta } };
}

/** A server's own words about itself, shortened: the first sentence of its instructions. */
function describeServer(snap: CatalogSnapshot, server: string): string | undefined {
  const text = snap.servers[server]?.instructions;
  if (!text) return undefined;
  const first = text.split(/(?<=[.!?])\s/)[0]!.trim();
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

/** Each server of the scope with its tool count here (one pass over the view) and its own words. */
function serversInScope(view: CatalogView, snap: CatalogSnapshot, names: string[]): SmartSearch["servers"] {
  const counts = new Map<string, number>();
  for (const r of view.tools.values()) counts.set(r.server, (counts.get(r.server) ?? 0) + 1);
  return names.map((name) => ({ name, description: describeServer(snap, name), tools: counts.get(name) ?? 0 }));
}
