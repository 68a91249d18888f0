import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { rest, signIn } from "./helpers/rest.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * /metrics names every server and tool and counts sessions. While the hub enforces credentials
 * it answers Prometheus with METRICS_TOKEN and signed-in admins, and nobody else; an open hub
 * (SKIP_AUTH) keeps it open like everything else.
 */

const METRICS_TOKEN = "metrics-token-for-prometheus-0123";
const ADMIN_PASSWORD = "metrics-admin-password";

async function metrics(t: TestHub, authorization?: string): Promise<{ status: number; type: string; body: string; challenge: string | null }> {
  const res = await fetch(`${t.base}/metrics`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text(), challenge: res.headers.get("www-authenticate") };
}

const login = async (t: TestHub, username: string, password: string) => (await signIn(t.base, username, password))!;
const post = async (t: TestHub, token: string, path: string, body: unknown) => (await rest(t.base, "POST", path, { token, body })).body;

describe("with credentials enforced and METRICS_TOKEN set", () => {
  let t: TestHub;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let admin: string;
  beforeAll(async () => {
    db = await freshDatabase("metrics_access");
    t = await startHub({ mcpServers: { everything: upstream.everything() } }, { database: db.url, adminPassword: ADMIN_PASSWORD, env: { METRICS_TOKEN } });
    admin = await login(t, "admin", ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("serves Prometheus with the token", async () => {
    const res = await metrics(t, `Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.type).toContain("text/plain");
    expect(res.body).toContain('mcphub_upstream_up{server="everything"}');
  });

  it("refuses anyone without credentials, or with a wrong token, with 401 and a Bearer challenge, naming nothing", async () => {
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, METRICS_TOKEN, "Basic Zm9vOmJhcg=="]) {
      const res = await metrics(t, authorization);
      expect(res.status, String(authorization)).toBe(401);
      expect(res.challenge).toContain("Bearer");
      expect(res.body).not.toContain("everything");
      expect(res.body).not.toContain("mcphub_upstream");
    }
  });

  it("serves a signed-in admin; refuses a user and an API key (even an admin's) with 403", async () => {
    expect((await metrics(t, `Bearer ${admin}`)).status).toBe(200);
    await post(t, admin, "/api/users", { username: "watcher", password: "watcher-password-1", role: "user" });
    const user = await login(t, "watcher", "watcher-password-1");
    const userAnswer = await metrics(t, `Bearer ${user}`);
    expect(userAnswer.status).toBe(403);
    expect(userAnswer.body).not.toContain("mcphub_upstream");
    const { key } = await post(t, admin, "/api/keys", { name: "not-for-metrics", accessType: "all" });
    expect((await metrics(t, `Bearer ${key}`)).status).toBe(403);
  });
});

describe("with credentials enforced and no METRICS_TOKEN", () => {
  let t: TestHub;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    db = await freshDatabase("metrics_no_token");
    t = await startHub({ mcpServers: {} }, { database: db.url, adminPassword: ADMIN_PASSWORD });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("is for signed-in admins only, and says how to let Prometheus in", async () => {
    const anonymous = await metrics(t);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.message).toMatch(/METRICS_TOKEN/);
    expect((await metrics(t, `Bearer ${await login(t, "admin", ADMIN_PASSWORD)}`)).status).toBe(200);
  });
});

describe("an open hub (SKIP_AUTH)", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ mcpServers: {} });
  });
  afterAll(() => t?.close());

  it("keeps /metrics open like every other endpoint", async () => {
    const res = await metrics(t);
    expect(res.status).toBe(200);
    expect(res.body).toContain("mcphub_");
  });
});
