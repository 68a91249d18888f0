import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { connect as tcpConnect, type AddressInfo } from "node:net";
import { join } from "node:path";
import { freePort } from "../../../test/helpers/processes.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { EVERYTHING_JS, upstream } from "./helpers/servers.ts";

// Upstreams of every settings type: server-everything in its two HTTP modes as real child
// processes (Streamable HTTP on /mcp, legacy SSE on /sse + /message), and server-filesystem
// over stdio. Each HTTP server sits behind a pass-through recorder so the test can see the
// configured headers arrive.

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** A transparent HTTP proxy (streams both ways, SSE included) that records every request it forwards. */
async function recordingProxy(targetPort: number): Promise<{ port: number; seen: Recorded[]; server: Server }> {
  const seen: Recorded[] = [];
  const server = createHttpServer((req, res) => {
    seen.push({ method: req.method!, path: req.url!, headers: req.headers });
    const out = httpRequest({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      res.flushHeaders();
      up.pipe(res);
      // An upstream that dies mid-stream must drop the client's stream too, as a direct connection would.
      up.on("error", () => res.destroy());
      up.on("close", () => {
        if (!up.complete) res.destroy();
      });
    });
    out.on("error", () => res.destroy());
    res.on("close", () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, seen, server };
}


function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Starts server-everything in an HTTP mode on `port` and waits until it accepts connections. */
async function startEverything(mode: "streamableHttp" | "sse", port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [EVERYTHING_JS, mode], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  // Drain its chatter so a full pipe never blocks it.
  child.stdout!.resume();
  child.stderr!.resume();
  await waitUntil(() => accepts(port), 20_000, `server-everything ${mode} listening on ${port}`);
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
}

const HTTP_HEADER = { "x-mcphub-test": "via-streamable-http", authorization: "Bearer remote-http-key" };
const SSE_HEADER = { "x-mcphub-test": "via-sse", authorization: "Bearer remote-sse-key" };

let t: TestHub;
let httpPort: number;
let ssePort: number;
let httpChild: ChildProcess | undefined;
let sseChild: ChildProcess | undefined;
let httpProxy: Awaited<ReturnType<typeof recordingProxy>>;
let sseProxy: Awaited<ReturnType<typeof recordingProxy>>;
let filesDir: string;

beforeAll(async () => {
  httpPort = await freePort();
  ssePort = await freePort();
  [httpChild, sseChild] = await Promise.all([startEverything("streamableHttp", httpPort), startEverything("sse", ssePort)]);
  httpProxy = await recordingProxy(httpPort);
  sseProxy = await recordingProxy(ssePort);
  t = await startHub((dir) => {
    filesDir = join(dir, "files");
    mkdirSync(filesDir);
    return {
      mcpServers: {
        remotehttp: { type: "streamable-http", url: `http://127.0.0.1:${httpProxy.port}/mcp`, headers: HTTP_HEADER },
        remotesse: { type: "sse", url: `http://127.0.0.1:${sseProxy.port}/sse`, headers: SSE_HEADER },
        filesystem: upstream.filesystem(filesDir),
      },
    };
  }, { env: { REQUEST_TIMEOUT: "15000" } });
});

afterAll(async () => {
  await t?.close();
  await Promise.all([stop(httpChild), stop(sseChild)]);
  for (const p of [httpProxy, sseProxy]) {
    p?.server.closeAllConnections();
    p?.server.close();
  }
});

describe("remote upstreams", () => {
  it("lists the tools of the Streamable HTTP and the SSE server, prefixed", async () => {
    const c = await connect(`${t.base}/mcp`);
    const names = (await c.listTools()).tools.map((x) => x.name);
    expect(names).toContain("remotehttp-echo");
    expect(names).toContain("remotesse-echo");
    expect(names).toContain("remotehttp-get-sum");
    expect(names).toContain("remotesse-get-sum");
    await c.close();
  });

  it("calls echo through the hub on both", async () => {
    const c = await connect(`${t.base}/mcp`);
    expect(text(await c.callTool({ name: "remotehttp-echo", arguments: { message: "over http" } }))).toBe("Echo: over http");
    expect(text(await c.callTool({ name: "remotesse-echo", arguments: { message: "over sse" } }))).toBe("Echo: over sse");
    expect(text(await c.callTool({ name: "remotesse-get-sum", arguments: { a: 4, b: 5 } }))).toContain("9");
    await c.close();
    const one = await connect(`${t.base}/sse/remotesse`, "sse");
    expect(text(await one.callTool({ name: "echo", arguments: { message: "sse to sse" } }))).toBe("Echo: sse to sse");
    await one.close();
  });

  it("sends the configured headers on every request to the server", async () => {
    const c = await connect(`${t.base}/mcp/remotehttp`);
    await c.callTool({ name: "echo", arguments: { message: "headers" } });
    await c.close();

    expect(httpProxy.seen.filter((r) => r.method === "POST").length).toBeGreaterThanOrEqual(3); // initialize, initialized, calls
    for (const r of httpProxy.seen) {
      expect(r.headers["x-mcphub-test"], `${r.method} ${r.path}`).toBe(HTTP_HEADER["x-mcphub-test"]);
      expect(r.headers.authorization, `${r.method} ${r.path}`).toBe(HTTP_HEADER.authorization);
    }
    // The SSE transport: the GET that opens the stream and each POST to its /message endpoint.
    expect(sseProxy.seen.some((r) => r.method === "GET" && r.path.startsWith("/sse"))).toBe(true);
    expect(sseProxy.seen.some((r) => r.method === "POST" && r.path.startsWith("/message"))).toBe(true);
    for (const r of sseProxy.seen) {
      expect(r.headers["x-mcphub-test"], `${r.method} ${r.path}`).toBe(SSE_HEADER["x-mcphub-test"]);
      expect(r.headers.authorization, `${r.method} ${r.path}`).toBe(SSE_HEADER.authorization);
    }
  });

  it("reports each server's type and state in /api/health", async () => {
    const health = (await (await fetch(`${t.base}/api/health`)).json()) as { servers: { name: string; type: string; state: string }[] };
    const byName = Object.fromEntries(health.servers.map((s) => [s.name, s]));
    expect(byName.remotehttp).toMatchObject({ type: "streamable-http", state: "ready" });
    expect(byName.remotesse).toMatchObject({ type: "sse", state: "ready" });
    expect(byName.filesystem).toMatchObject({ type: "stdio", state: "ready" });
  });
});

describe("server-filesystem over stdio", () => {
  it("reads a file written into its directory", async () => {
    const c = await connect(`${t.base}/mcp`);
    const names = (await c.listTools()).tools.map((x) => x.name);
    expect(names).toContain("filesystem-read_text_file");
    const content = `hello from the hub ${Date.now()}\nsecond line\n`;
    const file = join(filesDir, "note.txt");
    await writeFile(file, content);
    expect(text(await c.callTool({ name: "filesystem-read_text_file", arguments: { path: file } }))).toBe(content);
    // Outside its allowed directory the server itself refuses: the error comes back as a tool error.
    const outside = await c.callTool({ name: "filesystem-read_text_file", arguments: { path: join(filesDir, "..", "mcp_settings.json") } });
    expect(outside.isError).toBe(true);
    expect(text(outside)).toMatch(/denied|outside|allowed/i);
    await c.close();
  });
});

describe("a remote server that goes away and comes back", () => {
  // Runs last: it restarts the HTTP children. A remote server that restarts has forgotten the
  // hub's session, so the hub must notice the loss, say so, and connect afresh.
  const state = (name: string) => t.hub.supervisor.status().find((s) => s.name === name)?.state;

  for (const [name, mode] of [["remotehttp", "streamableHttp"], ["remotesse", "sse"]] as const) {
    it(`${name}: fails fast while down, shows it, and serves again after the restart`, async () => {
      const port = mode === "sse" ? ssePort : httpPort;
      if (mode === "sse") await stop(sseChild);
      else await stop(httpChild);
      const c = await connect(`${t.base}/mcp`);
      const started = Date.now();
      await expect(c.callTool({ name: `${name}-echo`, arguments: { message: "anyone?" } })).rejects.toThrow(new RegExp(name));
      // Fails fast instead of waiting for REQUEST_TIMEOUT.
      expect(Date.now() - started).toBeLessThan(5000);
      await waitUntil(() => state(name) !== "ready", 10_000, `${name} no longer reported ready`);

      const child = await startEverything(mode, port);
      if (mode === "sse") sseChild = child;
      else httpChild = child;
      await waitUntil(() => state(name) === "ready", 20_000, `${name} ready again`);
      expect(text(await c.callTool({ name: `${name}-echo`, arguments: { message: "back" } }))).toBe("Echo: back");
      await c.close();
    });
  }
});
