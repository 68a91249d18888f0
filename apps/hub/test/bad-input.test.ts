import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, startHub, text, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

// Bad input on the raw wire: each mistake gets its own clear error and nothing else breaks.

const PROTOCOL = "2025-11-25";
const ACCEPT = "application/json, text/event-stream";
const BODY_LIMIT = 2048;

interface RpcError {
  code: number;
  message: string;
}
interface RpcResponse {
  jsonrpc: string;
  id: string | number | null;
  result?: Record<string, unknown>;
  error?: RpcError;
}

let t: TestHub;

beforeAll(async () => {
  t = await startHub({ mcpServers: { everything: upstream.everything() } }, { env: { MAX_BODY_BYTES: String(BODY_LIMIT) } });
});
afterAll(() => t?.close());

/** POSTs a raw body to /mcp; `headers` replace the defaults. */
async function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.base}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT, ...headers },
    body,
  });
}

/** Opens a session by hand: initialize, read the session id, send notifications/initialized. */
async function openSession(): Promise<string> {
  const init = await post(
    JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
  );
  expect(init.status).toBe(200);
  const sessionId = init.headers.get("mcp-session-id");
  expect(sessionId).toBeTruthy();
  const body = (await init.json()) as RpcResponse;
  expect(body.result?.protocolVersion).toBe(PROTOCOL);
  const initialized = await post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), sessionHeaders(sessionId!));
  expect(initialized.status).toBe(202);
  return sessionId!;
}

function sessionHeaders(sessionId: string): Record<string, string> {
  return { "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL };
}

/** POSTs within a session and parses the JSON answer. */
async function rpc(sessionId: string, message: unknown): Promise<{ status: number; body: RpcResponse }> {
  const res = await post(JSON.stringify(message), sessionHeaders(sessionId));
  expect(res.headers.get("content-type")).toContain("application/json");
  return { status: res.status, body: (await res.json()) as RpcResponse };
}

let sid: string;
/** A well-behaved client connected before any of the bad input arrives. */
let bystander: Client;
beforeAll(async () => {
  sid = await openSession();
  bystander = await connect(`${t.base}/mcp`);
});
afterAll(() => bystander?.close());

describe("malformed and invalid messages", () => {
  it("answers malformed JSON with HTTP 400 and -32700", async () => {
    const res = await post('{"jsonrpc":"2.0","id":1,"method":', sessionHeaders(sid));
    expect(res.status).toBe(400);
    const body = (await res.json()) as RpcResponse;
    expect(body.error!.code).toBe(-32700);
    expect(body.id).toBeNull();
  });

  it("answers a message without jsonrpc 2.0 with -32600 naming the field", async () => {
    const { status, body } = await rpc(sid, { id: 2, method: "tools/list" });
    expect(status).toBe(400);
    expect(body.error!.code).toBe(-32600);
    expect(body.error!.message).toContain("jsonrpc");
    expect(body.id).toBe(2);
  });

  it("answers non-object params with -32600 naming params", async () => {
    const { status, body } = await rpc(sid, { jsonrpc: "2.0", id: 3, method: "tools/list", params: [1, 2] });
    expect(status).toBe(400);
    expect(body.error!.code).toBe(-32600);
    expect(body.error!.message).toContain("params");
  });

  it("answers an unknown method with -32601", async () => {
    const { status, body } = await rpc(sid, { jsonrpc: "2.0", id: 4, method: "tools/frobnicate" });
    expect(status).toBe(200);
    expect(body.id).toBe(4);
    expect(body.error!.code).toBe(-32601);
    expect(body.error!.message).toContain("tools/frobnicate");
  });

  it("answers an unknown tool with -32602 naming the tool", async () => {
    const { body } = await rpc(sid, { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "everything-no-such-tool", arguments: {} } });
    expect(body.id).toBe(5);
    expect(body.error!.code).toBe(-32602);
    expect(body.error!.message).toContain("everything-no-such-tool");
  });

  it("answers tools/call without a name with -32602 naming params.name", async () => {
    const { body } = await rpc(sid, { jsonrpc: "2.0", id: 6, method: "tools/call", params: { arguments: {} } });
    expect(body.error!.code).toBe(-32602);
    expect(body.error!.message).toContain("params.name");
  });

  it("answers an initialize without clientInfo with -32602 naming it, and opens no session", async () => {
    const res = await post(JSON.stringify({ jsonrpc: "2.0", id: 16, method: "initialize", params: { protocolVersion: PROTOCOL, capabilities: {} } }));
    const body = (await res.json()) as RpcResponse;
    expect(body.id).toBe(16);
    expect(body.error!.code).toBe(-32602);
    expect(body.error!.message).toContain("clientInfo");
    expect(res.headers.get("mcp-session-id")).toBeNull();
  });

  it("refuses a body over MAX_BODY_BYTES with 413, and still takes one just under it", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "everything-echo", arguments: { message: "x".repeat(BODY_LIMIT) } } });
    const res = await post(big, sessionHeaders(sid));
    expect(res.status).toBe(413);
    expect(((await res.json()) as RpcResponse).error!.message).toContain(String(BODY_LIMIT));

    const envelope = JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "everything-echo", arguments: { message: "" } } });
    const fits = "y".repeat(BODY_LIMIT - envelope.length - 1);
    const { status, body } = await rpc(sid, { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "everything-echo", arguments: { message: fits } } });
    expect(status).toBe(200);
    expect(text(body.result)).toBe(`Echo: ${fits}`);
  });

  it("refuses a content type other than JSON with 415", async () => {
    const message = JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const res = await post(message, { ...sessionHeaders(sid), "content-type": type });
      expect(res.status, type).toBe(415);
    }
  });
});

