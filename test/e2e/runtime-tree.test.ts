import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { parseDockerfile } from "../helpers/dockerfile.ts";
import { freePort, repoRoot } from "../helpers/processes.ts";

/**
 * The image's runtime tree, as the Dockerfile's build stage assembles it
 * (infra/scripts/runtime-tree.sh), run with no node_modules on PATH and nothing of the checkout
 * around it: what the container runs, without a Docker engine.
 */
const RUNTIME_TARGET_BYTES = 200 * 1024 * 1024;

let dir: string;
let tree: string;
let hub: ChildProcess | undefined;
let hubPort = 0;
const output: string[] = [];

/** The image's HEALTHCHECK command, run here against the hub (exit status 0: healthy). */
async function healthcheck(env: Record<string, string>): Promise<number | null> {
  const stages = await parseDockerfile();
  const line = stages.at(-1)!.instructions.filter((i) => i.op === "HEALTHCHECK").at(-1)!.args;
  const argv = JSON.parse(line.slice(line.indexOf("CMD") + 3).trim()) as string[];
  const [command, ...rest] = argv;
  execFileSync(command === "node" ? process.execPath : command!, rest, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: "pipe" });
  return 0;
}
function healthStatus(env: Record<string, string>): Promise<number | null> {
  return healthcheck(env).catch((err: { status?: number | null }) => err.status ?? -1);
}

function du(path: string): number {
  return Number(execFileSync("du", ["-sb", path], { encoding: "utf8" }).split("\t")[0]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-runtime-"));
  const bundle = join(dir, "bundle");
  // Its own bundle directory: a cluster test may be using apps/hub/dist at the same time.
  execFileSync("pnpm", ["--filter", "@mcphub/hub", "build"], { cwd: repoRoot, env: { ...process.env, MCPHUB_BUILD_OUT: bundle }, stdio: "pipe" });
  tree = join(dir, "app");
  execFileSync(join(repoRoot, "infra/scripts/runtime-tree.sh"), [tree, "--offline"], { cwd: repoRoot, env: { ...process.env, MCPHUB_BUNDLE_DIR: bundle }, stdio: "pipe" });
}, 120_000);

afterAll(async () => {
  if (hub && hub.exitCode === null && hub.signalCode === null) {
    const exited = new Promise((r) => hub!.once("exit", r));
    hub.kill("SIGTERM");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe("the image's runtime tree", () => {
  it("holds the bundle, production dependencies and the example settings, and nothing of the workspace", async () => {
    const top = (await readdir(tree)).sort();
    expect(top).toEqual(["apps", "infra", "mcp_settings.example.json", "node_modules"]);
    expect((await readdir(join(tree, "infra/scripts"))).sort()).toEqual(["backup.sh", "restore.sh"]);
    expect(existsSync(join(tree, "apps/hub/dist/server.js"))).toBe(true);
    expect(existsSync(join(tree, "apps/hub/dist/migrations"))).toBe(true);
    expect(existsSync(join(tree, "apps/hub/src"))).toBe(false);
    // Workspace packages are inside the bundle; a copy in node_modules would be dead weight.
    expect(existsSync(join(tree, "node_modules/@mcphub"))).toBe(false);
    // Build tools stay in the build stage.
    for (const dev of ["esbuild", "typescript", "vitest", "tsx"]) expect(existsSync(join(tree, "node_modules", dev)), dev).toBe(false);
    expect(existsSync(join(tree, "node_modules/.bin/mcp-server-everything"))).toBe(true);
    expect(existsSync(join(tree, "node_modules/@electric-sql/pglite"))).toBe(true);
    expect(du(tree)).toBeLessThan(RUNTIME_TARGET_BYTES);
  });

  it("refuses to assemble into a directory that is not empty, or without a bundle", () => {
    const run = (args: string[], env: Record<string, string> = {}) => {
      try {
        execFileSync(join(repoRoot, "infra/scripts/runtime-tree.sh"), args, { env: { ...process.env, ...env }, stdio: "pipe" });
        return "";
      } catch (err) {
        return String((err as { stderr: Buffer }).stderr);
      }
    };
    expect(run([tree, "--offline"])).toMatch(/exists and is not empty/);
    expect(run([join(dir, "other"), "--offline"], { MCPHUB_BUNDLE_DIR: join(dir, "no-bundle") })).toMatch(/server\.js is missing/);
    expect(run([join(dir, "other"), "--fast"])).toMatch(/unknown option --fast/);
  });

  it("runs the all-in-one hub from the tree alone: the example's stdio servers start by their bins", async () => {
    const port = await freePort();
    hubPort = port;
    const data = join(dir, "data");
    const bare = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes("node_modules")).join(delimiter);
    hub = spawn(process.execPath, ["apps/hub/dist/server.js"], {
      cwd: tree,
      env: {
        PATH: bare,
        HOME: dir,
        HUB_TARGETS: "all",
        PORT: String(port),
        DATA_DIR: data,
        MCPHUB_SETTING_PATH: join(dir, "mcp_settings.json"),
        SKIP_AUTH: "true",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    hub.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
    hub.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    await waitUntil(async () => {
      if (hub!.exitCode !== null) throw new Error(`hub exited ${hub!.exitCode}:\n${output.join("")}`);
      const health = await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.json() as Promise<{ servers: { name: string; state: string }[] }>, () => ({ servers: [] }));
      return health.servers.length === 2 && health.servers.every((s) => s.state === "ready");
    }, 30_000, "the example's servers ready in the hub run from the tree");
    // Created from the example that travels in the tree.
    expect(existsSync(join(dir, "mcp_settings.json"))).toBe(true);
  });

  it("ranks tools with the local model from the tree alone (its worker travels beside the bundle)", async () => {
    expect(existsSync(join(tree, "apps/hub/dist/use.worker.mjs"))).toBe(true);
    const api = (path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${hubPort}${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
    await waitUntil(async () => (await api("/api/smart-routing/status")).index?.ready === true, 60_000, "the tool index built in the tree");
    const search = await api("/api/smart-routing/search", { query: "add two numbers", limit: 3 });
    expect(search.ranking).toBe("hybrid");
    expect(search.results.map((r: { name: string }) => r.name)).toContain("everything-get-sum");
    expect((await api("/api/smart-routing/status")).index.model).toMatch(/^use-/);
  });

  it("answers the image's HEALTHCHECK while it runs, and fails it once stopped", async () => {
    expect(await healthStatus({ PORT: String(hubPort) })).toBe(0);
    const exited = new Promise((r) => hub!.once("exit", r));
    hub!.kill("SIGTERM");
    await exited;
    expect(await healthStatus({ PORT: String(hubPort) })).toBe(1);
  });
});
