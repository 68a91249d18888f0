import { auditLogs } from "./schema/audit-logs.ts";
import type { Database } from "./client.ts";

/** An audit event as it is stored (the shape of the contracts' AuditEvent, validated by its producer). */
export interface AuditRowEvent {
  eventId: string;
  /** ISO 8601 time at the producer. */
  at: string;
  userId?: string;
  username?: string;
  action: string;
  resource: string;
  resourceId?: string;
  success: boolean;
  details?: Record<string, unknown>;
  ip?: string;
}

/** The database or an open transaction: whoever owns a change writes its audit row in the same transaction. */
export type AuditWriter = Pick<Database, "insert">;

/**
 * Inserts events not stored yet (by event_id, so a replay is harmless); returns how many were
 * new. One statement: all or nothing. Called by the audit log's owner and, inside their
 * transactions, by the repositories whose changes the rows record.
 */
export async function insertAuditEvents(db: AuditWriter, events: readonly AuditRowEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = events.map((e) => ({
    eventId: e.eventId,
    userId: e.userId ?? null,
    username: e.username ?? null,
    action: e.action,
    resource: e.resource,
    resourceId: e.resourceId ?? null,
    success: e.success,
    details: e.details ?? null,
    ip: e.ip ?? null,
    createdAt: new Date(e.at),
  }));
  const inserted = await db.insert(auditLogs).values(rows).onConflictDoNothing({ target: auditLogs.eventId }).returning({ id: auditLogs.id });
  return inserted.length;
}
