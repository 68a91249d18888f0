import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { sql, type SQL } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import postgres from "postgres";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export interface DbHandle {
  db: Database;
  kind: "postgres" | "pglite";
  /** Whether the pgvector extension is installed in this database. */
  hasVector: boolean;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres://… — a Postgres server; without it, PGlite files under `dataDir`. */
  url?: string;
  dataDir: string;
  /** Connections in the postgres.js pool. */
  maxConnections?: number;
}

/** Beside the source (packages/db/src → ../migrations) or beside an app's bundle (dist/migrations). */
const MIGRATIONS = ["../migrations", "./migrations"]
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((dir) => existsSync(`${dir}/meta/_journal.json`))!;
/**
 * The embedded database holds settings revisions, keys and audit rows, not a working set
 * worth caching: Postgres' default 128 MB of shared buffers would double the hub's memory.
 */
const PGLITE_CONF = ["shared_buffers = 8MB", "work_mem = 4MB", "maintenance_work_mem = 16MB", "temp_buffers = 2MB", "wal_buffers = 256kB"];

/** Arbitrary but fixed: every MCPHub service takes this advisory lock to migrate. */
const MIGRATION_LOCK = 7_391_042;

/** Opens the database and brings its schema up to date (one service at a time). */
export async function openDatabase(opts: DbOptions): Promise<DbHandle> {
  if (opts.url) {
    const client = postgres(opts.url, { max: opts.maxConnections ?? 10, onnotice: () => {} });
    const db = drizzlePostgres(client, { schema }) as unknown as Database;
    // Session-level advisory lock on one reserved connection; the migration itself runs on the pool.
    const lock = await client.reserve();
    try {
      await lock`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migratePostgres(drizzlePostgres(client, { schema }), { migrationsFolder: MIGRATIONS });
      const hasVector = await tryCreateVectorExtension(db);
      await lock`select pg_advisory_unlock(${MIGRATION_LOCK})`;
      return { db, kind: "postgres", hasVector, close: () => client.end({ timeout: 5 }) };
    } catch (err) {
      await client.end({ timeout: 1 });
      throw err;
    } finally {
      lock.release();
    }
  }
  await mkdir(opts.dataDir, { recursive: true });
  const dir = `${opts.dataDir}/pglite`;
  if (!existsSync(`${dir}/PG_VERSION`)) await initPgliteInChild(dir);
  const client = new PGlite(dir, { extensions: { vector }, postgresqlconf: PGLITE_CONF });
  const pglite = drizzlePglite(client, { schema });
  await migratePglite(pglite, { migrationsFolder: MIGRATIONS });
  const db = pglite as unknown as Database;
  const hasVector = await tryCreateVectorExtension(db);
  return { db, kind: "pglite", hasVector, close: () => client.close() };
}

/**
 * Creates a new PGlite data directory in a short-lived child process. initdb grows the
 * WebAssembly memory to several hundred MB, and WebAssembly memory never shrinks: done in this
 * process, the hub would keep that memory for its lifetime. The child returns it to the OS.
 */
async function initPgliteInChild(dir: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const pglite = pathToFileURL(require.resolve("@electric-sql/pglite")).href;
  const pgvector = pathToFileURL(require.resolve("@electric-sql/pglite-pgvector")).href;
  const code = `
    const { PGlite } = await import(${JSON.stringify(pglite)});
    const { vector } = await import(${JSON.stringify(pgvector)});
    const db = new PGlite(${JSON.stringify(dir)}, { extensions: { vector }, postgresqlconf: ${JSON.stringify(PGLITE_CONF)} });
    await db.waitReady;
    await db.query("create extension if not exists vector");
    await db.close();`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`creating the embedded database failed (${code}): ${stderr.trim().slice(-500)}`))));
  });
}

/** pgvector is optional (DESIGN.md, "Data"): a server without it still runs, searching exactly. */
async function tryCreateVectorExtension(db: Database): Promise<boolean> {
  try {
    await db.execute(sql`create extension if not exists vector`);
    return true;
  } catch {
    return false;
  }
}

/** Rows of a raw SQL query; postgres.js returns an array, PGlite an object with `rows`. */
export async function queryRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
