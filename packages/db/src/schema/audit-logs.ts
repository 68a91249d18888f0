import { bigserial, boolean, index, jsonb, pgTable, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

/**
 * The audit trail. Append-only; `event_id` is set by the producer, so replaying the Redis
 * stream after a crash inserts nothing twice.
 */
export const auditLogs = pgTable(
  "audit_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: uuid("event_id").notNull().unique(),
    userId: uuid("user_id"),
    username: varchar("username", { length: 255 }),
    action: varchar("action", { length: 100 }).notNull(),
    resource: varchar("resource", { length: 255 }).notNull(),
    resourceId: varchar("resource_id", { length: 512 }),
    success: boolean("success").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>(),
    ip: varchar("ip", { length: 80 }),
    /** When it happened at the producer, not when it was written. */
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    index("audit_logs_created_at").on(t.createdAt),
    index("audit_logs_user_id").on(t.userId),
    index("audit_logs_action").on(t.action),
    index("audit_logs_resource").on(t.resource),
  ],
);
