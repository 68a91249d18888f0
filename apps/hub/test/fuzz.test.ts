import { Agent, request as httpRequest } from "node:http";
import { connect as tcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * A bounded, seeded fuzz run against the hub with accounts on: every REST and MCP route, every
 * kind of caller, odd paths (long, encoded, `__proto__`), odd headers and bodies under 64 KB,
 * on keep-alive connections; and raw requests whose bodies the headers do not declare. The
 * hub must answer each with a status below 500 and never reset a connection: a connection it
 * ends is announced with `Connection: close`.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);
const RAW_REQUESTS = 150;
const ADMIN_PASSWORD = "fuzz-admin-password";

/** mulberry32: small, seeded, the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (max: number) => Math.floor(random() * max);

let t: TestHub;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let port: number;
const credentials: (string | undefined)[] = [undefined, "Bearer mcphub_not-a-key", "Bearer x.y.z", "Basic YTpi"];

const SEGMENTS = ["everything", "g", "__proto__", "constructor", "%2e%2e", "..", "%00", "a".repeat(600), "ü", "%F0%9F%98%80", "%ZZ", "$smart", "00000000-0000-0000-0000-000000000000", "1", ""];
const PATHS = [
  "/mcp", "/mcp/:s", "/mcp/$smart/:s", "/sse/nope/:s/extra", "/messages", "/messages?sessionId=:s",
  "/api/health", "/api/health/ready", "/metrics", "/api/docs", "/api/auth/login", "/api/auth/me", "/api/auth/password",
  "/api/users", "/api/users/:s", "/api/keys", "/api/keys/:s", "/api/keys?all=:s", "/api/audit", "/api/audit?limit=:s&cursor=:s",
  "/api/settings", "/api/settings/revisions", "/api/servers", "/api/servers/:s", "/api/servers/:s/tools", "/api/servers/:s/tools/:s/call",
  "/api/groups", "/api/groups/:s", "/api/smart-routing/search", "/api/smart-routing/status", "/api/stats",
  "/.well-known/oauth-protected-resource/mcp/:s", "/:s", "/api/:s",
];
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
const CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "", "*/*"];

function jsonValue(depth: number): unknown {
  const kind = int(depth > 3 ? 5 : 8);
  switch (kind) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return pick([0, -1, 1e308, 2 ** 53 + 1, 0.5, Number.MAX_SAFE_INTEGER]);
    case 3: return pick(["", "x".repeat(int(2000)), "__proto__", "mcphub_", "${HOME}", "\u0000", "ü😀", "../../etc/passwd"]);
    case 4: return pick(SEGMENTS);
    case 5: return Array.from({ length: int(4) }, () => jsonValue(depth + 1));
    default: {
      const keys = ["name", "id", "username", "password", "role", "email", "accessType", "allowedServers", "allowedGroups", "servers", "mcpServers", "command", "args", "url", "jsonrpc", "method", "params", "id", "__proto__", "constructor", "arguments", "query", "limit", "type", "enabled", "tools"];
      return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(keys), jsonValue(depth + 1)]));
    }
  }
}

function body(): string | undefined {
  switch (int(7)) {
    case 0: return undefined;
    case 1: return JSON.stringify(jsonValue(0));
    case 2: return JSON.stringify({ jsonrpc: "2.0", id: int(1000), method: pick(["initialize", "tools/list", "tools/call", "ping", "prompts/get", "resources/read", "notifications/initialized", "nope"]), params: jsonValue(1) });
    case 3: return "[".repeat(int(5000)) + "]".repeat(int(5000));
    case 4: return JSON.stringify(jsonValue(0)).slice(0, int(40));
    case 5: return "x".repeat(int(60_000));
    default: return Buffer.from(Array.from({ length: int(300) }, () => int(256))).toString("latin1");
  }
}

function path(): string {
  return pick(PATHS).replace(/:s/g, () => pick(SEGMENTS));
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** One request on a pooled keep-alive connection; a reset or socket error rejects. */
function send(method: string, url: string, headers: Record<string, string>, payload?: string): Promise<{ status: number; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path: url, agent, headers: { ...headers, ...(payload !== undefined && { "content-length": String(Buffer.byteLength(payload, "latin1")) }) } }, (res) => {
      // A stream that stays open (an SSE answer) has said what counts: its status.
      if (String(res.headers["content-type"] ?? "").includes("text/event-stream")) {
        resolve({ status: res.statusCode!, connection: res.headers.connection });
        res.destroy();
        return;
      }
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload === undefined ? undefined : Buffer.from(payload, "latin1"));
  });
}

