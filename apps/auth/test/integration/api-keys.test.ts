import { createHash, createHmac } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "@mcphub/db";
import { bearer, INTERNAL_TOKEN, JWT_SECRET, login, testWorld, type AuthInstance } from "./harness.ts";

const ADMIN_PASSWORD = "keys-admin-password";

let world: Awaited<ReturnType<typeof testWorld>>;
let auth: AuthInstance;
let adminToken: string;
let aliceToken: string;
let bobToken: string;
let aliceId: string;

beforeAll(async () => {
  world = await testWorld("keys");
  auth = await world.start({ adminPassword: ADMIN_PASSWORD });
  adminToken = await login(auth.app, "admin", ADMIN_PASSWORD);
  for (const name of ["alice", "bob"]) {
    const res = await auth.app.inject({ method: "POST", url: "/api/users", headers: bearer(adminToken), payload: { username: name, password: `${name}-password` } });
    if (name === "alice") aliceId = res.json().user.id;
  }
  aliceToken = await login(auth.app, "alice", "alice-password");
  bobToken = await login(auth.app, "bob", "bob-password");
});
afterAll(async () => world?.close());

async function createKey(token: string, payload: Record<string, unknown>) {
  const res = await auth.app.inject({ method: "POST", url: "/api/keys", headers: bearer(token), payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { key: string; apiKey: { id: string; prefix: string; lastUsedAt: string | null } };
}

function authenticate(body: Record<string, unknown>, token = INTERNAL_TOKEN) {
  return auth.app.inject({ method: "POST", url: "/internal/authenticate", headers: bearer(token), payload: body });
}

/** A real HS256 token signed with the service's secret, with the claims we choose. */
function signJwt(claims: Record<string, unknown>, secret = JWT_SECRET): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

describe("API keys", () => {
  it("are shown once and stored only as a hash", async () => {
    const { key, apiKey } = await createKey(aliceToken, { name: "laptop", accessType: "servers", allowedServers: ["everything", "memory"] });
    expect(key).toMatch(/^mcphub_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.prefix.length).toBeLessThan(key.length / 2);

    const rows = await queryRows<Record<string, unknown>>(world.db.db, sql`select * from api_keys where id = ${apiKey.id}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key_hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(JSON.stringify(rows)).not.toContain(key);

    const list = await auth.app.inject({ method: "GET", url: "/api/keys", headers: bearer(aliceToken) });
    const text = list.body;
    expect(text).not.toContain(key);
    expect(text).not.toContain(rows[0]!.key_hash as string);
    expect(list.json().keys.find((k: { id: string }) => k.id === apiKey.id)).toMatchObject({ name: "laptop", accessType: "servers", allowedServers: ["everything", "memory"] });
  });

  it("authenticate via /internal/authenticate with their scope, as a Bearer value or x-api-key", async () => {
    const { key, apiKey } = await createKey(aliceToken, { name: "ci", accessType: "groups", allowedGroups: ["dev"] });
    const expected = {
      principal: { kind: "apiKey", keyId: apiKey.id, userId: aliceId, username: "alice", role: "user", scope: { accessType: "groups", groups: ["dev"] } },
    };
    const viaHeader = await authenticate({ authorization: `Bearer ${key}` });
    expect(viaHeader.statusCode, viaHeader.body).toBe(200);
    expect(viaHeader.json()).toEqual(expected);
    const viaApiKey = await authenticate({ apiKey: key });
    expect(viaApiKey.json()).toEqual(expected);

    const lastUsed = async () =>
      (await auth.app.inject({ method: "GET", url: "/api/keys", headers: bearer(aliceToken) })).json().keys.find((k: { id: string }) => k.id === apiKey.id)
        .lastUsedAt as string | null;
    const first = await lastUsed();
    expect(first).not.toBeNull();
    // Written at most once a minute per key, not on every request.
    expect((await authenticate({ apiKey: key })).statusCode).toBe(200);
    expect(await lastUsed()).toBe(first);

    const all = await createKey(bobToken, { name: "everything", accessType: "all" });
    expect((await authenticate({ apiKey: all.key })).json().principal.scope).toEqual({ accessType: "all" });
  });

  it("authenticate a session token as the user with scope all", async () => {
    const res = await authenticate({ authorization: `Bearer ${bobToken}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ principal: { kind: "user", username: "bob", role: "user", scope: { accessType: "all" } } });
  });

  it("refuse a revoked key with its reason", async () => {
    const { key, apiKey } = await createKey(aliceToken, { name: "old", accessType: "all" });
    expect((await authenticate({ apiKey: key })).statusCode).toBe(200);
    const del = await auth.app.inject({ method: "DELETE", url: `/api/keys/${apiKey.id}`, headers: bearer(aliceToken) });
    expect(del.statusCode).toBe(204);
    const res = await authenticate({ authorization: `Bearer ${key}` });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code: "HUB_AUTH_KEY_REVOKED", details: { reason: "key_revoked" } });
    const listed = (await auth.app.inject({ method: "GET", url: "/api/keys", headers: bearer(aliceToken) })).json().keys;
    expect(listed.find((k: { id: string }) => k.id === apiKey.id).revokedAt).not.toBeNull();
  });

  it("refuse an expired key and an unknown key", async () => {
    const { key, apiKey } = await createKey(aliceToken, { name: "short-lived", accessType: "all", expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    expect((await authenticate({ apiKey: key })).statusCode).toBe(200);
    // An hour later, as far as the key is concerned.
    await world.db.db.execute(sql`update api_keys set expires_at = now() - interval '1 second' where id = ${apiKey.id}`);
    const expired = await authenticate({ apiKey: key });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error).toMatchObject({ code: "HUB_AUTH_KEY_EXPIRED", details: { reason: "key_expired" } });

    const unknown = await authenticate({ apiKey: `mcphub_${"x".repeat(43)}` });
    expect(unknown.json().error).toMatchObject({ code: "HUB_AUTH_KEY_UNKNOWN", details: { reason: "key_unknown" } });
    const none = await authenticate({});
    expect(none.json().error).toMatchObject({ details: { reason: "missing_credentials" } });
  });

  it("refuse a wrong or missing INTERNAL_TOKEN on the internal API", async () => {
    const { key } = await createKey(aliceToken, { name: "guarded", accessType: "all" });
    const wrong = await authenticate({ apiKey: key }, "not-the-internal-token");
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("HUB_INTERNAL_UNAUTHORIZED");
    const missing = await auth.app.inject({ method: "POST", url: "/internal/authenticate", payload: { apiKey: key } });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe("HUB_INTERNAL_UNAUTHORIZED");
  });

  it("of one user are invisible and untouchable to another; an admin sees all with all=true", async () => {
    const alices = await createKey(aliceToken, { name: "alice-private", accessType: "all" });
    const bobs = (await auth.app.inject({ method: "GET", url: "/api/keys", headers: bearer(bobToken) })).json().keys as { id: string; userId: string }[];
    expect(bobs.length).toBeGreaterThan(0);
    expect(bobs.every((k) => k.userId !== aliceId)).toBe(true);
    expect(bobs.some((k) => k.id === alices.apiKey.id)).toBe(false);

    const steal = await auth.app.inject({ method: "DELETE", url: `/api/keys/${alices.apiKey.id}`, headers: bearer(bobToken) });
    expect(steal.statusCode).toBe(404);
    expect((await authenticate({ apiKey: alices.key })).statusCode).toBe(200);

    const allAsUser = await auth.app.inject({ method: "GET", url: "/api/keys?all=true", headers: bearer(bobToken) });
    expect(allAsUser.statusCode).toBe(403);

    const own = (await auth.app.inject({ method: "GET", url: "/api/keys", headers: bearer(adminToken) })).json().keys;
    expect(own).toEqual([]);
    const all = (await auth.app.inject({ method: "GET", url: "/api/keys?all=true", headers: bearer(adminToken) })).json().keys as {
      id: string;
      username: string;
    }[];
    expect(all.find((k) => k.id === alices.apiKey.id)?.username).toBe("alice");
    expect(new Set(all.map((k) => k.username))).toEqual(new Set(["alice", "bob"]));

    // An admin may revoke anyone's key.
    const revoke = await auth.app.inject({ method: "DELETE", url: `/api/keys/${alices.apiKey.id}`, headers: bearer(adminToken) });
    expect(revoke.statusCode).toBe(204);
    expect((await authenticate({ apiKey: alices.key })).statusCode).toBe(401);
  });

  it("reject bad input naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "g", accessType: "groups" }, "allowedGroups"],
      [{ name: "s", accessType: "servers", allowedServers: [] }, "allowedServers"],
      [{ name: "a", accessType: "all", allowedServers: ["x"] }, "allowedServers"],
      [{ name: "p", accessType: "all", expiresAt: "2001-01-01T00:00:00Z" }, "expiresAt"],
      [{ name: "t", accessType: "all", expiresAt: "tomorrow" }, "expiresAt"],
      [{ name: "", accessType: "all" }, "name"],
      [{ name: "x", accessType: "some" }, "accessType"],
    ];
    for (const [payload, field] of cases) {
      const res = await auth.app.inject({ method: "POST", url: "/api/keys", headers: bearer(aliceToken), payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect((res.json().error.details as { field: string }[]).map((d) => d.field)).toContain(field);
    }
  });

  it("cannot be used on the REST API (they are for MCP endpoints)", async () => {
    const { key } = await createKey(aliceToken, { name: "rest", accessType: "servers", allowedServers: ["one"] });
    const res = await auth.app.inject({ method: "POST", url: "/api/keys", headers: bearer(key), payload: { name: "escalate", accessType: "all" } });
    expect(res.statusCode).toBe(401);
  });
});

