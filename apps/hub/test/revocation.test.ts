import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { rest, signIn } from "./helpers/rest.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * Credential checks are cached (5 s) so the hot path does not hit the database; a revocation
 * must not wait for that. The auth service publishes `credentials.revoked` once the change is
 * committed, and the hub's credential cache drops the entry at once: the very next request
 * after the answer to the revocation is refused. Without the event it would be served from the
 * cache for up to 5 s.
 */

const ADMIN_PASSWORD = "revocation-admin-password";
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "revocation", version: "1" } } });

let t: TestHub;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let admin: string;

const api = (token: string, method: string, path: string, body?: unknown) => rest(t.base, method, path, { token, body });
const login = async (username: string, password: string) => (await signIn(t.base, username, password))!;

/** An MCP initialize with this credential: 200 while it is valid. */
async function mcpStatus(credential: string): Promise<number> {
  const res = await fetch(`${t.base}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, authorization: `Bearer ${credential}` }, body: initialize });
  await res.arrayBuffer();
  return res.status;
}

async function newUser(username: string, role: "admin" | "user"): Promise<{ id: string; token: string }> {
  const password = `${username}-password-123`;
  const created = await api(admin, "POST", "/api/users", { username, password, role });
  expect(created.status).toBe(201);
  return { id: created.body.user.id, token: await login(username, password) };
}

beforeAll(async () => {
  db = await freshDatabase("revocation");
  t = await startHub({ mcpServers: { everything: upstream.everything() } }, { database: db.url, adminPassword: ADMIN_PASSWORD });
  admin = await login("admin", ADMIN_PASSWORD);
});
afterAll(async () => {
  await t?.close();
  await db?.drop();
});

describe("revocation takes effect at once, not when the credential cache expires", () => {
  it("a revoked API key is refused on the next request", async () => {
    const { key, apiKey } = (await api(admin, "POST", "/api/keys", { name: "soon-revoked", accessType: "all" })).body;
    expect(await mcpStatus(key)).toBe(200); // now cached
    expect((await api(admin, "DELETE", `/api/keys/${apiKey.id}`)).status).toBe(204);
    expect(await mcpStatus(key)).toBe(401);
  });

  it("revoking one key leaves the owner's other keys working", async () => {
    const a = (await api(admin, "POST", "/api/keys", { name: "a", accessType: "all" })).body;
    const b = (await api(admin, "POST", "/api/keys", { name: "b", accessType: "all" })).body;
    expect(await mcpStatus(a.key)).toBe(200);
    expect(await mcpStatus(b.key)).toBe(200);
    expect((await api(admin, "DELETE", `/api/keys/${a.apiKey.id}`)).status).toBe(204);
    expect(await mcpStatus(a.key)).toBe(401);
    expect(await mcpStatus(b.key)).toBe(200);
  });

  it("a deleted user's session token and keys are refused on the next request", async () => {
    const bob = await newUser("bob", "user");
    const { key } = (await api(bob.token, "POST", "/api/keys", { name: "bob's", accessType: "all" })).body;
    expect(await mcpStatus(bob.token)).toBe(200);
    expect(await mcpStatus(key)).toBe(200);
    expect((await api(admin, "DELETE", `/api/users/${bob.id}`)).status).toBe(204);
    expect(await mcpStatus(bob.token)).toBe(401);
    expect(await mcpStatus(key)).toBe(401);
  });

  it("a demoted admin loses the settings API on the next request", async () => {
    const carol = await newUser("carol", "admin");
    expect((await api(carol.token, "GET", "/api/settings")).status).toBe(200); // an admin, cached
    expect((await api(admin, "PUT", `/api/users/${carol.id}`, { role: "user" })).status).toBe(200);
    const refused = await api(carol.token, "GET", "/api/settings");
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/for admins/);
  });

  it("a changed password ends the old session token on the next request", async () => {
    const dave = await newUser("dave", "user");
    expect(await mcpStatus(dave.token)).toBe(200);
    expect((await api(admin, "PUT", `/api/users/${dave.id}`, { password: "a-brand-new-password" })).status).toBe(200);
    expect(await mcpStatus(dave.token)).toBe(401);
  });
});
