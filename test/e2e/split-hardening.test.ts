import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The root workspace depends on neither @mcphub/bus nor ioredis: both come from the package itself.
import { RedisBus } from "../../packages/bus/src/redis-bus.ts";
import { text, waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { upstream } from "../../apps/hub/test/helpers/servers.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { startPrivateRedis, type PrivateRedis } from "../helpers/private-redis.ts";
import { startService, type ServiceProcess } from "../helpers/processes.ts";

/**
 * The distributed shape as separate processes (auth, supervisor, two gateway replicas) on a
 * Redis of the test's own, which it stops and starts again, and the shared Postgres:
 * - a revoked key is refused at once by both replicas (credentials.revoked on the bus);
 * - tool calls answered while Redis is down reach the audit log once it is back, each once;
 * - a supervisor, or the auth service, SIGKILLed during writes leaves an audit row for every
 *   write it acknowledged.
 */
const TOKEN = "split-hardening-internal-token-0123456789";
const ADMIN_PASSWORD = "split-hardening-admin-password";
const STREAM = "mcphub:audit";

type Json = Record<string, any>;
let dir: string;
let redis: PrivateRedis;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let sql: ReturnType<typeof postgres>;
let auth: ServiceProcess;
let supervisor: ServiceProcess;
let gateways: ServiceProcess[] = [];
let admin: string;
const settingsPath = () => join(dir, "mcp_settings.json");

const authEnv = () => ({
  DATABASE_URL: database.url, REDIS_URL: redis.url, AUDIT_STREAM: STREAM, INTERNAL_TOKEN: TOKEN,
  JWT_SECRET: "split-hardening-jwt-secret-0123456789abcdef", ADMIN_PASSWORD, LOG_LEVEL: "warn", REPLICA_ID: "auth-split-hardening",
});
const supervisorEnv = () => ({ INTERNAL_TOKEN: TOKEN, REDIS_URL: redis.url, MCPHUB_SETTING_PATH: settingsPath(), DATABASE_URL: database.url, AUTH_URL: auth.url, AUDIT_STREAM: STREAM, LOG_LEVEL: "warn" });

async function startSupervisor(): Promise<ServiceProcess> {
  const proc = await startService("supervisor", supervisorEnv());
  await waitUntil(async () => {
    const health = (await (await fetch(`${proc.url}/api/health`)).json()) as { servers: { state: string }[] };
    return health.servers.length === 1 && health.servers.every((s) => s.state === "ready");
  }, 20_000, "the upstream ready in the supervisor");
  return proc;
}

async function login(): Promise<string> {
  const res = await fetch(`${auth.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) });
  return ((await res.json()) as Json).token;
}

async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : {} };
}

const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "split-hardening", version: "1" } } });

async function initializeStatus(gateway: ServiceProcess, key: string): Promise<number> {
  const res = await fetch(`${gateway.url}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${key}` }, body: initialize });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Three writers call `write` until `victim` has acknowledged 30 writes, then it is SIGKILLed
 * while writes are in flight. Returns the ids of the acknowledged writes (write answers an id,
 * or undefined for a refusal, which fails the test before the kill).
 */
async function writeUntilKilled(victim: ServiceProcess, write: (worker: number, i: number) => Promise<string | undefined>): Promise<string[]> {
  const acked: string[] = [];
  let killed = false;
  const writer = async (w: number) => {
    for (let i = 0; !killed; i++) {
      const id = await write(w, i).catch(() => undefined);
      if (killed) return;
      if (id === undefined) throw new Error("a write failed before the kill");
      acked.push(id);
      if (acked.length >= 30) {
        killed = true;
        victim.proc.kill("SIGKILL");
      }
    }
  };
  await Promise.all([writer(0), writer(1), writer(2)]);
  await victim.stop();
  return acked;
}

/** A service's mcphub_audit_spooled: audit events it holds for Redis. */
async function spooled(service: ServiceProcess): Promise<number> {
  const body = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^mcphub_audit_spooled (\S+)$/m.exec(body)?.[1] ?? Number.NaN);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-split-hardening-"));
  // Arguments are logged here so each answered call can be found by its own message.
  await writeFile(settingsPath(), JSON.stringify({ mcpServers: { everything: upstream.everything() }, systemConfig: { audit: { logArguments: true } } }));
  redis = await startPrivateRedis();
  database = await freshDatabase("split_hardening");
  sql = postgres(database.url, { max: 1, onnotice: () => {} });
  auth = await startService("auth", authEnv(), 45_000);
  supervisor = await startSupervisor();
  gateways = await Promise.all(
    ["gw-a", "gw-b"].map((id) => startService("gateway", { INTERNAL_TOKEN: TOKEN, REDIS_URL: redis.url, SUPERVISOR_URL: supervisor.url, AUTH_URL: auth.url, AUDIT_STREAM: STREAM, REPLICA_ID: id, LOG_LEVEL: "warn" })),
  );
  admin = await login();
}, 120_000);

afterAll(async () => {
  await Promise.all([...gateways, supervisor, auth].filter(Boolean).map((s) => s.stop()));
  await sql?.end({ timeout: 1 }).catch(() => {});
  await database?.drop();
  await redis?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe("revocation across gateway replicas", () => {
  it("a revoked key is refused by both replicas once the revocation is on the bus, not after their caches expire", async () => {
    const { body } = await post(auth.url, "/api/keys", { name: "revoked-across", accessType: "all" });
    // Both replicas have it cached now (5 s).
    for (const gw of gateways) expect(await initializeStatus(gw, body.key)).toBe(200);
    const listener = new RedisBus({ url: redis.url, name: "split-hardening-listener" });
    const seen = new Promise<void>((resolve) => listener.subscribe("credentials.revoked", (e) => e.keyId === body.apiKey.id && resolve()));
    await listener.settled();
    const res = await fetch(`${auth.url}/api/keys/${body.apiKey.id}`, { method: "DELETE", headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(204);
    await seen;
    await listener.close();
    for (const gw of gateways) expect(await initializeStatus(gw, body.key)).toBe(401);
  });
});

describe("Redis stopped and started again under tool calls", () => {
  it("every call answered meanwhile reaches the audit log once Redis is back, each exactly once", async () => {
    const { body } = await post(auth.url, "/api/keys", { name: "caller", accessType: "all" });
    const client = new Client({ name: "split-hardening", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateways[0]!.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${body.key}` } } }));
    const answered: string[] = [];
    let answeredWhileDown = 0;
    let down = false;
    const call = async (message: string) => {
      try {
        const result = await client.callTool({ name: "everything-echo", arguments: { message } });
        if (text(result).includes(message)) {
          answered.push(message);
          if (down) answeredWhileDown++;
        }
      } catch {
        // A call the gateway could not serve while Redis was away was never answered: nothing to audit.
      }
    };
    for (let i = 0; i < 50; i++) await call(`before-${i}`);
    await redis.stop();
    down = true;
    for (let i = 0; i < 50; i++) await call(`during-${i}`);
    down = false;
    await redis.start();
    for (let i = 0; i < 50; i++) await call(`after-${i}`);
    await client.close();
    expect(answeredWhileDown).toBeGreaterThan(0);

    const counts = async () => {
      const rows = await sql<{ message: string; n: number }[]>`
        select details->'arguments'->>'message' as message, count(*)::int as n
        from audit_logs where action = 'tool.call' and details->'arguments'->>'message' is not null group by 1`;
      return new Map(rows.map((r) => [r.message, r.n]));
    };
    await waitUntil(async () => {
      const stored = await counts();
      return answered.every((m) => stored.has(m));
    }, 30_000, "every answered call's audit row");
    const stored = await counts();
    expect(answered.filter((m) => stored.get(m) !== 1)).toEqual([]);
  }, 90_000);
});

