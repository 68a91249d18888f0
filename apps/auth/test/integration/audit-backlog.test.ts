import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { auditBacklogGauge } from "../../src/audit-backlog.ts";

/** mcphub_audit_backlog against the real Redis: what the consumer group has not committed. */
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const stream = `mcphub:audit:backlog-test:${process.pid}`;
const group = "mcphub-auth";

afterAll(async () => {
  await redis.del(stream);
  redis.disconnect();
});

async function value(registry: Registry): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === "mcphub_audit_backlog")!;
  return metric.values[0]!.value;
}

describe("mcphub_audit_backlog", () => {
  it("is 0 before anything was produced, then counts what waits: undelivered plus unacknowledged", async () => {
    const registry = new Registry();
    auditBacklogGauge(registry, redis, stream, group);
    expect(await value(registry)).toBe(0);

    for (let i = 0; i < 3; i++) await redis.xadd(stream, "*", "event", JSON.stringify({ i }));
    // No group yet (auth never started): every event waits.
    expect(await value(registry)).toBe(3);

    await redis.xgroup("CREATE", stream, group, "0");
    expect(await value(registry)).toBe(3);
    const read = (await redis.xreadgroup("GROUP", group, "c1", "COUNT", 2, "STREAMS", stream, ">")) as [string, [string, string[]][]][];
    const ids = read[0]![1].map(([id]) => id);
    // Delivered but not acknowledged still waits (auth acknowledges after the insert commits).
    expect(await value(registry)).toBe(3);
    await redis.xack(stream, group, ...ids);
    expect(await value(registry)).toBe(1);
  });

  it("is -1 when Redis does not answer", async () => {
    const registry = new Registry();
    const dead = new Redis("redis://127.0.0.1:1", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    auditBacklogGauge(registry, dead, stream, group);
    expect(await value(registry)).toBe(-1);
    dead.disconnect();
  });
});
