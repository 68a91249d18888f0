import { spawn, execFile, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../../test/helpers/processes.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UpstreamStatus } from "@mcphub/contracts";
import { alive, startHub, waitUntil } from "./helpers/hub.ts";
import { EVERYTHING_JS, MEMORY_JS, repoRoot, upstream } from "./helpers/servers.ts";

/** Every upstream pid a test saw: what is left of them is killed at the end, so a failing test leaves nothing behind either. */
const seenPids = new Set<number>();
/** Temp directories of the product processes; their upstreams inherit the hub's env, which names them. */
const productDirs: string[] = [];
afterAll(() => {
  for (const pid of seenPids) if (alive(pid) && ours(pid)) process.kill(pid, "SIGKILL");
});

/** Guards the cleanup against a pid the system has since given to someone else's process. */
function ours(pid: number): boolean {
  try {
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    if (ppid === process.pid) return true;
    const env = readFileSync(`/proc/${pid}/environ`, "utf8");
    return productDirs.some((d) => env.includes(d));
  } catch {
    return false;
  }
}

describe("hub.close()", () => {
  it("leaves no upstream process behind, whatever state each server is in", async () => {
    const t = await startHub(
      (dir) => ({
        mcpServers: {
          everything: upstream.everything(),
          memory: upstream.memory(join(dir, "memory.jsonl")),
          probe: upstream.probe(),
          // Still in initialize when the hub closes, and deaf to the end of its stdin.
          hangs: upstream.probe(["--hang-on-init"]),
        },
      }),
      { env: { INIT_TIMEOUT: "60000" }, waitFor: ["everything", "memory", "probe"] },
    );
    await waitUntil(() => t.hub.supervisor.status().find((s) => s.name === "hangs")?.pid !== undefined, 5000, "hangs to be spawned");
    const pids = t.hub.supervisor.status().map((s) => s.pid!);
    expect(pids).toHaveLength(4);
    for (const pid of pids) seenPids.add(pid);
    expect(pids.every(alive)).toBe(true);

    await t.close();
    await waitUntil(() => !pids.some(alive), 5000, "every upstream process to be gone");
  });

  it("also ends a process that was still being shut down after a failed start", async () => {
    const t = await startHub({ mcpServers: { hangs: upstream.probe(["--hang-on-init"]) } }, {
      // Long enough for the probe to be up (listening to stdin) on a busy machine before it is given up.
      env: { INIT_TIMEOUT: "3000" },
      minBackoffMs: 5000,
      maxBackoffMs: 5000,
      waitFor: [],
    });
    // After INIT_TIMEOUT the hub closes the attempt's process: stdin EOF, which this one
    // ignores (it says so on stderr), then signals seconds later. Close the hub in between.
    let pid: number | undefined;
    await waitUntil(
      () => {
        pid ??= t.hub.supervisor.status()[0]!.pid;
        return t.logs.some((l) => l.server === "hangs" && String(l.stderr).includes("stdin closed"));
      },
      15_000,
      "the hub to begin closing hangs",
    );
    expect(pid).toBeDefined();
    seenPids.add(pid!);
    expect(alive(pid!)).toBe(true);
    await t.close();
    // close() resolves once the processes are gone, not merely asked to go.
    await waitUntil(() => !alive(pid!), 1000, "the failed attempt's process to be gone");
  });
});

