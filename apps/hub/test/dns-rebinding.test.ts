import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/** A raw request, so the test sets Host itself (fetch does not let it). */
function post(t: TestHub, headers: Record<string, string>): Promise<number> {
  const url = new URL(`${t.base}/mcp`);
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("DNS-rebinding protection (all-in-one on loopback)", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ mcpServers: { everything: upstream.everything() } });
  });
  afterAll(() => t?.close());

  it("answers loopback names, with or without a loopback Origin", async () => {
    const port = new URL(t.base).port;
    expect(await post(t, { host: `127.0.0.1:${port}` })).toBe(200);
    expect(await post(t, { host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(200);
    expect(await post(t, { host: `[::1]:${port}` })).toBe(200);
  });

  it("refuses another Host, or a page from another Origin, with 403", async () => {
    const port = new URL(t.base).port;
    expect(await post(t, { host: `attacker.example:${port}` })).toBe(403);
    expect(await post(t, { host: `127.0.0.1:${port}`, origin: "http://attacker.example" })).toBe(403);
  });
});

describe("ALLOWED_HOSTS", () => {
  it("serves the names it lists, and only those", async () => {
    const t = await startHub({ mcpServers: { everything: upstream.everything() } }, { env: { ALLOWED_HOSTS: "hub.internal" } });
    try {
      expect(await post(t, { host: "hub.internal" })).toBe(200);
      expect(await post(t, { host: `127.0.0.1:${new URL(t.base).port}` })).toBe(403);
    } finally {
      await t.close();
    }
  });
});
