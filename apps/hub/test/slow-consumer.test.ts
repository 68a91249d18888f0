import { connect as tcpConnect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * A client that stops reading its stream must not make the hub hold what it is sent: past
 * MAX_STREAM_BUFFER_BYTES of unread messages the client is dropped, its session closed, and
 * everyone else is served as before.
 */

const LIMIT = 1024 * 1024;
let t: TestHub;

beforeAll(async () => {
  t = await startHub({ mcpServers: { probe: upstream.probe() } }, { env: { MAX_STREAM_BUFFER_BYTES: String(LIMIT) } });
});

afterAll(async () => {
  await t?.close();
});

/** A legacy SSE stream on a raw socket: reads until the endpoint event, then stops reading. */
async function stalledSseClient(): Promise<{ socket: Socket; messagesPath: string }> {
  const { hostname, port } = new URL(t.base);
  const socket = tcpConnect({ host: hostname, port: Number(port) });
  socket.write(`GET /sse HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  let seen = "";
  const messagesPath = await new Promise<string>((resolve, reject) => {
    socket.on("error", reject);
    socket.on("data", function onData(chunk: Buffer) {
      seen += chunk.toString();
      const m = /event: endpoint\ndata: (\S+)\n/.exec(seen);
      if (m) {
        socket.off("data", onData);
        // From here on nothing is read: the kernel's buffers fill, then the hub's.
        socket.pause();
        resolve(m[1]!);
      }
    });
  });
  socket.on("error", () => {});
  return { socket, messagesPath };
}

const post = (path: string, body: unknown) =>
  fetch(`${t.base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("a client that stops reading", () => {
  it("is dropped once its unread messages pass the limit; its session ends; others are served", async () => {
    const { socket, messagesPath } = await stalledSseClient();
    expect((await post(messagesPath, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "stalled", version: "1" } } })).status).toBe(202);
    // 2 MB answers to a stream nobody reads: 20 MB, more than the kernel's buffers and the limit together.
    const dropped = () => t.logs.some((l) => l.msg === "client stopped reading its stream: dropped it (MAX_STREAM_BUFFER_BYTES)");
    for (let id = 1; id <= 10; id++) {
      await post(messagesPath, { jsonrpc: "2.0", id, method: "tools/call", params: { name: "probe-big", arguments: { bytes: 2_000_000 } } });
    }
    await waitUntil(dropped, 20_000, "the slow client to be dropped");
    // Its session is gone: a further POST names it unknown.
    await waitUntil(async () => (await post(messagesPath, { jsonrpc: "2.0", id: 999, method: "ping" })).status === 404, 5000, "the session to end");
    socket.destroy();
    // A client that reads is served, large answers included.
    const c = await connect(`${t.base}/mcp`);
    expect(text(await c.callTool({ name: "probe-big", arguments: { bytes: 3 * LIMIT } }))).toHaveLength(3 * LIMIT);
    await c.close();
  });
});
