import type { Actor } from "../core/mcp-dispatcher.ts";

/**
 * A 2025-era client session: small, serializable state, so a later store can keep it in
 * Redis and let any gateway replica serve it (DESIGN.md, "Sessions across replicas").
 */
export interface SessionRecord {
  id: string;
  /** The path segment of the endpoint (`""` for the global one); resolved on each request. */
  targetName: string;
  transport: "streamable-http" | "sse";
  protocolVersion: string;
  clientInfo?: Record<string, unknown>;
  clientCapabilities: Record<string, unknown>;
  /** From logging/setLevel: upstream log messages below it are not passed on. */
  logLevel?: string;
  /** Who opened it (McpAccess.principalKey); another credential cannot use it. */
  principalKey: string;
  /** The servers an API key's scope allows, when it limits them. */
  servers?: string[];
  /** Who, for the audit log; absent on open endpoints. */
  actor?: Actor;
  /** The replica holding the session's server-to-client stream: messages for it are sent there. */
  streamReplica?: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionStore {
  create(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Writes a changed record back (its idle timeout unchanged). */
  save(record: SessionRecord): Promise<void>;
  /** Marks the session as used now (it is then not expired). */
  touch(id: string): void;
  delete(id: string): Promise<boolean>;
  /** Deletes sessions idle longer than `idleMs`; returns their ids. */
  expire(idleMs: number, now?: number): Promise<SessionRecord[]>;
  count(): number;
  /** The live sessions one principal opened, with when each was last used (for the per-principal cap). */
  sessionsOf(principalKey: string): Promise<{ id: string; lastSeenAt: number }[]>;
  /**
   * Whether this process created the session and still counts it: each session is counted by
   * the replica that created it, so the sessions gauge adds up across replicas. `forget` stops
   * counting one another replica ended; it returns whether it was counted here.
   */
  createdHere(id: string): boolean;
  forget(id: string): boolean;
}

/** The all-in-one store: a Map in this process. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();

  async create(record: SessionRecord): Promise<void> {
    this.sessions.set(record.id, record);
  }
  async get(id: string): Promise<SessionRecord | undefined> {
    return this.sessions.get(id);
  }
  async save(record: SessionRecord): Promise<void> {
    if (this.sessions.has(record.id)) this.sessions.set(record.id, record);
  }
  touch(id: string): void {
    const s = this.sessions.get(id);
    if (s) s.lastSeenAt = Date.now();
  }
  async delete(id: string): Promise<boolean> {
    return this.sessions.delete(id);
  }
  async expire(idleMs: number, now = Date.now()): Promise<SessionRecord[]> {
    const gone: SessionRecord[] = [];
    for (const s of this.sessions.values()) {
      if (now - s.lastSeenAt > idleMs) {
        this.sessions.delete(s.id);
        gone.push(s);
      }
    }
    return gone;
  }
  count(): number {
    return this.sessions.size;
  }
  createdHere(id: string): boolean {
    return this.sessions.has(id);
  }
  forget(id: string): boolean {
    // One process: a session is deleted where it was created, nothing is left to forget.
    return this.sessions.delete(id);
  }
  async sessionsOf(principalKey: string): Promise<{ id: string; lastSeenAt: number }[]> {
    const out: { id: string; lastSeenAt: number }[] = [];
    for (const s of this.sessions.values()) if (s.principalKey === principalKey) out.push({ id: s.id, lastSeenAt: s.lastSeenAt });
    return out;
  }
}
