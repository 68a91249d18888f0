import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { createInterface } from "node:readline";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

/** One client session: what the measurements drive. */
export interface Session {
  /** One tools/call of echo; throws unless the answer is the echo. */
  call(): Promise<void>;
  /** One tools/list that really goes over the wire (no client cache). */
  list(): Promise<void>;
  close(): Promise<void>;
  /** The protocol version this session negotiated. */
  protocol: string;
  /** The server process this session spawned (floor paths). */
  serverPid?: number;
}

export interface BenchPath {
  label: string;
  /**
   * The floor talks to server-everything directly; hub paths go through the all-in-one hub,
   * cluster paths through nginx, gateway replicas and the supervisor; a reference talks to a
   * trivial HTTP echo server.
   */
  role: "floor" | "hub" | "cluster" | "reference";
  /**
   * How "16 concurrent sessions" is run: 16 sessions each with one call in flight, or one
   * session with 16 calls in flight (16 SDK clients over one stdio server process cannot exist:
   * a stdio server serves exactly one client).
   */
  concurrency: "sessions" | "inflight";
  open(): Promise<Session>;
  /** Frees what open() shared (connection pools). */
  dispose?(): void;
}

const MESSAGE = "hello";
const EXPECTED = `Echo: ${MESSAGE}`;
const CLIENT_INFO = { name: "mcphub-bench", version: "1.0.0" };
const SESSION_PROTOCOL = "2025-11-25";

function checkEcho(result: unknown): void {
  const content = (result as { content?: { type: string; text?: string }[] } | undefined)?.content;
  const text = content?.find((c) => c.type === "text")?.text;
  if (text !== EXPECTED) throw new Error(`unexpected echo result: ${JSON.stringify(result).slice(0, 300)}`);
}

function checkList(result: unknown, tool: string): void {
  const tools = (result as { tools?: { name: string }[] } | undefined)?.tools;
  if (!tools?.some((t) => t.name === tool)) throw new Error(`tools/list lacks ${tool}: ${JSON.stringify(result).slice(0, 300)}`);
}

async function sdkSession(client: Client, transport: StdioClientTransport | StreamableHTTPClientTransport, tool: string): Promise<Session> {
  await client.connect(transport);
  return {
    protocol: client.getNegotiatedProtocolVersion() ?? "?",
    serverPid: transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined,
    async call() {
      checkEcho(await client.callTool({ name: tool, arguments: { message: MESSAGE } }));
    },
    async list() {
      checkList(await client.listTools(undefined, { cacheMode: "bypass" }), tool);
    },
    async close() {
      if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

/** The official SDK client spawning server-everything over stdio: the floor. */
export function sdkStdio(everythingJs: string): BenchPath {
  return {
    label: "floor: SDK client → stdio",
    role: "floor",
    concurrency: "inflight",
    open: () =>
      sdkSession(
        new Client(CLIENT_INFO, { capabilities: {} }),
        new StdioClientTransport({ command: process.execPath, args: [everythingJs, "stdio"], stderr: "ignore" }),
        "echo",
      ),
  };
}

/** Extra request headers of an HTTP path: the credential, where the endpoint checks one. */
export type HttpHeaders = Record<string, string>;

/** The official SDK client over Streamable HTTP to a hub endpoint. */
export function sdkHttp(label: string, url: string, tool: string, role: BenchPath["role"] = "hub", headers: HttpHeaders = {}): BenchPath {
  return {
    label,
    role,
    concurrency: "sessions",
    open: () => sdkSession(new Client(CLIENT_INFO, { capabilities: {} }), new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }), tool),
  };
}

/**
 * JSON-RPC lines written straight to server-everything's stdin: the floor without the SDK
 * client's own cost, to set beside the raw HTTP path.
 */
export function rawStdio(everythingJs: string): BenchPath {
  return {
    label: "floor: raw JSON-RPC → stdio",
    role: "floor",
    concurrency: "inflight",
    async open() {
      const child: ChildProcess = spawn(process.execPath, [everythingJs, "stdio"], { stdio: ["pipe", "pipe", "ignore"] });
      const pending = new Map<number, { resolve: (m: RpcResponse) => void; reject: (e: Error) => void }>();
      let nextId = 1;
      let ended: Error | undefined;
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (!line.trim()) return;
        const msg = JSON.parse(line) as RpcResponse & { method?: string };
        if (msg.method !== undefined) return; // a notification or a request from the server: not ours
        const p = pending.get(msg.id as number);
        if (p) (pending.delete(msg.id as number), p.resolve(msg));
      });
      child.once("exit", (code) => {
        ended = new Error(`server-everything exited (${code})`);
        for (const p of pending.values()) p.reject(ended);
        pending.clear();
      });
      const rpc = (method: string, params: unknown) =>
        new Promise<RpcResponse>((resolve, reject) => {
          if (ended) return reject(ended);
          const id = nextId++;
          pending.set(id, { resolve, reject });
          child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
        });
      const init = await rpc("initialize", { protocolVersion: SESSION_PROTOCOL, capabilities: {}, clientInfo: CLIENT_INFO });
      child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
      return {
        protocol: String((init.result as { protocolVersion?: string } | undefined)?.protocolVersion ?? "?"),
        serverPid: child.pid,
        async call() {
          checkEcho(unwrap(await rpc("tools/call", { name: "echo", arguments: { message: MESSAGE } })));
        },
        async list() {
          checkList(unwrap(await rpc("tools/list", {})), "echo");
        },
        async close() {
          child.stdin!.end();
          const exited = new Promise((r) => child.once("exit", r));
          const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            await exited;
          }
          clearTimeout(timer);
        },
      };
    },
  };
}

