import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "@mcphub/db";
import { parseStreamEvent, type AuditEvent, type AuditEventInput } from "@mcphub/contracts";
import { auditMetrics } from "../../src/audit-metrics.ts";
import { AuditConsumer } from "../../src/audit.consumer.ts";
import { AuditRetention } from "../../src/audit.retention.ts";
import { bearer, collectingLogger, login, REDIS_URL, testWorld, waitFor, type AuthInstance, type LogLine } from "./harness.ts";

const ADMIN_PASSWORD = "audit-admin-password";
const GROUP = "auth-test-group";

let world: Awaited<ReturnType<typeof testWorld>>;
let service: AuthInstance;
let live: AuditConsumer | undefined;
const consumers: AuditConsumer[] = [];

beforeAll(async () => {
  world = await testWorld("audit");
  // The service's consumer does not run until the first test starts it.
  service = await world.start({ adminPassword: ADMIN_PASSWORD, auditGroup: GROUP, startRuntime: false });
});
afterAll(async () => {
  for (const c of consumers) await c.stop();
  await world?.close();
});

function newConsumer(name: string, extra: Partial<ConstructorParameters<typeof AuditConsumer>[0]> = {}) {
  const { logger, lines } = collectingLogger();
  const registry = new Registry();
  const consumer = new AuditConsumer({
    redisUrl: REDIS_URL,
    repository: service.runtime.auditRepository,
    logger,
    consumer: name,
    stream: world.stream,
    group: GROUP,
    blockMs: 200,
    metrics: auditMetrics(registry),
    ...extra,
  });
  consumers.push(consumer);
  return { consumer, lines, registry };
}

async function counter(registry: Registry, result: string): Promise<number> {
  const metric = await registry.getSingleMetric("mcphub_audit_events_total")!.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

async function pending(): Promise<number> {
  const summary = (await world.redis.call("XPENDING", world.stream, GROUP)) as [number];
  return Number(summary[0]);
}

async function stored(action: string): Promise<{ total: number; distinct: number; ids: Set<string> }> {
  const rows = await queryRows<{ event_id: string }>(world.db.db, sql`select event_id from audit_logs where action = ${action}`);
  const ids = new Set(rows.map((r) => r.event_id));
  return { total: rows.length, distinct: ids.size, ids };
}

async function appendAll(events: AuditEventInput[]): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  // Two hundred in flight at a time: quick, without one huge burst.
  for (let i = 0; i < events.length; i += 200) out.push(...(await Promise.all(events.slice(i, i + 200).map((e) => service.runtime.audit.append(e)))));
  return out;
}

/** Entries read by a consumer that then "crashes": they stay pending under its name. */
async function readWithoutAck(consumerName: string): Promise<{ id: string; event?: AuditEvent }[]> {
  const reply = (await world.redis.xreadgroup("GROUP", GROUP, consumerName, "COUNT", 10_000, "STREAMS", world.stream, ">")) as
    | [string, [string, string[]][]][]
    | null;
  return (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, event: parseStreamEvent(fields[fields.indexOf("event") + 1]).event }));
}

