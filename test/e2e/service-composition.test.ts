import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { startService, type ServiceProcess } from "../helpers/processes.ts";

/**
 * A split service starts as the all-in-one hub does: the supervisor finds the stdio servers
 * shipped with the hub by their bin and mounts its routes under BASE_PATH; a gateway answers
 * /api/health/ready from what it depends on.
 */
const TOKEN = "service-composition-token-0123456789";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// The test runner puts node_modules/.bin on PATH; a container's PATH would not have it.
const BARE_PATH = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules")).join(delimiter);

let dir: string;
let supervisor: ServiceProcess;
let gateway: ServiceProcess;
let database: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-composition-"));
  const settingsPath = join(dir, "mcp_settings.json");
  // As in mcp_settings.example.json: the server named by its bin, not by a path.
  await writeFile(settingsPath, JSON.stringify({ mcpServers: { everything: { type: "stdio", command: "mcp-server-everything", args: ["stdio"] } } }));
  database = await freshDatabase("composition");
  supervisor = await startService("supervisor", {
    INTERNAL_TOKEN: TOKEN,
    REDIS_URL,
    MCPHUB_SETTING_PATH: settingsPath,
    DATABASE_URL: database.url,
    DATA_DIR: join(dir, "data"),
    BASE_PATH: "/hub",
    SKIP_AUTH: "true",
    PATH: BARE_PATH,
  });
  gateway = await startService("gateway", { INTERNAL_TOKEN: TOKEN, REDIS_URL, SUPERVISOR_URL: supervisor.url, SKIP_AUTH: "true" });
}, 90_000);

