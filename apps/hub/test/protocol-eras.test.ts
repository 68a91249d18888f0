import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport, type FetchLike } from "@modelcontextprotocol/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

const PARAM_HEADER_TS = fileURLToPath(new URL("./fixtures/param-header-server.ts", import.meta.url));

/**
 * One endpoint, every protocol revision a client may speak: 2026-07-28 (stateless, per-request
 * `_meta` envelope, subscriptions/listen) beside the 2025 sessions (initialize, Mcp-Session-Id,
 * the GET stream), negotiated per request. Each era is driven by the official SDK client pinned
 * to it; the raw-HTTP cases check the 2026-07-28 header rules against what the SDK's own server
 * answers.
 */

const MODERN = "2026-07-28";
const PV = "io.modelcontextprotocol/protocolVersion";
const CC = "io.modelcontextprotocol/clientCapabilities";
const CI = "io.modelcontextprotocol/clientInfo";
const SERVER_INFO = "io.modelcontextprotocol/serverInfo";
const ENVELOPE = { [PV]: MODERN, [CC]: {}, [CI]: { name: "raw-http", version: "1.0.0" } };
const LEGACY_ERAS = ["2025-11-25", "2025-06-18", "2025-03-26"];

let t: TestHub;

beforeAll(async () => {
  t = await startHub({
    mcpServers: {
      everything: upstream.everything(),
      probe: upstream.probe(),
      regional: { type: "stdio", command: process.execPath, args: ["--import", "tsx", PARAM_HEADER_TS] },
    },
  });
});
afterAll(() => t?.close());

type Json = Record<string, any>;

/** A client pinned to one revision; for 2025 eras its GET stream is known open once this resolves. */
async function pinned(version: string, url = `${t.base}/mcp`) {
  let getOpened!: () => void;
  const opened = new Promise<void>((r) => (getOpened = r));
  const fetchSpy: FetchLike = async (input, init) => {
    const res = await fetch(input, init);
    if ((init?.method ?? "GET") === "GET" && res.ok) getOpened();
    return res;
  };
  const client =
    version === MODERN
      ? new Client({ name: "eras", version: "1.0.0" }, { versionNegotiation: { mode: { pin: MODERN } } })
      : new Client({ name: "eras", version: "1.0.0" }, { supportedProtocolVersions: [version] });
  const state = { client, toolsChanged: 0 };
  client.setNotificationHandler("notifications/tools/list_changed", () => void state.toolsChanged++);
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: fetchSpy });
  await client.connect(transport);
  if (version === MODERN) await client.listen({ toolsListChanged: true });
  else await opened;
  return { ...state, transport, get changed() { return state.toolsChanged; } };
}

