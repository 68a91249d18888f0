import type { FastifyReply } from "fastify";
import { SERVER_INFO_META_KEY, SUBSCRIPTION_ID_META_KEY } from "@modelcontextprotocol/client";
import { SubscriptionFilterSchema } from "@modelcontextprotocol/core";
import { resolveTarget } from "../../core/catalog-view.ts";
import { errorResponse, JsonRpcCode, type JsonRpcId, type JsonRpcRequest } from "../../core/jsonrpc.ts";
import type { GatewayCore } from "../sessions/session-lifecycle.ts";
import { SseStream } from "../sse-stream.ts";

/** A client may ask for these list changes on a stream; each needs the matching listChanged capability. */
const LISTS = [
  { kind: "tools", filter: "toolsListChanged", method: "notifications/tools/list_changed" },
  { kind: "prompts", filter: "promptsListChanged", method: "notifications/prompts/list_changed" },
  { kind: "resources", filter: "resourcesListChanged", method: "notifications/resources/list_changed" },
] as const;
type ListKind = (typeof LISTS)[number]["kind"];
type Honored = Partial<Record<(typeof LISTS)[number]["filter"], true>> & { resourceSubscriptions?: string[] };

/** Open streams at once on this replica; one more is refused, as the SDK's server refuses it. */
const MAX_STREAMS = 1024;

interface Listener {
  id: JsonRpcId;
  stream: SseStream;
  targetName: string;
  servers?: string[];
  honored: Honored;
  serverInfo: unknown;
  /** The list signatures of the endpoint's view this stream last reported. */
  seen: Record<ListKind, string>;
  /** The resources it subscribed to, as `server\nuri`. */
  resources: Set<string>;
}

export interface ListenContext {
  targetName: string;
  /** An API key's server scope: the view the stream reports on. */
  servers?: string[];
  capabilities: Record<string, unknown>;
  serverInfo: unknown;
}

/**
 * `subscriptions/listen` (2026-07-28), the stateless revision's replacement for the session's GET
 * stream: each open stream is told when a list it asked about really changed in its endpoint's
 * view (per view, the same signature comparison the sessions' streams get) and when a resource it
 * subscribed to was updated upstream, and is closed with the listen result when the hub shuts down.
 * Resource subscriptions are made upstream when the stream opens; the acknowledgement names the
 * URIs that could be subscribed (a URI no server of the endpoint serves, or whose server cannot
 * subscribe, is left out).
 */
export class ListenStreams {
  private readonly open = new Set<Listener>();
  private readonly unsubscribe: (() => void)[];
  private pending = false;

  constructor(private readonly core: GatewayCore) {
    // A restart changes the catalog twice in a row: one pass over the streams for the burst.
    this.unsubscribe = [core.live.onResourceUpdated((server, uri) => this.resourceUpdated(server, uri)), core.supervisor.onCatalogChanged(() => {
      if (this.pending || this.open.size === 0) return;
      this.pending = true;
      setImmediate(() => {
        this.pending = false;
        this.notifyListChanges();
      });
    })];
  }

  get size(): number {
    return this.open.size;
  }

