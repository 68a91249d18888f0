import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type ServiceProcess } from "../../../test/helpers/processes.ts";
import { alive, text, waitUntil } from "./helpers/hub.ts";
import { signIn } from "./helpers/rest.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * The all-in-one hub, a real process with its embedded database, is SIGKILLed while admins
 * create keys and groups and an MCP client calls tools. Started again on the same data, every
 * write that was acknowledged has its audit row (stored in the change's own transaction), and
 * every tool call that was answered has its tool.call row exactly once (journaled before the
 * answer, stored on the next start).
 */

type Json = Record<string, any>;
const ADMIN_PASSWORD = "audit-kill-admin-password";
/** Enough acknowledged work that the kill lands among writes and calls in flight. */
const API_WRITES = 40;
const TOOL_CALLS = 300;

let dir: string;
let hub: ServiceProcess | undefined;
const upstreamPids = new Set<number>();

async function startTheHub(): Promise<ServiceProcess> {
  const proc = await startService("hub", {
    MCPHUB_SETTING_PATH: join(dir, "mcp_settings.json"),
    DATA_DIR: join(dir, "data"),
    ADMIN_PASSWORD,
    JWT_SECRET: "audit-kill-jwt-secret-0123456789abcdef",
    LOG_LEVEL: "warn",
  }, 60_000);
  await waitUntil(async () => {
    const health = (await (await fetch(`${proc.url}/api/health`)).json()) as Json;
    for (const s of health.servers) if (s.pid) upstreamPids.add(s.pid);
    return health.servers.every((s: Json) => s.state === "ready");
  }, 20_000, "the upstream ready");
  return proc;
}

/** Signs in as the admin: the first admin exists before the hub listens, so the first attempt works. */
async function login(url: string): Promise<string> {
  const token = await signIn(url, "admin", ADMIN_PASSWORD);
  if (!token) throw new Error("the first admin could not sign in as soon as the hub answered");
  return token;
}

async function post(url: string, token: string, path: string, body: unknown): Promise<Json> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as Json;
}

/** Every audit entry, page by page. */
async function auditLog(url: string, token: string): Promise<Json[]> {
  const all: Json[] = [];
  let cursor: string | null = null;
  do {
    const res = await fetch(`${url}/api/audit?limit=500${cursor ? `&cursor=${cursor}` : ""}`, { headers: { authorization: `Bearer ${token}` } });
    const page = (await res.json()) as { entries: Json[]; nextCursor: string | null };
    all.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-audit-kill-"));
  // Arguments are logged here so each answered call can be found by its own message.
  await writeFile(join(dir, "mcp_settings.json"), JSON.stringify({ mcpServers: { everything: upstream.everything() }, systemConfig: { audit: { logArguments: true } } }));
});
afterAll(async () => {
  await hub?.stop("SIGKILL");
  // A killed hub's upstream sees its stdin close and exits; make sure of it.
  for (const pid of upstreamPids) if (alive(pid)) process.kill(pid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

describe("SIGKILL of the all-in-one hub during writes and tool calls", () => {
  it("every acknowledged write and every answered call has its audit row after a restart", async () => {
    hub = await startTheHub();
    const first = hub;
    const token = await login(first.url);
    const { key } = await post(first.url, token, "/api/keys", { name: "caller", accessType: "all" });
    const client = new Client({ name: "audit-kill", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${first.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));

    const ackedKeys: string[] = [];
    const ackedGroups: string[] = [];
    const answered: string[] = [];
    let killed = false;
    let killedAt!: () => void;
    const kill = new Promise<void>((resolve) => (killedAt = resolve));
    const maybeKill = () => {
      if (!killed && ackedKeys.length + ackedGroups.length >= API_WRITES && answered.length >= TOOL_CALLS) {
        killed = true;
        first.proc.kill("SIGKILL");
        killedAt();
      }
    };
    // Each worker goes on until the kill; what fails then was never acknowledged.
    const writer = async (w: number) => {
      for (let i = 0; !killed; i++) {
        try {
          if (i % 2 === 0) ackedKeys.push((await post(first.url, token, "/api/keys", { name: `k-${w}-${i}`, accessType: "all" })).apiKey.id);
          else ackedGroups.push((await post(first.url, token, "/api/groups", { id: `g-${w}-${i}`, name: `G ${w} ${i}`, servers: ["everything"] })).id);
        } catch {
          if (killed) return;
          throw new Error("a write failed before the kill");
        }
        maybeKill();
      }
    };
    const caller = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const message = `call-${w}-${i}`;
        try {
          const result = await client.callTool({ name: "everything-echo", arguments: { message } });
          if (!text(result).includes(message)) throw new Error(`unexpected answer ${text(result)}`);
        } catch (err) {
          if (killed) return;
          throw err;
        }
        if (!killed) answered.push(message);
        maybeKill();
      }
    };
    const work = Promise.all([writer(0), writer(1), caller(0), caller(1), caller(2), caller(3)]);
    await kill;
    await work;
    await first.stop();
    await client.close().catch(() => {});

    hub = await startTheHub();
    const again = await login(hub.url);
    const entries = await auditLog(hub.url, again);
    const ids = (action: string) => new Set(entries.filter((e) => e.action === action && e.success).map((e) => e.resourceId));
    const keyRows = ids("apikey.create");
    const groupRows = ids("group.create");
    expect(ackedKeys.filter((id) => !keyRows.has(id))).toEqual([]);
    expect(ackedGroups.filter((id) => !groupRows.has(id))).toEqual([]);
    const calls = new Map<string, number>();
    for (const e of entries) {
      const message = e.action === "tool.call" ? e.details?.arguments?.message : undefined;
      if (typeof message === "string") calls.set(message, (calls.get(message) ?? 0) + 1);
    }
    expect(answered.filter((m) => calls.get(m) !== 1)).toEqual([]);
    expect(ackedKeys.length + ackedGroups.length).toBeGreaterThanOrEqual(API_WRITES);
    expect(answered.length).toBeGreaterThanOrEqual(TOOL_CALLS);
  }, 120_000);
});
