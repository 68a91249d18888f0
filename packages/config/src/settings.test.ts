import { describe, expect, it } from "vitest";
import { ConfigError } from "./env.ts";
import { expandEnv } from "./expand.ts";
import { parseSettings } from "./settings-file.ts";

const parse = (value: unknown, env: NodeJS.ProcessEnv = {}) => parseSettings(JSON.stringify(value), env);

function issuesOf(value: unknown): string[] {
  try {
    parseSettings(typeof value === "string" ? value : JSON.stringify(value), {});
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected the settings to be rejected");
}

describe("settings schema", () => {
  it("applies MCPHub's defaults", () => {
    const { settings } = parse({ mcpServers: { a: { type: "stdio", command: "x" } } });
    expect(settings.mcpServers.a).toMatchObject({ type: "stdio", command: "x", args: [], env: {}, enabled: true });
    expect(settings.groups).toEqual([]);
    expect(settings.systemConfig.nameSeparator).toBe("-");
    expect(settings.systemConfig.routing).toMatchObject({ enableGlobalRoute: true, enableGroupNameRoute: true });
  });

  it("infers the type from command or url when it is missing", () => {
    const { settings } = parse({
      mcpServers: { a: { command: "x" }, b: { url: "http://h/sse" }, c: { url: "http://h/mcp" } },
    });
    expect(settings.mcpServers.a!.type).toBe("stdio");
    expect(settings.mcpServers.b!.type).toBe("sse");
    expect(settings.mcpServers.c!.type).toBe("streamable-http");
  });

  it("keeps fields it does not know, so files from other versions load", () => {
    const { settings } = parse({ mcpServers: { a: { command: "x", keepAliveInterval: 5 } }, users: [{ username: "u" }] });
    expect((settings.mcpServers.a as Record<string, unknown>).keepAliveInterval).toBe(5);
    expect((settings as Record<string, unknown>).users).toEqual([{ username: "u" }]);
  });

  it("names the JSON path and the reason of every problem at once", () => {
    const issues = issuesOf({
      mcpServers: { a: { type: "stdio" }, "b/c": { command: "x" }, d: { type: "sse", url: "not a url" } },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\$\.mcpServers\.a\.command: .*expected string/),
        expect.stringMatching(/^\$\.mcpServers\.b\/c: invalid name: must not contain '\/'/),
        expect.stringMatching(/^\$\.mcpServers\.d\.url: /),
      ]),
    );
  });

  it("refuses a group that names an unknown server, and duplicate group ids", () => {
    const issues = issuesOf({
      mcpServers: { a: { command: "x" } },
      groups: [
        { id: "g", name: "G", servers: ["a", "ghost"] },
        { id: "g", name: "H", servers: [] },
      ],
    });
    expect(issues).toContain('$.groups[0].servers[1]: unknown server "ghost"');
    expect(issues).toContain('$.groups[1].id: duplicate group id "g"');
  });

  it("reports broken JSON as such", () => {
    expect(issuesOf("{ not json")[0]).toMatch(/^\$: not valid JSON/);
  });

  it("refuses an unknown type with the list of valid ones", () => {
    expect(issuesOf({ mcpServers: { a: { type: "ws", url: "ws://x" } } })[0]).toMatch(/stdio, sse, streamable-http/);
  });
});

describe("${VAR} expansion", () => {
  it("expands ${VAR} and $VAR in every string and reports undefined ones", () => {
    const { settings, missingVars } = parse(
      { mcpServers: { a: { command: "$CMD", args: ["--token=${TOKEN}", "${NOPE}"], env: { K: "${TOKEN}" } } } },
      { CMD: "node", TOKEN: "s3cret" },
    );
    const a = settings.mcpServers.a as { command: string; args: string[]; env: Record<string, string> };
    expect(a.command).toBe("node");
    expect(a.args).toEqual(["--token=s3cret", ""]);
    expect(a.env.K).toBe("s3cret");
    expect(missingVars).toEqual(["NOPE"]);
  });

  it("leaves numbers, booleans and keys alone", () => {
    expect(expandEnv({ $KEY: 1, b: true, c: null }, { KEY: "x" })).toEqual({ $KEY: 1, b: true, c: null });
  });
});
