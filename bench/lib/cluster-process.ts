// The distributed topology for `pnpm bench`, started the way `pnpm cluster` starts it
// (infra/scripts/cluster.ts), so the bench measures what an operator runs rather than a
// bench-only arrangement of the services.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { alive, descendants, freePort, sleep, writeSettings, type HealthServer, followChild } from "./hub-process.ts";

export interface ClusterOptions {
  root: string;
  /** Absolute path of server-everything's dist/index.js. */
  everythingJs: string;
  gateways: number;
  /** A Postgres server, without a database name: the cluster gets a fresh database there, dropped by stop(). */
  postgresUrl: string;
  database: string;
  redisUrl: string;
  /** The first admin's password (ADMIN_PASSWORD for the auth service), to make an API key with. */
  adminPassword: string;
}

export interface ClusterService {
  id: string;
  pid: number;
  base: string;
}

/** What the bench uses of a ready cluster. */
export interface ClusterTopology {
  /** nginx, where MCP clients connect. */
  url: string;
  gateways: ClusterService[];
  supervisor: ClusterService;
  /** nginx's master and workers, found in the script's process tree (their CPU is nginx's share). */
  nginxPids: number[];
  /** server-everything as the supervisor spawned it. */
  upstreamPid?: number;
}

export interface ClusterStopReport {
  /** How the script ended; "code 0" after SIGINT is the clean case. */
  exit: string;
  /** Pids that state.json names and that outlived the script (killed now). */
  statePidsLeft: number[];
  /** Other processes of the cluster's tree (upstreams, nginx workers) that outlived it (killed now). */
  othersLeft: number[];
  /** Why the database could not be dropped; undefined once it is. */
  dropError?: string;
}

export interface ClusterProcess {
  /** The cluster script's own pid. */
  pid: number;
  database: string;
  exited: Promise<string>;
  /** The last lines the script and its services wrote. */
  output(): string;
  /** Waits for state.json, then for server-everything ready on nginx's /api/health and on every gateway's. */
  ready(timeoutMs: number, server: string): Promise<ClusterTopology>;
  /** SIGINT (the script stops its services), checks that no pid of state.json survives, drops the database. */
  stop(): Promise<ClusterStopReport>;
}

interface StateFile {
  url: string;
  supervisor: { pid: number; port: number };
  gateways: { id: string; pid: number; port: number }[];
}

