import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * Every route the hub registers, called for real by every kind of caller, against a table of
 * the status each one deserves. A route missing from the table fails the first test: a new
 * route must be classified (public, MCP, signed-in, admin) before it ships.
 */

/** The secret startHub gives the in-process auth service; an expired token is forged with it. */
const JWT_SECRET = "test-secret-for-session-tokens-0123456789";
const ADMIN_PASSWORD = "matrix-admin-password";
const ALICE_PASSWORD = "matrix-alice-password";

type Json = Record<string, any>;

const PRINCIPALS = [
  "anonymous",
  /** A well-formed API key that was never issued. */
  "wrongKey",
  /** The admin's own session token, re-signed with exp in the past: only its expiry is wrong. */
  "expiredToken",
  /** An API key with accessType "servers", allowedServers ["memory"] (alice's). */
  "keyServers",
  /** An API key with accessType "groups", allowedGroups ["g"] (alice's). */
  "keyGroups",
  /** An unscoped API key of the admin, as Authorization: Bearer: a key never carries its owner's admin rights. */
  "keyAll",
  /** The same key as x-api-key. */
  "keyAllHeader",
  /** alice, role user, session token. */
  "user",
  /** Last: its successful deletes would otherwise remove what the others are refused on. */
  "admin",
] as const;
type Principal = (typeof PRINCIPALS)[number];

const API_KEYS: Principal[] = ["keyServers", "keyGroups", "keyAll", "keyAllHeader"];
const BAD_CREDENTIALS: Principal[] = ["anonymous", "wrongKey", "expiredToken"];

/**
 * How a route decides who may call it.
 * - public: everyone, credentials or not.
 * - mcp: a valid credential whose scope covers the endpoint's target (401 without one, 403 out of scope).
 * - signedIn: a user's session token (auth service: API keys get 401, they are for MCP endpoints).
 * - authAdmin: an admin's session token on the auth service (users): user 403, API keys 401.
 * - settingsAdmin: an admin's session token on the supervisor's settings API: user and API keys 403.
 */
type Kind = { public: true } | { mcp: string } | { signedIn: true } | { authAdmin: true } | { settingsAdmin: true };

interface Call {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Closes what the call needed open (the SSE stream behind POST /messages). */
  cleanup?: () => void;
}

interface Route {
  kind: Kind;
  /** Status for a caller that is let through. */
  ok: number;
  call: (p: Principal) => Promise<Call> | Call;
  /** Runs after a let-through call (e.g. a password change hands out a new token). */
  after?: (p: Principal, body: Json) => void;
}

let t: TestHub;
let db: Awaited<ReturnType<typeof freshDatabase>>;
const creds: Partial<Record<Principal, string>> = {};
const ids: Record<string, string> = {};
const keys: Record<string, string> = {};

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** An HS256 JWT, as @fastify/jwt signs them. */
function signJwt(payload: Record<string, unknown>): string {
  const head = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(payload)}`;
  return `${head}.${createHmac("sha256", JWT_SECRET).update(head).digest("base64url")}`;
}

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

function headersOf(p: Principal): Record<string, string> {
  if (p === "anonymous") return {};
  if (p === "keyAllHeader") return { "x-api-key": creds.keyAll! };
  return { authorization: `Bearer ${creds[p]!}` };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One request on its own connection. An SSE answer (a stream that stays open) is cut after
 * `until` matches what arrived, or at once; the status and headers are what counts.
 */
function send(method: string, path: string, headers: Record<string, string>, body?: unknown, until?: (received: string) => boolean): Promise<Answer> {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.base}${path}`,
      { method, agent: false, headers: { ...(payload !== undefined && { "content-type": "application/json" }), ...headers } },
      (res) => {
        let received = "";
        const done = () => {
          resolve({ status: res.statusCode!, headers: res.headers, text: received });
          req.destroy();
        };
        const streaming = String(res.headers["content-type"] ?? "").includes("text/event-stream");
        if (streaming && !until) return done();
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          received += chunk;
          if (streaming && until?.(received)) done();
        });
        res.on("end", done);
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    req.end(payload);
  });
}