describe("the product process (node apps/hub/dist/server.js)", () => {
  const running = new Set<ChildProcess>();

  beforeAll(async () => {
    await promisify(execFile)("pnpm", ["--filter", "@mcphub/hub", "build"], { cwd: repoRoot });
  }, 120_000);
  afterAll(async () => {
    for (const p of running) p.kill("SIGKILL");
    await Promise.all(productDirs.map((d) => rm(d, { recursive: true, force: true })));
  });


  /** Starts the built hub; PATH keeps node but not the project's .bin, which the hub must add itself. */
  async function startProduct(settingsPath: string, dataDir: string, extraEnv: Record<string, string> = {}) {
    const port = await freePort();
    const path = (process.env.PATH ?? "").split(delimiter).filter((p) => p && !p.includes("node_modules"));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      // The hub reads these; the test decides them (no DATABASE_URL: PGlite in DATA_DIR).
      if (/^(DATABASE_URL|REDIS_URL|PORT|HOST|BASE_PATH|HUB_TARGETS|INIT_TIMEOUT|REQUEST_TIMEOUT|LOG_FILE|npm_)/i.test(k)) continue;
      env[k] = v;
    }
    Object.assign(env, {
      PATH: [dirname(process.execPath), ...path].join(delimiter),
      PORT: String(port),
      HOST: "127.0.0.1",
      MCPHUB_SETTING_PATH: settingsPath,
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      ...extraEnv,
    });
    const child = spawn(process.execPath, [join(repoRoot, "apps/hub/dist/server.js")], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    const status = async (): Promise<Record<string, UpstreamStatus>> => {
      const body = (await (await fetch(`${base}/api/health`)).json()) as { servers: UpstreamStatus[] };
      return Object.fromEntries(body.servers.map((s) => [s.name, s]));
    };
    const pids = new Set<number>();
    /** Waits until `check` holds for the status, recording every upstream pid seen meanwhile. */
    const waitFor = async (check: (s: Record<string, UpstreamStatus>) => boolean, what: string) => {
      try {
        await waitUntil(
          async () => {
            if (child.exitCode !== null) throw new Error(`the hub exited with ${child.exitCode}`);
            const s = await status().catch(() => undefined);
            if (!s) return false;
            for (const x of Object.values(s)) {
              if (x.pid) pids.add(x.pid);
              if (x.pid) seenPids.add(x.pid);
            }
            return check(s);
          },
          45_000,
          what,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- hub output ---\n${output.slice(-4000)}`);
      }
    };
    return { child, base, exited, status, waitFor, pids, output: () => output };
  }

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "mcphub-product-"));
    productDirs.push(dir);
    return dir;
  }

  it("exits 0 on SIGTERM and takes every upstream process with it", async () => {
    const dir = await tempDir();
    const settingsPath = join(dir, "mcp_settings.json");
    await writeFile(
      settingsPath,
      JSON.stringify({
        mcpServers: {
          everything: { type: "stdio", command: process.execPath, args: [EVERYTHING_JS, "stdio"] },
          memory: { type: "stdio", command: process.execPath, args: [MEMORY_JS], env: { MEMORY_FILE_PATH: join(dir, "memory.jsonl") } },
          // Never answers initialize and ignores the end of its stdin, so only a signal ends it.
          hangs: upstream.probe(["--hang-on-init"]),
        },
      }),
    );
    // Long enough for the real servers on a busy machine, short enough to see hangs fail.
    const hub = await startProduct(settingsPath, join(dir, "data"), { INIT_TIMEOUT: "8000", LOG_LEVEL: "debug" });
    await hub.waitFor((s) => s.everything?.state === "ready" && s.memory?.state === "ready", "everything and memory ready");
    // SIGTERM while the hub is closing a failed attempt's process (it got stdin EOF, the
    // signals come seconds later): a hub that exits without waiting leaves it orphaned.
    await hub.waitFor(() => hub.output().includes("stdin closed; still not answering"), "the hub to begin closing hangs");
    const pids = [...hub.pids];
    // everything, memory and at least one hangs process.
    expect(pids.length).toBeGreaterThanOrEqual(3);

    hub.child.kill("SIGTERM");
    const { code, signal } = await hub.exited;
    expect({ code, signal }, hub.output().slice(-4000)).toEqual({ code: 0, signal: null });
    await waitUntil(() => !pids.some(alive), 3000, `no upstream left of ${pids.join(", ")}`);
  }, 90_000);

  it("on first start creates the settings file from mcp_settings.example.json and runs its servers", async () => {
    const dir = await tempDir();
    const settingsPath = join(dir, "mcp_settings.json");
    await expect(access(settingsPath)).rejects.toThrow();
    const hub = await startProduct(settingsPath, join(dir, "data"));
    await hub.waitFor((s) => s.everything?.state === "ready" && s.memory?.state === "ready", "the example's servers ready");
    expect(await readFile(settingsPath, "utf8")).toBe(await readFile(join(repoRoot, "mcp_settings.example.json"), "utf8"));
    expect((await fetch(`${hub.base}/api/health/ready`)).status).toBe(200);
    const pids = Object.values(await hub.status()).map((s) => s.pid!);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);

    hub.child.kill("SIGTERM");
    const { code, signal } = await hub.exited;
    expect({ code, signal }, hub.output().slice(-4000)).toEqual({ code: 0, signal: null });
    await waitUntil(() => !pids.some(alive), 3000, `no upstream left of ${pids.join(", ")}`);
  }, 90_000);
});