describe("the audit stream consumer", () => {
  it("stores 2,000 events appended while it was stopped, each exactly once", async () => {
    const appended = await appendAll(
      Array.from({ length: 2000 }, (_, i) => ({ action: "test.bulk", resource: "test", resourceId: String(i), success: i % 7 !== 0, details: { i } })),
    );
    expect((await stored("test.bulk")).total).toBe(0);

    await service.runtime.start();
    live = service.runtime.consumer;
    const result = await waitFor(async () => {
      const s = await stored("test.bulk");
      return s.total >= 2000 && (await pending()) === 0 && s;
    }, "2,000 events stored and acknowledged");
    expect(result.total).toBe(2000);
    expect(result.distinct).toBe(2000);
    expect(result.ids).toEqual(new Set(appended.map((e) => e.eventId)));
    expect(await counter(service.registry, "inserted")).toBeGreaterThanOrEqual(2000);
  });

  it("re-reads its pending entries after a crash between insert and ack: still exactly once", async () => {
    await live!.stop();
    const appended = await appendAll(Array.from({ length: 300 }, (_, i) => ({ action: "test.replay", resource: "test", success: true, details: { i } })));

    // What a replica does before it dies: read the batch, commit the INSERT, and never ack.
    const entries = await readWithoutAck("auth-test");
    const events = entries.filter((e) => e.event?.action === "test.replay").map((e) => e.event!);
    expect(events).toHaveLength(300);
    expect(await service.runtime.auditRepository.insertMany(events)).toBe(300);
    expect(await pending()).toBeGreaterThanOrEqual(300);

    // The same replica restarts: it re-reads its pending entries first and acks them; ON CONFLICT keeps one row each.
    const restarted = newConsumer("auth-test");
    await restarted.consumer.start();
    live = restarted.consumer;
    await waitFor(async () => (await pending()) === 0, "pending entries acknowledged");
    const s = await stored("test.replay");
    expect(s.total).toBe(300);
    expect(s.ids).toEqual(new Set(appended.map((e) => e.eventId)));
    expect(await counter(restarted.registry, "duplicate")).toBeGreaterThanOrEqual(300);
  });

  it("re-delivering already stored entries changes nothing", async () => {
    await live!.stop();
    const [[lastBefore]] = (await world.redis.xrevrange(world.stream, "+", "-", "COUNT", 1)) as [[string, string[]]];
    const appended = await appendAll(Array.from({ length: 200 }, () => ({ action: "test.redeliver", resource: "test", success: true })));
    const first = newConsumer("auth-test");
    await first.consumer.start();
    await waitFor(async () => (await stored("test.redeliver")).total === 200 && (await pending()) === 0, "the events stored once");
    await first.consumer.stop();
    const before = await queryRows<{ n: number }>(world.db.db, sql`select count(*)::int as n from audit_logs`);

    // Deliver the same 200 entries again, as if their acknowledgements had been lost.
    await world.redis.call("XGROUP", "SETID", world.stream, GROUP, lastBefore);
    const again = newConsumer("auth-test");
    await again.consumer.start();
    live = again.consumer;
    await waitFor(async () => (await counter(again.registry, "duplicate")) === 200 && (await pending()) === 0, "the re-delivery handled");
    expect(await counter(again.registry, "inserted")).toBe(0);
    const after = await queryRows<{ n: number }>(world.db.db, sql`select count(*)::int as n from audit_logs`);
    expect(after[0]!.n).toBe(before[0]!.n);
    const s = await stored("test.redeliver");
    expect(s.total).toBe(200);
    expect(s.ids).toEqual(new Set(appended.map((e) => e.eventId)));
  });

  it("claims what a consumer that never came back left pending", async () => {
    await live!.stop();
    await appendAll(Array.from({ length: 50 }, () => ({ action: "test.abandoned", resource: "test", success: true })));
    const taken = await readWithoutAck("replica-gone-for-good");
    expect(taken.filter((e) => e.event?.action === "test.abandoned")).toHaveLength(50);

    const other = newConsumer("replica-new", { claimIdleMs: 100, maintenanceEveryMs: 150 });
    await other.consumer.start();
    live = other.consumer;
    await waitFor(async () => (await stored("test.abandoned")).total === 50 && (await pending()) === 0, "abandoned entries claimed");
    expect((await stored("test.abandoned")).distinct).toBe(50);
  });

  it("trims acknowledged entries from the stream, and only those", async () => {
    // The consumer above runs its maintenance every 150 ms; everything so far is acknowledged.
    const appendedSoFar = 2000 + 300 + 200 + 50;
    await waitFor(async () => (await world.redis.xlen(world.stream)) < appendedSoFar - 1000, "the stream to be trimmed");
    // New entries are kept until stored.
    await live!.stop();
    const fresh = await appendAll(Array.from({ length: 20 }, () => ({ action: "test.after-trim", resource: "test", success: true })));
    const resumed = newConsumer("replica-new", { maintenanceEveryMs: 100 });
    await resumed.consumer.start();
    live = resumed.consumer;
    await waitFor(async () => (await stored("test.after-trim")).total === 20 && (await pending()) === 0, "entries after the trim stored");
    expect((await stored("test.after-trim")).ids).toEqual(new Set(fresh.map((e) => e.eventId)));
  });

  it("logs and acknowledges entries it cannot read, and stores the rest", async () => {
    await live!.stop();
    const watcher = newConsumer("auth-test");
    live = watcher.consumer;
    const good = () => JSON.stringify({ eventId: crypto.randomUUID(), at: new Date().toISOString(), action: "test.mixed", resource: "test", success: true });
    await world.redis.xadd(world.stream, "*", "event", good());
    await world.redis.xadd(world.stream, "*", "event", "{ not json");
    await world.redis.xadd(world.stream, "*", "other", "no event field");
    await world.redis.xadd(world.stream, "*", "event", JSON.stringify({ eventId: "not-a-uuid", at: "yesterday", action: "test.mixed", resource: "test", success: "yes" }));
    await world.redis.xadd(world.stream, "*", "event", JSON.stringify({ eventId: crypto.randomUUID(), at: new Date().toISOString(), action: "x".repeat(200), resource: "test", success: true }));
    // Valid JSON that Postgres refuses (jsonb has no \u0000): found by retrying the batch row by row.
    await world.redis.xadd(world.stream, "*", "event", JSON.stringify({ eventId: crypto.randomUUID(), at: new Date().toISOString(), action: "test.mixed", resource: "test", success: true, details: { s: "a\u0000b" } }));
    await world.redis.xadd(world.stream, "*", "event", good());
    await watcher.consumer.start();

    await waitFor(async () => (await stored("test.mixed")).total === 2 && (await pending()) === 0, "good entries stored, bad ones acknowledged");
    const dropped = watcher.lines.filter((l: LogLine) => l.msg === "audit consumer: dropping a malformed audit entry");
    expect(dropped).toHaveLength(4);
    expect(dropped.map((l) => String(l.reason)).join("\n")).toMatch(/not JSON[\s\S]*no 'event' field[\s\S]*eventId[\s\S]*action/);
    const refused = watcher.lines.filter((l: LogLine) => l.msg === "audit consumer: the database refused an audit event; dropping it");
    expect(refused).toHaveLength(1);
    expect(await counter(watcher.registry, "malformed")).toBe(5);
  });
});

