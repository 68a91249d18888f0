import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { text, waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { upstream } from "../../apps/hub/test/helpers/servers.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { startService, type ServiceProcess } from "../helpers/processes.ts";

/**
 * The all-in-one hub names each request by its X-Request-Id, as the split services do (the
 * cluster's case is in operations.test.ts): on its log lines and on the audit entries of a
 * sign-in, a key created (written in the key's own transaction) and a tool call.
 */
const ids = { login: `hub-login-${process.pid}`, key: `hub-key-${process.pid}`, call: `hub-call-${process.pid}` };
let dir: string;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let hub: ServiceProcess;
let token: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-reqid-"));
  database = await freshDatabase("reqid");
  const settings = join(dir, "mcp_settings.json");
  await writeFile(settings, JSON.stringify({ mcpServers: { everything: upstream.everything() } }));
  hub = await startService("hub", { DATABASE_URL: database.url, MCPHUB_SETTING_PATH: settings, DATA_DIR: join(dir, "data"), ADMIN_PASSWORD: "reqid-admin-password", JWT_SECRET: "r".repeat(40), LOG_LEVEL: "debug" }, 60_000);
}, 90_000);

afterAll(async () => {
  await hub?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function auditEntry(requestId: string): Promise<{ action: string; details: Record<string, unknown> }> {
  let found: { action: string; details: Record<string, unknown> } | undefined;
  await waitUntil(async () => {
    const res = await fetch(`${hub.url}/api/audit?limit=100`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { entries: { action: string; details: Record<string, unknown> | null }[] };
    found = body.entries.find((e) => e.details?.requestId === requestId) as typeof found;
    return found !== undefined;
  }, 10_000, `the audit entry of request ${requestId}`);
  return found!;
}

describe("request ids in the all-in-one hub", () => {
  it("reach the audit entries of a sign-in, a key created and a tool call, and the log lines", async () => {
    // The hub listens before its first admin exists.
    await waitUntil(async () => {
      const res = await fetch(`${hub.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": ids.login },
        body: JSON.stringify({ username: "admin", password: "reqid-admin-password" }),
      });
      if (res.status === 200) token = ((await res.json()) as { token: string }).token;
      return res.status === 200;
    }, 20_000, "the first admin to sign in");
    const made = await fetch(`${hub.url}/api/keys`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-request-id": ids.key },
      body: JSON.stringify({ name: "traced", accessType: "all" }),
    });
    expect(made.status).toBe(201);
    const { key } = (await made.json()) as { key: string };

    const traced: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${key}`);
      if (typeof init?.body === "string" && init.body.includes('"tools/call"')) headers.set("x-request-id", ids.call);
      return fetch(input, { ...init, headers });
    };
    const c = new Client({ name: "reqid", version: "1" });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), { fetch: traced }));
    await waitUntil(async () => (await c.listTools()).tools.some((t) => t.name === "everything-echo"), 20_000, "everything's tools");
    expect(text(await c.callTool({ name: "everything-echo", arguments: { message: "traced" } }))).toBe("Echo: traced");
    await c.close();

    expect((await auditEntry(ids.login)).action).toMatch(/login/);
    expect((await auditEntry(ids.key)).action).toMatch(/key/);
    expect((await auditEntry(ids.call)).action).toBe("tool.call");
    await waitUntil(() => hub.output.join("").includes(`"requestId":"${ids.call}"`), 5000, "a log line of the traced call");
  });
});
