import { bigserial, check, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";

/**
 * Every change to the settings (servers, groups, system config) as a full snapshot. The
 * highest id is the current settings; older rows are the history and the undo.
 */
export const settingsRevisions = pgTable(
  "settings_revisions",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    settings: jsonb("settings").notNull(),
    /** sha256 of the canonical JSON, so re-importing an unchanged file adds nothing. */
    contentHash: text("content_hash").notNull(),
    source: text("source").notNull(),
    /** User id or name for API edits; the file path for imports. */
    author: text("author"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("settings_revisions_source", sql`${t.source} in ('file', 'api')`)],
);
