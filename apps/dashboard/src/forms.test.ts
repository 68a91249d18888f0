import { describe, expect, it } from "vitest";
import { fieldErrors } from "./api.ts";
import { parsePairs, toConfig } from "./servers.tsx";
import { toArguments } from "./try-tool.tsx";
import { auditQuery } from "./audit.tsx";
import { toSmartRouting } from "./smart-routing.tsx";
import { clientSnippets } from "./overview.tsx";

// The forms' logic without a browser: what each form sends, and where the API's reasons land.

const form = { name: "fs", type: "stdio" as const, command: " npx ", args: "-y\n\n @modelcontextprotocol/server-filesystem \n/tmp", env: "A=1\nB = two=2\n", url: "", headers: "", timeout: "", enabled: true };

describe("the server form", () => {
  it("sends a stdio server's command, one argument per line and KEY=value env, nothing of the other transports", () => {
    expect(toConfig(form)).toEqual({ type: "stdio", enabled: true, command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], env: { A: "1", B: "two=2" } });
  });

  it("sends an HTTP server's url and headers, and keeps what it does not edit (tool overrides, other options)", () => {
    const base = { type: "stdio" as const, command: "old", env: { X: "1" }, tools: { "r-a": { enabled: false } }, options: { timeout: 5, keepAlive: true } };
    const config = toConfig({ ...form, type: "streamable-http", url: " https://example.com/mcp ", headers: "Authorization: Bearer x:y", timeout: "" }, base);
    expect(config).toEqual({ type: "streamable-http", enabled: true, url: "https://example.com/mcp", headers: { Authorization: "Bearer x:y" }, tools: { "r-a": { enabled: false } }, options: { keepAlive: true } });
  });

  it("sends the timeout as a number, which the API then judges", () => {
    expect(toConfig({ ...form, timeout: "2500" }).options).toEqual({ timeout: 2500 });
    expect(toConfig({ ...form, timeout: "soon" }).options?.timeout).toBeNaN();
  });

  it("reads pairs leniently", () => {
    expect(parsePairs("K\n=v\nX=\n", "=")).toEqual({ K: "", "=v": "", X: "" });
  });
});

describe("the API's reasons at their fields", () => {
  it("maps settings JSON paths below a server, and auth's {field, message}", () => {
    expect(fieldErrors(["$.mcpServers.fs.options.timeout: Too small", "$.mcpServers.fs.command: Required", "name: must not be empty"], "$.mcpServers.fs.")).toEqual({
      "options.timeout": "Too small",
      command: "Required",
      name: "must not be empty",
    });
    expect(fieldErrors([{ field: "password", message: "must be at least 8 characters" }, { field: "password", message: "second" }])).toEqual({ password: "must be at least 8 characters" });
    expect(fieldErrors(undefined)).toEqual({});
  });
});

describe("try a tool", () => {
  const schema = {
    type: "object",
    properties: { n: { type: "integer" }, x: { type: "number" }, s: { type: "string" }, b: { type: "boolean" }, o: { type: "object" }, opt: { type: ["string", "null"] } },
    required: ["n", "s"],
  };
  it("types each argument by the input schema and leaves empty optional ones out", () => {
    expect(toArguments(schema, { n: "3", x: "1.5", s: "hi", b: true, o: '{"k":1}', opt: "" })).toEqual({ args: { n: 3, x: 1.5, s: "hi", b: true, o: { k: 1 } }, errors: {} });
  });
  it("names each field it cannot send", () => {
    expect(toArguments(schema, { n: "3.5", s: "", o: "{", x: "many" }).errors).toEqual({ n: "must be a whole number", s: "is required", o: "must be JSON ({...})", x: "must be a number" });
  });
});

describe("the audit filters", () => {
  it("sends only the filters given, times as ISO 8601, and the page size and cursor", () => {
    const q = new URLSearchParams(auditQuery({ user: " bob ", action: "tool.call", resource: "", success: "false", from: "2030-01-02T03:04", to: "" }, "c1"));
    expect(Object.fromEntries(q)).toEqual({ user: "bob", action: "tool.call", success: "false", from: new Date("2030-01-02T03:04").toISOString(), limit: "25", cursor: "c1" });
  });
});

describe("the smart routing form", () => {
  it("leaves empty optional settings out and keeps keys it does not show", () => {
    const f = { enabled: true, threshold: "0.4", embeddingProvider: "" as const, openaiApiBaseUrl: " ", openaiApiKey: "", openaiApiEmbeddingModel: "", progressiveDisclosure: false };
    expect(toSmartRouting(f, { embeddingMaxTokens: 256, openaiApiKey: "old" })).toEqual({ embeddingMaxTokens: 256, enabled: true, progressiveDisclosure: false, threshold: 0.4 });
    expect(toSmartRouting({ ...f, embeddingProvider: "openai", openaiApiBaseUrl: "http://e/v1", openaiApiKey: "k", openaiApiEmbeddingModel: "m" }, {})).toMatchObject({
      embeddingProvider: "openai",
      openaiApiBaseUrl: "http://e/v1",
      openaiApiKey: "k",
      openaiApiEmbeddingModel: "m",
    });
  });
});

describe("client snippets", () => {
  it("are valid JSON in each client's shape, with the key left to fill in", () => {
    const s = clientSnippets("http://h/mcp");
    expect(JSON.parse(s.Cursor!)).toEqual({ mcpServers: { mcphub: { url: "http://h/mcp", headers: { Authorization: "Bearer <your MCPHub API key>" } } } });
    expect(JSON.parse(s["VS Code"]!).servers.mcphub).toMatchObject({ type: "http", url: "http://h/mcp" });
    expect(JSON.parse(s["Claude Desktop"]!).mcpServers.mcphub.args).toContain("http://h/mcp");
  });
});