afterAll(async () => {
  await Promise.all([gateway, supervisor].filter(Boolean).map((s) => s.stop()));
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("a supervisor of its own", () => {
  it("runs a stdio server named by the bin shipped with the hub, with no node_modules on PATH", async () => {
    await waitUntil(async () => {
      const health = (await (await fetch(`${supervisor.url}/hub/api/health`)).json()) as { servers: { name: string; state: string }[] };
      return health.servers.some((s) => s.name === "everything" && s.state === "ready");
    }, 20_000, "everything ready in the supervisor");
  });

  it("serves its public routes under BASE_PATH and keeps /internal at the root for its peers", async () => {
    expect((await fetch(`${supervisor.url}/hub/api/servers`)).status).toBe(200);
    expect((await fetch(`${supervisor.url}/hub/api/health/ready`)).status).toBe(200);
    expect((await fetch(`${supervisor.url}/api/servers`)).status).toBe(404);
    expect((await fetch(`${supervisor.url}/hub/metrics`)).status).toBe(200);
    const internal = await fetch(`${supervisor.url}/internal/catalog`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(internal.status).toBe(200);
  });
});

describe("a gateway of its own", () => {
  it("is ready while Redis and the supervisor answer, and says which check fails when one does not", async () => {
    const ready = await fetch(`${gateway.url}/api/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { redis: true, supervisor: true } });

    await supervisor.stop();
    const degraded = await fetch(`${gateway.url}/api/health/ready`);
    expect(degraded.status).toBe(503);
    expect(await degraded.json()).toMatchObject({ status: "degraded", checks: { redis: true, supervisor: false } });
    // Liveness does not depend on peers: the replica itself is fine.
    expect((await fetch(`${gateway.url}/api/health`)).status).toBe(200);
  });
});

describe("one composition for both shapes", () => {
  const decode = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { iat: number; exp: number };
  const login = async (url: string) => {
    const res = await fetch(`${url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "composition-admin-password" }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  };

  it("reads the auth policy (token lifetime) from the environment in the all-in-one hub as the auth service does", async () => {
    const policy = { JWT_TTL_SECONDS: "120", ADMIN_PASSWORD: "composition-admin-password", JWT_SECRET: "composition-jwt-secret-0123456789abcdef" };
    const hubDb = await freshDatabase("composition_hub");
    const authDb = await freshDatabase("composition_auth");
    const hubDir = await mkdtemp(join(tmpdir(), "mcphub-composition-hub-"));
    await writeFile(join(hubDir, "mcp_settings.json"), JSON.stringify({ mcpServers: {} }));
    const hub = await startService("hub", { ...policy, DATABASE_URL: hubDb.url, DATA_DIR: join(hubDir, "data"), MCPHUB_SETTING_PATH: join(hubDir, "mcp_settings.json") });
    const auth = await startService("auth", { ...policy, INTERNAL_TOKEN: TOKEN, REDIS_URL, DATABASE_URL: authDb.url, AUDIT_STREAM: `mcphub:audit:composition:${process.pid}` });
    try {
      for (const url of [hub.url, auth.url]) {
        const claims = decode(await login(url));
        expect(claims.exp - claims.iat, url).toBe(120);
      }
    } finally {
      await Promise.all([hub.stop(), auth.stop()]);
      await Promise.all([hubDb.drop(), authDb.drop()]);
      await rm(hubDir, { recursive: true, force: true });
    }
  });

  it("answers only loopback host names on a loopback address, as the all-in-one hub does", async () => {
    // fetch may not set Host; node:http sends what it is given.
    const post = (host: string) =>
      new Promise<{ status: number }>((resolve, reject) => {
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } });
        const req = httpRequest(`${gateway.url}/mcp`, { method: "POST", headers: { host, "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        });
        req.on("error", reject);
        req.end(body);
      });
    expect((await post("evil.example")).status).toBe(403);
    expect((await post(`localhost:${gateway.port}`)).status).toBe(200);
  });
});

describe("BASE_PATH in every split service", () => {
  it("mounts the auth service's and the router's public routes under it, and keeps /internal at the root", async () => {
    const authDb = await freshDatabase("composition_base_auth");
    const auth = await startService("auth", { INTERNAL_TOKEN: TOKEN, REDIS_URL, DATABASE_URL: authDb.url, BASE_PATH: "/hub", ADMIN_PASSWORD: "composition-admin-password", AUDIT_STREAM: `mcphub:audit:composition-base:${process.pid}` });
    const router = await startService("router", { INTERNAL_TOKEN: TOKEN, REDIS_URL, SUPERVISOR_URL: supervisor.url, DATA_DIR: join(dir, "router-data"), BASE_PATH: "/hub" });
    try {
      const status = async (url: string, init?: RequestInit) => (await fetch(url, init)).status;
      const login = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "composition-admin-password" }) };
      expect(await status(`${auth.url}/hub/api/auth/login`, login)).toBe(200);
      expect(await status(`${auth.url}/api/auth/login`, login)).toBe(404);
      expect(await status(`${auth.url}/hub/api/health`)).toBe(200);
      // Peers still find the internal API where they always do (no token here: refused, not missing).
      expect(await status(`${auth.url}/internal/authenticate`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).toBe(401);
      expect(await status(`${router.url}/hub/api/health`)).toBe(200);
      expect(await status(`${router.url}/api/health`)).toBe(404);
      expect(await status(`${router.url}/internal/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).toBe(200);
    } finally {
      await Promise.all([auth.stop(), router.stop()]);
      await authDb.drop();
    }
  });
});

describe("the router's settings in the all-in-one hub", () => {
  it("reads ROUTER_VECTOR_BACKEND as the router service does (pgvector in its PGlite, which has the extension)", async () => {
    const hubDir = await mkdtemp(join(tmpdir(), "mcphub-composition-router-"));
    await writeFile(join(hubDir, "mcp_settings.json"), JSON.stringify({ mcpServers: {} }));
    const hub = await startService("hub", { SKIP_AUTH: "true", ROUTER_VECTOR_BACKEND: "pgvector", DATA_DIR: join(hubDir, "data"), MCPHUB_SETTING_PATH: join(hubDir, "mcp_settings.json") });
    try {
      const status = (await (await fetch(`${hub.url}/api/smart-routing/status`)).json()) as { index: { backend: string } };
      expect(status.index.backend).toBe("pgvector");
    } finally {
      await hub.stop();
      await rm(hubDir, { recursive: true, force: true });
    }
  });
});
