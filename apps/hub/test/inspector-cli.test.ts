import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { EVERYTHING_JS, upstream } from "./helpers/servers.ts";

/**
 * The official MCP Inspector's command-line mode, a client we did not write, against every kind
 * of endpoint over both transports. It is @modelcontextprotocol/inspector-cli 1.x: the 2.x
 * Inspector needs Node 22; this one runs on the SDK v1 client, so it also checks the hub against
 * the other SDK generation than our tests' client.
 */
const require = createRequire(import.meta.url);
const CLI_DIR = dirname(require.resolve("@modelcontextprotocol/inspector-cli/package.json"));
/** `mcp-inspector-cli --cli URL ...`, the documented command: it only starts WORKER with the same arguments. */
const LAUNCHER = join(CLI_DIR, (JSON.parse(readFileSync(join(CLI_DIR, "package.json"), "utf8")) as { bin: Record<string, string> }).bin["mcp-inspector-cli"]!);
/** The CLI proper (`URL --method ...`); most runs start it directly, which halves the processes started. */
const WORKER = join(CLI_DIR, "build", "index.js");

/** server-everything's static document resource and its exact text, to compare a read with. */
const DOC_URI = "demo://resource/static/document/features.md";
const DOC_TEXT = readFileSync(join(dirname(EVERYTHING_JS), "docs", "features.md"), "utf8");

type Json = Record<string, any>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** "Name: value" pairs, each passed as --header. */
  headers?: string[];
  /** Start the documented bin with --cli instead of the worker. */
  launcher?: boolean;
}

/** Runs the Inspector with this Node; no npx, no network but the hub on loopback. */
function inspector(url: string, transport: "http" | "sse", args: string[], opts: RunOptions = {}): Promise<Run> {
  // The transport is always given: the Inspector guesses "sse" for every URL not ending in /mcp, so /mcp/kit too.
  const argv = [url, "--transport", transport, ...(opts.headers ?? []).flatMap((h) => ["--header", h]), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, opts.launcher ? [LAUNCHER, "--cli", ...argv] : [WORKER, ...argv], {
      // The launcher starts the worker as `node` from PATH: put this Node first so both are the same.
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` },
      // The worker finds its own package.json (its client name) only as ../package.json of the working directory.
      cwd: dirname(WORKER),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON result the Inspector printed; a failed run fails the test with its stderr. */
async function json(url: string, transport: "http" | "sse", args: string[], opts: RunOptions = {}): Promise<Json> {
  const run = await inspector(url, transport, args, opts);
  const what = `inspector ${args.join(" ")} on ${url} (${transport})`;
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr.trim()}`);
  try {
    return JSON.parse(run.stdout) as Json;
  } catch {
    throw new Error(`${what} printed no JSON: ${run.stdout.slice(0, 500)}`);
  }
}

describe("the MCP Inspector CLI through every endpoint and transport", () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub((dir) => ({
      mcpServers: { everything: upstream.everything(), memory: upstream.memory(join(dir, "memory.jsonl")) },
      groups: [{ id: "kit", name: "Kit", servers: ["memory", { name: "everything", tools: ["echo", "get-sum"] }] }],
    }));
  });
  afterAll(() => t?.close());

  // `path` follows /mcp or /sse; `name` is how the endpoint names server-everything's tools and prompts.
  const endpoints = [
    { kind: "global", path: "", name: (n: string) => `everything-${n}` },
    { kind: "group", path: "/kit", name: (n: string) => `everything-${n}` },
    { kind: "server", path: "/everything", name: (n: string) => n },
  ];
  const cases = endpoints.flatMap((e) => (["http", "sse"] as const).map((transport) => ({ ...e, transport })));

  it.each(cases)("$kind endpoint over $transport: lists and calls tools, prompts and resources", async ({ kind, path, name, transport }) => {
    const url = `${t.base}/${transport === "http" ? "mcp" : "sse"}${path}`;
    const message = `inspector ${kind} ${transport}`;
    const run = (...args: string[]) => json(url, transport, ["--method", ...args]);
    // One Inspector process per method, all at once: each connects, initializes and asks one thing.
    const [tools, call, prompts, prompt, resources, read] = await Promise.all([
      run("tools/list"),
      run("tools/call", "--tool-name", name("echo"), "--tool-arg", `message=${message}`),
      run("prompts/list"),
      run("prompts/get", "--prompt-name", name("args-prompt"), "--prompt-args", "city=Lyon"),
      run("resources/list"),
      run("resources/read", "--uri", DOC_URI),
    ]);

    const toolNames: string[] = tools.tools.map((x: { name: string }) => x.name);
    if (kind === "server") {
      expect(toolNames).toContain("echo");
      expect(toolNames.filter((n) => n.startsWith("everything-") || n.startsWith("memory-"))).toEqual([]);
      expect(toolNames).not.toContain("read_graph");
    } else {
      expect(toolNames).toContain("memory-read_graph");
      const everything = toolNames.filter((n) => n.startsWith("everything-")).sort();
      if (kind === "group") expect(everything).toEqual(["everything-echo", "everything-get-sum"]);
      else expect(everything.length).toBeGreaterThan(2);
      expect(toolNames.every((n) => n.startsWith("everything-") || n.startsWith("memory-"))).toBe(true);
    }

    expect(call.isError ?? false).toBe(false);
    expect(call.content).toEqual([{ type: "text", text: `Echo: ${message}` }]);

    const promptNames = prompts.prompts.map((p: { name: string }) => p.name);
    expect(promptNames).toEqual(expect.arrayContaining([name("simple-prompt"), name("args-prompt")]));
    expect(prompt.messages).toEqual([{ role: "user", content: { type: "text", text: "What's weather in Lyon?" } }]);

    expect(resources.resources.map((r: { uri: string }) => r.uri)).toContain(DOC_URI);
    expect(read.contents).toEqual([{ uri: DOC_URI, mimeType: "text/markdown", text: DOC_TEXT }]);
  });
});

