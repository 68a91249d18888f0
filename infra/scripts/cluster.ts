/**
 * `pnpm cluster`: the distributed topology as plain processes on this machine — the
 * supervisor, the router, the auth service, N gateway replicas, and nginx in front (the same config template compose
 * uses), against the local Postgres and Redis. Ctrl-C stops all of it.
 *
 *   pnpm cluster [--gateways 2] [--port 8080] [--tls [--tls-port 8443]] [--run-dir .cluster] [--no-build]
 *
 * --tls serves HTTPS on --tls-port with a self-signed certificate made in the run directory
 * (tls-cert.pem: give it to clients as their CA) and plain HTTP on --port only redirects.
 *
 * Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mcphub, created if
 * missing), REDIS_URL (redis://127.0.0.1:6379), MCPHUB_SETTING_PATH (./mcp_settings.json,
 * created from the example), INTERNAL_TOKEN and JWT_SECRET (generated when unset), LOG_LEVEL,
 * ADMIN_PASSWORD (else the auth service prints a generated one once).
 * Every service runs from the one hub bundle with HUB_TARGETS=<service>: apps/hub/dist, or
 * --bundle-dir (beside it: apps/hub/.bundle-x) so two clusters
 * can build side by side.
 * Writes <run-dir>/state.json with every process's pid and port once all are healthy.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { get as httpsGet } from "node:https";
import postgres from "postgres";
import { mainConfig, renderServerConfig, selfSignedCertificate } from "./nginx-config.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

const { values: args } = parseArgs({
  options: {
    gateways: { type: "string", default: "2" },
    port: { type: "string", default: "8080" },
    tls: { type: "boolean", default: false },
    "tls-port": { type: "string", default: "8443" },
    "run-dir": { type: "string", default: join(root, ".cluster") },
    "no-build": { type: "boolean", default: false },
    "bundle-dir": { type: "string", default: join(root, "apps/hub/dist") },
  },
});

interface Proc {
  name: string;
  port: number;
  child: ChildProcess;
}

const procs: Proc[] = [];
let stopping = false;

function log(message: string): void {
  process.stdout.write(`[cluster] ${message}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** Creates the database named in the URL when it does not exist yet. */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const sql = postgres(admin.href, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`);
      log(`created database ${name}`);
    }
  } finally {
    await sql.end();
  }
}

function start(name: string, port: number, command: string, argv: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, argv, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((l) => `[${name}] ${l}\n`)
      .join("");
  child.stdout!.on("data", (c: Buffer) => process.stdout.write(prefix(c)));
  child.stderr!.on("data", (c: Buffer) => process.stderr.write(prefix(c)));
  child.on("exit", (code, signal) => {
    if (!stopping) log(`${name} exited (${signal ?? code}); the others keep running`);
  });
  const proc = { name, port, child };
  procs.push(proc);
  return proc;
}

/** GET over HTTPS trusting `ca`; true on a 2xx. */
function httpsOk(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((res) => {
    const req = httpsGet(url, { ca }, (r) => {
      r.resume();
      res((r.statusCode ?? 0) >= 200 && (r.statusCode ?? 0) < 300);
    });
    req.on("error", () => res(false));
  });
}

async function waitHealthy(proc: Proc, path = "/api/health", timeoutMs = 60_000, tlsCa?: Buffer): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}`);
    const ok = tlsCa
      ? await httpsOk(`https://127.0.0.1:${proc.port}${path}`, tlsCa)
      : await fetch(`http://127.0.0.1:${proc.port}${path}`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${proc.name} was not healthy within ${timeoutMs} ms`);
}

async function stopAll(): Promise<void> {
  stopping = true;
  const alive = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  await Promise.all(
    alive.map(
      (p) =>
        new Promise<void>((res) => {
          const force = setTimeout(() => p.child.kill("SIGKILL"), 8000);
          p.child.once("exit", () => {
            clearTimeout(force);
            res();
          });
          // nginx stops at once on SIGTERM; the services close their upstreams first.
          p.child.kill("SIGTERM");
        }),
    ),
  );
}

async function main(): Promise<void> {
  const gateways = Number(args.gateways);
  const port = Number(args.port);
  const tlsPort = Number(args["tls-port"]);
  if (!Number.isInteger(gateways) || gateways < 1) throw new Error("--gateways must be a whole number ≥ 1");
  for (const [name, p] of [["--port", port], ["--tls-port", tlsPort]] as const) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`${name} must be a TCP port (1-65535)`);
  }
  const runDir = resolve(args["run-dir"]!);
  await mkdir(join(runDir, "logs"), { recursive: true });

  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/mcphub";
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const token = process.env.INTERNAL_TOKEN ?? randomBytes(24).toString("hex");
  const settingsPath = resolve(process.env.MCPHUB_SETTING_PATH ?? "mcp_settings.json");
  if (!existsSync(settingsPath)) {
    await copyFile(join(root, "mcp_settings.example.json"), settingsPath);
    log(`created ${settingsPath} from mcp_settings.example.json`);
  }
  await ensureDatabase(databaseUrl);

  const bundleDir = resolve(args["bundle-dir"]!);
  // The bundle finds the project (the stdio servers' bins, the dashboard) three levels up.
  if (resolve(bundleDir, "../../..") !== resolve(root)) throw new Error(`--bundle-dir must be three levels below ${root} (like apps/hub/dist), not ${bundleDir}`);
  if (!args["no-build"]) {
    log("building the hub bundle (every service runs from it) and the dashboard (nginx serves it)");
    const built = spawnSync("pnpm", ["--filter", "@mcphub/hub", "build"], { cwd: root, stdio: "inherit", env: { ...process.env, MCPHUB_BUILD_OUT: bundleDir } });
    if (built.status !== 0) throw new Error("build failed");
    // MCPHUB_DASHBOARD_DIR names a build made elsewhere (a test's own, while others rebuild apps/dashboard/dist).
    if (!process.env.MCPHUB_DASHBOARD_DIR) {
      const dashboard = spawnSync("pnpm", ["--filter", "@mcphub/dashboard", "build"], { cwd: root, stdio: "inherit" });
      if (dashboard.status !== 0) throw new Error("dashboard build failed");
    }
  }

  const hubBundle = join(bundleDir, "server.js");
  if (!existsSync(hubBundle)) throw new Error(`${hubBundle} is missing: build it (pnpm --filter @mcphub/hub build) or drop --no-build`);

  const dataDir = join(runDir, "data");
  await mkdir(dataDir, { recursive: true });
  const common: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    INTERNAL_TOKEN: token,
    JWT_SECRET: process.env.JWT_SECRET ?? randomBytes(32).toString("hex"),
    MCPHUB_SETTING_PATH: settingsPath,
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    // The example's servers are named by their bins from the project's dependencies.
    PATH: [process.env.PATH, join(root, "node_modules/.bin")].filter(Boolean).join(delimiter),
  };

  const service = async (target: string, name: string, env: NodeJS.ProcessEnv = {}) => {
    const servicePort = await freePort();
    return start(name, servicePort, process.execPath, ["--max-semi-space-size=2", hubBundle], {
      ...common,
      ...env,
      HUB_TARGETS: target,
      PORT: String(servicePort),
      REPLICA_ID: name,
    });
  };
  const auth = await service("auth", "auth");
  await waitHealthy(auth);
  // Gateways and the supervisor check every client's credential with the auth service.
  common.AUTH_URL = `http://127.0.0.1:${auth.port}`;
  const supervisor = await service("supervisor", "supervisor");
  await waitHealthy(supervisor);
  const supervisorUrl = `http://127.0.0.1:${supervisor.port}`;
  const router = await service("router", "router", { SUPERVISOR_URL: supervisorUrl });
  const routerUrl = `http://127.0.0.1:${router.port}`;

  const gws: Proc[] = [];
  for (let i = 1; i <= gateways; i++) gws.push(await service("gateway", `gateway-${i}`, { SUPERVISOR_URL: supervisorUrl, ROUTER_URL: routerUrl }));
  await Promise.all([router, ...gws].map((p) => waitHealthy(p)));

  const tls = args.tls ? { ...selfSignedCertificate(runDir), listen: `127.0.0.1:${tlsPort}`, port: tlsPort } : undefined;
  const rendered = await renderServerConfig({
    gateways: gws.map((g) => `127.0.0.1:${g.port}`),
    supervisor: `127.0.0.1:${supervisor.port}`,
    auth: `127.0.0.1:${auth.port}`,
    listen: `127.0.0.1:${port}`,
    tls,
  });
  await writeFile(join(runDir, "mcphub.conf"), rendered);
  await writeFile(join(runDir, "nginx.conf"), mainConfig(runDir, join(runDir, "mcphub.conf")));
  // nginx serves the dashboard from dashboard/ under its prefix (mcphub-routes.conf).
  await rm(join(runDir, "dashboard"), { force: true, recursive: true });
  await symlink(process.env.MCPHUB_DASHBOARD_DIR ?? join(root, "apps/dashboard/dist"), join(runDir, "dashboard"));
  const nginx = start("nginx", tls ? tlsPort : port, "nginx", ["-p", runDir, "-c", join(runDir, "nginx.conf")], process.env);
  await waitHealthy(nginx, "/api/health", 60_000, tls ? await readFile(tls.cert) : undefined);

  const state = {
    url: tls ? `https://127.0.0.1:${tlsPort}` : `http://127.0.0.1:${port}`,
    /** The certificate to trust (self-signed) when the cluster serves HTTPS. */
    ...(tls ? { tlsCert: tls.cert, httpUrl: `http://127.0.0.1:${port}` } : {}),
    supervisor: { pid: supervisor.child.pid, port: supervisor.port },
    router: { pid: router.child.pid, port: router.port },
    auth: { pid: auth.child.pid, port: auth.port },
    gateways: gws.map((g, i) => ({ id: `gateway-${i + 1}`, pid: g.child.pid, port: g.port })),
    nginx: { pid: nginx.child.pid, port },
  };
  // Written whole, then renamed: whoever waits for state.json never reads half of it.
  await writeFile(join(runDir, "state.json.partial"), JSON.stringify(state, null, 2));
  await rename(join(runDir, "state.json.partial"), join(runDir, "state.json"));
  log(`ready: MCP at ${state.url}/mcp (${gateways} gateway replicas), settings API at ${state.url}/api/servers, login at ${state.url}/api/auth/login; Ctrl-C stops everything`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    log("stopping");
    void stopAll().then(() => process.exit(0));
  });
}

main().catch(async (err) => {
  console.error(`[cluster] ${(err as Error).message}`);
  await stopAll();
  process.exit(1);
});