const api = async (method: string, path: string, p: Principal, body?: unknown): Promise<{ status: number; body: Json }> => {
  const res = await send(method, path, headersOf(p), body);
  return { status: res.status, body: res.text ? (JSON.parse(res.text) as Json) : {} };
};

const MCP_HEADERS = { accept: "application/json, text/event-stream" };
const initialize = (id = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "authorization-matrix", version: "1" } },
});

/** Whether this caller may open a session on /mcp/<target> ("" = /mcp). */
function mayUse(p: Principal, target: string): boolean {
  if (BAD_CREDENTIALS.includes(p)) return false;
  if (p === "keyGroups") return target === "g" || target === "$smart/g";
  if (p === "keyServers") return ["", "g", "memory", "$smart/g"].includes(target);
  return true;
}

/** A Streamable HTTP session on /mcp/<target>, opened by `p`. */
async function openSession(target: string, p: Principal): Promise<string> {
  const res = await send("POST", `/mcp${target ? `/${target}` : ""}`, { ...MCP_HEADERS, ...headersOf(p) }, initialize());
  const id = res.headers["mcp-session-id"];
  if (res.status !== 200 || typeof id !== "string") throw new Error(`${p} could not open a session on /mcp/${target}: ${res.status} ${res.text}`);
  return id;
}

/** A legacy SSE session, kept open until `close`; its POST endpoint is in `path`. */
async function openSse(p: Principal): Promise<{ path: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${t.base}/sse`, { agent: false, headers: { accept: "text/event-stream", ...headersOf(p) } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${p} could not open /sse: ${res.statusCode}`));
      let received = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        received += chunk;
        const m = /event: endpoint\ndata: (\S+)\n/.exec(received);
        if (!m) return;
        req.setTimeout(0);
        resolve({ path: m[1]!.slice(new URL(t.base).pathname.replace(/\/$/, "").length), close: () => req.destroy() });
      });
    });
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`${p}: /sse named no endpoint within 15 s`)));
    req.end();
  });
}

/** The session a call on /mcp/<target> names: the caller's own when it may open one, else the admin's (a session id is no credential). */
const sessionFor = (target: string, p: Principal) => openSession(target, mayUse(p, target) ? p : "admin");

const spareServer = () => ({ ...upstream.everything(), enabled: false });

const mcpRoutes = (url: string, target: string): Record<string, Route> => {
  const get: Route = {
    kind: { mcp: target },
    ok: 200,
    call: async (p) => ({ path: url, headers: { accept: "text/event-stream", "mcp-session-id": await sessionFor(target, p) } }),
  };
  return {
    // An initialize POST: the start of every session.
    [`POST ${url}`]: { kind: { mcp: target }, ok: 200, call: () => ({ path: url, body: initialize(), headers: MCP_HEADERS }) },
    // The GET stream needs a session: the caller's own, so a let-through caller gets its 200 stream.
    [`GET ${url}`]: get,
    [`HEAD ${url}`]: get,
    [`DELETE ${url}`]: { kind: { mcp: target }, ok: 200, call: async (p) => ({ path: url, headers: { "mcp-session-id": await sessionFor(target, p) } }) },
  };
};