/** Spawns `node --import tsx infra/scripts/cluster.ts` on a free port, a temporary run dir and a fresh database. */
export async function launchCluster(opts: ClusterOptions): Promise<ClusterProcess> {
  const dir = await mkdtemp(join(tmpdir(), "mcphub-bench-cluster-"));
  const settingsPath = await writeSettings(dir, opts.everythingJs);
  const runDir = join(dir, "run");
  const statePath = join(runDir, "state.json");
  const port = await freePort();
  try {
    // A database left by an earlier run that died with the same pid would not be fresh.
    await dropDatabase(opts.postgresUrl, opts.database);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "infra/scripts/cluster.ts", "--gateways", String(opts.gateways), "--port", String(port), "--run-dir", runDir, "--no-build"],
    {
      cwd: opts.root,
      env: {
        ...process.env,
        DATABASE_URL: `${opts.postgresUrl}/${opts.database}`,
        REDIS_URL: opts.redisUrl,
        MCPHUB_SETTING_PATH: settingsPath,
        ADMIN_PASSWORD: opts.adminPassword,
        // Its own audit stream: a cluster of the tests on the same Redis must not read the bench's events.
        AUDIT_STREAM: `mcphub:audit:${opts.database}`,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const { output, exited } = followChild(child);
  let exit: string | undefined;
  void exited.then((e) => (exit = e));
  const pid = child.pid!;
  let stopped: Promise<ClusterStopReport> | undefined;

  const readState = async (): Promise<StateFile | undefined> => {
    try {
      return JSON.parse(await readFile(statePath, "utf8")) as StateFile;
    } catch {
      return undefined; // not written yet, or caught mid-write
    }
  };

  return {
    pid,
    database: opts.database,
    exited,
    output,

    async ready(timeoutMs, server) {
      const deadline = Date.now() + timeoutMs;
      let state: StateFile | undefined;
      while (!(state = await readState())) {
        if (exit) throw new Error(`the cluster script exited (${exit}) before writing state.json`);
        if (Date.now() > deadline) throw new Error(`no state.json after ${timeoutMs} ms`);
        await sleep(100);
      }
      const service = (id: string, s: { pid: number; port: number }): ClusterService => ({ id, pid: s.pid, base: `http://127.0.0.1:${s.port}` });
      const gateways = state.gateways.map((g) => service(g.id, g));
      // nginx balances round-robin, so its answer is one replica's: ask every replica directly too.
      const bases = [state.url, ...gateways.map((g) => g.base)];
      let last = "";
      for (;;) {
        if (exit) throw new Error(`the cluster script exited (${exit}) before ${server} was ready`);
        const answers = await Promise.all(bases.map((b) => health(b)));
        last = answers.map((a, i) => `${bases[i]}: ${a ? JSON.stringify(a) : "no answer"}`).join("; ");
        const allReady = answers.every((servers) => servers?.some((s) => s.name === server) && servers.every((s) => s.state === "ready"));
        if (allReady) {
          const tree = descendants(pid);
          return {
            url: state.url,
            gateways,
            supervisor: service("supervisor", state.supervisor),
            nginxPids: tree.filter((p) => commOf(p) === "nginx"),
            upstreamPid: answers[0]!.find((s) => s.name === server)?.pid,
          };
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${server} ready (last health: ${last})`);
        await sleep(100);
      }
    },

    stop() {
      stopped ??= (async () => {
        const state = await readState();
        const statePids = state ? pidsIn(state) : [];
        const tree = descendants(pid);
        if (alive(pid)) {
          child.kill("SIGINT");
          // The script gives its services 8 s before SIGKILL; a little more for itself.
          const done = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
          if (!done) {
            child.kill("SIGKILL");
            await exited;
          }
        }
        const all = [...new Set([...statePids, ...tree])];
        const deadline = Date.now() + 5000;
        while (all.some(alive) && Date.now() < deadline) await sleep(50);
        const statePidsLeft = statePids.filter(alive);
        const othersLeft = tree.filter((p) => !statePids.includes(p) && alive(p));
        for (const p of [...statePidsLeft, ...othersLeft]) process.kill(p, "SIGKILL");
        let dropError: string | undefined;
        try {
          await dropDatabase(opts.postgresUrl, opts.database);
        } catch (err) {
          dropError = (err as Error).message;
        }
        await rm(dir, { recursive: true, force: true });
        return { exit: await exited, statePidsLeft, othersLeft, dropError };
      })();
      return stopped;
    },
  };
}

async function health(base: string): Promise<HealthServer[] | undefined> {
  try {
    const res = await fetch(`${base}/api/health`);
    if (!res.ok) return void (await res.arrayBuffer());
    return ((await res.json()) as { servers?: HealthServer[] }).servers;
  } catch {
    return undefined;
  }
}

/** Every `pid` anywhere in state.json, so services the script may add later are checked too. */
function pidsIn(value: unknown): number[] {
  if (Array.isArray(value)) return value.flatMap(pidsIn);
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => (k === "pid" && typeof v === "number" ? [v] : pidsIn(v)));
  }
  return [];
}

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Drops the database if it exists, ending any session still on it (Postgres ≥ 13). */
async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const sql = postgres(`${serverUrl}/postgres`, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await sql.unsafe(`drop database if exists "${database.replace(/"/g, '""')}" with (force)`);
  } finally {
    await sql.end();
  }
}
