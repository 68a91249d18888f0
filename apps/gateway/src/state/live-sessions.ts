import type { Bus } from "@mcphub/bus";
import { randomUUID } from "node:crypto";
import type { CredentialsRevoked, HubEvents, SupervisorPort } from "@mcphub/contracts";
import type { HubMetrics, Logger } from "@mcphub/observability";
import { resolveTarget, type CatalogViews } from "../core/catalog-view.ts";
import { ClientRequests } from "./client-requests.ts";
import type { JsonRpcId } from "../core/jsonrpc.ts";
import type { ClientSession } from "../core/mcp-dispatcher.ts";
import { ResourceSubscriptions } from "./resource-subscriptions.ts";
import { SessionChannel } from "./session-channel.ts";
import type { SessionRecord, SessionStore } from "./session.store.ts";

/**
 * A session's server-to-client stream as this module holds it (the wires' SSE writer is one):
 * messages out, an end, and whether it was dropped for not being read.
 */
export interface ClientStream {
  send(data: string, event?: string): void;
  end(): void;
  onClose(listener: () => void): void;
  readonly dropped: boolean;
  /** Bytes written that the client had not read when it was dropped. */
  readonly unreadBytes?: number;
}

export interface LiveSessionsOptions {
  /** Sessions one principal may hold; opening one more ends its least recently used. */
  maxPerPrincipal?: number;
  /** This replica's name, its address on the bus (REPLICA_ID); any unique string. */
  replica?: string;
}

/** MAX_SESSIONS_PER_PRINCIPAL's default. */
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 100;

const LIST_CHANGED = {
  tools: '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}',
  prompts: '{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}',
  resources: '{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}',
} as const;

/**
 * What this process holds for the sessions it serves: their open server-to-client
 * streams and the abort handles of their in-flight requests. The session records
 * themselves live in the SessionStore.
 */
export class LiveSessions {
  private readonly streams = new Map<string, ClientStream>();
  private readonly inflight = new Map<string, Map<JsonRpcId, AbortController>>();
  /** Per session with a stream: the list signatures it last saw. */
  private readonly seen = new Map<string, { targetName: string; servers?: string[]; tools: string; prompts: string; resources: string }>();
  /** Upstream requests waiting for a client's answer. */
  private readonly asks: ClientRequests;
  private readonly subscriptions = new ResourceSubscriptions((id, json) => this.deliver(id, json));
  /** Stateless clients' listen streams, which hold their resource subscriptions themselves. */
  private readonly resourceListeners = new Set<(server: string, uri: string) => void>();

  constructor(
    readonly store: SessionStore,
    private readonly supervisor: SupervisorPort,
    private readonly views: CatalogViews,
    private readonly metrics: HubMetrics,
    private readonly logger: Logger,
    private readonly bus: Bus,
    opts: LiveSessionsOptions = {},
  ) {
    this.maxPerPrincipal = opts.maxPerPrincipal ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL;
    this.replica = opts.replica ?? randomUUID();
    this.asks = new ClientRequests(bus);
    const relayed = ({ sessionId, message }: HubEvents["session.message"], addressed: boolean) => {
      this.metrics.relayReceived.inc({ kind: message.kind });
      if (message.kind === "send") {
        const stream = this.streams.get(sessionId);
        if (stream) stream.send(message.json);
        // Sent here for a stream that moved on (the sender read an older record): ask everyone once.
        else if (addressed) this.bus.publish("session.message", { sessionId, message });
      } else if (message.kind === "cancel") this.inflight.get(sessionId)?.get(message.requestId)?.abort();
      else if (message.kind === "close") this.closedElsewhere(sessionId, message.transport);
      else this.asks.settle(sessionId, message.requestId, message.result, message.error);
    };
    this.unsubscribe = [
      // Stream traffic is addressed to the replica holding the stream; the rest (cancellations,
      // answers, ends) goes to every replica, as the sender cannot know who runs the request.
      bus.subscribe("session.message", (e) => relayed(e, true), this.replica),
      bus.subscribe("session.message", (e) => relayed(e, false)),
      // A revoked credential ends its sessions at once, streams included, on every replica.
      bus.subscribe("credentials.revoked", (revoked) => this.inBackground(this.revoke(revoked), "end a revoked credential's sessions")),
      bus.subscribe("resource.updated", ({ server, uri }) => {
        this.subscriptions.updated(server, uri);
        for (const l of this.resourceListeners) l(server, uri);
      }),
    ];
  }