describe("GET /api/audit", () => {
  let adminToken: string;
  let aliceToken: string;
  let alice: { id: string };
  let bob: { id: string };
  const base = Date.parse("2030-01-01T00:00:00Z");
  const docEvents: AuditEvent[] = [];

  beforeAll(async () => {
    adminToken = await login(service.app, "admin", ADMIN_PASSWORD);
    for (const name of ["alice", "bob"]) {
      const res = await service.app.inject({ method: "POST", url: "/api/users", headers: bearer(adminToken), payload: { username: name, password: `${name}-password` } });
      if (name === "alice") alice = res.json().user;
      else bob = res.json().user;
    }
    aliceToken = await login(service.app, "alice", "alice-password");
    // 150 events over 75 minutes, two per minute (same time: ordered by id), alternating users and outcomes.
    const inputs: AuditEventInput[] = Array.from({ length: 150 }, (_, i) => {
      const user = i % 3 === 0 ? { userId: bob.id, username: "bob" } : { userId: alice.id, username: "alice" };
      return {
        ...user,
        at: new Date(base + Math.floor(i / 2) * 60_000).toISOString(),
        action: i % 4 === 0 ? "doc.write" : "doc.read",
        resource: "doc",
        resourceId: `doc-${i}`,
        success: i % 5 !== 0,
      };
    });
    docEvents.push(...(await appendAll(inputs)));
    await waitFor(async () => (await stored("doc.read")).total + (await stored("doc.write")).total === 150, "the doc events stored");
  });

  async function walk(token: string, query: string, limit: number) {
    const seen: { id: number; eventId: string; at: string; userId: string | null; action: string; success: boolean; username: string | null }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/audit?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await service.app.inject({ method: "GET", url, headers: bearer(token) });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { entries: typeof seen; nextCursor: string | null };
      expect(body.entries.length).toBeLessThanOrEqual(limit);
      seen.push(...body.entries);
      cursor = body.nextCursor;
      pages++;
      expect(pages).toBeLessThan(500);
    } while (cursor);
    return seen;
  }

  it("walks every entry newest first with the cursor, without duplicates or gaps", async () => {
    const all = await walk(adminToken, "resource=doc", 7);
    expect(all).toHaveLength(150);
    expect(new Set(all.map((e) => e.id)).size).toBe(150);
    expect(new Set(all.map((e) => e.eventId))).toEqual(new Set(docEvents.map((e) => e.eventId)));
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1]!, all[i]!];
      expect(a.at > b.at || (a.at === b.at && a.id > b.id), `${a.at}/${a.id} before ${b.at}/${b.id}`).toBe(true);
    }
    expect(all[0]!.at).toBe(new Date(base + 74 * 60_000).toISOString());
  });

  it("filters by action, success, user (name or id) and time", async () => {
    const expectCount = (pred: (e: AuditEvent) => boolean) => docEvents.filter(pred).length;

    const writes = await walk(adminToken, "resource=doc&action=doc.write", 20);
    expect(writes.length).toBe(expectCount((e) => e.action === "doc.write"));
    expect(writes.every((e) => e.action === "doc.write")).toBe(true);

    const failed = await walk(adminToken, "resource=doc&success=false", 20);
    expect(failed.length).toBe(expectCount((e) => !e.success));
    expect(failed.every((e) => !e.success)).toBe(true);

    const bobsByName = await walk(adminToken, "resource=doc&user=bob", 20);
    const bobsById = await walk(adminToken, `resource=doc&user=${bob.id}`, 20);
    expect(bobsByName.length).toBe(expectCount((e) => e.username === "bob"));
    expect(bobsById.map((e) => e.id)).toEqual(bobsByName.map((e) => e.id));

    const from = new Date(base + 10 * 60_000).toISOString();
    const to = new Date(base + 19 * 60_000).toISOString();
    const window = await walk(adminToken, `resource=doc&from=${from}&to=${to}`, 6);
    expect(window.length).toBe(20);
    expect(window.every((e) => e.at >= from && e.at <= to)).toBe(true);

    const combined = await walk(adminToken, `resource=doc&user=alice&action=doc.read&success=true&from=${from}`, 5);
    expect(combined.length).toBe(
      expectCount((e) => e.username === "alice" && e.action === "doc.read" && e.success && e.at >= from),
    );
  });

  it("shows a user only their own entries", async () => {
    const own = await walk(aliceToken, "resource=doc", 25);
    expect(own.length).toBe(docEvents.filter((e) => e.userId === alice.id).length);
    expect(own.every((e) => e.userId === alice.id)).toBe(true);
    const everything = await walk(aliceToken, "success=true", 50);
    expect(everything.every((e) => e.userId === alice.id)).toBe(true);
    expect(everything.some((e) => e.action === "auth.login")).toBe(true);
    // Asking for someone else's gives nothing.
    expect(await walk(aliceToken, `user=${bob.id}`, 10)).toEqual([]);
    expect(await walk(aliceToken, "user=bob", 10)).toEqual([]);
    const anonymous = await service.app.inject({ method: "GET", url: "/api/audit" });
    expect(anonymous.statusCode).toBe(401);
  });

  it("names bad parameters", async () => {
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=many", "limit"],
      ["from=yesterday", "from"],
      ["success=maybe", "success"],
      ["cursor=garbage", "cursor"],
      ["colour=blue", "query"],
    ] as const) {
      const res = await service.app.inject({ method: "GET", url: `/api/audit?${query}`, headers: bearer(adminToken) });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.message, query).toContain(field);
    }
  });
});

