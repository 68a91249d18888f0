import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, startHub, text, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/** A stdio server gets the hub's environment with its own `env` merged over it. */
let t: TestHub;

beforeAll(async () => {
  t = await startHub(
    { mcpServers: { everything: upstream.everything({ env: { OWN_SETTING: "${HUB_SIDE}-expanded", npm_config_registry: "https://registry.override.example/" } }) } },
    { env: { HUB_SIDE: "from-hub", npm_config_registry: "https://registry.hub.example/", UV_DEFAULT_INDEX: "https://pypi.hub.example/simple" } },
  );
});
afterAll(() => t?.close());

describe("a stdio server's environment", () => {
  it("inherits the hub's (registries included), with the server's env over it", async () => {
    const c = await connect(`${t.base}/mcp/everything`);
    const env = JSON.parse(text(await c.callTool({ name: "get-env", arguments: {} }))) as Record<string, string>;
    expect(env.UV_DEFAULT_INDEX).toBe("https://pypi.hub.example/simple");
    expect(env.HUB_SIDE).toBe("from-hub");
    expect(env.OWN_SETTING).toBe("from-hub-expanded");
    expect(env.npm_config_registry).toBe("https://registry.override.example/");
    await c.close();
  });
});
