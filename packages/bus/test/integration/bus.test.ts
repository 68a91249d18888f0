import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryBus, RedisBus, type Bus } from "../../src/index.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// Each test file gets its own channel prefix on the shared Redis.
const prefix = `mcphub-test:${process.pid}:${Date.now()}:`;

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const open: Bus[] = [];
afterAll(async () => {
  await Promise.all(open.map((b) => b.close()));
});

/** Two views of one bus: in memory the same object, with Redis two connections as two processes would. */
const shapes: [string, () => Promise<[Bus, Bus]>][] = [
  ["memory", async () => {
    const bus = new MemoryBus();
    open.push(bus);
    return [bus, bus];
  }],
  ["redis", async () => {
    const errors: unknown[] = [];
    const a = new RedisBus({ url: REDIS_URL, prefix, onError: (e) => errors.push(e) });
    const b = new RedisBus({ url: REDIS_URL, prefix, onError: (e) => errors.push(e) });
    open.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    return [a, b];
  }],
];

describe.each(shapes)("%s bus", (_name, make) => {
  it("delivers typed events to every subscriber, in order, until they unsubscribe", async () => {
    const [producer, consumer] = await make();
    const first: number[] = [];
    const second: string[] = [];
    const off = consumer.subscribe("catalog.changed", (e) => first.push(e.version));
    consumer.subscribe("catalog.changed", (e) => second.push(e.server ?? "all"));
    await new Promise((r) => setTimeout(r, 50)); // let a Redis SUBSCRIBE land
    producer.publish("catalog.changed", { server: "a", version: 1 });
    producer.publish("catalog.changed", { server: null, version: 2 });
    await until(() => first.length === 2 && second.length === 2);
    expect(first).toEqual([1, 2]);
    expect(second).toEqual(["a", "all"]);
    off();
    producer.publish("catalog.changed", { server: "b", version: 3 });
    await until(() => second.length === 3);
    expect(first).toEqual([1, 2]);
  });

  it("keeps delivering to the others when one handler throws", async () => {
    const [producer, consumer] = await make();
    const got: number[] = [];
    consumer.subscribe("settings.changed", () => {
      throw new Error("boom");
    });
    consumer.subscribe("settings.changed", (e) => got.push(e.revision));
    await new Promise((r) => setTimeout(r, 50));
    producer.publish("settings.changed", { revision: 7 });
    await until(() => got.length === 1);
    expect(got).toEqual([7]);
  });
});

describe("redis bus reconnect", () => {
  it("reconnects on its own after the connection is killed and tells subscribers to re-read", async () => {
    const a = new RedisBus({ url: REDIS_URL, prefix });
    const name = `bus-test-${process.pid}-${Date.now()}`;
    const b = new RedisBus({ url: REDIS_URL, prefix, name });
    open.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    let reconnects = 0;
    b.onReconnect(() => reconnects++);
    const got: number[] = [];
    b.subscribe("settings.changed", (e) => got.push(e.revision));
    await new Promise((r) => setTimeout(r, 50));

    const admin = new Redis(REDIS_URL);
    try {
      // Kill the subscriber connection of bus b, as a Redis restart or a network cut would.
      const clients = (await admin.client("LIST")) as string;
      for (const line of clients.split("\n").filter((l) => l.includes(`name=${name}-sub `))) {
        const id = /id=(\d+)/.exec(line)?.[1];
        if (id) await admin.client("KILL", "ID", id).catch(() => {});
      }
    } finally {
      admin.disconnect();
    }
    await until(() => reconnects >= 1);
    await new Promise((r) => setTimeout(r, 100)); // resubscribe lands
    a.publish("settings.changed", { revision: 42 });
    await until(() => got.includes(42));
  });
});