describe("the MCP Inspector CLI with the settings' bearer key", () => {
  const KEY = "inspector-shared-bearer-key";
  let t: TestHub;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  // Credentials are checked only where the auth service runs (without it the hub is SKIP_AUTH-open), and it needs the database.
  beforeAll(async () => {
    db = await freshDatabase("inspector_cli");
    t = await startHub(
      { mcpServers: { everything: upstream.everything() }, systemConfig: { routing: { enableBearerAuth: true, bearerAuthKey: KEY } } },
      { database: db.url, adminPassword: "inspector-admin-password" },
    );
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("works with --header Authorization and fails with a 401 without it", async () => {
    const call = ["--method", "tools/call", "--tool-name", "everything-echo", "--tool-arg", "message=keyed"];
    const headers = [`Authorization: Bearer ${KEY}`];
    const [http, sse, bareHttp, bareSse, wrong] = await Promise.all([
      // Once through the documented `mcp-inspector-cli --cli`, which passes the header on to the worker.
      json(`${t.base}/mcp`, "http", call, { headers, launcher: true }),
      json(`${t.base}/sse`, "sse", call, { headers }),
      inspector(`${t.base}/mcp`, "http", call),
      inspector(`${t.base}/sse`, "sse", call),
      inspector(`${t.base}/mcp`, "http", call, { headers: ["Authorization: Bearer not-the-key"] }),
    ]);
    expect(http.content).toEqual([{ type: "text", text: "Echo: keyed" }]);
    expect(sse.content).toEqual([{ type: "text", text: "Echo: keyed" }]);
    // Each refusal ends the run at connect, with the hub's reason in the Inspector's message.
    for (const run of [bareHttp, bareSse, wrong]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("Failed to connect to MCP server");
    }
    expect(bareHttp.stderr).toContain("Unauthorized (missing_credentials)");
    expect(bareSse.stderr).toContain("Non-200 status code (401)");
    expect(wrong.stderr).toContain("Unauthorized (token_invalid)");
  });
});
