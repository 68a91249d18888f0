import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { auditLogs, openDatabase, queryRows, settingsRevisions, type DbHandle } from "../../src/index.ts";

const ADMIN_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const TABLES = ["api_keys", "audit_logs", "settings_revisions", "users", "vector_embeddings"];

async function tables(h: DbHandle): Promise<string[]> {
  const rows = await queryRows<{ table_name: string }>(
    h.db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

describe("Postgres", () => {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const name = `mcphub_migrate_${process.pid}_${Date.now()}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const handles: DbHandle[] = [];

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()));
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });

  it("migrates once when several services start together (advisory lock)", async () => {
    await admin.unsafe(`create database "${name}"`);
    handles.push(...(await Promise.all([1, 2, 3].map(() => openDatabase({ url: url.href, dataDir: "", maxConnections: 2 })))));
    for (const h of handles) expect(h.kind).toBe("postgres");
    expect(await tables(handles[0]!)).toEqual(TABLES);
    const applied = await queryRows<{ n: number }>(handles[0]!.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(applied[0]!.n).toBe(1);
  });

  it("enforces the unique event_id that makes audit replays harmless", async () => {
    const h = handles[0]!;
    const row = { eventId: "6f1c1d5e-8a8e-4c55-9d2a-3f1f7a3b2c10", action: "tool.call", resource: "everything", success: true, createdAt: new Date() };
    await h.db.insert(auditLogs).values(row).onConflictDoNothing({ target: auditLogs.eventId });
    await h.db.insert(auditLogs).values(row).onConflictDoNothing({ target: auditLogs.eventId });
    const n = await queryRows<{ n: number }>(h.db, sql`select count(*)::int as n from audit_logs`);
    expect(n[0]!.n).toBe(1);
  });

  it("refuses a settings revision with an unknown source", async () => {
    const err = await handles[0]!.db.insert(settingsRevisions).values({ settings: {}, contentHash: "x", source: "ftp" }).then(
      () => undefined,
      (e: Error) => e,
    );
    // drizzle wraps the driver's error; the constraint's name is in the cause.
    expect(String((err?.cause as Error | undefined)?.message)).toMatch(/settings_revisions_source/);
  });
});

describe("PGlite", () => {
  it("creates the schema with the vector extension under DATA_DIR, and reopens", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mcphub-db-"));
    try {
      const first = await openDatabase({ dataDir: dir });
      expect(first.kind).toBe("pglite");
      expect(first.hasVector).toBe(true);
      expect(await tables(first)).toEqual(TABLES);
      await first.db.insert(settingsRevisions).values({ settings: { mcpServers: {} }, contentHash: "h", source: "file" });
      await first.close();
      const again = await openDatabase({ dataDir: dir });
      const rows = await again.db.select().from(settingsRevisions);
      expect(rows).toHaveLength(1);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
