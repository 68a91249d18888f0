import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { upstream } from "../../apps/hub/test/helpers/servers.ts";
import { freshDatabase } from "../helpers/postgres.ts";
import { repoRoot, startService, type ServiceProcess } from "../helpers/processes.ts";

/**
 * infra/scripts/backup.sh and restore.sh against the real local Postgres and the embedded
 * database: a hub populated through its API (users, keys, settings revisions, audit rows),
 * backed up, wiped, restored, and every row found back.
 */
const TABLES = ["users", "api_keys", "settings_revisions", "audit_logs"] as const;
const BACKUP = join(repoRoot, "infra/scripts/backup.sh");
const RESTORE = join(repoRoot, "infra/scripts/restore.sh");

let dir: string;

function run(script: string, args: string[], env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(script, args, { env: { ...process.env, ...env }, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** An admin signs in, makes a key, adds a server through the API (a settings revision); each leaves audit rows. */
async function populate(hub: ServiceProcess): Promise<void> {
  const call = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${hub.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300);
    return res.json() as Promise<any>;
  };
  // The hub listens before its first admin exists (made as it starts).
  let token = "";
  await waitUntil(async () => {
    const res = await fetch(`${hub.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "backup-admin-password" }) });
    if (res.status === 200) token = ((await res.json()) as { token: string }).token;
    return token !== "";
  }, 10_000, "the first admin to sign in");
  await call("/api/users", { username: "alice", password: "alice-password-123", role: "user" }, token);
  await call("/api/keys", { name: "backup-key", accessType: "all" }, token);
  await call("/api/servers", { name: "memory", ...upstream.memory(join(dir, "memory.jsonl")) }, token);
  await waitUntil(async () => {
    const res = await fetch(`${hub.url}/api/audit`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { entries: unknown[] };
    return body.entries.length >= 3;
  }, 10_000, "audit rows stored");
}

async function snapshot(url: string): Promise<Record<string, unknown[]>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of TABLES) out[t] = await sql.unsafe(`select * from ${t} order by 1`);
    return out;
  } finally {
    await sql.end();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-backup-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("backup.sh and restore.sh with Postgres", () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let hub: ServiceProcess | undefined;
  afterAll(async () => {
    await hub?.stop();
    await database?.drop();
  });

  it("back up a populated hub, and after the database, settings and data are wiped, restore every row", async () => {
    database = await freshDatabase("backup");
    const settings = join(dir, "pg", "mcp_settings.json");
    const data = join(dir, "pg", "data");
    await mkdir(data, { recursive: true });
    await writeFile(settings, JSON.stringify({ mcpServers: { everything: upstream.everything() } }, null, 2));
    const env = { DATABASE_URL: database.url, MCPHUB_SETTING_PATH: settings, DATA_DIR: data, ADMIN_PASSWORD: "backup-admin-password", JWT_SECRET: "j".repeat(40) };
    // A fresh PGlite directory takes a while to initialise on a small machine.
    hub = await startService("hub", env, 60_000);
    await populate(hub);
    await hub.stop();
    hub = undefined;
    const before = await snapshot(database.url);
    for (const t of TABLES) expect(before[t]!.length, t).toBeGreaterThan(0);
    const settingsBefore = await readFile(settings, "utf8");
    expect(settingsBefore).toContain('"memory"');

    const backups = join(dir, "pg", "backups");
    const made = run(BACKUP, ["--backup-dir", backups], env);
    expect(made.status, made.out).toBe(0);
    const [name] = await readdir(backups);
    expect(name).toMatch(/^mcphub-\d{8}T\d{6}Z$/);
    expect((await readdir(join(backups, name!))).sort()).toEqual(["MANIFEST", "data.tar.gz", "database.dump", "mcp_settings.json"]);

    // Wipe: the database dropped and made again empty, the settings and data gone.
    const admin = postgres(database.url.replace(/\/[^/]+$/, "/postgres"), { max: 1, onnotice: () => {} });
    const dbName = new URL(database.url).pathname.slice(1);
    await admin.unsafe(`drop database "${dbName}" with (force)`);
    await admin.unsafe(`create database "${dbName}"`);
    await admin.end();
    await rm(settings);
    await rm(data, { recursive: true });

    const restored = run(RESTORE, [join(backups, name!)], env);
    expect(restored.status, restored.out).toBe(0);
    expect(await snapshot(database.url)).toEqual(before);
    expect(await readFile(settings, "utf8")).toBe(settingsBefore);

    // The restored hub signs in the user made before the backup.
    hub = await startService("hub", env);
    const login = await fetch(`${hub.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "alice", password: "alice-password-123" }) });
    expect(login.status).toBe(200);
  }, 120_000);

  it("refuses to restore over a database that has tables, a damaged backup, or without DATABASE_URL", async () => {
    const backups = join(dir, "pg", "backups");
    const [name] = await readdir(backups);
    const path = join(backups, name!);
    const env = { DATABASE_URL: database.url, MCPHUB_SETTING_PATH: join(dir, "pg", "other.json"), DATA_DIR: join(dir, "pg", "other-data") };
    const over = run(RESTORE, [path], env);
    expect(over.status).not.toBe(0);
    expect(over.out).toMatch(/already has \d+ tables/);
    const noUrl = run(RESTORE, [path], { ...env, DATABASE_URL: "" });
    expect(noUrl.out).toMatch(/set DATABASE_URL/);
    const copy = join(dir, "pg", "damaged");
    execFileSync("cp", ["-a", path, copy]);
    await writeFile(join(copy, "mcp_settings.json"), "{}");
    const damaged = run(RESTORE, [copy], env);
    expect(damaged.status).not.toBe(0);
    expect(damaged.out).toMatch(/does not match its MANIFEST/);
    expect(run(RESTORE, [join(dir, "nowhere")], env).out).toMatch(/not a backup directory/);
    expect(run(BACKUP, ["--retention-days", "two"], env).out).toMatch(/whole number of days/);
  });
});