describe("the auth service's own audit trail", () => {
  it("records logins, keys and user changes, never a secret", async () => {
    const adminToken = await login(service.app, "admin", ADMIN_PASSWORD);
    await service.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin", password: "a-wrong-guess-123" } });
    const created = await service.app.inject({
      method: "POST", url: "/api/users", headers: bearer(adminToken), payload: { username: "heidi", password: "heidi-secret-password" },
    });
    const heidi = created.json().user as { id: string };
    await service.app.inject({ method: "PUT", url: `/api/users/${heidi.id}`, headers: bearer(adminToken), payload: { password: "heidi-other-secret" } });
    const key = await service.app.inject({ method: "POST", url: "/api/keys", headers: bearer(adminToken), payload: { name: "audited", accessType: "all" } });
    const { key: secretKey, apiKey } = key.json() as { key: string; apiKey: { id: string } };
    await service.app.inject({ method: "DELETE", url: `/api/keys/${apiKey.id}`, headers: bearer(adminToken) });
    await service.app.inject({ method: "DELETE", url: `/api/users/${heidi.id}`, headers: bearer(adminToken) });

    const expected = ["auth.login:true", "auth.login:false", "user.create:true", "user.update:true", "apikey.create:true", "apikey.revoke:true", "user.delete:true"];
    const rows = await waitFor(async () => {
      const r = await queryRows<{ action: string; success: boolean; resource_id: string | null; details: unknown; username: string | null }>(
        world.db.db,
        sql`select action, success, resource_id, details, username from audit_logs where action not like 'test.%' and action not like 'doc.%'`,
      );
      const have = new Set(r.map((x) => `${x.action}:${x.success}`));
      return expected.every((e) => have.has(e)) && r.some((x) => x.action === "user.delete" && x.resource_id === heidi.id) && r;
    }, "the auth service's events");
    const text = JSON.stringify(rows);
    for (const secret of ["heidi-secret-password", "heidi-other-secret", "a-wrong-guess-123", ADMIN_PASSWORD, secretKey]) expect(text).not.toContain(secret);
    expect(rows.find((r) => r.action === "apikey.create")!.details).toMatchObject({ name: "audited", accessType: "all" });
    expect(rows.find((r) => r.action === "user.update" && r.resource_id === heidi.id)!.details).toMatchObject({ changed: ["password"] });
  });
});

