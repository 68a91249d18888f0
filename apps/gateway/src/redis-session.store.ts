import type { Redis } from "ioredis";
import type { SessionRecord, SessionStore } from "./session.store.ts";

export interface RedisSessionStoreOptions {
  redis: Redis;
  /** Key prefix; tests give each file its own. */
  prefix?: string;
  /** A session unused this long expires (Redis TTL). */
  idleMs: number;
  /** How long a replica trusts its cached copy before asking Redis again. */
  cacheMs?: number;
}

/**
 * Sessions in Redis, so any gateway replica serves any request of any session, and a
 * replica that dies takes no session with it. Records are written once at initialize;
 * the TTL is the idle timeout, refreshed (at most every tenth of it) as the session is used.
 */
export class RedisSessionStore implements SessionStore {
  private readonly prefix: string;
  private readonly cache = new Map<string, { record: SessionRecord; at: number }>();
  private readonly touched = new Map<string, number>();
  /** Sessions created by this replica, for the sessions_active gauge. */
  private readonly local = new Set<string>();

  constructor(private readonly opts: RedisSessionStoreOptions) {
    this.prefix = opts.prefix ?? "mcphub:session:";
  }

  async create(record: SessionRecord): Promise<void> {
    await this.opts.redis.set(this.prefix + record.id, JSON.stringify(record), "PX", this.opts.idleMs);
    this.cache.set(record.id, { record, at: Date.now() });
    this.local.add(record.id);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < (this.opts.cacheMs ?? 2000)) return hit.record;
    const text = await this.opts.redis.get(this.prefix + id);
    if (!text) {
      this.cache.delete(id);
      return undefined;
    }
    const record = JSON.parse(text) as SessionRecord;
    this.cache.set(id, { record, at: Date.now() });
    return record;
  }

  touch(id: string): void {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < this.opts.idleMs / 10) return;
    this.touched.set(id, now);
    this.opts.redis.pexpire(this.prefix + id, this.opts.idleMs).catch(() => {});
  }

  async delete(id: string): Promise<boolean> {
    this.cache.delete(id);
    this.touched.delete(id);
    this.local.delete(id);
    return (await this.opts.redis.del(this.prefix + id)) > 0;
  }

  /** Redis expires records itself; this reports which of this replica's sessions are gone. */
  async expire(): Promise<SessionRecord[]> {
    const ids = [...this.local];
    if (ids.length === 0) return [];
    const exists = await Promise.all(ids.map((id) => this.opts.redis.exists(this.prefix + id)));
    const gone: SessionRecord[] = [];
    ids.forEach((id, i) => {
      if (exists[i]) return;
      this.local.delete(id);
      this.touched.delete(id);
      const cached = this.cache.get(id);
      this.cache.delete(id);
      if (cached) gone.push(cached.record);
    });
    return gone;
  }

  count(): number {
    return this.local.size;
  }
}