describe("backup.sh and restore.sh with the embedded database", () => {
  let hub: ServiceProcess | undefined;
  afterAll(async () => {
    await hub?.stop();
  });

  it("carry the data directory (PGlite) and the settings, and keep RETENTION_DAYS of backups", async () => {
    const settings = join(dir, "embedded", "mcp_settings.json");
    const data = join(dir, "embedded", "data");
    await mkdir(data, { recursive: true });
    await writeFile(settings, JSON.stringify({ mcpServers: { everything: upstream.everything() } }));
    const env = { MCPHUB_SETTING_PATH: settings, DATA_DIR: data, ADMIN_PASSWORD: "backup-admin-password", JWT_SECRET: "j".repeat(40), DATABASE_URL: "" };
    // A fresh PGlite directory takes a while to initialise on a small machine.
    hub = await startService("hub", env, 60_000);
    await populate(hub);
    await hub.stop();
    hub = undefined;

    const backups = join(dir, "embedded", "backups");
    // A backup from 20 days ago, which a 14-day retention removes.
    const old = join(backups, "mcphub-20000101T000000Z");
    await mkdir(old, { recursive: true });
    const past = new Date(Date.now() - 20 * 86_400_000);
    await utimes(old, past, past);
    const made = run(BACKUP, ["--backup-dir", backups, "--retention-days", "14"], env);
    expect(made.status, made.out).toBe(0);
    expect(made.out).toMatch(/removed .*mcphub-20000101T000000Z/);
    const names = await readdir(backups);
    expect(names).toHaveLength(1);
    expect((await readdir(join(backups, names[0]!))).sort()).toEqual(["MANIFEST", "data.tar.gz", "mcp_settings.json"]);

    await rm(data, { recursive: true });
    await rm(settings);
    const restored = run(RESTORE, [join(backups, names[0]!)], env);
    expect(restored.status, restored.out).toBe(0);
    expect(existsSync(settings)).toBe(true);

    // The restored embedded database still has alice, and the audit trail of the first run.
    hub = await startService("hub", env, 60_000);
    const login = await fetch(`${hub.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "alice", password: "alice-password-123" }) });
    expect(login.status).toBe(200);
    const admin = (await (await fetch(`${hub.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: "backup-admin-password" }) })).json()) as { token: string };
    const audit = (await (await fetch(`${hub.url}/api/audit`, { headers: { authorization: `Bearer ${admin.token}` } })).json()) as { entries: unknown[] };
    const entries = audit.entries;
    expect(JSON.stringify(entries)).toContain("backup-key");
  }, 180_000);
});