  private readonly unsubscribe: (() => void)[];
  private readonly maxPerPrincipal: number;
  /** This replica's address on the bus: where messages for the streams it holds are sent. */
  private readonly replica: string;

  /**
   * What a request of this session may do toward its client while it runs: `notify` sends on
   * the request's own channel (its POST's stream, or the legacy stream).
   */
  clientSession(session: SessionRecord, notify: (json: string) => void): ClientSession {
    return new SessionChannel(session, notify, this.asks, this.subscriptions, this.store);
  }

  /** Calls `listener` with every upstream resource update this replica hears; returns the unsubscribe. */
  onResourceUpdated(listener: (server: string, uri: string) => void): () => void {
    this.resourceListeners.add(listener);
    return () => this.resourceListeners.delete(listener);
  }

  /** A client's response to a request the hub sent it on an upstream's behalf. */
  answer(sessionId: string, response: Parameters<ClientRequests["answer"]>[1]): void {
    this.asks.answer(sessionId, response);
  }

  /**
   * Sends a message on the session's stream: here if this replica holds it, else through
   * the bus to the replica that does (a legacy SSE client's POST may land on any replica),
   * named in the session's record; to every replica when the record names none.
   */
  deliver(sessionId: string, json: string): void {
    const stream = this.streams.get(sessionId);
    if (stream) return stream.send(json);
    const message = { sessionId, message: { kind: "send" as const, json } };
    // Records come from the store's cache or one Redis connection, in order: sends keep theirs.
    void this.store.get(sessionId).then(
      (record) => this.bus.publish("session.message", message, record?.streamReplica),
      () => this.bus.publish("session.message", message),
    );
  }

  /**
   * Stores a new session. A principal over its cap loses its least recently used sessions
   * first, rather than being refused: a client that forgets to close its sessions keeps
   * working, and one that opens thousands holds at most the cap.
   */
  async create(record: SessionRecord): Promise<void> {
    const existing = await this.store.sessionsOf(record.principalKey);
    const excess = existing.length + 1 - this.maxPerPrincipal;
    if (excess > 0) {
      const oldest = existing.sort((a, b) => a.lastSeenAt - b.lastSeenAt).slice(0, excess);
      this.logger.info({ principal: record.principalKey, ended: oldest.length, cap: this.maxPerPrincipal }, "session cap reached: ended the least recently used sessions (MAX_SESSIONS_PER_PRINCIPAL)");
      await Promise.all(oldest.map((s) => this.close(s.id)));
    }
    await this.store.create(record);
    this.metrics.sessionsActive.inc({ transport: record.transport });
  }

