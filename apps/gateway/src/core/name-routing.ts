import { UriTemplate } from "@modelcontextprotocol/client";
import { describeState, JsonRpcCode, McpCallError, type SupervisorPort } from "@mcphub/contracts";
import type { HubMetrics } from "@mcphub/observability";
import type { CatalogSnapshot } from "@mcphub/contracts";
import type { CatalogView, Routed } from "./catalog-view.ts";

/** What routing reads of a request: the view of its target and the catalog it was built from. */
export interface RouteContext {
  view: CatalogView;
  snap: CatalogSnapshot;
}

/** The `tool` label of a refused call whose name the hub does not know. */
export const UNKNOWN_TOOL_LABEL = "(unknown)";

/**
 * Name routing: which upstream owns a tool, prompt or resource URI in a target's view, and,
 * for one it may not use, the refusal that says why. The one place that decides whether a
 * call may go upstream; each refusal is counted here, once.
 */
export class NameRouting {
  constructor(
    private readonly supervisor: Pick<SupervisorPort, "status">,
    private readonly metrics: HubMetrics,
  ) {}

  /** A single-server endpoint is a transparent proxy: a server that is down is an error, not an empty list. */
  requireReadyForSingle(ctx: RouteContext): void {
    const t = ctx.view.target;
    if (t.kind === "server" && !ctx.snap.servers[t.name]) this.unavailable(t.name, ctx);
  }

  unavailable(server: string, ctx: RouteContext): never {
    if (!ctx.snap.configured[server]?.enabled) {
      throw new McpCallError(JsonRpcCode.InvalidParams, `server "${server}" is disabled`, undefined, "refused");
    }
    const status = this.supervisor.status().find((s) => s.name === server);
    const why = status?.lastError ? `: ${status.lastError}` : "";
    throw new McpCallError(JsonRpcCode.UpstreamUnavailable, `server "${server}" ${describeState(status?.state)}${why}`, { server }, "unavailable");
  }

  /** `count`: a refusal is counted as a refused call (not when only describing a tool). */
  tool(name: string, ctx: RouteContext, count = true): Routed {
    const routed = ctx.view.tools.get(name);
    if (routed) return routed;
    const owner = this.splitName(name, ctx);
    // A server the caller's key may not use gets the answer a name that exists nowhere gets.
    if (owner && !ctx.view.hidden.has(owner.server)) {
      const { server, inner } = owner;
      const info = ctx.snap.configured[server]!;
      // The tool label takes only names the hub knows (listed by the server, or disabled in
      // the settings): any other string a client sends would mint a metric series of its own.
      const known = info.disabledTools.includes(inner) || ctx.snap.servers[server]?.tools.some((t) => t.name === inner) === true;
      const refuse = (why: string): never => {
        if (count) this.metrics.toolCalls.inc({ server, tool: known ? inner : UNKNOWN_TOOL_LABEL, status: "refused" });
        throw new McpCallError(JsonRpcCode.InvalidParams, why, undefined, "refused");
      };
      if (!info.enabled) refuse(`tool "${name}" is not available: server "${server}" is disabled`);
      if (info.disabledTools.includes(inner)) refuse(`tool "${name}" is disabled in the settings`);
      const picks = ctx.view.members.get(server);
      if (!picks) refuse(`tool "${name}" is not available here: server "${server}" is not part of this group`);
      if (picks !== "all" && !picks!.has(inner)) refuse(`tool "${name}" is not available here: it is not among this group's tools`);
      if (!ctx.snap.servers[server]) this.unavailable(server, ctx);
    }
    throw new McpCallError(JsonRpcCode.InvalidParams, `unknown tool "${name}"`);
  }

  prompt(name: string, ctx: RouteContext): Routed {
    const routed = ctx.view.prompts.get(name);
    if (routed) return routed;
    const owner = this.splitName(name, ctx);
    if (owner && !ctx.view.hidden.has(owner.server)) {
      const refuse = (why: string): never => {
        throw new McpCallError(JsonRpcCode.InvalidParams, why, undefined, "refused");
      };
      if (!ctx.snap.configured[owner.server]?.enabled) refuse(`prompt "${name}" is not available: server "${owner.server}" is disabled`);
      if (!ctx.view.members.has(owner.server)) refuse(`prompt "${name}" is not available here: server "${owner.server}" is not part of this group`);
      if (!ctx.snap.servers[owner.server]) this.unavailable(owner.server, ctx);
    }
    throw new McpCallError(JsonRpcCode.InvalidParams, `unknown prompt "${name}"`);
  }

  resource(uri: string, ctx: RouteContext): string {
    const listed = ctx.view.resources.get(uri);
    if (listed) return listed;
    for (const { server, template } of ctx.view.templates) {
      try {
        if (new UriTemplate(template.uriTemplate).match(uri)) return server;
      } catch {
        // An upstream's malformed template must not break routing for the others.
      }
    }
    // One server with resources in this target: it may serve URIs it does not list.
    const withResources = [...ctx.view.members.keys()].filter((s) => ctx.snap.servers[s]?.capabilities.resources);
    if (withResources.length === 1) return withResources[0]!;
    if (ctx.view.target.kind === "server") this.unavailable(ctx.view.target.name, ctx);
    throw new McpCallError(JsonRpcCode.ResourceNotFound, `resource not found: ${uri}`, { uri });
  }

  /** For a prefixed name, the configured server it names (longest match) and the rest. */
  private splitName(name: string, ctx: RouteContext): { server: string; inner: string } | undefined {
    if (ctx.view.target.kind === "server") return { server: ctx.view.target.name, inner: name };
    const sep = ctx.snap.nameSeparator;
    let best: string | undefined;
    for (const server of Object.keys(ctx.snap.configured)) {
      if (name.startsWith(server + sep) && (!best || server.length > best.length)) best = server;
    }
    return best ? { server: best, inner: name.slice(best.length + sep.length) } : undefined;
  }
}
