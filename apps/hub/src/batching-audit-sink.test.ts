import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "@mcphub/contracts";
import { insertAuditEvents, openDatabase, auditLogs, type DbHandle } from "@mcphub/db";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { BatchingAuditSink } from "./batching-audit-sink.ts";

const dirs: string[] = [];
let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
let handle: DbHandle | undefined;
afterAll(async () => {
  await handle?.close();
  await db?.drop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("BatchingAuditSink.append", () => {
  it("answers an event that cannot be stored with a rejected promise, never a throw (the gateway appends in a call's finally)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mcphub-sink-"));
    dirs.push(dir);
    db = await freshDatabase("batching_sink");
    handle = await openDatabase({ url: db.url, dataDir: dir });
    const database = handle.db;
    const sink = new BatchingAuditSink({ write: (events: AuditEvent[]) => insertAuditEvents(database, events), journalPath: join(dir, "audit.journal") });
    await sink.recover();
    let appended: Promise<AuditEvent> | undefined;
    expect(() => (appended = sink.append({ action: "", resource: "server", success: true }))).not.toThrow();
    await expect(appended).rejects.toThrow(/invalid audit event: action/);
    // Nothing of it reached the journal or a batch; a valid event still does.
    expect(await readFile(join(dir, "audit.journal"), "utf8")).toBe("");
    const ok = await sink.append({ action: "tool.call", resource: "server", success: true });
    expect((await database.select({ eventId: auditLogs.eventId }).from(auditLogs)).map((r) => r.eventId)).toEqual([ok.eventId]);
    await sink.close();
  });
});
