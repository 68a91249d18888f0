import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { connect, text, waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { upstream } from "../../apps/hub/test/helpers/servers.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { startService, type ServiceProcess } from "../helpers/processes.ts";
import { RedisBus } from "../../packages/bus/src/index.ts";
import { createLogger } from "../../packages/observability/src/index.ts";
import { RemoteCatalog } from "../../packages/service-clients/src/index.ts";

/**
 * The supervisor and two gateway replicas as separate processes, joined by the internal
 * HTTP API and the Redis bus: what `pnpm cluster` runs, without nginx in front.
 */
const TOKEN = "split-services-test-token-0123456789";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const MODERN_TS = fileURLToPath(new URL("../../apps/hub/test/fixtures/modern-server.ts", import.meta.url));

let dir: string;
let modernUpstream: ChildProcess;
let supervisor: ServiceProcess;
let gateways: ServiceProcess[];
let database: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-split-"));
  const settingsPath = join(dir, "mcp_settings.json");
  // An HTTP upstream of the 2026-07-28 revision: headers and input_required rounds cross the internal API.
  modernUpstream = spawn(process.execPath, ["--import", "tsx", MODERN_TS], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  modernUpstream.stdout!.on("data", (d: Buffer) => (out += d));
  await waitUntil(() => /listening \d+/.test(out), 20_000, "the modern fixture to listen");
  const modern = { type: "streamable-http", url: `http://127.0.0.1:${/listening (\d+)/.exec(out)![1]}/mcp` };
  await writeFile(settingsPath, JSON.stringify({ mcpServers: { everything: upstream.everything(), probe: upstream.probe(), modern } }));
  database = await freshDatabase("split");
  supervisor = await startService("supervisor", { INTERNAL_TOKEN: TOKEN, REDIS_URL, MCPHUB_SETTING_PATH: settingsPath, DATABASE_URL: database.url });
  await waitUntil(async () => {
    const health = (await (await fetch(`${supervisor.url}/api/health`)).json()) as { servers: { state: string }[] };
    return health.servers.length === 3 && health.servers.every((s) => s.state === "ready");
  }, 20_000, "upstreams ready in the supervisor");
  gateways = await Promise.all(
    // No auth service in this topology: the endpoints are opened on purpose.
    ["gw-a", "gw-b"].map((id) => startService("gateway", { INTERNAL_TOKEN: TOKEN, REDIS_URL, SUPERVISOR_URL: supervisor.url, REPLICA_ID: id, SKIP_AUTH: "true" })),
  );
}, 90_000);

