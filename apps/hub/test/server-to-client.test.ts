/**
 * What an upstream sends its client during a call — sampling, elicitation and roots requests,
 * log messages — reaches the client that made the call, and only a client that declared the
 * capability; resource subscriptions deliver updates to the sessions that subscribed. The
 * upstream is the probe fixture (a real SDK server over stdio); the clients are the official SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

const ALL_CAPABILITIES = { sampling: {}, elicitation: { form: {} }, roots: {} };

/** A client that answers the upstream's requests and records what it was asked. */
async function answeringClient(url: string, transport: "http" | "sse", capabilities: Record<string, unknown> = ALL_CAPABILITIES) {
  const client = await connect(url, transport, capabilities);
  const asked: { method: string; params: unknown }[] = [];
  if ("sampling" in capabilities) {
    client.setRequestHandler("sampling/createMessage", async (req) => {
      asked.push({ method: req.method, params: req.params });
      return { role: "assistant", model: "test-model", content: { type: "text", text: `sampled: ${JSON.stringify(req.params.messages[0]?.content)}` } };
    });
  }
  if ("elicitation" in capabilities) {
    client.setRequestHandler("elicitation/create", async (req) => {
      asked.push({ method: req.method, params: req.params });
      return { action: "accept", content: { name: "Ada", age: 36 } };
    });
  }
  if ("roots" in capabilities) {
    client.setRequestHandler("roots/list", async (req) => {
      asked.push({ method: req.method, params: req.params });
      return { roots: [{ uri: "file:///projects/demo", name: "demo" }] };
    });
  }
  return { client, asked };
}

const ask = (client: Client, tool: string, method: string, params?: Record<string, unknown>) =>
  client.callTool({ name: tool, arguments: { method, ...(params ? { params } : {}) } });

/** The probe's `ask` answers "answer <the client's result as JSON>". */
function answerOf(result: unknown): unknown {
  const body = text(result);
  if (!body.startsWith("answer ")) throw new Error(`the upstream did not get an answer: ${body}`);
  return JSON.parse(body.slice("answer ".length));
}

const SAMPLING = { messages: [{ role: "user", content: { type: "text", text: "what is 2+2?" } }], maxTokens: 10 };
const ELICITATION = { message: "Who are you?", requestedSchema: { type: "object", properties: { name: { type: "string" }, age: { type: "number" } } } };