/** Who may call what. Keys are `METHOD url` exactly as Fastify registered them. */
const ROUTES: Record<string, Route> = {
  // Public: health, docs, sign-in and the OAuth protected-resource metadata.
  "GET /api/health": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/health" }) },
  "HEAD /api/health": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/health" }) },
  "GET /api/health/ready": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/health/ready" }) },
  "HEAD /api/health/ready": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/health/ready" }) },
  // Metrics name servers and tools: for admins and Prometheus' METRICS_TOKEN (metrics-access.test.ts).
  "GET /metrics": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/metrics" }) },
  "HEAD /metrics": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/metrics" }) },
  "GET /api/docs": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/docs" }) },
  // The dashboard's page and files: public, as any web page (the API behind it is not).
  "GET /": { kind: { public: true }, ok: 200, call: () => ({ path: "/" }) },
  "HEAD /": { kind: { public: true }, ok: 200, call: () => ({ path: "/" }) },
  "GET /*": { kind: { public: true }, ok: 200, call: () => ({ path: "/servers/everything" }) },
  "HEAD /*": { kind: { public: true }, ok: 200, call: () => ({ path: "/servers/everything" }) },
  "HEAD /api/docs": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/docs" }) },
  "POST /api/auth/login": { kind: { public: true }, ok: 200, call: () => ({ path: "/api/auth/login", body: { username: "alice", password: ALICE_PASSWORD } }) },
  "GET /.well-known/oauth-protected-resource": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource" }) },
  "HEAD /.well-known/oauth-protected-resource": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource" }) },
  "GET /.well-known/oauth-protected-resource/mcp": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource/mcp" }) },
  "HEAD /.well-known/oauth-protected-resource/mcp": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource/mcp" }) },
  "GET /.well-known/oauth-protected-resource/mcp/:target": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource/mcp/g" }) },
  "HEAD /.well-known/oauth-protected-resource/mcp/:target": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource/mcp/g" }) },
  "GET /.well-known/oauth-protected-resource/mcp/:target/:group": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource/mcp/$smart/g" }) },
  "HEAD /.well-known/oauth-protected-resource/mcp/:target/:group": { kind: { public: true }, ok: 200, call: () => ({ path: "/.well-known/oauth-protected-resource/mcp/$smart/g" }) },

  // MCP, Streamable HTTP: the global endpoint, and one server's endpoint (out of scope for both scoped keys).
  ...mcpRoutes("/mcp", ""),
  ...Object.fromEntries(Object.entries(mcpRoutes("/mcp/everything", "everything")).map(([k, v]) => [k.replace("/mcp/everything", "/mcp/:target"), v])),
  // Smart routing over group g: its keys may use it, a server-scoped key too (its scope then limits the search).
  ...Object.fromEntries(Object.entries(mcpRoutes("/mcp/$smart/g", "$smart/g")).map(([k, v]) => [k.replace("/mcp/$smart/g", "/mcp/:target/:group"), v])),
  // MCP, legacy SSE: the stream, and the POST endpoint it names.
  "GET /sse": { kind: { mcp: "" }, ok: 200, call: () => ({ path: "/sse", headers: { accept: "text/event-stream" } }) },
  "HEAD /sse": { kind: { mcp: "" }, ok: 200, call: () => ({ path: "/sse", headers: { accept: "text/event-stream" } }) },
  "GET /sse/:target": { kind: { mcp: "everything" }, ok: 200, call: () => ({ path: "/sse/everything", headers: { accept: "text/event-stream" } }) },
  "HEAD /sse/:target": { kind: { mcp: "everything" }, ok: 200, call: () => ({ path: "/sse/everything", headers: { accept: "text/event-stream" } }) },
  "GET /sse/:target/:group": { kind: { mcp: "$smart/g" }, ok: 200, call: () => ({ path: "/sse/$smart/g", headers: { accept: "text/event-stream" } }) },
  "HEAD /sse/:target/:group": { kind: { mcp: "$smart/g" }, ok: 200, call: () => ({ path: "/sse/$smart/g", headers: { accept: "text/event-stream" } }) },
  "POST /messages": {
    kind: { mcp: "" },
    ok: 202,
    call: async (p) => {
      const sse = await openSse(mayUse(p, "") ? p : "admin");
      return { path: sse.path, body: initialize(), cleanup: sse.close };
    },
  },

  // Signed-in users (session token): their own account, keys and audit entries.
  "GET /api/auth/me": { kind: { signedIn: true }, ok: 200, call: () => ({ path: "/api/auth/me" }) },
  "HEAD /api/auth/me": { kind: { signedIn: true }, ok: 200, call: () => ({ path: "/api/auth/me" }) },
  "PUT /api/auth/password": {
    kind: { signedIn: true },
    ok: 200,
    call: (p) => {
      const password = p === "admin" ? ADMIN_PASSWORD : ALICE_PASSWORD;
      return { path: "/api/auth/password", body: { currentPassword: password, newPassword: password } };
    },
    // Tokens signed before a password change stop working: carry on with the new one.
    after: (p, body) => void (creds[p] = body.token as string),
  },
  "GET /api/keys": { kind: { signedIn: true }, ok: 200, call: () => ({ path: "/api/keys" }) },
  "HEAD /api/keys": { kind: { signedIn: true }, ok: 200, call: () => ({ path: "/api/keys" }) },
  "POST /api/keys": { kind: { signedIn: true }, ok: 201, call: () => ({ path: "/api/keys", body: { name: "matrix", accessType: "all" } }) },
  "DELETE /api/keys/:id": { kind: { signedIn: true }, ok: 204, call: (p) => ({ path: `/api/keys/${p === "user" ? ids.aliceSpareKey : ids.adminSpareKey}` }) },
  "GET /api/audit": { kind: { signedIn: true }, ok: 200, call: () => ({ path: "/api/audit" }) },
  "HEAD /api/audit": { kind: { signedIn: true }, ok: 200, call: () => ({ path: "/api/audit" }) },

  // Admins (session token): users.
  "GET /api/users": { kind: { authAdmin: true }, ok: 200, call: () => ({ path: "/api/users" }) },
  "HEAD /api/users": { kind: { authAdmin: true }, ok: 200, call: () => ({ path: "/api/users" }) },
  "POST /api/users": { kind: { authAdmin: true }, ok: 201, call: (p) => ({ path: "/api/users", body: { username: `made-by-${p}`, password: "a-new-users-password", role: "admin" } }) },
  "GET /api/users/:id": { kind: { authAdmin: true }, ok: 200, call: () => ({ path: `/api/users/${ids.alice}` }) },
  "HEAD /api/users/:id": { kind: { authAdmin: true }, ok: 200, call: () => ({ path: `/api/users/${ids.alice}` }) },
  "PUT /api/users/:id": { kind: { authAdmin: true }, ok: 200, call: () => ({ path: `/api/users/${ids.putTarget}`, body: { role: "admin" } }) },
  "DELETE /api/users/:id": { kind: { authAdmin: true }, ok: 204, call: () => ({ path: `/api/users/${ids.delTarget}` }) },

  // Admins (session token): servers, groups, settings.
  "GET /api/settings": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/settings" }) },
  "HEAD /api/settings": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/settings" }) },
  "PUT /api/settings": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/settings", body: t.hub.settings.settings.raw }) },
  "GET /api/settings/revisions": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/settings/revisions" }) },
  "HEAD /api/settings/revisions": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/settings/revisions" }) },
  "GET /api/servers": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers" }) },
  "HEAD /api/servers": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers" }) },
  "POST /api/servers": { kind: { settingsAdmin: true }, ok: 201, call: (p) => ({ path: "/api/servers", body: { name: `added-by-${p}`, ...spareServer() } }) },
  "GET /api/servers/:name": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers/everything" }) },
  // A disabled spare: an admin gets past the guard to the 409, and nothing the other calls use restarts.
  "POST /api/servers/:name/restart": { kind: { settingsAdmin: true }, ok: 409, call: () => ({ path: "/api/servers/spare-put/restart" }) },
  "GET /api/stats": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/stats" }) },
  "HEAD /api/stats": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/stats" }) },
  "GET /api/servers/:name/tools": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers/everything/tools" }) },
  "HEAD /api/servers/:name/tools": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers/everything/tools" }) },
  "POST /api/servers/:name/tools/:tool/call": {
    kind: { settingsAdmin: true },
    ok: 200,
    call: () => ({ path: "/api/servers/everything/tools/echo/call", body: { arguments: { message: "matrix" } } }),
  },
  "HEAD /api/servers/:name": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers/everything" }) },
  "PUT /api/servers/:name": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/servers/spare-put", body: spareServer() }) },
  "DELETE /api/servers/:name": { kind: { settingsAdmin: true }, ok: 204, call: () => ({ path: "/api/servers/spare-del" }) },
  "GET /api/groups": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/groups" }) },
  "HEAD /api/groups": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/groups" }) },
  "POST /api/groups": { kind: { settingsAdmin: true }, ok: 201, call: (p) => ({ path: "/api/groups", body: { id: `added-by-${p}`, name: "added", servers: ["memory"] } }) },
  "GET /api/groups/:id": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/groups/g" }) },
  "HEAD /api/groups/:id": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/groups/g" }) },
  "PUT /api/groups/:id": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/groups/group-put", body: { name: "renamed", servers: ["memory"] } }) },
  "DELETE /api/groups/:id": { kind: { settingsAdmin: true }, ok: 204, call: () => ({ path: "/api/groups/group-del" }) },

  // Admins (session token): smart routing's search, index status and rebuild.
  "POST /api/smart-routing/search": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/smart-routing/search", body: { query: "remember a fact", group: "g" } }) },
  "GET /api/smart-routing/status": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/smart-routing/status" }) },
  "HEAD /api/smart-routing/status": { kind: { settingsAdmin: true }, ok: 200, call: () => ({ path: "/api/smart-routing/status" }) },
  "POST /api/smart-routing/reindex": { kind: { settingsAdmin: true }, ok: 202, call: () => ({ path: "/api/smart-routing/reindex" }) },
};