afterAll(async () => {
  await Promise.all([...(gateways ?? []), supervisor].filter(Boolean).map((s) => s.stop()));
  modernUpstream?.kill();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("gateway replicas in front of one supervisor", () => {
  it("each replica lists and calls every upstream through the internal API, and names itself", async () => {
    for (const gw of gateways) {
      const c = await connect(`${gw.url}/mcp`);
      const names = (await c.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["everything-echo", "probe-sleep"]));
      expect(text(await c.callTool({ name: "everything-echo", arguments: { message: String(gw.port) } }))).toBe(`Echo: ${gw.port}`);
      await c.close();
      const res = await fetch(`${gw.url}/api/health`);
      expect(res.headers.get("x-mcphub-replica")).toBe(gw === gateways[0] ? "gw-a" : "gw-b");
    }
  });

  it("streams progress from the upstream through the supervisor to the client", async () => {
    const c = await connect(`${gateways[0]!.url}/mcp`);
    const seen: number[] = [];
    await c.callTool({ name: "probe-progress", arguments: { steps: 4 } }, { onprogress: (p) => seen.push(p.progress) });
    // The SDK client may drop the last notification before a result (see endpoints.test.ts).
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
    await c.close();
  });

  it("cancels the upstream request when the client cancels at a gateway", async () => {
    const c = await connect(`${gateways[1]!.url}/mcp`);
    const ac = new AbortController();
    const call = c.callTool({ name: "probe-sleep", arguments: { ms: 20_000, tag: "split-cancel" } }, { signal: ac.signal }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    expect(await call).toBeInstanceOf(Error);
    await waitUntil(async () => text(await c.callTool({ name: "probe-cancelled", arguments: {} })).includes("split-cancel"), 5000, "the probe saw the cancellation");
    await c.close();
  });

  it("tells clients of every replica when an upstream's tool list changes", async () => {
    const clients = await Promise.all(gateways.map((g) => connect(`${g.url}/mcp`)));
    const changed = clients.map(() => 0);
    clients.forEach((c, i) => c.setNotificationHandler("notifications/tools/list_changed", () => void changed[i]!++));
    // Give the GET streams a moment to open.
    await new Promise((r) => setTimeout(r, 300));
    await clients[0]!.callTool({ name: "probe-add-tool", arguments: { name: "split-fresh" } });
    await waitUntil(() => changed.every((n) => n > 0), 5000, "list_changed on both replicas");
    for (const c of clients) {
      expect((await c.listTools()).tools.map((t) => t.name)).toContain("probe-split-fresh");
    }
    expect(text(await clients[1]!.callTool({ name: "probe-split-fresh", arguments: {} }))).toBe("split-fresh works");
    await Promise.all(clients.map((c) => c.close()));
  });
});

/** A fetch that sends each request to the next replica in turn, as nginx's round robin does. */
function roundRobin(seen: string[]): typeof fetch {
  let next = 0;
  return async (input, init) => {
    const gw = gateways[next++ % gateways.length]!;
    const url = new URL(input instanceof Request ? input.url : String(input));
    url.port = String(gw.port);
    const res = await fetch(url, init);
    seen.push(res.headers.get("x-mcphub-replica") ?? "?");
    return res;
  };
}

describe("sessions across replicas", () => {
  it("serves one Streamable HTTP session from both replicas in turn", async () => {
    const seen: string[] = [];
    const client = new Client({ name: "rr", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateways[0]!.url}/mcp`), { fetch: roundRobin(seen) }));
    for (let i = 0; i < 6; i++) {
      expect(text(await client.callTool({ name: "everything-echo", arguments: { message: `rr${i}` } }))).toBe(`Echo: rr${i}`);
    }
    expect(new Set(seen)).toEqual(new Set(["gw-a", "gw-b"]));
    await client.close();
  });

  it("answers a legacy SSE client whose POSTs land on the replica without its stream", async () => {
    const seen: string[] = [];
    const client = new Client({ name: "rr-sse", version: "1" });
    await client.connect(new SSEClientTransport(new URL(`${gateways[0]!.url}/sse`), { fetch: roundRobin(seen) }));
    for (let i = 0; i < 4; i++) {
      expect(text(await client.callTool({ name: "everything-echo", arguments: { message: `sse${i}` } }))).toBe(`Echo: sse${i}`);
    }
    expect(new Set(seen)).toEqual(new Set(["gw-a", "gw-b"]));
    await client.close();
  });

  it("relays a session's stream traffic only to the replica holding its stream", async () => {
    const relayed = async (gw: ServiceProcess) => {
      const m = /^mcphub_relay_messages_received_total\{kind="send"\} (\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text());
      return m ? Number(m[1]) : 0;
    };
    const [a, b] = gateways as [ServiceProcess, ServiceProcess];
    // The stream on a; every POST on b, so every answer crosses to a.
    const onB: typeof fetch = (input, init) => (init?.method === "POST" ? fetch(String(input).replace(a.url, b.url), init) : fetch(input, init));
    const client = new Client({ name: "relay-isolation", version: "1" });
    await client.connect(new SSEClientTransport(new URL(`${a.url}/sse`), { fetch: onB }));
    const before = [await relayed(a), await relayed(b)];
    for (let i = 0; i < 5; i++) expect(text(await client.callTool({ name: "everything-echo", arguments: { message: `r${i}` } }))).toBe(`Echo: r${i}`);
    const after = [await relayed(a), await relayed(b)];
    expect(after[0]! - before[0]!).toBeGreaterThanOrEqual(5);
    // b sent them and holds no stream of this session: it received none of them back.
    expect(after[1]).toBe(before[1]);
    await client.close();
  });

  it("passes an upstream's sampling request, log messages and resource updates to the client, with its answer landing on the other replica", async () => {
    const seen: string[] = [];
    const client = new Client({ name: "rr-ask", version: "1" }, { capabilities: { sampling: {} } });
    client.setRequestHandler("sampling/createMessage", async (req) => ({
      role: "assistant",
      model: "split-model",
      content: { type: "text", text: `answered ${JSON.stringify(req.params.messages[0]?.content)}` },
    }));
    const logs: string[] = [];
    const updates: string[] = [];
    client.setNotificationHandler("notifications/message", (n) => void logs.push(String(n.params.data)));
    client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params.uri));
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateways[0]!.url}/mcp`), { fetch: roundRobin(seen) }));
    try {
      // Round robin: the call goes to one replica, the client's POSTed answer to the other.
      for (let i = 0; i < 2; i++) {
        const result = await client.callTool({
          name: "probe-ask",
          arguments: { method: "sampling/createMessage", params: { messages: [{ role: "user", content: { type: "text", text: `q${i}` } }], maxTokens: 5 } },
        });
        expect(JSON.parse(text(result).replace(/^answer /, ""))).toEqual({ role: "assistant", model: "split-model", content: { type: "text", text: `answered {"type":"text","text":"q${i}"}` } });
      }
      await client.callTool({ name: "probe-log", arguments: { levels: ["info", "error"] } });
      await waitUntil(() => logs.length === 2, 5000, "both log messages");
      expect(logs).toEqual(["info message", "error message"]);
      await client.subscribeResource({ uri: "probe://watched/a" });
      await waitUntil(async () => {
        await client.callTool({ name: "probe-touch", arguments: { uri: "probe://watched/a" } });
        return updates.length > 0;
      }, 5000, "the resource update on the client's stream");
      expect(updates[0]).toBe("probe://watched/a");
      expect(new Set(seen)).toEqual(new Set(["gw-a", "gw-b"]));
    } finally {
      await client.close();
    }
  });

  it("passes a client's extension headers and a 2026-07-28 upstream's input_required round through the internal API", async () => {
    const client = new Client({ name: "split-modern", version: "1" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { ok: true } }));
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateways[1]!.url}/mcp`), { requestInit: { headers: { "x-tenant": "split" } } }));
    try {
      expect(JSON.parse(text(await client.callTool({ name: "modern-seen-headers", arguments: {} })))).toEqual({ "x-tenant": "split" });
      const asked = await client.callTool({ name: "modern-ask", arguments: { method: "elicitation/create", params: { message: "ok?", requestedSchema: { type: "object", properties: { ok: { type: "boolean" } } } } } });
      expect(JSON.parse(text(asked).replace(/^answer /, ""))).toEqual({ action: "accept", content: { ok: true } });
    } finally {
      await client.close();
    }
  });

  it("cancels a request running on one replica from a notification sent to the other", async () => {
    const c = await connect(`${gateways[0]!.url}/mcp`);
    const sessionId = (c.transport as StreamableHTTPClientTransport).sessionId!;
    const call = c.callTool({ name: "probe-sleep", arguments: { ms: 20_000, tag: "relay-cancel" } }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 300));
    // The SDK numbers requests from 0: initialize was 0, this call is 1.
    const res = await fetch(`${gateways[1]!.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, reason: "test" } }),
    });
    expect(res.status).toBe(202);
    await waitUntil(async () => text(await c.callTool({ name: "probe-cancelled", arguments: {} })).includes("relay-cancel"), 5000, "cancellation relayed");
    expect(await call).toBeDefined();
    await c.close();
  });
});