describe("server-to-client traffic through the hub", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ mcpServers: { probe: upstream.probe(), other: upstream.probe(["--name", "other"]) } });
  }, 30_000);
  afterAll(async () => t?.close());

  for (const transport of ["http", "sse"] as const) {
    const url = () => (transport === "http" ? `${t.base}/mcp/probe` : `${t.base}/sse/probe`);

    it(`${transport}: sampling, elicitation and roots requests are answered by the calling client, and the tool result carries the answer`, async () => {
      const { client, asked } = await answeringClient(url(), transport);
      try {
        const sampled = await ask(client, "ask", "sampling/createMessage", SAMPLING);
        expect(answerOf(sampled)).toEqual({ role: "assistant", model: "test-model", content: { type: "text", text: 'sampled: {"type":"text","text":"what is 2+2?"}' } });
        const elicited = await ask(client, "ask", "elicitation/create", ELICITATION);
        expect(answerOf(elicited)).toEqual({ action: "accept", content: { name: "Ada", age: 36 } });
        const roots = await ask(client, "ask", "roots/list");
        expect(answerOf(roots)).toEqual({ roots: [{ uri: "file:///projects/demo", name: "demo" }] });
        // The client saw the upstream's requests as the upstream sent them.
        expect(asked.map((a) => a.method)).toEqual(["sampling/createMessage", "elicitation/create", "roots/list"]);
        expect(asked[1]!.params).toMatchObject(ELICITATION);
      } finally {
        await client.close();
      }
    });

    it(`${transport}: a client without the capability is not asked; the upstream gets -32601 naming it`, async () => {
      const { client, asked } = await answeringClient(url(), transport, { roots: {} });
      try {
        const sampled = await ask(client, "ask", "sampling/createMessage", SAMPLING);
        expect(sampled.isError).toBe(true);
        expect(text(sampled)).toBe("error -32601: the client did not declare the sampling capability, so sampling/createMessage cannot be passed to it");
        const elicited = await ask(client, "ask", "elicitation/create", ELICITATION);
        expect(text(elicited)).toContain("error -32601: the client did not declare the elicitation capability");
        expect(asked).toEqual([]);
      } finally {
        await client.close();
      }
    });

    it(`${transport}: log messages during a call reach the caller before the result, filtered by its logging/setLevel`, async () => {
      const client = await connect(url(), transport);
      const seen: string[] = [];
      client.setNotificationHandler("notifications/message", (n) => void seen.push(`${n.params.level}: ${String(n.params.data)}`));
      try {
        const all = await client.callTool({ name: "log", arguments: { levels: ["debug", "info", "warning"] } });
        expect(text(all)).toBe("logged 3");
        await waitUntil(() => seen.length === 3, 5000, "three log messages");
        expect(seen).toEqual(["debug: debug message", "info: info message", "warning: warning message"]);

        await client.setLoggingLevel("warning");
        seen.length = 0;
        await client.callTool({ name: "log", arguments: { levels: ["debug", "info", "notice", "warning", "error"] } });
        await waitUntil(() => seen.length >= 2, 5000, "the warning and the error");
        expect(seen).toEqual(["warning: warning message", "error: error message"]);
      } finally {
        await client.close();
      }
    });
  }

  it("URL-mode elicitation needs the client's elicitation.url capability; its completion notice reaches the client", async () => {
    const formOnly = await answeringClient(`${t.base}/mcp/probe`, "http");
    const URL_MODE = { mode: "url", message: "Sign in", url: "https://example.com/login", elicitationId: "e-1" };
    try {
      expect(text(await ask(formOnly.client, "ask", "elicitation/create", URL_MODE))).toContain("the client did not declare the elicitation.url capability");
    } finally {
      await formOnly.client.close();
    }
    const client = await connect(`${t.base}/mcp/probe`, "http", { elicitation: { form: {}, url: {} } });
    const completed: unknown[] = [];
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept" }));
    client.setNotificationHandler("notifications/elicitation/complete", (n) => void completed.push(n.params));
    try {
      expect(answerOf(await ask(client, "ask", "elicitation/create", URL_MODE))).toEqual({ action: "accept" });
      await waitUntil(() => completed.length === 1, 5000, "notifications/elicitation/complete");
      expect(completed).toEqual([{ elicitationId: "e-1" }]);
    } finally {
      await client.close();
    }
  });

  it("a client's answer to a request it did not receive is ignored; the asking session alone can answer", async () => {
    // Two sessions; A's elicitation is pending while B posts a response with A's request id.
    const a = await connect(`${t.base}/mcp/probe`, "http", ALL_CAPABILITIES);
    let pendingId: string | number | undefined;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    a.setRequestHandler("elicitation/create", async (_req, ctx) => {
      pendingId = ctx.mcpReq.id;
      await released;
      return { action: "decline" };
    });
    const b = await fetch(`${t.base}/mcp/probe`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "b", version: "1" } } }),
    });
    const bSession = b.headers.get("mcp-session-id")!;
    try {
      const call = ask(a, "ask", "elicitation/create", ELICITATION);
      await waitUntil(() => pendingId !== undefined, 5000, "the elicitation to reach client A");
      const forged = await fetch(`${t.base}/mcp/probe`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": bSession, "mcp-protocol-version": "2025-11-25" },
        body: JSON.stringify({ jsonrpc: "2.0", id: pendingId, result: { action: "accept", content: { name: "Mallory" } } }),
      });
      expect(forged.status).toBe(202);
      release();
      expect(answerOf(await call)).toEqual({ action: "decline" });
    } finally {
      release();
      await a.close();
    }
  });

  it("while calls from two clients are in flight on one upstream, its request goes to neither: it gets an error", async () => {
    const first = await answeringClient(`${t.base}/mcp/probe`, "http");
    const second = await answeringClient(`${t.base}/mcp/probe`, "http");
    try {
      const sleeping = first.client.callTool({ name: "sleep", arguments: { ms: 1500, tag: "holder" } });
      await waitUntil(() => t.logs.some((l) => String(l.stderr ?? "").includes("sleep holder started")), 5000, "the first client's call to run");
      const asked = await ask(second.client, "ask", "sampling/createMessage", SAMPLING);
      expect(text(asked)).toBe(
        "error -32603: sampling/createMessage cannot be relayed: calls from 2 clients are in flight on this server and MCP does not say which one this request is for",
      );
      await sleeping;
      expect([...first.asked, ...second.asked]).toEqual([]);
      // With the other call done, the same request reaches the caller.
      expect(text(await ask(second.client, "ask", "roots/list"))).toContain("file:///projects/demo");
    } finally {
      await first.client.close();
      await second.client.close();
    }
  });

  it("resource subscriptions: updates reach the subscribed sessions, not after unsubscribe, not other sessions", async () => {
    const watcher = await connect(`${t.base}/mcp`, "http");
    const bystander = await connect(`${t.base}/mcp`, "http");
    const updates: string[] = [];
    const bystanderUpdates: string[] = [];
    watcher.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params.uri));
    bystander.setNotificationHandler("notifications/resources/updated", (n) => void bystanderUpdates.push(n.params.uri));
    try {
      expect(watcher.getServerCapabilities()?.resources).toEqual({ listChanged: true, subscribe: true });
      await watcher.subscribeResource({ uri: "probe://watched/a" });
      // The global endpoint routes the URI to the server that lists it; the update comes on the GET stream.
      await waitUntil(async () => {
        await bystander.callTool({ name: "probe-touch", arguments: { uri: "probe://watched/a" } });
        return updates.length > 0;
      }, 5000, "the update on the watcher's stream");
      expect(updates[0]).toBe("probe://watched/a");

      await watcher.unsubscribeResource({ uri: "probe://watched/a" });
      await watcher.subscribeResource({ uri: "probe://watched/b" });
      const before = updates.length;
      await bystander.callTool({ name: "probe-touch", arguments: { uri: "probe://watched/a" } });
      await bystander.callTool({ name: "probe-touch", arguments: { uri: "probe://watched/b" } });
      // Updates travel one path in order: b arriving means a (sent first) was not delivered.
      await waitUntil(() => updates.includes("probe://watched/b"), 5000, "the update of b");
      expect(updates.slice(before)).toEqual(["probe://watched/b"]);
      expect(bystanderUpdates).toEqual([]);

      // A server without subscriptions says so.
      const err = await watcher.subscribeResource({ uri: "probe://nothing-here" }).catch((e: Error) => e);
      expect(String(err)).toMatch(/resource not found|does not support resource subscriptions/);
    } finally {
      await watcher.close();
      await bystander.close();
    }
  });

  describe("a 2026-07-28 client (stateless): the upstream's questions come back as input_required rounds", () => {
    /** The SDK client pinned to 2026-07-28 drives the rounds itself: it answers inputRequests with its handlers and retries. */
    async function modernClient(capabilities: Record<string, unknown>) {
      const client = new Client({ name: "modern", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities });
      const asked: string[] = [];
      if ("sampling" in capabilities) {
        client.setRequestHandler("sampling/createMessage", async (req) => {
          asked.push(req.method);
          return { role: "assistant", model: "modern-model", content: { type: "text", text: "four" } };
        });
      }
      if ("elicitation" in capabilities) {
        client.setRequestHandler("elicitation/create", async (req) => {
          asked.push(req.method);
          return { action: "accept", content: { name: "Grace", age: 45 } };
        });
      }
      if ("roots" in capabilities) {
        client.setRequestHandler("roots/list", async (req) => {
          asked.push(req.method);
          return { roots: [{ uri: "file:///projects/modern", name: "modern" }] };
        });
      }
      await client.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp/probe`)));
      return { client, asked };
    }

    it("sampling, elicitation and roots: the retried call resumes the upstream call, whose result carries the answer", async () => {
      const { client, asked } = await modernClient(ALL_CAPABILITIES);
      try {
        expect(answerOf(await ask(client, "ask", "sampling/createMessage", SAMPLING))).toEqual({ role: "assistant", model: "modern-model", content: { type: "text", text: "four" } });
        expect(answerOf(await ask(client, "ask", "elicitation/create", ELICITATION))).toEqual({ action: "accept", content: { name: "Grace", age: 45 } });
        expect(answerOf(await ask(client, "ask", "roots/list"))).toEqual({ roots: [{ uri: "file:///projects/modern", name: "modern" }] });
        expect(asked).toEqual(["sampling/createMessage", "elicitation/create", "roots/list"]);
      } finally {
        await client.close();
      }
    });

    it("without the capability there is no round: the upstream gets -32601 naming it", async () => {
      const { client, asked } = await modernClient({ roots: {} });
      try {
        expect(text(await ask(client, "ask", "sampling/createMessage", SAMPLING))).toBe(
          "error -32601: the client did not declare the sampling capability, so sampling/createMessage cannot be passed to it",
        );
        expect(asked).toEqual([]);
      } finally {
        await client.close();
      }
    });

    it("log messages during the call reach the caller on its POST's stream", async () => {
      const { client } = await modernClient({});
      const seen: string[] = [];
      client.setNotificationHandler("notifications/message", (n) => void seen.push(`${n.params.level}: ${String(n.params.data)}`));
      try {
        expect(text(await client.callTool({ name: "log", arguments: { levels: ["info", "error"] } }))).toBe("logged 2");
        await waitUntil(() => seen.length === 2, 5000, "both log messages");
        expect(seen).toEqual(["info: info message", "error: error message"]);
      } finally {
        await client.close();
      }
    });

    it("resource subscriptions ride subscriptions/listen: acknowledged for URIs a server can subscribe, updates carry the subscription id", async () => {
      const { client } = await modernClient({});
      const updates: unknown[] = [];
      client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params));
      try {
        const sub = await client.listen({ resourceSubscriptions: ["probe://watched/a"] });
        expect(sub.honoredFilter).toEqual({ resourceSubscriptions: ["probe://watched/a"] });
        await waitUntil(async () => {
          await client.callTool({ name: "touch", arguments: { uri: "probe://watched/a" } });
          return updates.length > 0;
        }, 5000, "the update on the listen stream");
        expect(updates[0]).toMatchObject({ uri: "probe://watched/a" });
      } finally {
        await client.close();
      }
      // On the global endpoint a URI that no server lists is not acknowledged.
      const global = new Client({ name: "modern", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
      await global.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp`)));
      try {
        const sub = await global.listen({ resourceSubscriptions: ["probe://watched/b", "nowhere://x"] });
        expect(sub.honoredFilter).toEqual({ resourceSubscriptions: ["probe://watched/b"] });
      } finally {
        await global.close();
      }
    });

    it("on the wire: input_required with the question and a requestState; a retry with a forged or reused state is refused, naming the field", async () => {
      const envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
        "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
      };
      const post = async (id: number, extra: Record<string, unknown>) => {
        const res = await fetch(`${t.base}/mcp/probe`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "ask" },
          body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "ask", arguments: { method: "elicitation/create", params: ELICITATION }, ...extra, _meta: envelope } }),
        });
        return (await res.json()) as { id: number; result?: Record<string, unknown>; error?: { code: number; message: string } };
      };
      const first = await post(1, {});
      expect(first.result).toMatchObject({ resultType: "input_required", inputRequests: { r1: { method: "elicitation/create", params: ELICITATION } } });
      const state = first.result!.requestState as string;
      expect(state).toMatch(/^[\w-]{20,}$/);

      expect((await post(2, { requestState: "forged", inputResponses: {} })).error).toEqual({
        code: -32602,
        message: "params.requestState: unknown or expired (a retry must reach the gateway replica that gave it, within its window)",
      });
      const done = await post(3, { requestState: state, inputResponses: { r1: { action: "decline" } } });
      expect(done.id).toBe(3);
      expect(done.result).toMatchObject({ resultType: "complete" });
      expect(answerOf(done.result)).toEqual({ action: "decline" });
      // A state is good for one retry.
      expect((await post(4, { requestState: state, inputResponses: { r1: { action: "decline" } } })).error?.code).toBe(-32602);
    });
  });
});
