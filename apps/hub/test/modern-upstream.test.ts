/**
 * The hub talks to each upstream in the revision it speaks: an HTTP upstream that serves the
 * stateless 2026-07-28 revision (fixtures/modern-server.ts, the SDK's createMcpHandler) is
 * spoken to in it — its input_required rounds reach the hub's clients of either era, and its
 * tool list changes arrive on a subscriptions/listen stream — while stdio upstreams keep 2025-11-25.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

const MODERN_TS = fileURLToPath(new URL("./fixtures/modern-server.ts", import.meta.url));
const SAMPLING = { messages: [{ role: "user", content: { type: "text", text: "2+2?" } }], maxTokens: 5 };

let fixture: ChildProcess;
let t: TestHub;

beforeAll(async () => {
  fixture = spawn(process.execPath, ["--import", "tsx", MODERN_TS], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  fixture.stdout!.on("data", (d: Buffer) => (out += d));
  await waitUntil(() => /listening \d+/.test(out), 20_000, "the modern fixture to listen");
  const url = `http://127.0.0.1:${/listening (\d+)/.exec(out)![1]}/mcp`;
  t = await startHub({ mcpServers: { modern: { type: "streamable-http", url }, probe: upstream.probe() } });
}, 40_000);

afterAll(async () => {
  await t?.close();
  fixture?.kill();
});

function answerOf(result: unknown): unknown {
  const body = text(result);
  if (!body.startsWith("answer ")) throw new Error(`the upstream did not get an answer: ${body}`);
  return JSON.parse(body.slice("answer ".length));
}

describe("a 2026-07-28 upstream behind the hub", () => {
  it("is spoken to in 2026-07-28; a stdio upstream in 2025-11-25 (both shown in the status)", () => {
    const status = Object.fromEntries(t.hub.supervisor.status().map((s) => [s.name, s.protocolVersion]));
    expect(status).toEqual({ modern: "2026-07-28", probe: "2025-11-25" });
  });

  it("passes its input_required rounds to a 2025-era client as requests during the call", async () => {
    const client = await connect(`${t.base}/mcp/modern`, "http", { sampling: {} });
    client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", model: "m", content: { type: "text", text: "four" } }));
    try {
      const result = await client.callTool({ name: "ask", arguments: { method: "sampling/createMessage", params: SAMPLING } });
      expect(answerOf(result)).toEqual({ role: "assistant", model: "m", content: { type: "text", text: "four" } });
    } finally {
      await client.close();
    }
  });

  it("passes them to a 2026-07-28 client as input_required rounds of its own", async () => {
    const client = new Client({ name: "modern-client", version: "1" }, { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: { roots: {} } });
    client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: "file:///projects/modern-client", name: "here" }] }));
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp/modern`)));
    try {
      expect(answerOf(await client.callTool({ name: "ask", arguments: { method: "roots/list" } }))).toEqual({ roots: [{ uri: "file:///projects/modern-client", name: "here" }] });
    } finally {
      await client.close();
    }
  });

  it("does not ask a client without the capability: the call fails naming it", async () => {
    const client = await connect(`${t.base}/mcp/modern`, "http", {});
    try {
      const outcome = await client.callTool({ name: "ask", arguments: { method: "sampling/createMessage", params: SAMPLING } }).then(text, (e: Error) => e.message);
      expect(outcome).toContain("the client did not declare the sampling capability");
    } finally {
      await client.close();
    }
  });

  it("announces its tool list changes on a listen stream: the hub's clients see the new tool", async () => {
    const client = await connect(`${t.base}/mcp`, "http");
    let changed = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => void changed++);
    try {
      expect(text(await client.callTool({ name: "modern-add-tool", arguments: { name: "fresh" } }))).toBe("added fresh");
      await waitUntil(() => changed > 0, 10_000, "tools/list_changed from the modern upstream");
      expect((await client.listTools()).tools.map((x) => x.name)).toContain("modern-fresh");
      expect(text(await client.callTool({ name: "modern-fresh", arguments: {} }))).toBe("fresh works");
    } finally {
      await client.close();
    }
  });

  it("gets the client's extension and trace headers with the request they caused; never its credentials", async () => {
    const headers = { "x-tenant": "acme", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "x-api-key": "client-secret", authorization: "Bearer client-token" };
    const legacy = new Client({ name: "h", version: "1" });
    await legacy.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp/modern`), { requestInit: { headers } }));
    const modern = new Client({ name: "h", version: "1" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await modern.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp/modern`), { requestInit: { headers } }));
    try {
      for (const client of [legacy, modern]) {
        const seen = JSON.parse(text(await client.callTool({ name: "seen-headers", arguments: {} }))) as Record<string, string>;
        expect(seen).toEqual({ "x-tenant": "acme", traceparent: headers.traceparent });
      }
    } finally {
      await legacy.close();
      await modern.close();
    }
  });
});
