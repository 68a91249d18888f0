import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "../../../../test/helpers/private-redis.ts";
import { AuditProducer } from "../../src/index.ts";

/**
 * A producer on a connection set up as the gateway's (maxRetriesPerRequest: 2) keeps every
 * event while its Redis (a private one) is stopped: appends resolve from the bounded spool,
 * and once Redis is back the stream holds each event, in order.
 */
const STREAM = "mcphub:audit";
let server: PrivateRedis;
const connections: Redis[] = [];

beforeAll(async () => {
  server = await startPrivateRedis();
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await server?.destroy();
});

function connection(): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 2, retryStrategy: (times) => Math.min(20 * 2 ** times, 200) });
  redis.on("error", () => {});
  connections.push(redis);
  return redis;
}

async function streamEventIds(reader: Redis): Promise<string[]> {
  const entries = await reader.xrange(STREAM, "-", "+");
  return entries.map(([, fields]) => (JSON.parse(fields[1]!) as { eventId: string }).eventId);
}

/** Resolves when the producer reports `state` (the spool's own event, no polling). */
function reported(reports: { state: string }[], state: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (reports.some((r) => r.state === state) ? resolve() : setImmediate(check));
    check();
  });
}

describe("audit producer while Redis is down", () => {
  it("spools what is appended while Redis is stopped and delivers all of it, in order, when it is back", async () => {
    const reports: { state: string; spooled: number }[] = [];
    const redis = connection();
    const producer = new AuditProducer(redis, STREAM, { onSpool: (r) => reports.push(r), minRetryMs: 20, maxRetryMs: 200 });
    await redis.ping();
    const ids: string[] = [];
    const append = async (n: number, phase: string) => {
      for (let i = 0; i < n; i++) ids.push((await producer.append({ action: "tool.call", resource: "everything", resourceId: "echo", success: true, details: { phase, i } })).eventId);
    };
    await append(100, "up");
    expect(producer.spooled).toBe(0);

    await server.stop();
    await append(300, "down");
    expect(producer.spooled).toBeGreaterThan(0);
    expect(reports.map((r) => r.state)).toContain("spooling");

    await server.start();
    await reported(reports, "drained");
    expect(producer.spooled).toBe(0);
    await append(100, "back");
    const reader = connection();
    const stored = await streamEventIds(reader);
    // Every event once (the spool's timeouts may resend; the consumer would store those once, but here none is sent twice).
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored).toEqual(ids);
    await producer.close();
  });

  it("is bounded: past maxSpooled an append is refused, and what was spooled still arrives", async () => {
    const reports: { state: string }[] = [];
    const redis = connection();
    const producer = new AuditProducer(redis, `${STREAM}:bounded`, { maxSpooled: 50, onSpool: (r) => reports.push(r), minRetryMs: 20, maxRetryMs: 200 });
    await redis.ping();
    await server.stop();
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => producer.append({ action: "tool.call", resource: "s", success: true, details: { i } })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(50);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused).toHaveLength(10);
    expect(String(refused[0]!.reason)).toMatch(/audit spool is full \(50 events/);
    expect(reports.map((r) => r.state)).toContain("full");
    await server.start();
    await reported(reports, "drained");
    expect(await connection().xlen(`${STREAM}:bounded`)).toBe(50);
    await producer.close();
  });
});
