import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { text, waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { upstream } from "../../apps/hub/test/helpers/servers.ts";
import { httpsFetch } from "../helpers/https-fetch.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { freePort, repoRoot } from "../helpers/processes.ts";

/**
 * `pnpm cluster --tls`: the split topology behind the real nginx serving HTTPS with a
 * generated certificate. What an operator relies on: readiness through nginx, an MCP client
 * over TLS, and every metric the dashboards and alert rules use really exposed.
 */
interface ClusterState {
  url: string;
  httpUrl: string;
  tlsCert: string;
  supervisor: { port: number };
  router: { port: number };
  auth: { port: number };
  gateways: { id: string; port: number }[];
}

const ARGUMENT_MARKER = "argument-that-must-stay-out-of-metrics";
let dir: string;
let bundleDir: string;
let cluster: ChildProcess;
let state: ClusterState;
let tlsFetch: typeof fetch;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let apiKey: string;
let adminToken: string;
const output: string[] = [];
const TRACE_ID = `ops-trace-${process.pid}`;

async function json(path: string, init: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const res = await tlsFetch(`${state.url}${path}`, {
    method: init.body ? "POST" : "GET",
    headers: { ...(init.body ? { "content-type": "application/json" } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const body = await res.text();
  return { status: res.status, body: body ? JSON.parse(body) : {} };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-ops-"));
  // A bundle of its own: the other cluster tests may build apps/hub/dist at the same time.
  bundleDir = join(repoRoot, "apps/hub", `.bundle-ops-${process.pid}`);
  database = await freshDatabase("ops");
  const settingsPath = join(dir, "mcp_settings.json");
  await writeFile(settingsPath, JSON.stringify({ mcpServers: { everything: upstream.everything() } }));
  await mkdir(join(dir, "no-dashboard"));
  const [port, tlsPort] = [await freePort(), await freePort()];
  cluster = spawn(
    process.execPath,
    ["--import", "tsx", "infra/scripts/cluster.ts", "--gateways", "2", "--port", String(port), "--tls", "--tls-port", String(tlsPort), "--run-dir", join(dir, "run"), "--bundle-dir", bundleDir],
    {
      cwd: repoRoot,
      // No dashboard build of its own (MCPHUB_DASHBOARD_DIR): these checks do not need one, and
      // another cluster test may be building apps/dashboard/dist meanwhile.
      env: { ...process.env, MCPHUB_DASHBOARD_DIR: join(dir, "no-dashboard"), DATABASE_URL: database.url, MCPHUB_SETTING_PATH: settingsPath, LOG_LEVEL: "debug", ADMIN_PASSWORD: "ops-admin-password", AUDIT_STREAM: `mcphub:audit:ops:${process.pid}` },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  cluster.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  cluster.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const stateFile = join(dir, "run", "state.json");
  await waitUntil(() => existsSync(stateFile) || cluster.exitCode !== null, 120_000, "the cluster to be ready");
  if (!existsSync(stateFile)) throw new Error(`cluster failed:\n${output.join("")}`);
  state = JSON.parse(await readFile(stateFile, "utf8")) as ClusterState;
  tlsFetch = httpsFetch(await readFile(state.tlsCert));
  await waitUntil(async () => {
    const health = await tlsFetch(`${state.url}/api/health`).then((r) => r.json() as Promise<{ servers: { state: string }[] }>, () => ({ servers: [] }));
    return health.servers.length === 1 && health.servers.every((s) => s.state === "ready");
  }, 30_000, "the upstream ready behind nginx");
  const login = await json("/api/auth/login", { body: { username: "admin", password: "ops-admin-password" } });
  expect(login.status).toBe(200);
  adminToken = login.body.token;
  const key = await json("/api/keys", { token: adminToken, body: { name: "ops", accessType: "all" } });
  expect(key.status).toBe(201);
  apiKey = key.body.key;
}, 180_000);

afterAll(async () => {
  if (cluster && cluster.exitCode === null) {
    const exited = new Promise((r) => cluster.once("exit", r));
    cluster.kill("SIGINT");
    await exited;
  }
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
  await rm(bundleDir, { recursive: true, force: true });
}, 30_000);

/** Every metric name a scrape exposes; a histogram's or summary's series names too. */
function exposedNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const m of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1]! + s);
    if (m[2] === "summary") for (const s of ["_sum", "_count"]) names.add(m[1]! + s);
  }
  for (const m of scrape.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.add(m[1]!);
  return names;
}

describe("pnpm cluster --tls", () => {
  it("answers readiness through nginx over HTTPS, and redirects plain HTTP there", async () => {
    const ready = await tlsFetch(`${state.url}/api/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { redis: true, supervisor: true } });
    const redirect = await fetch(`${state.httpUrl}/api/health/ready`, { redirect: "manual" });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe(`${state.url}/api/health/ready`);
  });

  it("serves an MCP client over TLS through nginx; a request's X-Request-Id reaches the gateway's and the supervisor's log lines and its audit entry", async () => {
    const made: string[] = [];
    const replicas = new Set<string>();
    const base = tlsFetch;
    const tracking: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${apiKey}`);
      // The traced call: the first tools/call names its request; every other request gets nginx's id.
      const traced = typeof init?.body === "string" && init.body.includes('"tools/call"') && init.body.includes(`${ARGUMENT_MARKER}-0`);
      if (traced) headers.set("x-request-id", TRACE_ID);
      const res = await base(input, { ...init, headers });
      replicas.add(res.headers.get("x-mcphub-replica") ?? "?");
      const id = res.headers.get("x-request-id") ?? "";
      if (traced) expect(id).toBe(TRACE_ID);
      else made.push(id);
      return res;
    };
    const c = new Client({ name: "ops-e2e", version: "1" });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${state.url}/mcp`), { fetch: tracking }));
    expect((await c.listTools()).tools.map((t) => t.name)).toContain("everything-echo");
    for (let i = 0; i < 5; i++) {
      expect(text(await c.callTool({ name: "everything-echo", arguments: { message: `${ARGUMENT_MARKER}-${i}` } }))).toBe(`Echo: ${ARGUMENT_MARKER}-${i}`);
    }
    await c.close();
    // One session's requests spread over both replicas behind the TLS listener, as over plain HTTP.
    expect([...replicas].filter((r) => r !== "?").sort()).toEqual(state.gateways.map((g) => g.id).sort());
    expect(made.length).toBeGreaterThan(4);
    for (const id of made) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(made).size).toBe(made.length);

    // The same id on the gateway's line for the call and on the supervisor's for the call it forwarded.
    const lines = () => output.join("").split("\n").filter((l) => l.includes(`"requestId":"${TRACE_ID}"`));
    await waitUntil(() => lines().some((l) => l.startsWith("[gateway-")) && lines().some((l) => l.startsWith("[supervisor]")), 10_000, "log lines with the request id");
    const supervisorLine = JSON.parse(lines().find((l) => l.startsWith("[supervisor]"))!.replace(/^\[supervisor\] /, ""));
    expect(supervisorLine).toMatchObject({ service: "supervisor", route: "/internal/call" });
    // Tool arguments stay out of the logs even at debug.
    expect(lines().join("\n")).not.toContain(ARGUMENT_MARKER);

    // And on the audit entry of that call, stored by the auth service from the stream.
    let entry: { action: string; details?: { requestId?: string; tool?: string } } | undefined;
    await waitUntil(async () => {
      const audit = await json("/api/audit?limit=100", { token: adminToken });
      entry = (audit.body.entries as (typeof entry)[]).find((e) => e?.details?.requestId === TRACE_ID);
      return entry !== undefined;
    }, 10_000, "the audit entry with the request id");
    expect(entry!.action).toBe("tool.call");
  });

  it("serves a legacy SSE client over TLS through nginx (the stream and its /messages posts)", async () => {
    const keyed: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${apiKey}`);
      return tlsFetch(input, { ...init, headers });
    };
    const c = new Client({ name: "ops-sse", version: "1" });
    await c.connect(new SSEClientTransport(new URL(`${state.url}/sse`), { fetch: keyed }));
    expect(text(await c.callTool({ name: "everything-echo", arguments: { message: "over sse" } }))).toBe("Echo: over sse");
    await c.close();
  });

  it("exposes on its services every metric the Grafana dashboards and the alert rules use, with bounded labels", async () => {
    const targets = [...state.gateways.map((g) => g.port), state.supervisor.port, state.router.port, state.auth.port];
    const exposed = new Set<string>();
    const scrapes: string[] = [];
    for (const port of targets) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status, `/metrics on ${port}`).toBe(200);
      const scrape = await res.text();
      scrapes.push(scrape);
      for (const n of exposedNames(scrape)) exposed.add(n);
    }
    // The call above was counted: the names are not just registered, they carry the traffic.
    expect(scrapes.join("\n")).toMatch(/mcphub_tool_calls_total\{[^}]*server="everything"[^}]*tool="echo"[^}]*status="ok"[^}]*\} [1-9]/);

    const used = new Map<string, string>();
    const note = (expr: string, where: string) => {
      for (const m of expr.matchAll(/\b(mcphub_[a-z0-9_]+)\b/g)) used.set(m[1]!, where);
    };
    const boards = (await readdir(join(repoRoot, "infra/grafana/dashboards"))).filter((f) => f.endsWith(".json"));
    for (const f of boards) {
      const board = JSON.parse(await readFile(join(repoRoot, "infra/grafana/dashboards", f), "utf8"));
      for (const p of board.panels) for (const t of p.targets) note(t.expr, `${f}: ${p.title}`);
    }
    const rules = parse(await readFile(join(repoRoot, "infra/prometheus/alerts.yml"), "utf8"));
    for (const g of rules.groups) for (const r of g.rules) note(r.expr, `alerts.yml: ${r.alert}`);
    expect(used.size).toBeGreaterThan(10);
    for (const [name, where] of used) expect(exposed.has(name), `${where} uses ${name}, which no service exposes`).toBe(true);

    // Labels stay bounded: no tool argument and no session id in any series.
    const all = scrapes.join("\n");
    expect(all).not.toContain(ARGUMENT_MARKER);
    expect(all).not.toMatch(/="[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/);
  });
});
