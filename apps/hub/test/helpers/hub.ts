import { mkdtemp, rm, writeFile, rename } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { envSchema, parseEnv } from "@mcphub/config";
import { createLogger } from "@mcphub/observability";
import { buildHub, type Hub } from "../../src/app.ts";

export interface TestHub {
  hub: Hub;
  /** http://127.0.0.1:PORT plus BASE_PATH */
  base: string;
  dir: string;
  settingsPath: string;
  /** Every log line the hub wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  /** Replaces the settings file the way an editor does (write + rename). */
  writeSettings(settings: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Open the settings database: PGlite in the test's directory (true) or a Postgres URL. Off by default: PGlite's first open takes seconds. */
  database?: boolean | string;
  /** With `database`: open it before the test starts (default), or leave it to the first API use. */
  openDatabase?: boolean;
  /** Run the auth service in the hub (needs `database`); the first admin gets this password. Off by default: endpoints open. */
  adminPassword?: string;
  /** Wait until these servers are ready (default: every enabled server in the settings). */
  waitFor?: string[];
  /** The built dashboard to serve at the root (default: the hub's, apps/dashboard/dist). */
  dashboardDir?: string | false;
}

/** Starts the all-in-one hub on a free loopback port with the given settings file content (or a function of the test directory). */
export async function startHub(
  settingsOrFn: Record<string, unknown> | ((dir: string) => Record<string, unknown>),
  opts: StartOptions = {},
): Promise<TestHub> {
  const dir = await mkdtemp(join(tmpdir(), "mcphub-test-"));
  const settings = typeof settingsOrFn === "function" ? settingsOrFn(dir) : settingsOrFn;
  const settingsPath = join(dir, "mcp_settings.json");
  await writeFile(settingsPath, JSON.stringify(settings, null, 2));
  const rawEnv = { LOG_LEVEL: "debug", ...opts.env, MCPHUB_SETTING_PATH: settingsPath, DATA_DIR: join(dir, "data") };
  const env = parseEnv(envSchema, rawEnv);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: env.LOG_LEVEL,
    service: "hub",
    stream: { write: (line) => void logs.push(JSON.parse(line)) },
  });
  const hub = await buildHub({
    env,
    hubEnv: { ...process.env, ...opts.env },
    logger,
    database: opts.database ? { url: typeof opts.database === "string" ? opts.database : undefined, dataDir: join(dir, "data") } : false,
    auth: opts.adminPassword ? { jwtSecret: "test-secret-for-session-tokens-0123456789", adminPassword: opts.adminPassword } : false,
    minBackoffMs: opts.minBackoffMs ?? 100,
    maxBackoffMs: opts.maxBackoffMs ?? 1000,
    ...(opts.dashboardDir !== undefined && { dashboardDir: opts.dashboardDir }),
  });
  await hub.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = hub.app.server.address() as AddressInfo;
  await hub.start();
  // Open the (lazily opened) database now, so tests start from the file's first revision.
  if (opts.database && opts.openDatabase !== false) await hub.settings.history(1);
  const servers = (settings.mcpServers ?? {}) as Record<string, { enabled?: boolean }>;
  const wanted = opts.waitFor ?? Object.entries(servers).filter(([, s]) => s.enabled !== false).map(([n]) => n);
  await waitUntil(() => wanted.every((n) => hub.supervisor.status().find((s) => s.name === n)?.state === "ready"), 20_000, `servers ${wanted.join(", ")} ready`);
  return {
    hub,
    base: `http://127.0.0.1:${port}${env.BASE_PATH}`,
    dir,
    settingsPath,
    logs,
    async writeSettings(next) {
      const tmp = `${settingsPath}.tmp`;
      await writeFile(tmp, JSON.stringify(next, null, 2));
      await rename(tmp, settingsPath);
    },
    async close() {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until true; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The official SDK client, connected over Streamable HTTP or the legacy SSE transport. */
export async function connect(url: string, transport: "http" | "sse" = "http", capabilities: Record<string, unknown> = {}): Promise<Client> {
  const client = new Client({ name: "mcphub-test", version: "1.0.0" }, { capabilities });
  await client.connect(transport === "sse" ? new SSEClientTransport(new URL(url)) : new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** A tool call's first text content. */
export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.find((c) => c.type === "text")?.text ?? "";
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