describe("internal API", () => {
  it("answers a relayed call that streams nothing as plain JSON, one that streams as NDJSON", async () => {
    const call = (name: string, args: Record<string, unknown>) =>
      fetch(`${supervisor.url}/internal/call`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        // What a gateway sends for a session's call: progress wanted, a call id to answer under.
        body: JSON.stringify({ server: "everything", method: "tools/call", params: { name, arguments: args, _meta: { progressToken: 1 } }, progress: true, callId: `c-${name}` }),
      });
    const plain = await call("echo", { message: "plain" });
    expect(plain.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await plain.json()).toMatchObject({ result: { content: [{ type: "text", text: "Echo: plain" }] } });
    const streamed = await call("trigger-long-running-operation", { duration: 0.2, steps: 2 });
    expect(streamed.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await streamed.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.filter((l) => "progress" in l).length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toHaveProperty("result");
  });

  it("keeps the sessions gauge exact when a session ends on another replica, and closes its stream there", async () => {
    const gauge = async (gw: ServiceProcess) => {
      const m = /^mcphub_sessions_active\{transport="streamable-http"\} (-?\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text());
      return m ? Number(m[1]) : 0;
    };
    const [a, b] = gateways as [ServiceProcess, ServiceProcess];
    const before = [await gauge(a), await gauge(b)];
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(`${a.url}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "gauge", version: "1" } } }),
    });
    const session = init.headers.get("mcp-session-id")!;
    expect([await gauge(a), await gauge(b)]).toEqual([before[0]! + 1, before[1]]);
    // Its GET stream on replica b, its DELETE on replica a: b's stream ends, a uncounts it.
    const stream = await fetch(`${b.url}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": session } });
    const reader = stream.body!.getReader();
    const ended = (async () => {
      for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
    })();
    expect((await fetch(`${a.url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": session } })).status).toBe(200);
    await ended;
    expect([await gauge(a), await gauge(b)]).toEqual(before);
    // Opened on a, deleted on b: b does not go below what it had, a gets its count back.
    const again = await fetch(`${a.url}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "gauge", version: "1" } } }),
    });
    expect((await fetch(`${b.url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": again.headers.get("mcp-session-id")! } })).status).toBe(200);
    await waitUntil(async () => (await gauge(a)) === before[0], 5000, "replica a to uncount the session b ended");
    expect(await gauge(b)).toBe(before[1]);
  });

  it("reads an unchanged catalog as a 304, never whole again", async () => {
    const bus = new RedisBus({ url: REDIS_URL, name: "catalog-reader" });
    const reader = new RemoteCatalog({ url: supervisor.url, token: TOKEN, bus, logger: createLogger({ level: "silent", service: "test" }), pollMs: 20 });
    try {
      let changes = 0;
      reader.onCatalogChanged(() => changes++);
      await reader.start();
      await waitUntil(() => reader.reads.unchanged >= 5, 10_000, "five polls");
      // A full read only for the first one and for each real change (another test's upstream may restart meanwhile).
      expect(reader.reads.full).toBe(changes);
      const first = reader.catalog();
      // What a 304 stands for: the same version, asked with If-None-Match.
      const res = await fetch(`${supervisor.url}/internal/catalog`, { headers: { authorization: `Bearer ${TOKEN}`, "if-none-match": `"${first.version}"` } });
      expect(res.status).toBe(304);
      expect(await res.text()).toBe("");
    } finally {
      await reader.close();
      await bus.close();
    }
  });

  it("refuses a missing or wrong INTERNAL_TOKEN", async () => {
    expect((await fetch(`${supervisor.url}/internal/catalog`)).status).toBe(401);
    const wrong = await fetch(`${supervisor.url}/internal/catalog`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  it("names the bad field of a malformed call", async () => {
    const res = await fetch(`${supervisor.url}/internal/call`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ method: "tools/call" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^server: /);
  });

  it("names what is wrong with an answer to a relayed request, and refuses one for a call that is not waiting", async () => {
    const post = (body: unknown) =>
      fetch(`${supervisor.url}/internal/call-answer`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const both = await post({ callId: "c", id: 1, result: {}, error: { code: 1, message: "x" } });
    expect(both.status).toBe(400);
    expect(((await both.json()) as { error: { message: string } }).error.message).toBe("body: exactly one of result and error is required");
    const badId = await post({ callId: "c", id: "one", result: {} });
    expect(((await badId.json()) as { error: { message: string } }).error.message).toMatch(/^id: /);
    const unknown = await post({ callId: "no-such-call", id: 1, result: {} });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe("no request 1 is waiting on call no-such-call (it ended)");
  });

  it("refuses to start a split service without INTERNAL_TOKEN, naming every bad variable", async () => {
    await expect(startService("gateway", { INTERNAL_TOKEN: "", REDIS_URL: "nope", SUPERVISOR_URL: "" }, 10_000)).rejects.toThrow(
      /INTERNAL_TOKEN[\s\S]*REDIS_URL|REDIS_URL[\s\S]*INTERNAL_TOKEN/,
    );
  });
});