/** The status `p` must get on a route of this kind. */
function expected(route: Route, p: Principal): number {
  const { kind, ok } = route;
  if ("public" in kind) return ok;
  if ("mcp" in kind) {
    if (BAD_CREDENTIALS.includes(p)) return 401;
    return mayUse(p, kind.mcp) ? ok : 403;
  }
  if (BAD_CREDENTIALS.includes(p)) return 401;
  if ("settingsAdmin" in kind) {
    // The supervisor reads Authorization only: a key sent as x-api-key is no credential there.
    if (p === "keyAllHeader") return 401;
    return p === "admin" ? ok : 403;
  }
  // The auth service takes session tokens only; an API key there is refused as a credential.
  if (API_KEYS.includes(p)) return 401;
  if ("authAdmin" in kind) return p === "admin" ? ok : 403;
  return ok;
}

/**
 * Every `METHOD url` Fastify registered, from printRoutes' tree (Fastify has no public route
 * list, and the hub's routes are all registered before buildHub returns, too early for an
 * onRoute hook of ours). Each parsed route is confirmed with hasRoute.
 */
function registeredRoutes(): string[] {
  const app = t.hub.app;
  const routes: string[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    if (!line.trim()) continue;
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) throw new Error(`cannot read this printRoutes line: ${JSON.stringify(line)}`);
    const depth = m[1]!.length / 4;
    parents.length = depth;
    const url = (parents[depth - 1] ?? "") + m[2]!;
    parents.push(url);
    for (const method of m[3]?.split(", ") ?? []) {
      if (!app.hasRoute({ method: method as "GET", url })) throw new Error(`printRoutes named ${method} ${url}, which hasRoute does not know`);
      routes.push(`${method} ${url}`);
    }
  }
  return routes;
}