interface RpcResponse {
  jsonrpc: "2.0";
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
}

function unwrap(res: RpcResponse): unknown {
  if (res.error) throw new Error(`JSON-RPC error ${res.error.code}: ${res.error.message}`);
  return res.result;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The stateless revision: no initialize, no session; every request names it in `_meta` and in headers. */
const STATELESS_PROTOCOL = "2026-07-28";
const STATELESS_ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": STATELESS_PROTOCOL,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
};

/**
 * node:http with a keep-alive Agent doing the same JSON-RPC POSTs as the SDK client (a 2025-11-25
 * session, JSON answers): the hub's own cost without the SDK client's. With `era: "stateless"`,
 * the same calls as 2026-07-28 requests: no session, the envelope in `_meta`, the SEP-2243 headers.
 */
export function rawHttp(
  label: string,
  url: string,
  tool: string,
  role: BenchPath["role"] = "hub",
  extraHeaders: HttpHeaders = {},
  era: "session" | "stateless" = "session",
): BenchPath {
  // One pool per path, made again after dispose() so the path can be measured twice.
  let agent: Agent | undefined;
  const target = new URL(url);
  const post = (payload: unknown, headers: Record<string, string>, method = "POST") =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const body = payload === undefined ? "" : JSON.stringify(payload);
      const req = request(
        {
          agent: (agent ??= new Agent({ keepAlive: true, maxSockets: 64 })),
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method,
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "content-length": Buffer.byteLength(body),
            ...extraHeaders,
            ...headers,
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  return {
    label,
    role,
    concurrency: "sessions",
    dispose() {
      agent?.destroy();
      agent = undefined;
    },
    async open() {
      if (era === "stateless") return statelessSession(post, tool);
      const init = await post({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: SESSION_PROTOCOL, capabilities: {}, clientInfo: CLIENT_INFO } }, {});
      const sessionId = init.headers["mcp-session-id"];
      if (init.status !== 200 || typeof sessionId !== "string") throw new Error(`initialize failed: ${init.status} ${init.body.slice(0, 300)}`);
      const protocol = String((responseOf(init, 0).result as { protocolVersion?: string } | undefined)?.protocolVersion ?? "?");
      const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": protocol };
      const note = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers);
      if (note.status !== 202) throw new Error(`notifications/initialized: ${note.status} ${note.body.slice(0, 300)}`);
      let nextId = 1;
      const rpc = async (method: string, params: unknown) => {
        const id = nextId++;
        const res = await post({ jsonrpc: "2.0", id, method, params }, headers);
        if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        return unwrap(responseOf(res, id));
      };
      return {
        protocol,
        call: async () => checkEcho(await rpc("tools/call", { name: tool, arguments: { message: MESSAGE } })),
        list: async () => checkList(await rpc("tools/list", {}), tool),
        close: async () => void (await post(undefined, headers, "DELETE").catch(() => undefined)),
      };
    },
  };
}

async function statelessSession(post: (payload: unknown, headers: Record<string, string>) => Promise<HttpAnswer>, tool: string): Promise<Session> {
  let nextId = 1;
  const rpc = async (method: string, params: Record<string, unknown>, name?: string) => {
    const id = nextId++;
    const headers: Record<string, string> = { "mcp-protocol-version": STATELESS_PROTOCOL, "mcp-method": method, ...(name ? { "mcp-name": name } : {}) };
    const res = await post({ jsonrpc: "2.0", id, method, params: { ...params, _meta: STATELESS_ENVELOPE } }, headers);
    if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    return unwrap(responseOf(res, id));
  };
  const discover = (await rpc("server/discover", {})) as { supportedVersions?: string[] } | undefined;
  if (!discover?.supportedVersions?.includes(STATELESS_PROTOCOL)) throw new Error(`server/discover does not offer ${STATELESS_PROTOCOL}: ${JSON.stringify(discover).slice(0, 300)}`);
  return {
    protocol: STATELESS_PROTOCOL,
    call: async () => checkEcho(await rpc("tools/call", { name: tool, arguments: { message: MESSAGE } }, tool)),
    list: async () => checkList(await rpc("tools/list", {}), tool),
    close: async () => {},
  };
}

/** The response with this id, from a JSON body or from an SSE body's data lines. */
function responseOf(res: HttpAnswer, id: number): RpcResponse {
  const type = String(res.headers["content-type"] ?? "");
  const messages: RpcResponse[] = type.includes("text/event-stream")
    ? res.body.split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5)) as RpcResponse)
    : [JSON.parse(res.body) as RpcResponse];
  const found = messages.find((m) => m.id === id);
  if (!found) throw new Error(`no response with id ${id} in ${res.body.slice(0, 300)}`);
  return found;
}
