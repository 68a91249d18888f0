import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

let t: TestHub;

beforeAll(async () => {
  t = await startHub({ mcpServers: { probe: upstream.probe(), other: upstream.probe(["--name", "other"]) } });
});
afterAll(() => t?.close());

type Message = { jsonrpc: "2.0"; id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: unknown };

/**
 * A session spoken over plain fetch, so a test sees every message the hub sends on a POST's
 * SSE stream (the SDK client may drop a progress notification that arrives just before
 * its result).
 */
async function rawSession(url: string) {
  const base = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(url, {
    method: "POST",
    headers: base,
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
  });
  expect(init.status).toBe(200);
  await init.text();
  const sessionId = init.headers.get("mcp-session-id")!;
  expect(sessionId).toBeTruthy();
  const headers = { ...base, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
  const initialized = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  expect(initialized.status).toBe(202);
  let nextId = 1;
  return {
    sessionId,
    /** Sends one request; returns every message of the answer, notifications first, in order. */
    async request(method: string, params: Record<string, unknown>): Promise<Message[]> {
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }) });
      const body = await res.text();
      if (!res.headers.get("content-type")?.includes("text/event-stream")) return [JSON.parse(body) as Message];
      return body
        .split(/\r?\n\r?\n/)
        .map((event) => event.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
        .filter((data) => data.length > 0)
        .map((data) => JSON.parse(data) as Message);
    },
    async close() {
      await fetch(url, { method: "DELETE", headers });
    },
  };
}

/** Resolves once the probe says (on stderr, which the hub logs) that the sleep tagged `tag` runs. */
function sleeping(tag: string): Promise<void> {
  return waitUntil(() => t.logs.some((l) => l.stderr === `sleep ${tag} started`), 10_000, `sleep ${tag} to reach the upstream`);
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const body = await (await fetch(`${t.base}/metrics`)).text();
  const line = body
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("cancellation", () => {
  it("reaches the upstream request of the client that cancelled, and only that one", async () => {
    const a = await connect(`${t.base}/mcp`);
    const b = await connect(`${t.base}/mcp`);
    const cancelledBefore = await metric("mcphub_tool_calls_total", { server: "probe", tool: "sleep", status: "cancelled" });
    const abort = new AbortController();
    const callA = a.callTool({ name: "probe-sleep", arguments: { ms: 10_000, tag: "t1" } }, { signal: abort.signal });
    const callB = b.callTool({ name: "probe-sleep", arguments: { ms: 1500, tag: "t2" } });
    callA.catch(() => {});
    await Promise.all([sleeping("t1"), sleeping("t2")]);
    abort.abort("the user gave up");

    await expect(callA).rejects.toThrow();
    expect(text(await callB)).toBe("slept 1500");
    const cancelled = async () => JSON.parse(text(await b.callTool({ name: "probe-cancelled", arguments: {} }))) as string[];
    await waitUntil(async () => (await cancelled()).includes("t1"), 5000, "the probe to record t1's cancellation");
    expect(await cancelled()).not.toContain("t2");
    // Counted as a cancellation, not as a timeout or an upstream error.
    await waitUntil(
      async () => (await metric("mcphub_tool_calls_total", { server: "probe", tool: "sleep", status: "cancelled" })) === cancelledBefore + 1,
      5000,
      "the cancelled call in the metrics",
    );
    expect(await metric("mcphub_tool_calls_total", { server: "probe", tool: "sleep", status: "timeout" })).toBe(0);
    await a.close();
    await b.close();
  });

  it("reaches the upstream when a raw client sends notifications/cancelled for its request id", async () => {
    const s = await rawSession(`${t.base}/mcp/probe`);
    const pending = s.request("tools/call", { name: "sleep", arguments: { ms: 10_000, tag: "raw-cancel" } });
    await sleeping("raw-cancel");
    // The request above has id 1: the first after initialize.
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": s.sessionId };
    const sent = await fetch(`${t.base}/mcp/probe`, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1, reason: "changed my mind" } }),
    });
    expect(sent.status).toBe(202);
    const c = await connect(`${t.base}/mcp/probe`);
    await waitUntil(async () => (JSON.parse(text(await c.callTool({ name: "cancelled", arguments: {} }))) as string[]).includes("raw-cancel"), 5000, "raw-cancel recorded");
    await c.close();
    pending.catch(() => {});
    await s.close();
  });
});