describe("session tokens", () => {
  it("an expired token gets 401 with the reason, on the REST API and the internal API", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = signJwt({ sub: aliceId, username: "alice", role: "user", pwv: "x", iat: now - 7200, exp: now - 3600 });
    const me = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(expired) });
    expect(me.statusCode).toBe(401);
    expect(me.json().error).toMatchObject({ code: "HUB_AUTH_TOKEN_EXPIRED", details: { reason: "token_expired" } });
    const internal = await authenticate({ authorization: `Bearer ${expired}` });
    expect(internal.statusCode).toBe(401);
    expect(internal.json().error.details).toEqual({ reason: "token_expired" });
  });

  it("a token signed with another secret is invalid", async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt({ sub: aliceId, username: "alice", role: "admin", pwv: "x", iat: now, exp: now + 3600 }, "some-other-secret-of-enough-length-123");
    const res = await authenticate({ authorization: `Bearer ${forged}` });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.details).toEqual({ reason: "token_invalid" });
  });

  it("expire after the configured lifetime", async () => {
    const short = await world.start({ startRuntime: false, tokenTtlSeconds: 3, consumeAudit: false });
    const token = await login(short.app, "alice", "alice-password");
    expect((await short.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(token) })).statusCode).toBe(200);
    // Whole seconds in the token: between 2 and 3 s from now.
    const deadline = Date.now() + 15_000;
    let res = await short.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(token) });
    while (res.statusCode === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      res = await short.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(token) });
    }
    expect(res.json().error.details).toEqual({ reason: "token_expired" });
  });
});