let dashboardDir: string | undefined;

/** A dashboard folder with just a page: the static routes answer without a Vite build. */
async function pageOnlyDashboard(): Promise<string> {
  dashboardDir = await mkdtemp(join(tmpdir(), "mcphub-matrix-dashboard-"));
  await writeFile(join(dashboardDir, "index.html"), '<!doctype html><base href="/"><title>MCPHub</title>');
  return dashboardDir;
}

beforeAll(async () => {
  db = await freshDatabase("authz_matrix");
  t = await startHub(
    (dir) => ({
      mcpServers: {
        everything: upstream.everything(),
        memory: upstream.memory(`${dir}/memory.jsonl`),
        "spare-put": spareServer(),
        "spare-del": spareServer(),
      },
      groups: [
        { id: "g", name: "G", servers: ["memory"] },
        { id: "group-put", name: "P", servers: ["memory"] },
        { id: "group-del", name: "D", servers: ["memory"] },
      ],
    }),
    { database: db.url, adminPassword: ADMIN_PASSWORD, waitFor: ["everything", "memory"], dashboardDir: await pageOnlyDashboard() },
  );
  const login = async (username: string, password: string) => {
    const res = await api("POST", "/api/auth/login", "anonymous", { username, password });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.token as string;
  };
  creds.admin = await login("admin", ADMIN_PASSWORD);
  const newUser = async (username: string, password = "throwaway-password") => {
    const res = await api("POST", "/api/users", "admin", { username, password, role: "user" });
    if (res.status !== 201) throw new Error(`create user ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.user.id as string;
  };
  ids.alice = await newUser("alice", ALICE_PASSWORD);
  ids.putTarget = await newUser("put-target");
  ids.delTarget = await newUser("del-target");
  ids.admin = jwtPayload(creds.admin).sub as string;
  creds.user = await login("alice", ALICE_PASSWORD);
  const newKey = async (owner: Principal, body: Json) => {
    const res = await api("POST", "/api/keys", owner, body);
    if (res.status !== 201) throw new Error(`create key ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { key: string; apiKey: { id: string } };
  };
  const all = await newKey("admin", { name: "admin-all", accessType: "all" });
  creds.keyAll = all.key;
  ids.adminKey = all.apiKey.id;
  creds.keyServers = (await newKey("user", { name: "alice-memory", accessType: "servers", allowedServers: ["memory"] })).key;
  creds.keyGroups = (await newKey("user", { name: "alice-g", accessType: "groups", allowedGroups: ["g"] })).key;
  const aliceAll = await newKey("user", { name: "alice-all", accessType: "all" });
  keys.aliceAll = aliceAll.key;
  ids.aliceKey = aliceAll.apiKey.id;
  ids.aliceSpareKey = (await newKey("user", { name: "alice-spare", accessType: "all" })).apiKey.id;
  ids.adminSpareKey = (await newKey("admin", { name: "admin-spare", accessType: "all" })).apiKey.id;
  creds.wrongKey = `mcphub_${randomBytes(32).toString("base64url")}`;
  const now = Math.floor(Date.now() / 1000);
  creds.expiredToken = signJwt({ ...jwtPayload(creds.admin), iat: now - 7200, exp: now - 3600 });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await db?.drop();
  if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
});

describe("the authorization matrix", () => {
  it("classifies every route the hub registers", () => {
    const registered = registeredRoutes();
    // The parser must have seen the tree, not an empty or changed format.
    expect(registered).toEqual(expect.arrayContaining(["POST /mcp", "GET /api/servers/:name", "DELETE /api/keys/:id", "POST /api/auth/login"]));
    const missing = registered.filter((r) => !(r in ROUTES));
    const stale = Object.keys(ROUTES).filter((r) => !registered.includes(r));
    expect({ missing, stale }, "add the missing routes to ROUTES with who may call them; drop the stale ones").toEqual({ missing: [], stale: [] });
  });

  it("the forged expired token is the admin's real token but for its expiry", async () => {
    // Re-signed with a future exp it is accepted: only the expiry can be why it is refused.
    const now = Math.floor(Date.now() / 1000);
    const fresh = signJwt({ ...jwtPayload(creds.expiredToken!), iat: now, exp: now + 600 });
    const ok = await send("GET", "/api/auth/me", { authorization: `Bearer ${fresh}` });
    expect(ok.status).toBe(200);
    const refused = await send("GET", "/api/auth/me", { authorization: `Bearer ${creds.expiredToken}` });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "HUB_AUTH_TOKEN_EXPIRED" } });
  });

  it("answers every route with the status each caller deserves", async () => {
    const mismatches: string[] = [];
    let calls = 0;
    for (const [route, def] of Object.entries(ROUTES)) {
      const [method] = route.split(" ") as [string];
      for (const p of PRINCIPALS) {
        const call = await def.call(p);
        const res = await send(method, call.path, { ...headersOf(p), ...call.headers }, call.body);
        call.cleanup?.();
        calls++;
        const want = expected(def, p);
        if (res.status !== want) {
          mismatches.push(`${route} as ${p} (${method} ${call.path}): got ${res.status}, expected ${want}: ${res.text.slice(0, 200)}`);
          continue;
        }
        if (res.status === 401 && "mcp" in def.kind) {
          // An MCP client learns where to get a credential from the 401 (RFC 9728).
          const challenge = String(res.headers["www-authenticate"] ?? "");
          if (!challenge.includes(`resource_metadata="${t.base}/.well-known/oauth-protected-resource"`)) {
            mismatches.push(`${route} as ${p}: 401 without resource_metadata in WWW-Authenticate (${challenge || "none"})`);
          }
          if (p === "expiredToken" && !challenge.includes('error_description="token_expired"')) {
            mismatches.push(`${route} as ${p}: 401 does not say the token expired (${challenge})`);
          }
        }
        if (res.status === want && want < 300 && def.after && method !== "HEAD") def.after(p, JSON.parse(res.text) as Json);
      }
    }
    expect(mismatches).toEqual([]);
    expect(calls).toBe(Object.keys(ROUTES).length * PRINCIPALS.length);
    // Some 1,000 requests one after another, on a machine the other test files share: more than the default 30 s there.
  }, 120_000);
});

