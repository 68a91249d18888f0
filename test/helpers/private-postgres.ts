import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort } from "./processes.ts";

const run = promisify(execFile);

/**
 * A PostgreSQL server of a test's own, for fault tests that stop and restart it: the shared
 * one on 5432 must not go down under other test files. Trust auth on loopback, its socket in
 * its own directory, everything under one temporary directory that `destroy()` removes.
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  dir: string;
  /** Starts it again after stop(); resolves once it accepts connections. */
  start(): Promise<void>;
  /** "fast" rolls back sessions and checkpoints; "immediate" aborts (crash recovery on the next start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /** Stops it (if running) and deletes its directory. */
  destroy(): Promise<void>;
  /** The server's own log, for a failing test's message. */
  log(): Promise<string>;
}

/**
 * Where initdb and pg_ctl are: PG_BIN when set, else the newest Debian/Ubuntu
 * /usr/lib/postgresql/<version>/bin, else whatever PATH finds.
 */
function pgBin(): (tool: string) => string {
  if (process.env.PG_BIN) return (tool) => join(process.env.PG_BIN!, tool);
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "pg_ctl")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return (tool) => join(root, versions[0]!, "bin", tool);
  }
  return (tool) => tool;
}

/** Postgres refuses to run as root: as root, its tools run as the `postgres` OS user. */
const asRoot = userInfo().uid === 0;

async function pgRun(bin: (tool: string) => string, tool: string, args: string[]): Promise<string> {
  const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin(tool), ...args]] : [bin(tool), args];
  try {
    const { stdout, stderr } = await run(cmd, argv, { timeout: 90_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${tool} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/** Numeric uid/gid of the `postgres` OS user (the owner its data directory must have). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** initdb into a new temporary directory and start the server on a free loopback port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = pgBin();
  const dir = await mkdtemp(join(tmpdir(), "mcphub-pg-"));
  if (asRoot) {
    const { uid, gid } = await postgresUser();
    await chown(dir, uid, gid);
  }
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  // --no-sync: a throwaway cluster; durability across restarts comes from clean shutdown and WAL replay, not fsync.
  await pgRun(bin, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
  const port = await freePort();
  const options = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c fsync=off", "-c full_page_writes=off", "-c max_connections=50"].join(" ");
  const ctl = (args: string[]) => pgRun(bin, "pg_ctl", ["-D", data, "-l", logFile, "-w", "-t", "60", ...args]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let running = false;

  const ready = async () => {
    // pg_ctl -w waits for the socket; one real query makes sure TCP on loopback answers too.
    const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      await sql`select 1`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  };

  const pg: PrivatePostgres = {
    url,
    port,
    dir,
    async start() {
      await ctl(["-o", options, "start"]);
      running = true;
      await ready();
    },
    async stop(mode = "fast") {
      if (!running) return;
      await ctl(["-m", mode, "stop"]);
      running = false;
    },
    async restart(mode = "fast") {
      await ctl(["-m", mode, "-o", options, "restart"]);
      running = true;
      await ready();
    },
    async destroy() {
      await pg.stop("immediate").catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
    log: () => readFile(logFile, "utf8").catch(() => ""),
  };
  try {
    await pg.start();
  } catch (err) {
    await pg.destroy();
    throw err;
  }
  return pg;
}
