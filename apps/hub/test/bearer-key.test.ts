import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, text, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/** MCPHub's own shared key: systemConfig.routing.enableBearerAuth + bearerAuthKey. */
const KEY = "shared-bearer-key-from-the-settings-file";
let t: TestHub;
let db: Awaited<ReturnType<typeof freshDatabase>>;

async function connectWith(headers: Record<string, string>): Promise<Client> {
  const c = new Client({ name: "bearer", version: "1" });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp`), { requestInit: { headers } }));
  return c;
}

beforeAll(async () => {
  db = await freshDatabase("bearer_key");
  t = await startHub(
    { mcpServers: { everything: upstream.everything() }, systemConfig: { routing: { enableBearerAuth: true, bearerAuthKey: KEY } } },
    { database: db.url, adminPassword: "bearer-admin-password" },
  );
});
afterAll(async () => {
  await t?.close();
  await db?.drop();
});

describe("the settings' bearer key", () => {
  it("opens the MCP endpoints, as Authorization or x-api-key", async () => {
    const variants: Record<string, string>[] = [{ authorization: `Bearer ${KEY}` }, { "x-api-key": KEY }];
    for (const headers of variants) {
      const c = await connectWith(headers);
      expect(text(await c.callTool({ name: "everything-echo", arguments: { message: "shared" } }))).toBe("Echo: shared");
      await c.close();
    }
  });

  it("refuses another key, and no key, with a 401 naming the protected-resource metadata", async () => {
    await expect(connectWith({ authorization: "Bearer not-the-key" })).rejects.toThrow();
    const res = await fetch(`${t.base}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('resource_metadata="');
  });

  it("stops working when the settings turn it off", async () => {
    await t.writeSettings({ mcpServers: { everything: upstream.everything() }, systemConfig: { routing: { enableBearerAuth: false, bearerAuthKey: KEY } } });
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      await new Promise((r) => setTimeout(r, 50));
      refused = (await connectWith({ authorization: `Bearer ${KEY}` }).then((c) => c.close().then(() => false), () => true));
    }
    expect(refused).toBe(true);
  });
});

describe("the settings' bearer key without accounts (SKIP_AUTH=true)", () => {
  let open: TestHub;
  beforeAll(async () => {
    open = await startHub(
      { mcpServers: { everything: upstream.everything() }, systemConfig: { routing: { enableBearerAuth: true, bearerAuthKey: KEY } } },
      { env: { SKIP_AUTH: "true" } },
    );
  });
  afterAll(async () => open?.close());

  it("still holds: SKIP_AUTH opens what needs accounts, not a key the settings ask for", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${open.base}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "k", version: "1" } } }),
      });
    expect((await post({})).status).toBe(401);
    const wrong = await post({ authorization: "Bearer not-the-key" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe("Unauthorized (key_unknown): the credential is not the configured bearer key");
    expect((await post({ authorization: `Bearer ${KEY}` })).status).toBe(200);
  });
});