  /**
   * Runs work nobody awaits (an event's handler, a timer's sweep, a closed stream's cleanup): a
   * failure, such as Redis being away, is logged, never left to end the process.
   */
  inBackground(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.logger.warn({ err: (err as Error)?.message ?? String(err) }, `could not ${what}; the session store may be unreachable`));
  }

  /**
   * Ends the sessions a revoked credential opened: those of the key, or every session of the
   * user (their session tokens and their keys). Each replica ends the ones it holds streams or
   * requests of, and the key's or user's stored records; the rest fail their next request's
   * credential check.
   */
  private async revoke(revoked: CredentialsRevoked): Promise<void> {
    const ids = new Set([...this.streams.keys(), ...this.inflight.keys()]);
    for (const s of await this.store.sessionsOf(revoked.keyId ? `key:${revoked.keyId}` : `user:${revoked.userId}`)) ids.add(s.id);
    let ended = 0;
    for (const id of ids) {
      const actor = (await this.store.get(id))?.actor;
      if (!actor || actor.userId !== revoked.userId || (revoked.keyId && actor.keyId !== revoked.keyId)) continue;
      await this.close(id);
      ended++;
    }
    if (ended) this.logger.info({ userId: revoked.userId, keyId: revoked.keyId, reason: revoked.reason, sessions: ended }, "ended the sessions of a revoked credential");
  }

  /**
   * Ends a session (a DELETE, a closed legacy stream, the cap, a revocation) on every replica:
   * whichever holds its stream or runs its requests is told. The replica that created it counts
   * it in the sessions gauge, so the gauge stays exact across replicas.
   */
  async close(id: string): Promise<boolean> {
    const record = await this.store.get(id);
    const counted = this.store.createdHere(id);
    const existed = await this.store.delete(id);
    if (record && counted) this.metrics.sessionsActive.dec({ transport: record.transport });
    if (record) this.bus.publish("session.message", { sessionId: id, message: { kind: "close", transport: record.transport } });
    this.endLocally(id);
    return existed;
  }

  /** Another replica ended a session: drop what is held here, and uncount it if it was created here. */
  private closedElsewhere(id: string, transport?: SessionRecord["transport"]): void {
    if (this.store.forget(id) && transport) this.metrics.sessionsActive.dec({ transport });
    this.endLocally(id);
  }

  /** Drops what this replica holds for a session: its requests in flight, its stream, its open questions. */
  private endLocally(id: string): void {
    for (const ctl of this.inflight.get(id)?.values() ?? []) ctl.abort();
    this.inflight.delete(id);
    this.streams.get(id)?.end();
    this.streams.delete(id);
    this.seen.delete(id);
    this.asks.dropSession(id);
    this.subscriptions.dropSession(id);
  }

  /** Attaches the session's server-to-client stream; a newer stream replaces an older one. */
  attachStream(session: SessionRecord, stream: ClientStream): void {
    const previous = this.streams.get(session.id);
    this.streams.set(session.id, stream);
    previous?.end();
    if (session.streamReplica !== this.replica) {
      session.streamReplica = this.replica;
      this.store.save(session).catch((err: unknown) => this.logger.warn({ err: (err as Error).message, sessionId: session.id }, "could not record which replica holds a stream; its messages go to every replica"));
    }
    const view = this.viewFor(session.targetName, session.servers);
    if (view) this.seen.set(session.id, { targetName: session.targetName, servers: session.servers, ...view.signature });
    stream.onClose(() => {
      if (stream.dropped) {
        this.logger.warn({ sessionId: session.id, transport: session.transport, unreadBytes: stream.unreadBytes }, "client stopped reading its stream: dropped it (MAX_STREAM_BUFFER_BYTES)");
      }
      if (this.streams.get(session.id) === stream) {
        this.streams.delete(session.id);
        this.seen.delete(session.id);
      }
    });
  }

  stream(id: string): ClientStream | undefined {
    return this.streams.get(id);
  }

  /** Registers an in-flight request so `notifications/cancelled` can abort it. */
  track(sessionId: string, requestId: JsonRpcId): AbortController {
    const ctl = new AbortController();
    let map = this.inflight.get(sessionId);
    if (!map) this.inflight.set(sessionId, (map = new Map()));
    map.set(requestId, ctl);
    return ctl;
  }

  untrack(sessionId: string, requestId: JsonRpcId): void {
    const map = this.inflight.get(sessionId);
    map?.delete(requestId);
    if (map?.size === 0) this.inflight.delete(sessionId);
  }

  /** Aborts a request of the session, here or (through the bus) on the replica running it. */
  cancel(sessionId: string, requestId: JsonRpcId): void {
    const ctl = this.inflight.get(sessionId)?.get(requestId);
    if (ctl) ctl.abort();
    else this.bus.publish("session.message", { sessionId, message: { kind: "cancel", requestId } });
  }

  /** After a catalog change: tells each streaming session which of its lists really changed. */
  notifyListChanges(): void {
    for (const [id, seen] of this.seen) {
      const view = this.viewFor(seen.targetName, seen.servers);
      const stream = this.streams.get(id);
      if (!view || !stream) continue;
      for (const kind of ["tools", "prompts", "resources"] as const) {
        if (view.signature[kind] !== seen[kind]) {
          seen[kind] = view.signature[kind];
          stream.send(LIST_CHANGED[kind]);
        }
      }
    }
  }

  /** Drops sessions idle longer than `idleMs` that hold no open stream. */
  async expireIdle(idleMs: number): Promise<void> {
    for (const id of this.streams.keys()) this.store.touch(id);
    const gone = await this.store.expire(idleMs);
    for (const s of gone) {
      this.metrics.sessionsActive.dec({ transport: s.transport });
      this.inflight.delete(s.id);
      this.asks.dropSession(s.id);
      this.subscriptions.dropSession(s.id);
    }
    if (gone.length) this.logger.debug({ count: gone.length }, "expired idle sessions");
  }

  async closeAll(): Promise<void> {
    for (const off of this.unsubscribe) off();
    for (const stream of this.streams.values()) stream.end();
    this.streams.clear();
    for (const map of this.inflight.values()) for (const ctl of map.values()) ctl.abort();
    this.inflight.clear();
  }

  private viewFor(targetName: string, servers?: string[]) {
    const snap = this.supervisor.catalog();
    const target = resolveTarget(targetName, snap);
    return target ? this.views.view(snap, target, servers) : undefined;
  }
}
