import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { connect, startHub, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

type Json = Record<string, any>;

async function api(t: TestHub, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${t.base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const fileOf = async (t: TestHub) => JSON.parse(await readFile(t.settingsPath, "utf8")) as Json;

describe("settings REST API over Postgres revisions", () => {
  let t: TestHub;
  let db: Awaited<ReturnType<typeof freshDatabase>>;

  beforeAll(async () => {
    db = await freshDatabase("settings_api");
    t = await startHub(
      { mcpServers: { everything: upstream.everything() }, groups: [{ id: "g", name: "G", servers: ["everything"] }] },
      { database: db.url },
    );
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("imports the file as the first revision", async () => {
    const { body } = await api(t, "GET", "/api/settings");
    expect(body.revision).toBeGreaterThan(0);
    expect(body.settings.mcpServers.everything.command).toBe(process.execPath);
    const revs = await api(t, "GET", "/api/settings/revisions");
    expect(revs.body.revisions[0].source).toBe("file");
  });

  it("adds a server: a new revision, written back to the file, serving within a second", async () => {
    const before = (await api(t, "GET", "/api/settings")).body.revision as number;
    const c = await connect(`${t.base}/mcp`);
    let changed = false;
    c.setNotificationHandler("notifications/tools/list_changed", () => void (changed = true));
    const res = await api(t, "POST", "/api/servers", { name: "memory", ...upstream.memory(`${t.dir}/memory.jsonl`) });
    expect(res.status).toBe(201);
    expect((await api(t, "GET", "/api/settings")).body.revision).toBe(before + 1);
    expect((await fileOf(t)).mcpServers.memory.args).toEqual(upstream.memory("").args);
    await waitUntil(() => changed, 5000, "tools/list_changed after the API added a server");
    expect((await c.listTools()).tools.map((x) => x.name)).toContain("memory-read_graph");
    const revs = (await api(t, "GET", "/api/settings/revisions")).body.revisions;
    expect(revs[0]).toMatchObject({ source: "api", author: "api" });
    await c.close();
  });

  it("refuses an invalid server with each field and reason, and changes nothing", async () => {
    const before = await api(t, "GET", "/api/settings");
    const fileBefore = await readFile(t.settingsPath, "utf8");
    const res = await api(t, "POST", "/api/servers", { name: "broken", type: "stdio", args: "not-an-array" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("HUB_INVALID_SETTINGS");
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\$\.mcpServers\.broken\.command: /), expect.stringMatching(/^\$\.mcpServers\.broken\.args: /)]),
    );
    expect((await api(t, "GET", "/api/settings")).body.revision).toBe(before.body.revision);
    expect(await readFile(t.settingsPath, "utf8")).toBe(fileBefore);
    expect((await api(t, "POST", "/api/servers", { name: "everything", command: "x" })).status).toBe(409);
    expect((await api(t, "POST", "/api/servers", "[]")).status).toBe(400);
  });

  it("updates a server's tool overrides without restarting it", async () => {
    const pid = t.hub.supervisor.status().find((s) => s.name === "everything")!.pid;
    const config = { ...upstream.everything(), tools: { echo: { description: "Says it back" } } };
    expect((await api(t, "PUT", "/api/servers/everything", config)).status).toBe(200);
    const c = await connect(`${t.base}/mcp/everything`);
    await waitUntil(async () => (await c.listTools()).tools.find((x) => x.name === "echo")?.description === "Says it back", 5000, "override visible");
    expect(t.hub.supervisor.status().find((s) => s.name === "everything")!.pid).toBe(pid);
    await c.close();
    expect((await api(t, "PUT", "/api/servers/ghost", config)).status).toBe(404);
  });

  it("manages groups, and deleting a server takes it out of them", async () => {
    const created = await api(t, "POST", "/api/groups", { name: "Both", servers: ["everything", "memory"] });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(id).toMatch(/[0-9a-f-]{36}/);
    expect((await api(t, "POST", "/api/groups", { id, name: "dup" })).status).toBe(409);
    expect((await api(t, "PUT", `/api/groups/${id}`, { name: "Both", servers: ["memory"] })).body.servers).toEqual(["memory"]);
    expect((await api(t, "POST", "/api/groups", { name: "bad", servers: ["nobody"] })).body.error.details).toEqual([
      expect.stringMatching(/groups\[\d+\]\.servers\[0\]: unknown server "nobody"/),
    ]);
    expect((await api(t, "DELETE", "/api/servers/memory")).status).toBe(204);
    expect((await api(t, "GET", `/api/groups/${id}`)).body.servers).toEqual([]);
    expect((await api(t, "DELETE", `/api/groups/${id}`)).status).toBe(204);
    expect((await api(t, "GET", `/api/groups/${id}`)).status).toBe(404);
    await waitUntil(() => !t.hub.supervisor.status().some((s) => s.name === "memory"), 5000, "memory stopped");
  });

  it("records an edit of the file as a revision from the file", async () => {
    const before = (await api(t, "GET", "/api/settings")).body.revision as number;
    const file = await fileOf(t);
    file.groups.push({ id: "from-file", name: "From file", servers: ["everything"] });
    await t.writeSettings(file);
    await waitUntil(async () => (await api(t, "GET", "/api/settings")).body.revision > before, 5000, "file revision");
    const revs = (await api(t, "GET", "/api/settings/revisions")).body.revisions;
    expect(revs[0].source).toBe("file");
    expect((await api(t, "GET", "/api/groups/from-file")).status).toBe(200);
  });

  it("masks env and header values in answers, and keeps the stored value when the mask is sent back", async () => {
    const created = await api(t, "POST", "/api/servers", { name: "vaulted", ...upstream.everything(), env: { API_TOKEN: "s3cret-value", MODE: "x" } });
    expect(created.status).toBe(201);
    expect(created.body.config.env).toEqual({ API_TOKEN: "[secret]", MODE: "[secret]" });
    const read = await api(t, "GET", "/api/servers/vaulted");
    expect(JSON.stringify(read.body)).not.toContain("s3cret-value");
    // A client saves what it read, changing only MODE: the token stays as stored.
    const saved = await api(t, "PUT", "/api/servers/vaulted", { ...read.body.config, env: { ...read.body.config.env, MODE: "y" } });
    expect(saved.status).toBe(200);
    expect((await fileOf(t)).mcpServers.vaulted.env).toEqual({ API_TOKEN: "s3cret-value", MODE: "y" });
    expect(JSON.stringify((await api(t, "GET", "/api/settings")).body)).not.toContain("s3cret-value");
    expect((await api(t, "DELETE", "/api/servers/vaulted")).status).toBe(204);
  });

  it("describes itself in OpenAPI at /api/docs", async () => {
    const { body } = await api(t, "GET", "/api/docs");
    expect(body.openapi).toBe("3.1.0");
    expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(["/api/servers", "/api/servers/{name}", "/api/groups", "/api/settings"]));
    expect(body.components.schemas.ServerConfig).toBeTruthy();
  });
});

describe("settings REST API over PGlite (all-in-one)", () => {
  it("opens the embedded database on the first API change, recording the file first", async () => {
    const t = await startHub({ mcpServers: { everything: upstream.everything() } }, { database: true, openDatabase: false });
    try {
      // A hub run from its file alone never pays PGlite's memory and start-up.
      expect(existsSync(join(t.dir, "data", "pglite"))).toBe(false);
      const res = await api(t, "POST", "/api/groups", { id: "lite", name: "Lite", servers: ["everything"] });
      expect(res.status).toBe(201);
      expect(existsSync(join(t.dir, "data", "pglite"))).toBe(true);
      const { body } = await api(t, "GET", "/api/settings");
      expect(body.revision).toBe(2);
      expect((await fileOf(t)).groups[0].id).toBe("lite");
      const revs = (await api(t, "GET", "/api/settings/revisions")).body.revisions;
      expect(revs.map((r: Json) => r.source)).toEqual(["api", "file"]);
    } finally {
      await t.close();
    }
  }, 60_000);
});