describe("scoped API keys", () => {
  const client = async (url: string, key: string) => {
    const c = new Client({ name: "scoped", version: "1" });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${t.base}${url}`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    return c;
  };

  it("a servers key sees and calls only its servers, on /mcp and on its server's endpoint", async () => {
    const c = await client("/mcp", creds.keyServers!);
    const names = (await c.listTools()).tools.map((x) => x.name);
    expect(names).toContain("memory-read_graph");
    expect(names.filter((n) => !n.startsWith("memory-"))).toEqual([]);
    const refused = await c.callTool({ name: "everything-echo", arguments: { message: "out of scope" } }).then(
      (r) => (r.isError ? text(r) : "answered"),
      (e: Error) => e.message,
    );
    expect(refused).not.toBe("answered");
    expect(refused).not.toContain("Echo: out of scope");
    // Out of scope reads exactly as a name that exists nowhere: a key cannot map other servers' tools.
    const answer = (name: string) => c.callTool({ name, arguments: {} }).then((r) => JSON.stringify(r), (e: Error) => e.message);
    expect(await answer("everything-echo")).toBe((await answer("everything-no-such-tool")).replace("everything-no-such-tool", "everything-echo"));
    expect(await answer("everything-echo")).toMatch(/unknown tool "everything-echo"/);
    await c.close();
    const own = await client("/mcp/memory", creds.keyServers!);
    expect((await own.listTools()).tools.map((x) => x.name)).toContain("read_graph");
    await own.close();
  });

  it("a groups key reaches its group's endpoint and nothing else", async () => {
    const c = await client("/mcp/g", creds.keyGroups!);
    expect((await c.listTools()).tools.map((x) => x.name)).toContain("memory-read_graph");
    await c.close();
    for (const url of ["/mcp", "/mcp/memory", "/mcp/everything", "/sse"]) {
      const res = await send(url.startsWith("/sse") ? "GET" : "POST", url, { ...MCP_HEADERS, authorization: `Bearer ${creds.keyGroups}` }, url.startsWith("/sse") ? undefined : initialize());
      expect(res.status, url).toBe(403);
    }
  });

  it("a session opened with one credential cannot be used with another", async () => {
    const session = await openSession("", "admin");
    const res = await send("POST", "/mcp", { ...MCP_HEADERS, authorization: `Bearer ${keys.aliceAll}`, "mcp-session-id": session }, { jsonrpc: "2.0", id: 2, method: "tools/list" });
    expect(res.status).toBe(404);
  });
});

describe("tenant isolation", () => {
  it("should not return an api key of another user", async () => {
    const mine = await api("GET", "/api/keys", "user");
    expect(mine.status).toBe(200);
    const owners = new Set((mine.body.keys as { userId: string }[]).map((k) => k.userId));
    expect([...owners]).toEqual([ids.alice]);
    expect((mine.body.keys as { id: string }[]).map((k) => k.id)).not.toContain(ids.adminKey);
    expect((await api("GET", "/api/keys?all=true", "user")).status).toBe(403);
    // The admin sees everyone's when asking for all, their own otherwise.
    const everyone = await api("GET", "/api/keys?all=true", "admin");
    expect((everyone.body.keys as { id: string }[]).map((k) => k.id)).toEqual(expect.arrayContaining([ids.adminKey, ids.aliceKey]));
    const adminsOwn = await api("GET", "/api/keys", "admin");
    expect((adminsOwn.body.keys as { id: string }[]).map((k) => k.id)).not.toContain(ids.aliceKey);
  });

  it("should not revoke an api key of another user", async () => {
    const res = await api("DELETE", `/api/keys/${ids.adminKey}`, "user");
    expect(res.status).toBe(404);
    // Still working: nothing was revoked.
    const still = await send("POST", "/mcp", { ...MCP_HEADERS, authorization: `Bearer ${creds.keyAll}` }, initialize());
    expect(still.status).toBe(200);
  });

  it("a user sees only their own audit entries", async () => {
    // A tool call each, by key: the audit trail records who made it.
    for (const key of [keys.aliceAll!, creds.keyAll!]) {
      const c = new Client({ name: "audit", version: "1" });
      await c.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
      await c.callTool({ name: "memory-read_graph", arguments: {} });
      await c.close();
    }
    const toolCallsOf = async (p: Principal, query = "") =>
      ((await api("GET", `/api/audit?action=tool.call${query}`, p)).body.entries as { userId: string }[]) ?? [];
    // Written in batches a few milliseconds later.
    await waitUntil(async () => (await toolCallsOf("admin")).some((e) => e.userId === ids.alice), 5000, "alice's tool call in the audit log");
    await waitUntil(async () => (await toolCallsOf("admin")).some((e) => e.userId === ids.admin), 5000, "the admin's tool call in the audit log");

    const own = await api("GET", "/api/audit?limit=500", "user");
    expect(own.status).toBe(200);
    const entries = own.body.entries as { userId: string; action: string }[];
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(["auth.login", "tool.call"]));
    expect(new Set(entries.map((e) => e.userId))).toEqual(new Set([ids.alice]));
    // Asking for someone else's entries, by id or by name, gives none.
    expect(await toolCallsOf("user", `&user=${ids.admin}`)).toEqual([]);
    expect(await toolCallsOf("user", "&user=admin")).toEqual([]);
    // The admin sees everyone's.
    const users = new Set((await toolCallsOf("admin")).map((e) => e.userId));
    expect(users).toEqual(new Set([ids.alice, ids.admin]));
  });
});
