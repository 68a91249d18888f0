import { join } from "node:path";
import { ProtocolError, type Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, startHub, text, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * Filters hold for calls, not only for lists: a disabled tool, a tool outside a group's
 * picks, a disabled server or a server outside the group cannot be called through any
 * endpoint, and the JSON-RPC error says why.
 */

let t: TestHub;
const clients: Client[] = [];

beforeAll(async () => {
  t = await startHub((dir) => ({
    mcpServers: {
      everything: upstream.everything({
        // One override keyed as MCPHub keys it (<server>-<tool>), one by the bare tool name.
        tools: { "everything-echo": { enabled: false }, "get-env": { enabled: false } },
      }),
      memory: upstream.memory(join(dir, "memory.jsonl")),
      off: upstream.probe(["--name", "off"], { enabled: false }),
    },
    groups: [
      // A pick may name a disabled tool (prefixed here): the override still wins.
      { id: "picks", name: "Picks", servers: [{ name: "everything", tools: ["get-sum", "everything-echo"] }, "off"] },
    ],
  }));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await t?.close();
});

async function client(path: string, transport: "http" | "sse" = "http"): Promise<Client> {
  const c = await connect(`${t.base}${path}`, transport);
  clients.push(c);
  return c;
}

const names = async (c: Client) => (await c.listTools()).tools.map((x) => x.name);

/** The call must be refused with a JSON-RPC error (not a tool result) whose message matches `why`. */
async function refused(c: Client, name: string, why: RegExp, args: Record<string, unknown> = {}): Promise<void> {
  let error: unknown;
  try {
    const result = await c.callTool({ name, arguments: args });
    error = new Error(`call of "${name}" was not refused: ${JSON.stringify(result)}`);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ProtocolError);
  expect((error as ProtocolError).code).toBe(-32602);
  expect((error as Error).message).toMatch(why);
}

describe("a tool disabled in the settings", () => {
  const DISABLED = /is disabled in the settings/;

  it("is absent from every list, keyed with the server prefix or without it", async () => {
    for (const [path, prefix] of [["/mcp", "everything-"], ["/mcp/everything", ""], ["/mcp/picks", "everything-"]] as const) {
      const listed = await names(await client(path));
      expect(listed, path).toContain(`${prefix}get-sum`);
      expect(listed, path).not.toContain(`${prefix}echo`);
      expect(listed, path).not.toContain(`${prefix}get-env`);
    }
  });

  it("is refused on /mcp, /mcp/<server> and /mcp/<group>, naming why", async () => {
    const all = await client("/mcp");
    await refused(all, "everything-echo", /tool "everything-echo" is disabled in the settings/, { message: "x" });
    await refused(all, "everything-get-env", /tool "everything-get-env" is disabled in the settings/);
    // The same server's other tools still work: the refusal is per tool.
    expect(text(await all.callTool({ name: "everything-get-sum", arguments: { a: 1, b: 2 } }))).toContain("3");

    const one = await client("/mcp/everything");
    await refused(one, "echo", /tool "echo" is disabled in the settings/, { message: "x" });
    await refused(one, "get-env", DISABLED);

    // Picked by the group, yet disabled: the override wins.
    const group = await client("/mcp/picks");
    await refused(group, "everything-echo", /tool "everything-echo" is disabled in the settings/, { message: "x" });
    await refused(group, "everything-get-env", DISABLED);
  });

  it("is refused over the legacy SSE transport too", async () => {
    const all = await client("/sse", "sse");
    expect(await names(all)).not.toContain("everything-echo");
    await refused(all, "everything-echo", DISABLED, { message: "x" });
    await refused(all, "everything-get-env", DISABLED);
    const one = await client("/sse/everything", "sse");
    await refused(one, "echo", DISABLED, { message: "x" });
    await refused(one, "get-env", DISABLED);
  });

  it("is not counted in the server's tool count in /api/health", async () => {
    const listed = (await names(await client("/mcp/everything"))).length;
    const health = (await (await fetch(`${t.base}/api/health`)).json()) as { servers: { name: string; toolCount: number }[] };
    expect(health.servers.find((s) => s.name === "everything")?.toolCount).toBe(listed);
  });
});

describe("a tool outside the group's picks", () => {
  const NOT_PICKED = /tool "everything-get-tiny-image" is not available here: it is not among this group's tools/;

  it("is absent from the group's list and refused there, naming why", async () => {
    const group = await client("/mcp/picks");
    const listed = await names(group);
    expect(listed.filter((n) => n.startsWith("everything-"))).toEqual(["everything-get-sum"]);
    await refused(group, "everything-get-tiny-image", NOT_PICKED);
    expect(text(await group.callTool({ name: "everything-get-sum", arguments: { a: 2, b: 3 } }))).toContain("5");
  });

  it("is refused through the group's name and over legacy SSE as well", async () => {
    await refused(await client("/mcp/Picks"), "everything-get-tiny-image", NOT_PICKED);
    const sse = await client("/sse/picks", "sse");
    expect(await names(sse)).not.toContain("everything-get-tiny-image");
    await refused(sse, "everything-get-tiny-image", NOT_PICKED);
  });

  it("is allowed on /mcp and on the server's own endpoint", async () => {
    const all = await client("/mcp");
    expect(await names(all)).toContain("everything-get-tiny-image");
    const r = (await all.callTool({ name: "everything-get-tiny-image", arguments: {} })) as { content: { type: string }[] };
    expect(r.content.some((c) => c.type === "image")).toBe(true);
    const one = await client("/mcp/everything");
    const r1 = (await one.callTool({ name: "get-tiny-image", arguments: {} })) as { content: { type: string }[] };
    expect(r1.content.some((c) => c.type === "image")).toBe(true);
  });
});

describe("a disabled server", () => {
  const OFF = /tool "off-pid" is not available: server "off" is disabled/;

  it("has no tools in any list", async () => {
    for (const path of ["/mcp", "/mcp/picks"]) {
      expect((await names(await client(path))).some((n) => n.startsWith("off-")), path).toBe(false);
    }
    expect((await names(await client("/sse", "sse"))).some((n) => n.startsWith("off-"))).toBe(false);
  });

  it("is refused on /mcp and on a group that includes it, naming why", async () => {
    await refused(await client("/mcp"), "off-pid", OFF);
    await refused(await client("/mcp/picks"), "off-pid", OFF);
    await refused(await client("/sse", "sse"), "off-pid", OFF);
  });

  it("answers its own endpoint with errors saying it is disabled", async () => {
    for (const transport of ["http", "sse"] as const) {
      const one = await client(transport === "http" ? "/mcp/off" : "/sse/off", transport);
      await expect(one.listTools()).rejects.toThrow(/server "off" is disabled/);
      await refused(one, "pid", /tool "pid" is not available: server "off" is disabled/);
    }
  });

  it("starts no process", async () => {
    const health = (await (await fetch(`${t.base}/api/health`)).json()) as { servers: { name: string; state: string; pid?: number }[] };
    const off = health.servers.find((s) => s.name === "off");
    expect(off?.state).toBe("disabled");
    expect(off?.pid).toBeUndefined();
  });
});

describe("a server that is not in the group", () => {
  const NOT_MEMBER = /tool "memory-read_graph" is not available here: server "memory" is not part of this group/;

  it("is refused on the group endpoint, naming why, and allowed on /mcp", async () => {
    const group = await client("/mcp/picks");
    expect((await names(group)).some((n) => n.startsWith("memory-"))).toBe(false);
    await refused(group, "memory-read_graph", NOT_MEMBER);
    await refused(await client("/sse/picks", "sse"), "memory-read_graph", NOT_MEMBER);
    const all = await client("/mcp");
    expect(JSON.parse(text(await all.callTool({ name: "memory-read_graph", arguments: {} })))).toHaveProperty("entities");
  });
});

describe("prompts outside the endpoint", () => {
  it("says why a prompt of a server outside the group, or of a disabled server, cannot be fetched", async () => {
    // The group "picks" holds everything and off, not memory; everything's prompts are in the group.
    const group = await client("/mcp/picks");
    await expect(group.getPrompt({ name: "everything-simple-prompt" })).resolves.toBeDefined();
    const global = await client("/mcp");
    await expect(global.getPrompt({ name: "off-anything" })).rejects.toThrow(/server "off" is disabled/);
    const withMemory = await client("/mcp/picks");
    await expect(withMemory.getPrompt({ name: "memory-anything" })).rejects.toThrow(/server "memory" is not part of this group/);
    await expect(global.getPrompt({ name: "nobody-anything" })).rejects.toThrow(/unknown prompt "nobody-anything"/);
  });
});
