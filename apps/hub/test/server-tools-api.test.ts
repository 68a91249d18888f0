import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, startHub, waitUntil, type TestHub } from "./helpers/hub.ts";
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

// Routes the dashboard's server page uses: a server's tools with their overrides, and trying one.
describe("a server's tools over the settings API", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({
      mcpServers: {
        everything: upstream.everything({ tools: { "everything-get-env": { enabled: false }, echo: { description: "Says it back" } } }),
        off: { ...upstream.everything(), enabled: false },
      },
    });
  });
  afterAll(() => t?.close());

  it("lists every tool the server has, disabled ones too, with the override applied and the server's own description beside it", async () => {
    const { status, body } = await api(t, "GET", "/api/servers/everything/tools");
    expect(status).toBe(200);
    const byName = Object.fromEntries((body.tools as Json[]).map((x) => [x.name, x]));
    expect(byName["get-env"]).toMatchObject({ key: "everything-get-env", enabled: false });
    expect(byName.echo).toMatchObject({ key: "everything-echo", enabled: true, description: "Says it back", descriptionOverridden: true });
    expect(byName.echo.originalDescription).not.toBe("Says it back");
    expect(byName.echo.inputSchema.properties.message).toBeTruthy();
    expect(Array.isArray(body.prompts) && Array.isArray(body.resources)).toBe(true);
  });

  it("a disabled server lists nothing; an unknown one is a 404", async () => {
    expect((await api(t, "GET", "/api/servers/off/tools")).body).toEqual({ tools: [], prompts: [], resources: [] });
    const missing = await api(t, "GET", "/api/servers/nope/tools");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("HUB_NOT_FOUND");
  });

  it("calls a tool and answers with its result", async () => {
    const { status, body } = await api(t, "POST", "/api/servers/everything/tools/echo/call", { arguments: { message: "hi" } });
    expect(status).toBe(200);
    expect(body.result.content[0].text).toContain("hi");
  });

  it("refuses a disabled tool (403), bad arguments (400 naming the field) and an unknown server (404)", async () => {
    const refused = await api(t, "POST", "/api/servers/everything/tools/get-env/call", {});
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: "HUB_TOOL_REFUSED" });
    expect(refused.body.error.message).toMatch(/disabled/);
    const bad = await api(t, "POST", "/api/servers/everything/tools/echo/call", { arguments: [1] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual(["$.arguments: must be a JSON object"]);
    expect((await api(t, "POST", "/api/servers/nope/tools/echo/call", {})).status).toBe(404);
  });

  it("a tool's own error is its result (isError), shown as the server gave it", async () => {
    const unknown = await api(t, "POST", "/api/servers/everything/tools/no-such-tool/call", {});
    expect(unknown.status).toBe(200);
    expect(unknown.body.result).toMatchObject({ isError: true, content: [{ type: "text", text: expect.stringContaining("no-such-tool") }] });
  });

  it("counts the calls per server for the overview: calls, errors and the median latency of the last hour", async () => {
    const before = (await api(t, "GET", "/api/stats")).body;
    expect(before.windowMinutes).toBe(60);
    const everything = (b: Json) => (b.servers as Json[]).find((s) => s.server === "everything")!;
    const calls = everything(before).calls as number;
    await api(t, "POST", "/api/servers/everything/tools/echo/call", { arguments: { message: "counted" } });
    await api(t, "POST", "/api/servers/everything/tools/no-such-tool/call", {});
    const after = everything((await api(t, "GET", "/api/stats")).body);
    expect(after.calls).toBe(calls + 2);
    expect(after.errors).toBeGreaterThanOrEqual(1);
    expect(after.p50Ms).toBeGreaterThanOrEqual(0);
    expect(after.minutes).toHaveLength(60);
    expect((after.minutes as Json[]).reduce((n, m) => n + m.calls, 0)).toBe(after.calls);
    // A server without calls is listed too, with nothing counted.
    expect((await api(t, "GET", "/api/stats")).body.servers.find((s: Json) => s.server === "off")).toMatchObject({ calls: 0, p50Ms: null });
  });

  it("restarts a server: a new process, the count carried on; a disabled one is a 409, an unknown one a 404", async () => {
    const before = t.hub.supervisor.status().find((s) => s.name === "everything")!;
    const res = await api(t, "POST", "/api/servers/everything/restart");
    expect(res.status).toBe(202);
    expect(res.body.status.restarts).toBe(before.restarts + 1);
    await waitUntil(() => t.hub.supervisor.status().find((s) => s.name === "everything")?.state === "ready", 20_000, "everything ready again");
    const after = t.hub.supervisor.status().find((s) => s.name === "everything")!;
    expect(after.pid).not.toBe(before.pid);
    expect(alive(before.pid!)).toBe(false);
    expect((await api(t, "POST", "/api/servers/everything/tools/echo/call", { arguments: { message: "again" } })).body.result.content[0].text).toContain("again");
    expect((await api(t, "POST", "/api/servers/off/restart")).status).toBe(409);
    expect((await api(t, "POST", "/api/servers/nope/restart")).status).toBe(404);
  });

  it("is described in OpenAPI", async () => {
    const { body } = await api(t, "GET", "/api/docs");
    expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(["/api/stats", "/api/servers/{name}/tools", "/api/servers/{name}/tools/{tool}/call"]));
  });
});
