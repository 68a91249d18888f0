import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { rest, signIn, type Json } from "./helpers/rest.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * Validation runs before anything is stored: a name that could not be read back, addressed by
 * URL or audited is a 400 naming the field, and leaves no revision, no file change and no half
 * of a change behind (the 600-character name used to be saved, then answered with a 500).
 */

const ADMIN_PASSWORD = "validation-admin-password";

let t: TestHub;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let token: string;

const api = (method: string, path: string, body?: unknown) => rest(t.base, method, path, { token, body });

/** Everything a refused write could have touched: the revision, the file and the audit log. */
async function snapshot() {
  const settings = await api("GET", "/api/settings");
  const audit = await api("GET", "/api/audit?limit=500");
  return {
    revision: settings.body.revision as number,
    file: await readFile(t.settingsPath, "utf8"),
    succeeded: (audit.body.entries as Json[]).filter((e) => e.success).length,
  };
}

beforeAll(async () => {
  db = await freshDatabase("settings_validation");
  t = await startHub({ mcpServers: { everything: upstream.everything() } }, { database: db.url, adminPassword: ADMIN_PASSWORD });
  token = (await signIn(t.base, "admin", ADMIN_PASSWORD))!;
});
afterAll(async () => {
  await t?.close();
  await db?.drop();
});

describe("names that could not be stored whole are refused before anything is written", () => {
  it("POST /api/servers with a 600-character name: 400 naming `name`, nothing saved", async () => {
    const before = await snapshot();
    const res = await api("POST", "/api/servers", { name: "x".repeat(600), ...upstream.everything() });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("HUB_INVALID_BODY");
    expect(res.body.error.message).toBe("name: must be at most 100 characters");
    expect(await snapshot()).toEqual(before);
    expect((await api("GET", "/api/servers")).body.servers.map((s: Json) => s.name)).toEqual(["everything"]);
  });

  it("accepts a name of the longest allowed length, and reads, updates and deletes it by that name", async () => {
    const name = "n".repeat(100);
    expect((await api("POST", "/api/servers", { name, ...upstream.everything({ enabled: false }) })).status).toBe(201);
    expect((await api("GET", `/api/servers/${name}`)).body.name).toBe(name);
    expect((await api("PUT", `/api/servers/${name}`, upstream.everything({ enabled: false, tools: {} }))).status).toBe(200);
    expect((await api("DELETE", `/api/servers/${name}`)).status).toBe(204);
    const audit = (await api("GET", `/api/audit?resource=server&limit=50`)).body.entries as Json[];
    expect(audit.filter((e) => e.resourceId === name && e.success).map((e) => e.action).sort()).toEqual(["server.create", "server.delete", "server.update"]);
  });

  it("PUT /api/settings with an over-long server name: 400 with its JSON path, nothing saved", async () => {
    const before = await snapshot();
    const current = (await api("GET", "/api/settings")).body.settings as Json;
    const long = "y".repeat(101);
    const res = await api("PUT", "/api/settings", { ...current, mcpServers: { ...current.mcpServers, [long]: upstream.everything() } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("HUB_INVALID_SETTINGS");
    expect(res.body.error.details).toEqual([`$.mcpServers.${long}: invalid name: must be at most 100 characters`]);
    expect(await snapshot()).toEqual(before);
  });

  it("groups: an over-long id names `id`, an over-long name its JSON path; nothing saved", async () => {
    const before = await snapshot();
    const longId = await api("POST", "/api/groups", { id: "g".repeat(600), name: "G", servers: [] });
    expect(longId.status).toBe(400);
    expect(longId.body.error.message).toBe("id: must be at most 100 characters");
    const longName = await api("POST", "/api/groups", { id: "ok", name: "N".repeat(201), servers: [] });
    expect(longName.status).toBe(400);
    expect(longName.body.error.details).toEqual([expect.stringMatching(/^\$\.groups\[0\]\.name: must be at most 200 characters$/)]);
    expect(await snapshot()).toEqual(before);
  });

  it("a name that is an Object.prototype member is neither found nor created", async () => {
    expect((await api("GET", "/api/servers/__proto__")).status).toBe(404);
    expect((await api("GET", "/api/servers/constructor")).status).toBe(404);
    expect((await api("PUT", "/api/servers/__proto__", upstream.everything())).status).toBe(404);
    expect((await api("DELETE", "/api/servers/toString")).status).toBe(404);
    const created = await api("POST", "/api/servers", { name: "constructor", ...upstream.everything() });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toMatch(/^name: is reserved/);
    expect((await api("GET", "/api/groups/__proto__")).status).toBe(404);
  });
});

describe("users and keys: limits match their columns, refused with the field named", () => {
  it("an over-long user name, email or key name is a 400 naming it, and no user or key is created", async () => {
    const usersBefore = (await api("GET", "/api/users")).body.users.length;
    const keysBefore = (await api("GET", "/api/keys?all=true")).body.keys.length;
    const user = await api("POST", "/api/users", { username: "u".repeat(256), password: "long-enough-password" });
    expect(user.status).toBe(400);
    expect(user.body.error.details).toEqual([{ field: "username", message: "must be at most 255 characters" }]);
    const email = await api("POST", "/api/users", { username: "eve", password: "long-enough-password", email: `${"e".repeat(250)}@x.example` });
    expect(email.status).toBe(400);
    expect(email.body.error.details.map((d: Json) => d.field)).toEqual(["email"]);
    const key = await api("POST", "/api/keys", { name: "k".repeat(101), accessType: "all" });
    expect(key.status).toBe(400);
    expect(key.body.error.details).toEqual([{ field: "name", message: "must be at most 100 characters" }]);
    const scoped = await api("POST", "/api/keys", { name: "scoped", accessType: "servers", allowedServers: ["s".repeat(101)] });
    expect(scoped.status).toBe(400);
    expect(scoped.body.error.details).toEqual([{ field: "allowedServers.0", message: "must be at most 100 characters" }]);
    expect((await api("GET", "/api/users")).body.users.length).toBe(usersBefore);
    expect((await api("GET", "/api/keys?all=true")).body.keys.length).toBe(keysBefore);
  });

  it("a route id that is not a UUID is a 400 naming `id` (never a database error)", async () => {
    for (const [method, path] of [["GET", "/api/users/x"], ["PUT", "/api/users/x"], ["DELETE", "/api/users/x"], ["DELETE", `/api/keys/${"z".repeat(400)}`]] as const) {
      const res = await api(method, path, method === "PUT" ? { role: "user" } : undefined);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.error.details[0].field).toBe("id");
    }
  });
});
