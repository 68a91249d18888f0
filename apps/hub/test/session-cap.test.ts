import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * One principal holds at most MAX_SESSIONS_PER_PRINCIPAL sessions: opening one more ends its
 * least recently used, so 5,000 initializes from one client cannot fill the hub.
 */
const CAP = 3;
let t: TestHub;

beforeAll(async () => {
  t = await startHub({ mcpServers: { probe: upstream.probe() } }, { env: { MAX_SESSIONS_PER_PRINCIPAL: String(CAP) } });
});
afterAll(async () => {
  await t?.close();
});

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function open(): Promise<string> {
  const res = await fetch(`${t.base}/mcp`, {
    method: "POST",
    headers: HEADERS,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "cap", version: "1" } } }),
  });
  expect(res.status).toBe(200);
  return res.headers.get("mcp-session-id")!;
}

const ping = async (session: string) =>
  (await fetch(`${t.base}/mcp`, { method: "POST", headers: { ...HEADERS, "mcp-session-id": session }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }) })).status;

describe("the per-principal session cap", () => {
  it("ends the least recently used sessions past the cap, keeps the rest working", async () => {
    const first = await open();
    const second = await open();
    const third = await open();
    // Used just now: the first is no longer the least recently used one.
    expect(await ping(first)).toBe(200);
    const fourth = await open();
    expect(await ping(second)).toBe(404);
    for (const s of [first, third, fourth]) expect(await ping(s)).toBe(200);
    const more = [await open(), await open(), await open()];
    for (const s of [first, third, fourth]) expect(await ping(s)).toBe(404);
    for (const s of more) expect(await ping(s)).toBe(200);
    expect(t.logs.some((l) => String(l.msg).startsWith("session cap reached"))).toBe(true);
  });
});
