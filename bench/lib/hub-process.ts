import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Resident set size of one process (not its children), in kB; undefined once it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms; undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat(5), counted from 1 with pid; here 0-based after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux build Node supports. */
const CLOCK_TICKS = 100;

/** Every live descendant of `pid`, from /proc (children first found, then theirs). */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name sits in parentheses and may hold spaces; ppid is the 2nd field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, parent] of parentOf) if (parent === p) (found.push(child), queue.push(child));
  }
  return found;
}

/**
 * Keeps the last 200 lines a child writes (stdout and stderr), for a failure message, and
 * resolves `exited` with how it ended.
 */
export function followChild(child: ChildProcess): { output: () => string; exited: Promise<string> } {
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    lines.push(...d.toString().split("\n").filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  return { output: () => lines.join("\n"), exited };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

/** Runs a command to completion, failing with its output when it exits non-zero. */
export async function run(command: string, args: string[], cwd: string): Promise<void> {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}:\n${out}`);
}

export interface HubProcessOptions {
  root: string;
  /** Absolute path of server-everything's dist/index.js. */
  everythingJs: string;
  /** Extra environment for the hub (e.g. ADMIN_PASSWORD, SKIP_AUTH). */
  env?: Record<string, string>;
  /** Extra Node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

export interface HubProcess {
  pid: number;
  base: string;
  dir: string;
  /** Resolves with the exit code (or signal) when the hub process ends. */
  exited: Promise<string>;
  /** The last lines the hub wrote (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; kills any descendant left behind and reports it. */
  stop(): Promise<{ leftovers: number[] }>;
}

/** Writes `<dir>/mcp_settings.json` holding server-everything over stdio, the one server every bench path calls; returns its path. */
export async function writeSettings(dir: string, everythingJs: string): Promise<string> {
  const settingsPath = join(dir, "mcp_settings.json");
  await writeFile(settingsPath, JSON.stringify({ mcpServers: { everything: { type: "stdio", command: process.execPath, args: [everythingJs, "stdio"] } } }, null, 2));
  return settingsPath;
}

/** Starts `node apps/hub/dist/server.js` with a temporary settings file holding server-everything over stdio. */
export async function startHubProcess(opts: HubProcessOptions): Promise<HubProcess> {
  const dir = await mkdtemp(join(tmpdir(), "mcphub-bench-"));
  const settingsPath = await writeSettings(dir, opts.everythingJs);
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(opts.root, "apps/hub/dist/server.js")], {
    cwd: dir,
    env: {
      ...process.env,
      ...opts.env,
      MCPHUB_SETTING_PATH: settingsPath,
      DATA_DIR: join(dir, "data"),
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { output, exited } = followChild(child);
  const pid = child.pid!;
  let stopped: Promise<{ leftovers: number[] }> | undefined;

  return {
    pid,
    base: `http://127.0.0.1:${port}`,
    dir,
    exited,
    output,
    stop() {
      stopped ??= (async () => {
        const tree = descendants(pid);
        if (alive(pid)) {
          child.kill("SIGTERM");
          const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
          if (!done) {
            child.kill("SIGKILL");
            await exited;
          }
        }
        // The hub should have ended its upstreams; give their exit a moment before calling them leftovers.
        const deadline = Date.now() + 5000;
        while (tree.some(alive) && Date.now() < deadline) await sleep(50);
        const leftovers = tree.filter(alive);
        for (const p of leftovers) process.kill(p, "SIGKILL");
        await rm(dir, { recursive: true, force: true });
        return { leftovers };
      })();
      return stopped;
    },
  };
}

export interface HealthServer {
  name: string;
  state: string;
  pid?: number;
}

/** Polls /api/health until `server` is ready; throws if the hub exits or the deadline passes. */
export async function waitReady(hub: HubProcess, server: string, timeoutMs: number): Promise<HealthServer> {
  let exit: string | undefined;
  void hub.exited.then((e) => (exit = e));
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (exit) throw new Error(`the hub exited (${exit}) before ${server} was ready`);
    try {
      const res = await fetch(`${hub.base}/api/health`);
      const body = (await res.json()) as { servers?: HealthServer[] };
      const s = body.servers?.find((x) => x.name === server);
      last = JSON.stringify(body);
      if (s?.state === "ready") return s;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${server} ready (last health: ${last || "no answer"})`);
}

/**
 * Signs in as the first admin and creates an API key for every endpoint, as the README tells a
 * user to: the MCP endpoints want a credential unless SKIP_AUTH=true.
 */
export async function createApiKey(base: string, adminPassword: string): Promise<string> {
  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: adminPassword }),
  });
  const session = (await login.json()) as { token?: string };
  if (!login.ok || !session.token) throw new Error(`admin login: HTTP ${login.status} ${JSON.stringify(session).slice(0, 300)}`);
  const created = await fetch(`${base}/api/keys`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${session.token}` },
    body: JSON.stringify({ name: "mcphub-bench", accessType: "all" }),
  });
  const body = (await created.json()) as { key?: string };
  if (created.status !== 201 || !body.key) throw new Error(`creating an API key: HTTP ${created.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.key;
}

/** Waits for RSS to stop moving (within 1 MB over 1 s, at most `timeoutMs`) and returns it. */
export async function settledRss(pid: number, timeoutMs = 8000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let prev = rssKb(pid);
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = rssKb(pid);
    if (now === undefined || prev === undefined) return now;
    if (Math.abs(now - prev) < 1024) return now;
    prev = now;
  }
  return rssKb(pid);
}

export interface EchoServer {
  pid: number;
  base: string;
  stop(): Promise<void>;
}

/** Starts bench/lib/echo-http-server.ts (the trivial reference server) in its own process. */
export async function startEchoServer(root: string): Promise<EchoServer> {
  const file = fileURLToPath(new URL("./echo-http-server.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`echo server exited (${code}) before listening`)));
  });
  return {
    pid: child.pid!,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
