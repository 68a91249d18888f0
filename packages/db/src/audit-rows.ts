import { auditLogs } from "./schema/audit-logs.ts";
import type { Database } from "./client.ts";

/**
 * An audit event as it is stored: the row's columns, with the producer's ISO time as `at` (the
 * contracts' AuditEvent, validated by its producer, fits it).
 */
export type AuditRowEvent = Omit<typeof auditLogs.$inferInsert, "id" | "createdAt"> & { at: string };

/** The database or an open transaction: whoever owns a change writes its audit row in the same transaction. */
export type AuditWriter = Pick<Database, "insert">;

/**
 * Inserts events not stored yet (by event_id, so a replay is harmless); returns how many were
 * new. One statement: all or nothing. Called by the audit log's owner and, inside their
 * transactions, by the repositories whose changes the rows record.
 */
export async function insertAuditEvents(db: AuditWriter, events: readonly AuditRowEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = events.map(({ at, ...e }) => ({ ...e, createdAt: new Date(at) }));
  const inserted = await db.insert(auditLogs).values(rows).onConflictDoNothing({ target: auditLogs.eventId }).returning({ id: auditLogs.id });
  return inserted.length;
}
