import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "@mcphub/db";
import { bearer, login, testWorld, type AuthInstance } from "./harness.ts";

const ADMIN_PASSWORD = "first-admin-password";

let world: Awaited<ReturnType<typeof testWorld>>;
let auth: AuthInstance;
let adminToken: string;

beforeAll(async () => {
  world = await testWorld("users");
  auth = await world.start({ adminPassword: ADMIN_PASSWORD });
  adminToken = await login(auth.app, "admin", ADMIN_PASSWORD);
});
afterAll(async () => world?.close());

async function createUser(username: string, password: string, role = "user") {
  const res = await auth.app.inject({ method: "POST", url: "/api/users", headers: bearer(adminToken), payload: { username, password, role } });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { user: { id: string; username: string; role: string } }).user;
}

describe("first admin", () => {
  it("is created from ADMIN_PASSWORD, without logging a password", async () => {
    const me = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(adminToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: { username: "admin", role: "admin" } });
    expect(auth.lines.some((l) => /generated password/.test(l.msg))).toBe(false);
    expect(JSON.stringify(auth.lines)).not.toContain(ADMIN_PASSWORD);
  });

  it("gets a generated password logged once at warn, and never again", async () => {
    // A second, empty database: the first start there has no ADMIN_PASSWORD.
    const other = await testWorld("users_gen");
    try {
      const first = await other.start();
      const warned = first.lines.filter((l) => /generated password/.test(l.msg));
      expect(warned).toHaveLength(1);
      expect(warned[0]!.level).toBe(40);
      const password = /generated password (\S+)/.exec(warned[0]!.msg)![1]!;
      expect(password.length).toBeGreaterThanOrEqual(20);
      await login(first.app, "admin", password);
      await first.close();

      // Restarted (same database): the admin exists, nothing is generated or printed.
      const second = await other.start();
      expect(second.lines.some((l) => /generated password/.test(l.msg))).toBe(false);
      expect(JSON.stringify(second.lines)).not.toContain(password);
      await login(second.app, "admin", password);
      const [row] = await queryRows<{ n: number }>(other.db.db, sql`select count(*)::int as n from users where role = 'admin'`);
      expect(row!.n).toBe(1);
    } finally {
      await other.close();
    }
  });
});

describe("login", () => {
  it("returns a token and the user for the right password", async () => {
    const res = await auth.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin", password: ADMIN_PASSWORD } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { token: string; user: Record<string, unknown> };
    expect(body.token.split(".")).toHaveLength(3);
    expect(body.user).toMatchObject({ username: "admin", role: "admin" });
    expect(body.user).not.toHaveProperty("password");
  });

  it("refuses a wrong password and an unknown user alike", async () => {
    for (const payload of [{ username: "admin", password: "wrong-password" }, { username: "nobody", password: ADMIN_PASSWORD }]) {
      const res = await auth.app.inject({ method: "POST", url: "/api/auth/login", payload });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: "HUB_LOGIN_FAILED", message: "wrong user name or password" } });
    }
  });

  it("names the missing fields", async () => {
    const res = await auth.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin" } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/password/);
  });
});

describe("the signed-in user", () => {
  it("gets 401 without a token, with a garbage token, or with another scheme", async () => {
    const none = await auth.app.inject({ method: "GET", url: "/api/auth/me" });
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toMatchObject({ code: "HUB_AUTH_MISSING_CREDENTIALS", details: { reason: "missing_credentials" } });
    const garbage = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer("not.a.token") });
    expect(garbage.json().error).toMatchObject({ code: "HUB_AUTH_TOKEN_INVALID" });
    const basic = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: { authorization: "Basic YWRtaW46eA==" } });
    expect(basic.json().error).toMatchObject({ code: "HUB_AUTH_UNSUPPORTED_SCHEME" });
  });

  it("changes their password; old sessions end, the new password works", async () => {
    await createUser("carol", "carol-password-1");
    const token = await login(auth.app, "carol", "carol-password-1");

    const wrong = await auth.app.inject({
      method: "PUT", url: "/api/auth/password", headers: bearer(token), payload: { currentPassword: "nope-nope", newPassword: "carol-password-2" },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.message).toMatch(/^currentPassword: /);

    const short = await auth.app.inject({
      method: "PUT", url: "/api/auth/password", headers: bearer(token), payload: { currentPassword: "carol-password-1", newPassword: "short" },
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toMatch(/newPassword: must be at least 8/);

    const ok = await auth.app.inject({
      method: "PUT", url: "/api/auth/password", headers: bearer(token), payload: { currentPassword: "carol-password-1", newPassword: "carol-password-2" },
    });
    expect(ok.statusCode).toBe(200);
    const fresh = (ok.json() as { token: string }).token;

    const old = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(token) });
    expect(old.statusCode).toBe(401);
    expect(old.json().error.details).toEqual({ reason: "token_revoked" });
    expect((await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(fresh) })).statusCode).toBe(200);

    await expect(login(auth.app, "carol", "carol-password-1")).rejects.toThrow(/401/);
    await login(auth.app, "carol", "carol-password-2");
  });
});