describe("progress", () => {
  it("relays every progress notification, in order, under the client's own token", async () => {
    const s = await rawSession(`${t.base}/mcp`);
    const messages = await s.request("tools/call", { name: "probe-progress", arguments: { steps: 5 }, _meta: { progressToken: "mine" } });
    const progress = messages.filter((m) => m.method === "notifications/progress");
    expect(progress.map((m) => m.params!.progress)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((m) => m.params!.progressToken === "mine" && m.params!.total === 5)).toBe(true);
    expect(text(messages.at(-1)!.result)).toBe("done 5");
    await s.close();
  });

  it("keeps two concurrent clients' progress apart, even under the same token", async () => {
    const [s1, s2] = await Promise.all([rawSession(`${t.base}/mcp`), rawSession(`${t.base}/mcp/probe`)]);
    const [m1, m2] = await Promise.all([
      s1.request("tools/call", { name: "probe-progress", arguments: { steps: 5 }, _meta: { progressToken: "same" } }),
      s2.request("tools/call", { name: "progress", arguments: { steps: 3 }, _meta: { progressToken: "same" } }),
    ]);
    const values = (ms: Message[]) => ms.filter((m) => m.method === "notifications/progress").map((m) => [m.params!.progress, m.params!.total]);
    expect(values(m1)).toEqual([[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
    expect(values(m2)).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(text(m1.at(-1)!.result)).toBe("done 5");
    expect(text(m2.at(-1)!.result)).toBe("done 3");
    await Promise.all([s1.close(), s2.close()]);
  });

  it("reaches an SDK client's onprogress with its own token's values", async () => {
    const c = await connect(`${t.base}/mcp`);
    const seen: number[] = [];
    const r = await c.callTool({ name: "probe-progress", arguments: { steps: 5 } }, { onprogress: (p) => seen.push(p.progress) });
    expect(text(r)).toBe("done 5");
    // The SDK client may drop the last one (see endpoints.test.ts); what arrives is 1, 2, ... in order.
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual([1, 2, 3, 4, 5].slice(0, seen.length));
    await c.close();
  });
});

describe("list_changed from an upstream", () => {
  /** An SDK client whose GET stream is known to be open, counting tools/list_changed notifications. */
  async function listening(url: string) {
    let streamOpen!: () => void;
    const opened = new Promise<void>((r) => (streamOpen = r));
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if ((init?.method ?? "GET") === "GET" && res.ok) streamOpen();
        return res;
      },
    });
    const client = new Client({ name: "mcphub-test", version: "1.0.0" }, { capabilities: {} });
    const state = { client, toolsChanged: 0 };
    client.setNotificationHandler("notifications/tools/list_changed", () => {
      state.toolsChanged++;
    });
    await client.connect(transport);
    await opened;
    return state;
  }

  it("tells clients whose view changed, and the new tool is listed and callable", async () => {
    const global = await listening(`${t.base}/mcp`);
    const single = await listening(`${t.base}/mcp/probe`);
    const elsewhere = await listening(`${t.base}/mcp/other`);
    expect((await global.client.listTools()).tools.map((x) => x.name)).not.toContain("probe-fresh");

    expect(text(await global.client.callTool({ name: "probe-add-tool", arguments: { name: "fresh" } }))).toBe("added fresh");
    await waitUntil(() => global.toolsChanged > 0 && single.toolsChanged > 0, 10_000, "tools/list_changed on both streams");

    expect((await global.client.listTools()).tools.map((x) => x.name)).toContain("probe-fresh");
    expect(text(await global.client.callTool({ name: "probe-fresh", arguments: {} }))).toBe("fresh works");
    expect((await single.client.listTools()).tools.map((x) => x.name)).toContain("fresh");
    expect(text(await single.client.callTool({ name: "fresh", arguments: {} }))).toBe("fresh works");

    // A client of another server saw no change, so it is not told of one.
    expect((await elsewhere.client.listTools()).tools.map((x) => x.name)).not.toContain("fresh");
    expect(elsewhere.toolsChanged).toBe(0);
    await Promise.all([global.client.close(), single.client.close(), elsewhere.client.close()]);
  });
});