describe.each([MODERN, ...LEGACY_ERAS])("the official SDK client pinned to %s", (version) => {
  let c: Awaited<ReturnType<typeof pinned>>;
  beforeAll(async () => {
    c = await pinned(version);
  });
  afterAll(async () => {
    if (version !== MODERN) await c?.transport.terminateSession().catch(() => {});
    await c?.client.close();
  });

  it("negotiates exactly that revision: a session for 2025 eras, none for 2026-07-28", () => {
    expect(c.client.getNegotiatedProtocolVersion()).toBe(version);
    if (version === MODERN) expect(c.transport.sessionId).toBeUndefined();
    else expect(c.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(c.client.getServerVersion()?.name).toBe("mcphub");
  });

  it("lists tools of every server", async () => {
    const names = (await c.client.listTools()).tools.map((x) => x.name);
    expect(names).toContain("everything-echo");
    expect(names).toContain("probe-add-tool");
  });

  it("calls a long-running tool and receives its progress", async () => {
    const seen: number[] = [];
    const r = await c.client.callTool(
      { name: "everything-trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(text(r)).toContain("completed");
    // The client may drop the last progress that arrives right before the result (its handlers run a microtask later).
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort());
  });

  it("reads a resource and gets a prompt", async () => {
    const resources = (await c.client.listResources()).resources;
    const read = await c.client.readResource({ uri: resources[0]!.uri });
    expect(read.contents[0]!.uri).toBe(resources[0]!.uri);
    const prompt = await c.client.getPrompt({ name: "everything-args-prompt", arguments: { city: `Lyon-${version}` } });
    expect(JSON.stringify(prompt.messages)).toContain(`Lyon-${version}`);
  });

  it(`hears tools/list_changed on its ${version === MODERN ? "subscriptions/listen stream" : "GET stream"}`, async () => {
    const tool = `fresh-${version.replaceAll("-", "")}`;
    const before = c.changed;
    // A client of another endpoint, whose view does not change, is not told of a change.
    const elsewhere = await pinned(version, `${t.base}/mcp/everything`);
    expect(text(await c.client.callTool({ name: "probe-add-tool", arguments: { name: tool } }))).toBe(`added ${tool}`);
    await waitUntil(() => c.changed > before, 10_000, `tools/list_changed for ${version}`);
    expect(elsewhere.changed).toBe(0);
    if (version !== MODERN) await elsewhere.transport.terminateSession();
    await elsewhere.client.close();
    expect((await c.client.listTools()).tools.map((x) => x.name)).toContain(`probe-${tool}`);
    expect(text(await c.client.callTool({ name: `probe-${tool}`, arguments: {} }))).toBe(`${tool} works`);
  });
});

describe("the v1 SDK client (@modelcontextprotocol/sdk 1.32), a 2025-era client", () => {
  it("lists, calls with progress, reads, gets a prompt and hears list_changed on its GET stream", async () => {
    let getOpened!: () => void;
    const opened = new Promise<void>((r) => (getOpened = r));
    const transport = new V1Transport(new URL(`${t.base}/mcp`), {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if ((init?.method ?? "GET") === "GET" && res.ok) getOpened();
        return res;
      },
    });
    const client = new V1Client({ name: "v1", version: "1.0.0" });
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await client.connect(transport);
    await opened;
    expect(client.getServerVersion()?.name).toBe("mcphub");
    expect(transport.sessionId).toBeDefined();

    expect((await client.listTools()).tools.map((x) => x.name)).toContain("everything-echo");
    const seen: number[] = [];
    const r = await client.callTool({ name: "everything-trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    expect(text(r)).toContain("completed");
    expect(seen.length).toBeGreaterThanOrEqual(2);
    const resources = (await client.listResources()).resources;
    expect((await client.readResource({ uri: resources[0]!.uri })).contents[0]!.uri).toBe(resources[0]!.uri);
    expect(JSON.stringify((await client.getPrompt({ name: "everything-args-prompt", arguments: { city: "Nantes" } })).messages)).toContain("Nantes");

    await client.callTool({ name: "probe-add-tool", arguments: { name: "fresh-v1" } });
    await waitUntil(() => changed > 0, 10_000, "tools/list_changed on the v1 client's GET stream");
    expect((await client.listTools()).tools.map((x) => x.name)).toContain("probe-fresh-v1");
    await transport.terminateSession();
    await client.close();
  });
});

/** A 2026-07-28 POST with the headers its body implies, unless `headers` overrides or removes (undefined) them. */
async function modernPost(body: Json, headers: Record<string, string | undefined> = {}, path = "/mcp"): Promise<{ status: number; headers: Headers; body: Json }> {
  const nameField = body.method === "resources/read" ? "uri" : "name";
  const implied: Record<string, string | undefined> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": body.method,
    ...(["tools/call", "prompts/get", "resources/read"].includes(body.method) ? { "mcp-name": body.params?.[nameField] } : {}),
    ...headers,
  };
  const sent = Object.fromEntries(Object.entries(implied).filter((e): e is [string, string] => e[1] !== undefined));
  const res = await fetch(`${t.base}${path}`, { method: "POST", headers: sent, body: JSON.stringify(body) });
  const raw = await res.text();
  return { status: res.status, headers: res.headers, body: raw ? JSON.parse(raw) : {} };
}

const call = (id: number, method: string, params: Json = {}) => ({ jsonrpc: "2.0", id, method, params: { ...params, _meta: { ...ENVELOPE, ...params._meta } } });
const echo = (id: number) => call(id, "tools/call", { name: "everything-echo", arguments: { message: "raw" } });

/** The -32020 answer the SDK's server gives for a header that is missing or disagrees with the body. */
function expectHeaderMismatch(res: { status: number; body: Json }, id: number, header: string, body: string) {
  expect(res.status).toBe(400);
  expect(res.body).toEqual({
    jsonrpc: "2.0",
    id,
    error: { code: -32020, message: `Bad Request: the request headers and body disagree: ${body}`, data: { mismatch: { header, body } } },
  });
}

describe("2026-07-28 over raw HTTP", () => {
  it("server/discover answers the versions, the endpoint's capabilities and instructions, and who answers", async () => {
    const init = await fetch(`${t.base}/mcp/everything`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    const session = ((await init.json()) as Json).result;
    const res = await modernPost(call(1, "server/discover"), {}, "/mcp/everything");
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    const r = res.body.result;
    expect(r.supportedVersions).toEqual([MODERN]);
    // Subscriptions ride resources/subscribe in a session and subscriptions/listen here: offered on both.
    expect(session.capabilities.resources).toEqual({ listChanged: true, subscribe: true });
    expect(r.capabilities).toEqual(session.capabilities);
    expect(r.instructions).toBe(session.instructions);
    expect(r.instructions.length).toBeGreaterThan(0);
    expect(r._meta[SERVER_INFO]).toEqual(session.serverInfo);
    expect(r).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
  });

  it("results carry resultType (and cache hints on lists and reads), and tools lose the removed execution field", async () => {
    const list = await modernPost(call(2, "tools/list"));
    expect(list.status).toBe(200);
    expect(list.body.result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private", _meta: { [SERVER_INFO]: { name: "mcphub" } } });
    expect(list.body.result.tools.length).toBeGreaterThan(5);
    expect(list.body.result.tools.some((x: Json) => "execution" in x)).toBe(false);
    const called = await modernPost(echo(3));
    expect(called.status).toBe(200);
    expect(called.body.result).toEqual({ resultType: "complete", _meta: { [SERVER_INFO]: { name: "mcphub", version: expect.any(String) } }, content: [{ type: "text", text: "Echo: raw" }] });
    // The same request in a 2025 session: no resultType, as that revision's servers answer.
    const init = await fetch(`${t.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    const sessionId = init.headers.get("mcp-session-id")!;
    const legacy = await fetch(`${t.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "everything-echo", arguments: { message: "raw" } } }),
    });
    expect(((await legacy.json()) as Json).result).toEqual({ content: [{ type: "text", text: "Echo: raw" }] });
  });

  it("refuses a request without MCP-Protocol-Version", async () => {
    const res = await modernPost(call(5, "tools/list"), { "mcp-protocol-version": undefined });
    expectHeaderMismatch(res, 5, "(missing)", `the body envelope names protocol version ${MODERN} but the required MCP-Protocol-Version header is absent`);
  });

  it("refuses a request without Mcp-Method, or with one that is not the body's method", async () => {
    expectHeaderMismatch(await modernPost(call(6, "tools/list"), { "mcp-method": undefined }), 6, "(missing)", "the body names method tools/list but the required Mcp-Method header is absent");
    expectHeaderMismatch(
      await modernPost(call(7, "tools/list"), { "mcp-method": "prompts/list" }),
      7,
      "prompts/list",
      "the body names method tools/list but the Mcp-Method header names prompts/list",
    );
  });

  it("checks Mcp-Name against the tool, prompt or resource the body names, Base64 sentinel included", async () => {
    expectHeaderMismatch(await modernPost(echo(8), { "mcp-name": undefined }), 8, "(missing)", 'the body carries params.name="everything-echo" but the required Mcp-Name header is absent');
    expectHeaderMismatch(
      await modernPost(echo(9), { "mcp-name": "everything-get-sum" }),
      9,
      "everything-get-sum",
      'the body carries params.name="everything-echo" but the Mcp-Name header names "everything-get-sum"',
    );
    const uri = "demo://resource/static/document/architecture.md";
    expectHeaderMismatch(
      await modernPost(call(10, "resources/read", { uri }), { "mcp-name": "demo://elsewhere" }),
      10,
      "demo://elsewhere",
      `the body carries params.uri="${uri}" but the Mcp-Name header names "demo://elsewhere"`,
    );
    expectHeaderMismatch(await modernPost(echo(11), { "mcp-name": "=?base64?not base64!?=" }), 11, "=?base64?not base64!?=", "the Mcp-Name header carries an invalid Base64 sentinel value");
    const sentinel = `=?base64?${Buffer.from("everything-echo").toString("base64")}?=`;
    const ok = await modernPost(echo(12), { "mcp-name": sentinel });
    expect(ok.status).toBe(200);
    expect(ok.body.result.content).toEqual([{ type: "text", text: "Echo: raw" }]);
  });

  it("refuses a revision it does not serve, naming the ones it does", async () => {
    const res = await modernPost(call(13, "tools/list", { _meta: { [PV]: "2027-01-01" } }), { "mcp-protocol-version": "2027-01-01" });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ jsonrpc: "2.0", id: 13, error: { code: -32022, message: "Unsupported protocol version: 2027-01-01", data: { supported: [MODERN], requested: "2027-01-01" } } });
  });

  it("refuses a header version that disagrees with the body's", async () => {
    expectHeaderMismatch(
      await modernPost(call(14, "tools/list"), { "mcp-protocol-version": "2025-11-25" }),
      14,
      "2025-11-25",
      `the body envelope names protocol version ${MODERN} but the MCP-Protocol-Version header names 2025-11-25`,
    );
  });

  it("refuses a malformed envelope, and a modern header on a request without one, with -32602 naming the key", async () => {
    const noCaps = await modernPost({ jsonrpc: "2.0", id: 15, method: "tools/list", params: { _meta: { [PV]: MODERN } } });
    expect(noCaps.status).toBe(400);
    expect(noCaps.body.error).toEqual({
      code: -32602,
      message: `Invalid _meta envelope for protocol revision ${MODERN}: ${CC}: missing`,
      data: { envelope: { key: CC, problem: "missing" } },
    });
    const bare = await modernPost({ jsonrpc: "2.0", id: 16, method: "tools/list", params: {} });
    expect(bare.status).toBe(400);
    expect(bare.body.error).toEqual({
      code: -32602,
      message: `Invalid params: the MCP-Protocol-Version header names protocol revision ${MODERN}, but the request is missing the required per-request envelope key(s): _meta`,
      data: { envelope: { missing: ["_meta"] } },
    });
  });

  it("answers methods the revision removed (ping, initialize) with 404 Method not found", async () => {
    for (const [id, method] of [[17, "ping"], [18, "logging/setLevel"]] as const) {
      const res = await modernPost(call(id, method));
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } });
    }
    const init = await modernPost({ jsonrpc: "2.0", id: 19, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } });
    expectHeaderMismatch(init, 19, MODERN, "an initialize request (legacy handshake) was sent with a modern MCP-Protocol-Version header");
  });

  it("refuses a batch with a 2026-07-28 request in it", async () => {
    const res = await fetch(`${t.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify([call(20, "tools/list")]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "Bad Request: JSON-RPC batches may not contain requests for protocol revision 2026-07-28 or later" },
    });
  });

  it("takes a notification with 202, and does not reject headers it does not know", async () => {
    const note = await modernPost({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "listen:9", _meta: ENVELOPE } });
    expect(note.status).toBe(202);
    const unknown = await modernPost(echo(21), { "x-tenant-hint": "blue", "mcp-param-unknown": "anything", "mcp-future-header": "1" });
    expect(unknown.status).toBe(200);
    expect(unknown.body.result.content).toEqual([{ type: "text", text: "Echo: raw" }]);
  });

  it("answers GET and DELETE from a 2026-07-28 client with 405, Allow: POST; 2025 clients keep their GET and DELETE", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(`${t.base}/mcp`, { method, headers: { accept: "text/event-stream", "mcp-protocol-version": MODERN } });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(await res.json()).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Method not allowed." } });
    }
    const legacy = await fetch(`${t.base}/mcp`, { method: "GET", headers: { accept: "text/event-stream", "mcp-protocol-version": "2025-11-25" } });
    expect(legacy.status).toBe(400);
    expect(((await legacy.json()) as Json).error.message).toContain("Mcp-Session-Id header is required");
  });

  it("answers with SSE when progress goes first, and a closed POST cancels the call upstream", async () => {
    const progress = await fetch(`${t.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "probe-progress" },
      body: JSON.stringify(call(22, "tools/call", { name: "probe-progress", arguments: { steps: 2 }, _meta: { progressToken: "p22" } })),
    });
    expect(progress.headers.get("content-type")).toContain("text/event-stream");
    const events = (await progress.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)) as Json);
    expect(events.map((e) => e.method ?? "response")).toEqual(["notifications/progress", "notifications/progress", "response"]);
    expect(events[0]!.params).toEqual({ progressToken: "p22", progress: 1, total: 2 });
    expect(events[2]!.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "done 2" }] });

    const abort = new AbortController();
    const pending = fetch(`${t.base}/mcp`, {
      method: "POST",
      signal: abort.signal,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "probe-sleep" },
      body: JSON.stringify(call(23, "tools/call", { name: "probe-sleep", arguments: { ms: 30_000, tag: "modern-hangup" } })),
    }).catch((err: Error) => err);
    await waitUntil(() => t.logs.some((l) => l.stderr === "sleep modern-hangup started"), 10_000, "the sleep to reach the upstream");
    abort.abort();
    await pending;
    await waitUntil(
      async () => (await modernPost(call(24, "tools/call", { name: "probe-cancelled", arguments: {} }))).body.result?.content?.[0]?.text.includes("modern-hangup"),
      10_000,
      "the upstream to see the cancellation",
    );
  });

  it("turns resource-not-found into -32602 in-band, as the revision's servers do", async () => {
    const uri = "demo://nothing/here";
    const res = await modernPost(call(25, "resources/read", { uri }));
    expect(res.status).toBe(200);
    expect(res.body.error).toMatchObject({ code: -32602 });
    expect(res.body.error.message).toContain(uri);
  });

  it("subscriptions/listen acknowledges what it will deliver, stamps the subscription id, and refuses a bad filter", async () => {
    const bad = await modernPost(call(26, "subscriptions/listen", { notifications: { toolsListChanged: "yes" } }));
    expect(bad.body).toEqual({ jsonrpc: "2.0", id: 26, error: { code: -32602, message: "Invalid params: 'notifications' is required and must be a valid SubscriptionFilter" } });
    // Only resource subscriptions asked for: nothing this endpoint delivers, so the stream ends at once with the listen result.
    const res = await fetch(`${t.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "subscriptions/listen" },
      body: JSON.stringify(call(27, "subscriptions/listen", { notifications: { resourceSubscriptions: ["demo://x"] } })),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = (await res.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)) as Json);
    expect(events).toEqual([
      { jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: {}, _meta: { "io.modelcontextprotocol/subscriptionId": 27 } } },
      { jsonrpc: "2.0", id: 27, result: { resultType: "complete", _meta: { "io.modelcontextprotocol/subscriptionId": 27, [SERVER_INFO]: { name: "mcphub", version: expect.any(String) } } } },
    ]);
  });
});

describe("Mcp-Param-* headers (x-mcp-header arguments of an upstream's tool)", () => {
  const regional = (id: number, args: Json) => call(id, "tools/call", { name: "regional-regional-echo", arguments: args });

  it("the SDK client mirrors the marked arguments and the hub accepts them", async () => {
    const c = await pinned(MODERN);
    expect(text(await c.client.callTool({ name: "regional-regional-echo", arguments: { message: "hi", region: "eu-west", count: 3 } }))).toBe("hi @eu-west #3");
    await c.client.close();
  });

  it("refuses a missing or different header, compares integers as numbers, and checks nothing in a 2025 session", async () => {
    expectHeaderMismatch(
      await modernPost(regional(30, { message: "hi", region: "eu" })),
      30,
      "Mcp-Param-Region",
      'the body carries region="eu" but the Mcp-Param-Region header is absent',
    );
    expectHeaderMismatch(
      await modernPost(regional(31, { message: "hi", region: "eu" }), { "mcp-param-region": "us" }),
      31,
      "Mcp-Param-Region",
      'the Mcp-Param-Region header decodes to "us" but the body carries region="eu"',
    );
    const ok = await modernPost(regional(32, { message: "hi", region: "eu", count: 42 }), { "mcp-param-region": "=?base64?ZXU=?=", "mcp-param-count": "42.0" });
    expect(ok.status).toBe(200);
    expect(ok.body.result.content).toEqual([{ type: "text", text: "hi @eu #42" }]);
    // An argument left out needs no header.
    expect((await modernPost(regional(33, { message: "plain" }))).body.result.content[0].text).toBe("plain @- #-");

    const c = await pinned("2025-11-25");
    expect(text(await c.client.callTool({ name: "regional-regional-echo", arguments: { message: "old", region: "eu" } }))).toBe("old @eu #-");
    await c.transport.terminateSession();
    await c.client.close();
  });
});

describe("2026-07-28 with credentials", () => {
  let a: TestHub | undefined;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let probeKey: string;

  beforeAll(async () => {
    db = await freshDatabase("protocol_eras");
    a = await startHub({ mcpServers: { everything: upstream.everything(), probe: upstream.probe() } }, { database: db.url, adminPassword: "eras-admin-password" });
    const base = a.base;
    const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "eras-admin-password" }) });
    const token = ((await login.json()) as Json).token as string;
    const created = await fetch(`${base}/api/keys`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: "probe-only", accessType: "servers", allowedServers: ["probe"] }),
    });
    probeKey = ((await created.json()) as Json).key as string;
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await db?.drop();
  });

  const connectModern = async (path: string, headers: Record<string, string>) => {
    const c = new Client({ name: "eras", version: "1.0.0" }, { versionNegotiation: { mode: { pin: MODERN } } });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${a!.base}${path}`), { requestInit: { headers } }));
    return c;
  };

  it("needs a credential, and an API key's server scope holds for lists, calls and endpoints", async () => {
    await expect(connectModern("/mcp", {})).rejects.toThrow();
    const raw = await fetch(`${a!.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "tools/list" },
      body: JSON.stringify(call(1, "tools/list")),
    });
    expect(raw.status).toBe(401);
    expect(raw.headers.get("www-authenticate")).toContain("resource_metadata=");

    const c = await connectModern("/mcp", { authorization: `Bearer ${probeKey}` });
    const names = (await c.listTools()).tools.map((x) => x.name);
    expect(names).toContain("probe-sleep");
    expect(names.some((n) => n.startsWith("everything-"))).toBe(false);
    const refused = await c.callTool({ name: "everything-echo", arguments: { message: "x" } }).catch((err: Error) => err);
    expect(String((refused as Error).message ?? JSON.stringify(refused))).toContain("everything");
    await c.close();

    const forbidden = await fetch(`${a!.base}/mcp/everything`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "tools/list", authorization: `Bearer ${probeKey}` },
      body: JSON.stringify(call(2, "tools/list")),
    });
    expect(forbidden.status).toBe(403);
  });

  it("a scoped listen stream hears its view change, and ends gracefully when the hub shuts down", async () => {
    const c = await connectModern("/mcp", { authorization: `Bearer ${probeKey}` });
    let changed = 0;
    c.setNotificationHandler("notifications/tools/list_changed", () => void changed++);
    const sub = await c.listen({ toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ["probe://watched/a"] });
    expect(sub.honoredFilter).toEqual({ toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ["probe://watched/a"] });
    await c.callTool({ name: "probe-add-tool", arguments: { name: "scoped" } });
    await waitUntil(() => changed > 0, 10_000, "tools/list_changed on the scoped listen stream");

    const hub = a!;
    a = undefined;
    const closing = hub.close();
    expect(await sub.closed).toBe("graceful");
    await closing;
    await c.close();
  });
});