describe("a supervisor killed during settings writes", () => {
  it("leaves an audit row for every write it acknowledged, Redis down or not (stored in the revision's transaction)", async () => {
    // With Redis away, an event on its way through the stream would die with the process.
    await redis.stop();
    const victim = supervisor;
    // What does travel the stream (a refused change's event) waits in the producer's spool, shown on its /metrics.
    expect((await post(victim.url, "/api/groups", { id: "refused", name: "x", servers: ["nobody"] })).status).toBe(400);
    expect(await spooled(victim)).toBeGreaterThan(0);
    const acked = await writeUntilKilled(victim, async (w, i) => {
      const id = `kill-${w}-${i}`;
      const res = await post(victim.url, "/api/groups", { id, name: id, servers: ["everything"] });
      return res.status === 201 ? id : undefined;
    });
    const rows = new Set((await sql<{ id: string }[]>`select resource_id as id from audit_logs where action = 'group.create' and success`).map((r) => r.id));
    expect(acked.filter((id) => !rows.has(id))).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(30);
    // Sign-in without its failed-login counters is refused at once, saying why (it was a 500).
    const login = await fetch(`${auth.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) });
    expect(login.status).toBe(503);
    expect(((await login.json()) as Json).error.code).toBe("HUB_LOGIN_UNAVAILABLE");
    await redis.start();
    supervisor = await startSupervisor();
  }, 90_000);
});

describe("the auth service killed during key writes", () => {
  it("leaves an audit row for every key it acknowledged (stored in the key's own transaction)", async () => {
    const victim = auth;
    const acked = await writeUntilKilled(victim, async (w, i) => {
      const res = await post(victim.url, "/api/keys", { name: `kill-${w}-${i}`, accessType: "all" });
      return res.status === 201 ? (res.body.apiKey.id as string) : undefined;
    });
    // Nothing to wait for: what was acknowledged was committed with its row.
    const rows = new Set((await sql<{ id: string }[]>`select resource_id as id from audit_logs where action = 'apikey.create' and success`).map((r) => r.id));
    expect(acked.filter((id) => !rows.has(id))).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(30);
    auth = await startService("auth", { ...authEnv(), PORT: String(victim.port) }, 45_000);
  }, 90_000);
});
