import { and, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import { auditLogs, insertAuditEvents, queryRows, type Database } from "@mcphub/db";
import type { AuditEvent } from "@mcphub/contracts";

export interface AuditEntry {
  id: number;
  eventId: string;
  at: string;
  userId: string | null;
  username: string | null;
  action: string;
  resource: string;
  resourceId: string | null;
  success: boolean;
  details: Record<string, unknown> | null;
  ip: string | null;
}

export interface AuditFilter {
  /** Entries of this user id. */
  userId?: string;
  /** Entries with this user name (a user id or a name given as `user`). */
  username?: string;
  action?: string;
  resource?: string;
  success?: boolean;
  from?: Date;
  to?: Date;
  /** Keyset position: entries strictly older than this (time, id). */
  before?: { at: Date; id: number };
  limit: number;
}

export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Inserts events not stored yet; returns how many were new. One statement: all or nothing. */
  async insertMany(events: AuditEvent[]): Promise<number> {
    return insertAuditEvents(this.db, events);
  }

  /** Newest first: by event time, then by id for events of the same millisecond. */
  async query(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: SQL[] = [];
    if (filter.userId) where.push(eq(auditLogs.userId, filter.userId));
    if (filter.username) where.push(eq(auditLogs.username, filter.username));
    if (filter.action) where.push(eq(auditLogs.action, filter.action));
    if (filter.resource) where.push(eq(auditLogs.resource, filter.resource));
    if (filter.success !== undefined) where.push(eq(auditLogs.success, filter.success));
    if (filter.from) where.push(gte(auditLogs.createdAt, filter.from));
    if (filter.to) where.push(lte(auditLogs.createdAt, filter.to));
    if (filter.before) {
      where.push(sql`(${auditLogs.createdAt}, ${auditLogs.id}) < (${filter.before.at.toISOString()}::timestamptz, ${filter.before.id})`);
    }
    const rows = await this.db
      .select()
      .from(auditLogs)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditLogs.createdAt), desc(auditLogs.id))
      .limit(filter.limit);
    return rows.map((r) => ({
      id: r.id,
      eventId: r.eventId,
      at: r.createdAt.toISOString(),
      userId: r.userId,
      username: r.username,
      action: r.action,
      resource: r.resource,
      resourceId: r.resourceId,
      success: r.success,
      details: r.details,
      ip: r.ip,
    }));
  }

  /**
   * Deletes entries older than `cutoff`; returns how many. In chunks, so a first run over a
   * large backlog does not hold one long transaction.
   */
  async deleteOlderThan(cutoff: Date, chunk = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const [row] = await queryRows<{ n: number | string }>(
        this.db,
        sql`with gone as (
              delete from ${auditLogs} where ${auditLogs.id} in (
                select ${auditLogs.id} from ${auditLogs} where ${auditLogs.createdAt} < ${cutoff.toISOString()}::timestamptz limit ${chunk}
              ) returning 1
            ) select count(*) as n from gone`,
      );
      const n = Number(row?.n ?? 0);
      total += n;
      if (n < chunk) return total;
    }
  }
}