describe("user administration", () => {
  it("lets an admin create, read, update and delete users", async () => {
    const dave = await createUser("dave", "dave-password");
    expect(dave).toMatchObject({ username: "dave", role: "user" });

    const dup = await auth.app.inject({ method: "POST", url: "/api/users", headers: bearer(adminToken), payload: { username: "dave", password: "whatever-1" } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toMatchObject({ code: "HUB_USER_EXISTS" });

    const list = await auth.app.inject({ method: "GET", url: "/api/users", headers: bearer(adminToken) });
    const users = (list.json() as { users: { username: string }[] }).users;
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(["admin", "dave"]));
    expect(JSON.stringify(users)).not.toContain("scrypt");

    const got = await auth.app.inject({ method: "GET", url: `/api/users/${dave.id}`, headers: bearer(adminToken) });
    expect(got.json()).toMatchObject({ user: { id: dave.id, username: "dave" } });

    const put = await auth.app.inject({
      method: "PUT", url: `/api/users/${dave.id}`, headers: bearer(adminToken), payload: { role: "admin", email: "dave@example.com" },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ user: { role: "admin", email: "dave@example.com" } });

    // The new role is read from the database, not from the token.
    const daveToken = await login(auth.app, "dave", "dave-password");
    expect((await auth.app.inject({ method: "GET", url: "/api/users", headers: bearer(daveToken) })).statusCode).toBe(200);
    await auth.app.inject({ method: "PUT", url: `/api/users/${dave.id}`, headers: bearer(adminToken), payload: { role: "user" } });
    expect((await auth.app.inject({ method: "GET", url: "/api/users", headers: bearer(daveToken) })).statusCode).toBe(403);

    const del = await auth.app.inject({ method: "DELETE", url: `/api/users/${dave.id}`, headers: bearer(adminToken) });
    expect(del.statusCode).toBe(204);
    const gone = await auth.app.inject({ method: "GET", url: `/api/users/${dave.id}`, headers: bearer(adminToken) });
    expect(gone.statusCode).toBe(404);
    // A deleted user's session ends.
    const after = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(daveToken) });
    expect(after.json().error.details).toEqual({ reason: "user_not_found" });
  });

  it("names every bad field, and refuses to leave the hub without an admin", async () => {
    const bad = await auth.app.inject({
      method: "POST", url: "/api/users", headers: bearer(adminToken), payload: { username: "has space", password: "short", role: "root" },
    });
    expect(bad.statusCode).toBe(400);
    const fields = (bad.json().error.details as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(["password", "role", "username"]);

    const notUuid = await auth.app.inject({ method: "GET", url: "/api/users/42", headers: bearer(adminToken) });
    expect(notUuid.statusCode).toBe(400);
    expect(notUuid.json().error.message).toMatch(/^id: /);

    const me = (await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(adminToken) })).json().user as { id: string };
    const demote = await auth.app.inject({ method: "PUT", url: `/api/users/${me.id}`, headers: bearer(adminToken), payload: { role: "user" } });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error.code).toBe("HUB_LAST_ADMIN");
    const still = await auth.app.inject({ method: "GET", url: "/api/auth/me", headers: bearer(adminToken) });
    expect(still.json().user.role).toBe("admin");
  });

  it("is closed to users (403) and to anonymous callers (401)", async () => {
    await createUser("erin", "erin-password");
    const token = await login(auth.app, "erin", "erin-password");
    for (const [method, url, payload] of [
      ["GET", "/api/users", undefined],
      ["POST", "/api/users", { username: "mallory", password: "mallory-password" }],
    ] as const) {
      const asUser = await auth.app.inject({ method, url, headers: bearer(token), payload });
      expect(asUser.statusCode).toBe(403);
      expect(asUser.json().error.code).toBe("HUB_FORBIDDEN");
      const anonymous = await auth.app.inject({ method, url, payload });
      expect(anonymous.statusCode).toBe(401);
    }
    const [row] = await queryRows<{ n: number }>(world.db.db, sql`select count(*)::int as n from users where username = 'mallory'`);
    expect(row!.n).toBe(0);
  });
});

describe("password storage", () => {
  it("stores an scrypt hash with its parameters and salt, never the password", async () => {
    await createUser("frank", "frank-password");
    await createUser("grace", "frank-password");
    const rows = await queryRows<{ username: string; password: string }>(
      world.db.db,
      sql`select username, password from users where username in ('admin', 'frank', 'grace') order by username`,
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.password).not.toContain("password");
      expect(row.password).toMatch(/^scrypt\$N=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    }
    const [, frank, grace] = rows;
    // Same password, different salts: different hashes.
    expect(frank!.password).not.toBe(grace!.password);
    const n = Number(/N=(\d+)/.exec(frank!.password)![1]);
    expect(n).toBeGreaterThanOrEqual(2 ** 12);
  });
});