  /** Answers a listen request: an SSE stream that starts with the acknowledgement of what it will report. */
  async serve(reply: FastifyReply, req: JsonRpcRequest, ctx: ListenContext): Promise<FastifyReply> {
    const json = (body: unknown) => reply.code(200).header("content-type", "application/json").send(JSON.stringify(body));
    if (this.open.size >= MAX_STREAMS) return json(errorResponse(req.id, JsonRpcCode.InternalError, "Subscription limit reached"));
    const parsed = SubscriptionFilterSchema.safeParse(req.params?.notifications);
    if (!parsed.success) {
      return json(errorResponse(req.id, JsonRpcCode.InvalidParams, "Invalid params: 'notifications' is required and must be a valid SubscriptionFilter"));
    }
    // Only what was asked for and what the endpoint can deliver.
    const honored: Honored = {};
    for (const l of LISTS) {
      const cap = ctx.capabilities[l.kind] as { listChanged?: boolean } | undefined;
      if (parsed.data[l.filter] === true && cap?.listChanged === true) honored[l.filter] = true;
    }
    const resources = new Set<string>();
    const subscribable = (ctx.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe === true;
    if (subscribable && parsed.data.resourceSubscriptions?.length) {
      const uris = await this.subscribe(parsed.data.resourceSubscriptions, ctx, resources);
      if (uris.length) honored.resourceSubscriptions = uris;
    }
    const seen = this.signature(ctx.targetName, ctx.servers);
    reply.hijack();
    const stream = new SseStream(reply.raw, {});
    const listener: Listener = {
      id: req.id,
      stream,
      targetName: ctx.targetName,
      honored,
      serverInfo: ctx.serverInfo,
      seen: seen ?? { tools: "", prompts: "", resources: "" },
      resources,
    };
    if (ctx.servers) listener.servers = ctx.servers;
    stream.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: honored, _meta: { [SUBSCRIPTION_ID_META_KEY]: req.id } } }));
    if (Object.keys(honored).length === 0) {
      // Nothing to report ever: the stream ends at once, gracefully.
      this.finish(listener);
      return reply;
    }
    this.open.add(listener);
    stream.onClose(() => this.open.delete(listener));
    return reply;
  }

  /** Subscribes upstream to each URI the endpoint can serve; returns those that worked, in the asked order. */
  private async subscribe(uris: string[], ctx: ListenContext, into: Set<string>): Promise<string[]> {
    const snap = this.core.supervisor.catalog();
    const target = resolveTarget(ctx.targetName, snap);
    if (!target) return [];
    const view = this.core.views.view(snap, target, ctx.servers);
    const ok = await Promise.all(
      uris.map(async (uri) => {
        try {
          const server = this.core.dispatcher.resourceOwner(uri, view, snap);
          if (!(snap.servers[server]?.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe) return false;
          await this.core.supervisor.call({ server, method: "resources/subscribe", params: { uri } });
          into.add(`${server}\n${uri}`);
          return true;
        } catch {
          return false; // not acknowledged: the client sees it is not subscribed
        }
      }),
    );
    return uris.filter((_, i) => ok[i]);
  }

  private resourceUpdated(server: string, uri: string): void {
    const key = `${server}\n${uri}`;
    for (const l of this.open) {
      if (!l.resources.has(key)) continue;
      l.stream.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri, _meta: { [SUBSCRIPTION_ID_META_KEY]: l.id } } }));
    }
  }

  /** After a catalog change: tells each stream which of its lists really changed. */
  notifyListChanges(): void {
    for (const l of this.open) {
      const now = this.signature(l.targetName, l.servers);
      // The endpoint's group or server is gone: nothing more to report on it.
      if (!now) continue;
      for (const list of LISTS) {
        if (now[list.kind] === l.seen[list.kind]) continue;
        l.seen[list.kind] = now[list.kind];
        if (l.honored[list.filter]) {
          l.stream.send(JSON.stringify({ jsonrpc: "2.0", method: list.method, params: { _meta: { [SUBSCRIPTION_ID_META_KEY]: l.id } } }));
        }
      }
    }
  }

  /** Shutdown: every stream gets the listen result (the graceful end) before it closes. */
  closeAll(): void {
    for (const off of this.unsubscribe) off();
    for (const l of [...this.open]) this.finish(l);
    this.open.clear();
  }

  private finish(l: Listener): void {
    l.stream.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: l.id,
        result: { resultType: "complete", _meta: { [SUBSCRIPTION_ID_META_KEY]: l.id, [SERVER_INFO_META_KEY]: l.serverInfo } },
      }),
    );
    l.stream.end();
  }

  private signature(targetName: string, servers?: string[]): Record<ListKind, string> | undefined {
    const snap = this.core.supervisor.catalog();
    const target = resolveTarget(targetName, snap);
    return target ? { ...this.core.views.view(snap, target, servers).signature } : undefined;
  }
}
