import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisSessionStore } from "../../src/state/redis-session.store.ts";
import type { SessionRecord } from "../../src/state/session.store.ts";

/** The Redis session store's per-principal index, against the real Redis. */
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const prefix = `mcphub:test:sessions:${randomUUID()}:`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const record = (principalKey: string, lastSeenAt: number): SessionRecord => ({
  id: randomUUID(),
  targetName: "",
  transport: "streamable-http",
  protocolVersion: "2025-11-25",
  clientCapabilities: {},
  principalKey,
  createdAt: lastSeenAt,
  lastSeenAt,
});

describe("RedisSessionStore.sessionsOf", () => {
  it("lists one principal's sessions with their last use, forgets deleted and expired ones", async () => {
    const store = new RedisSessionStore({ redis, prefix, idleMs: 60_000 });
    const a = record("key:a", 1000);
    const b = record("key:a", 2000);
    const c = record("key:a", 3000);
    const other = record("key:b", 1500);
    for (const r of [a, b, c, other]) await store.create(r);
    expect((await store.sessionsOf("key:a")).sort((x, y) => x.lastSeenAt - y.lastSeenAt)).toEqual([
      { id: a.id, lastSeenAt: 1000 },
      { id: b.id, lastSeenAt: 2000 },
      { id: c.id, lastSeenAt: 3000 },
    ]);
    await store.delete(b.id);
    // A record Redis expired (its TTL ran out) leaves the index when the index is read.
    await redis.del(prefix + c.id);
    expect(await store.sessionsOf("key:a")).toEqual([{ id: a.id, lastSeenAt: 1000 }]);
    expect(await redis.zcard(`${prefix}by-principal:key:a`)).toBe(1);
    expect(await store.sessionsOf("key:b")).toEqual([{ id: other.id, lastSeenAt: 1500 }]);
  });
});