describe("retention", () => {
  it("deletes entries older than the retention period and keeps the rest", async () => {
    const now = Date.now();
    const day = 24 * 3600_000;
    const mk = (daysAgo: number): AuditEvent => ({
      eventId: crypto.randomUUID(), at: new Date(now - daysAgo * day).toISOString(), action: "test.retention", resource: "test", success: true,
    });
    const old = [mk(91), mk(120), mk(400)];
    const recent = [mk(89), mk(1)];
    await service.runtime.auditRepository.insertMany([...old, ...recent]);
    const { logger } = collectingLogger();
    const deleted = await new AuditRetention(service.runtime.auditRepository, logger, 90).runOnce(new Date(now));
    expect(deleted).toBeGreaterThanOrEqual(3);
    const left = await stored("test.retention");
    expect(left.ids).toEqual(new Set(recent.map((e) => e.eventId)));
    // Nothing recent from the other tests went with them.
    expect((await stored("test.bulk")).total).toBe(2000);
  });
});

describe("all-in-one (no Redis)", () => {
  it("writes audit events straight to the database", async () => {
    const direct = await world.start({ redisUrl: undefined, startRuntime: false });
    expect(direct.runtime.consumer).toBeUndefined();
    const res = await direct.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "direct-nobody", password: "whatever-it-is" } });
    expect(res.statusCode).toBe(401);
    // No consumer, no waiting: the row is there when the answer is.
    const rows = await queryRows<{ n: number }>(world.db.db, sql`select count(*)::int as n from audit_logs where username = 'direct-nobody' and action = 'auth.login' and success = false`);
    expect(rows[0]!.n).toBe(1);
  });
});
