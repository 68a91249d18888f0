import { boolean, check, index, jsonb, pgTable, text, timestamp, uuid, varchar } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { lifecycleDates } from "./columns.ts";
import { users } from "./users.ts";

/** API keys for MCP endpoints: shown once, stored as a hash, scoped to all, some groups or some servers. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 100 }).notNull(),
    keyHash: text("key_hash").notNull().unique(),
    /** The first characters of the key, to recognise it in lists. */
    prefix: varchar("prefix", { length: 16 }).notNull(),
    accessType: text("access_type").notNull().default("all"),
    allowedGroups: jsonb("allowed_groups").$type<string[]>(),
    allowedServers: jsonb("allowed_servers").$type<string[]>(),
    enabled: boolean("enabled").notNull().default(true),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    ...lifecycleDates,
  },
  (t) => [
    check("api_keys_access_type", sql`${t.accessType} in ('all', 'groups', 'servers')`),
    index("api_keys_user_id").on(t.userId),
  ],
);