/** A raw request whose body follows headers that declare none; reads until the server closes. */
function sendUndeclared(raw: string): Promise<{ statuses: number[]; lastConnection?: string; reset: boolean }> {
  return new Promise((resolve) => {
    const socket = tcp(port, "127.0.0.1");
    let data = "";
    let reset = false;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (data += d));
    socket.on("error", () => (reset = true));
    socket.on("close", () => {
      const heads = [...data.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g)];
      const last = heads.at(-1)?.[2] ?? "";
      resolve({ statuses: heads.map((h) => Number(h[1])), lastConnection: /^connection: *(\S+)/im.exec(last)?.[1]?.toLowerCase(), reset });
    });
    socket.write(Buffer.from(raw, "latin1"));
  });
}

beforeAll(async () => {
  db = await freshDatabase("fuzz");
  t = await startHub(
    { mcpServers: { everything: upstream.everything() }, groups: [{ id: "g", name: "G", servers: ["everything"] }] },
    { database: db.url, adminPassword: ADMIN_PASSWORD, env: { MAX_BODY_BYTES: String(64 * 1024) } },
  );
  port = Number(new URL(t.base).port);
  const login = await fetch(`${t.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) });
  const token = ((await login.json()) as { token: string }).token;
  const key = await fetch(`${t.base}/api/keys`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name: "fuzz", accessType: "all" }) });
  credentials.push(`Bearer ${token}`, `Bearer ${((await key.json()) as { key: string }).key}`);
}, 60_000);
afterAll(async () => {
  agent.destroy();
  await t?.close();
  await db?.drop();
});

describe(`a bounded fuzz run (seed ${SEED})`, () => {
  it(`${REQUESTS} requests on keep-alive connections: no 5xx, no reset`, async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const worker = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const method = pick(METHODS);
        const url = path();
        const headers: Record<string, string> = { accept: pick(["application/json, text/event-stream", "application/json", "*/*", "text/html"]) };
        const auth = pick(credentials);
        if (auth) headers.authorization = auth;
        const type = pick(CONTENT_TYPES);
        if (type) headers["content-type"] = type;
        if (random() < 0.2) headers["mcp-session-id"] = pick(SEGMENTS.filter((s) => /^[\x21-\x7e]*$/.test(s)));
        if (random() < 0.2) headers["mcp-protocol-version"] = pick(["2025-11-25", "2026-07-28", "1999-01-01", "x"]);
        if (random() < 0.1) headers.origin = pick(["http://evil.example", "null", "http://127.0.0.1"]);
        const payload = method === "GET" || method === "HEAD" ? (random() < 0.2 ? body() : undefined) : body();
        try {
          const { status } = await send(method, url, headers, payload);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`${status} ${method} ${url.slice(0, 120)} body=${(payload ?? "").slice(0, 120)}`);
        } catch (err) {
          failures.push(`${(err as Error).message} ${method} ${url.slice(0, 120)} body=${(payload ?? "").slice(0, 120)}`);
        }
      }
    };
    await Promise.all([worker(REQUESTS / 4), worker(REQUESTS / 4), worker(REQUESTS / 4), worker(REQUESTS / 4)]);
    expect(failures).toEqual([]);
    // The run exercised refusals and successes alike.
    expect([...statuses.keys()].filter((s) => s < 300).length).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
  }, 120_000);

  it(`${RAW_REQUESTS} requests with bodies their headers do not declare: answered, the end announced, never reset`, async () => {
    const failures: string[] = [];
    for (let i = 0; i < RAW_REQUESTS; i++) {
      const method = pick(["GET", "DELETE", "HEAD", "OPTIONS"]);
      const auth = pick(credentials);
      const raw = `${method} ${path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth ? `Authorization: ${auth}\r\n` : ""}\r\n${body() || "{}"}`;
      const { statuses, lastConnection, reset } = await sendUndeclared(raw);
      if (reset || statuses.length === 0 || statuses.some((s) => s >= 500) || lastConnection !== "close") {
        failures.push(`${JSON.stringify({ statuses, lastConnection, reset })} ${raw.slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
