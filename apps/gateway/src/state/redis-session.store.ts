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
 * Each principal's sessions are also a sorted set by last use, for the per-principal cap; a
 * member whose record expired is dropped when the set is read.
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

  private byPrincipal(principalKey: string): string {
    return `${this.prefix}by-principal:${principalKey}`;
  }

  async create(record: SessionRecord): Promise<void> {
    const index = this.byPrincipal(record.principalKey);
    await this.opts.redis
      .multi()
      .set(this.prefix + record.id, JSON.stringify(record), "PX", this.opts.idleMs)
      .zadd(index, record.lastSeenAt, record.id)
      .pexpire(index, this.opts.idleMs)
      .exec();
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

  async save(record: SessionRecord): Promise<void> {
    // XX: a session ended meanwhile stays ended; KEEPTTL: saving is not using.
    await this.opts.redis.set(this.prefix + record.id, JSON.stringify(record), "KEEPTTL", "XX");
    this.cache.set(record.id, { record, at: Date.now() });
  }

  touch(id: string): void {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < this.opts.idleMs / 10) return;
    this.touched.set(id, now);
    this.opts.redis.pexpire(this.prefix + id, this.opts.idleMs).catch(() => {});
    const principalKey = this.cache.get(id)?.record.principalKey;
    if (principalKey) {
      const index = this.byPrincipal(principalKey);
      this.opts.redis.multi().zadd(index, now, id).pexpire(index, this.opts.idleMs).exec().catch(() => {});
    }
  }

  async delete(id: string): Promise<boolean> {
    const principalKey = (await this.get(id))?.principalKey;
    this.cache.delete(id);
    this.touched.delete(id);
    this.local.delete(id);
    if (principalKey) await this.opts.redis.zrem(this.byPrincipal(principalKey), id);
    return (await this.opts.redis.del(this.prefix + id)) > 0;
  }

  async sessionsOf(principalKey: string): Promise<{ id: string; lastSeenAt: number }[]> {
    const index = this.byPrincipal(principalKey);
    const flat = await this.opts.redis.zrange(index, "0", "-1", "WITHSCORES");
    const entries: { id: string; lastSeenAt: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i]!, lastSeenAt: Number(flat[i + 1]) });
    if (!entries.length) return entries;
    const pipeline = this.opts.redis.pipeline();
    for (const e of entries) pipeline.exists(this.prefix + e.id);
    const exists = (await pipeline.exec()) ?? [];
    const stale = entries.filter((_, i) => !exists[i]?.[1]).map((e) => e.id);
    if (stale.length) await this.opts.redis.zrem(index, ...stale);
    return entries.filter((e) => !stale.includes(e.id));
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

  createdHere(id: string): boolean {
    return this.local.has(id);
  }

  forget(id: string): boolean {
    this.cache.delete(id);
    this.touched.delete(id);
    return this.local.delete(id);
  }
}