describe("sessions and headers", () => {
  const ping = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });

  it("answers a non-initialize POST without a session id with 400", async () => {
    const res = await post(ping(10), { "mcp-protocol-version": PROTOCOL });
    expect(res.status).toBe(400);
    expect(((await res.json()) as RpcResponse).error!.message).toMatch(/session/i);
  });

  it("answers an unknown session id with 404", async () => {
    const res = await post(ping(11), sessionHeaders("00000000-0000-4000-8000-000000000000"));
    expect(res.status).toBe(404);
    expect(((await res.json()) as RpcResponse).error!.message).toMatch(/session not found/i);
  });

  it("answers an unsupported MCP-Protocol-Version with 400 naming it", async () => {
    const res = await post(ping(12), { "mcp-session-id": sid, "mcp-protocol-version": "1999-01-01" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as RpcResponse).error!.message).toContain("1999-01-01");
  });

  it("answers GET and DELETE without a session id with 400, with an unknown one with 404", async () => {
    const sse = { accept: "text/event-stream", "mcp-protocol-version": PROTOCOL };
    expect((await fetch(`${t.base}/mcp`, { headers: sse })).status).toBe(400);
    expect((await fetch(`${t.base}/mcp`, { method: "DELETE", headers: { "mcp-protocol-version": PROTOCOL } })).status).toBe(400);
    const unknown = { "mcp-session-id": "no-such-session", "mcp-protocol-version": PROTOCOL };
    expect((await fetch(`${t.base}/mcp`, { headers: { ...sse, ...unknown } })).status).toBe(404);
    expect((await fetch(`${t.base}/mcp`, { method: "DELETE", headers: unknown })).status).toBe(404);
  });

  it("does not accept a session on an endpoint other than the one it was opened on", async () => {
    const res = await fetch(`${t.base}/mcp/everything`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT, ...sessionHeaders(sid) },
      body: ping(15),
    });
    expect(res.status).toBe(404);
  });

  it("answers a POST of only a client response with 202 and no body", async () => {
    const res = await post(JSON.stringify({ jsonrpc: "2.0", id: "srv-1", result: {} }), sessionHeaders(sid));
    expect(res.status).toBe(202);
    expect(await res.text()).toBe("");
  });

  it("answers a GET without Accept: text/event-stream with 406", async () => {
    const res = await fetch(`${t.base}/mcp`, { headers: { ...sessionHeaders(sid), accept: "application/json" } });
    expect(res.status).toBe(406);
  });

  it("ends a session on DELETE: later requests with its id get 404", async () => {
    const doomed = await openSession();
    expect((await rpc(doomed, { jsonrpc: "2.0", id: 13, method: "ping" })).body.result).toEqual({});
    const del = await fetch(`${t.base}/mcp`, { method: "DELETE", headers: sessionHeaders(doomed) });
    expect(del.status).toBe(200);
    const after = await post(ping(14), sessionHeaders(doomed));
    expect(after.status).toBe(404);
    const again = await fetch(`${t.base}/mcp`, { method: "DELETE", headers: sessionHeaders(doomed) });
    expect(again.status).toBe(404);
  });
});

describe("batches", () => {
  it("answers a batch of two requests with an array of two responses", async () => {
    const res = await post(
      JSON.stringify([
        { jsonrpc: "2.0", id: "a", method: "tools/call", params: { name: "everything-echo", arguments: { message: "one" } } },
        { jsonrpc: "2.0", id: "b", method: "tools/call", params: { name: "everything-get-sum", arguments: { a: 20, b: 22 } } },
      ]),
      sessionHeaders(sid),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as RpcResponse[];
    expect(Array.isArray(body)).toBe(true);
    expect(body).toHaveLength(2);
    const byId = Object.fromEntries(body.map((r) => [r.id, r]));
    expect(text(byId.a!.result)).toBe("Echo: one");
    expect(text(byId.b!.result)).toContain("42");
  });

  it("answers each bad member of a batch on its own, next to the good ones", async () => {
    const res = await post(
      JSON.stringify([{ jsonrpc: "2.0", id: "ok", method: "ping" }, { id: "bad", method: "ping" }, { jsonrpc: "2.0", id: "nope", method: "nope/nope" }]),
      sessionHeaders(sid),
    );
    const body = (await res.json()) as RpcResponse[];
    expect(body).toHaveLength(3);
    const byId = Object.fromEntries(body.map((r) => [r.id, r]));
    expect(byId.ok!.result).toEqual({});
    expect(byId.bad!.error!.code).toBe(-32600);
    expect(byId.nope!.error!.code).toBe(-32601);
  });

  it("answers an empty batch with 400", async () => {
    const res = await post("[]", sessionHeaders(sid));
    expect(res.status).toBe(400);
    expect(((await res.json()) as RpcResponse).error!.code).toBe(-32600);
  });
});

describe("after all of that", () => {
  it("still serves the client that was connected all along", async () => {
    expect(text(await bystander.callTool({ name: "everything-echo", arguments: { message: "unbothered" } }))).toBe("Echo: unbothered");
  });

  it("still serves the raw session and a new SDK client session", async () => {
    const { body } = await rpc(sid, { jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "everything-echo", arguments: { message: "still here" } } });
    expect(text(body.result)).toBe("Echo: still here");
    const c = await connect(`${t.base}/mcp`);
    expect((await c.listTools()).tools.map((x) => x.name)).toContain("everything-echo");
    expect(text(await c.callTool({ name: "everything-echo", arguments: { message: "fine" } }))).toBe("Echo: fine");
    await c.close();
    expect(t.hub.supervisor.status().find((s) => s.name === "everything")?.state).toBe("ready");
  });
});
