import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * A revoked credential's open streams close at once (the gateway ends the sessions it opened
 * on `credentials.revoked`), instead of staying open for as long as the client keeps them.
 */
const ADMIN_PASSWORD = "revocation-streams-admin";
const MCP = { "content-type": "application/json", accept: "application/json, text/event-stream" };
let t: TestHub;
let admin: string;

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${t.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** A session and its GET stream with this credential; `ended` resolves when the hub closes the stream. */
async function openStream(credential: string, path = "/mcp"): Promise<{ ended: Promise<void> }> {
  const auth = { authorization: `Bearer ${credential}` };
  const init = await fetch(`${t.base}${path}`, {
    method: "POST",
    headers: { ...MCP, ...auth },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "r", version: "1" } } }),
  });
  expect(init.status).toBe(200);
  const session = init.headers.get("mcp-session-id")!;
  const stream = await fetch(`${t.base}${path}`, { headers: { accept: "text/event-stream", "mcp-session-id": session, ...auth } });
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  const ended = (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return { ended };
}

beforeAll(async () => {
  t = await startHub({ mcpServers: { everything: upstream.everything() } }, { database: true, adminPassword: ADMIN_PASSWORD });
  const res = await fetch(`${t.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) });
  admin = ((await res.json()) as { token: string }).token;
});
afterAll(async () => {
  await t?.close();
});

describe("revocation ends open streams", () => {
  it("a revoked key's GET stream closes; the owner's other key keeps its stream", async () => {
    const revoked = (await api("POST", "/api/keys", { name: "to-revoke", accessType: "all" })).body;
    const kept = (await api("POST", "/api/keys", { name: "to-keep", accessType: "all" })).body;
    const gone = await openStream(revoked.key);
    const stays = await openStream(kept.key);
    let stayedOpen = true;
    void stays.ended.then(() => (stayedOpen = false));
    expect((await api("DELETE", `/api/keys/${revoked.apiKey.id}`)).status).toBe(204);
    await gone.ended;
    // The other key's stream is untouched: it still gets the hub's messages.
    expect(stayedOpen).toBe(true);
    expect(t.logs.some((l) => l.msg === "ended the sessions of a revoked credential" && l.keyId === revoked.apiKey.id)).toBe(true);
  });

  it("a deleted user's streams close, opened with any of their keys", async () => {
    const user = (await api("POST", "/api/users", { username: "leaver", password: "leaver-password-123", role: "user" })).body.user;
    const login = await fetch(`${t.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "leaver", password: "leaver-password-123" }) });
    const token = ((await login.json()) as { token: string }).token;
    const keyRes = await fetch(`${t.base}/api/keys`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name: "leaver-key", accessType: "all" }) });
    const key = ((await keyRes.json()) as { key: string }).key;
    const viaKey = await openStream(key);
    const viaToken = await openStream(token, "/mcp/everything");
    expect((await api("DELETE", `/api/users/${user.id}`)).status).toBe(204);
    await Promise.all([viaKey.ended, viaToken.ended]);
    await waitUntil(() => t.logs.some((l) => l.msg === "ended the sessions of a revoked credential" && l.userId === user.id), 5000, "the log line");
  });
});
