import { integer, jsonb, pgTable, real, text, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";
import { lifecycleDates } from "./columns.ts";

/**
 * Embeddings of catalog items (tools, prompts) for smart routing. The vector is stored as
 * real[] so the table exists on any Postgres; where the pgvector extension is available the
 * router searches it through pgvector, otherwise it ranks exactly in process — same results.
 */
export const vectorEmbeddings = pgTable(
  "vector_embeddings",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    contentType: varchar("content_type", { length: 50 }).notNull(),
    contentId: varchar("content_id", { length: 512 }).notNull(),
    textContent: text("text_content").notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    embedding: real("embedding").array().notNull(),
    dimensions: integer("dimensions").notNull(),
    model: varchar("model", { length: 255 }).notNull(),
    /** sha256 of text_content + model: an unchanged item is not embedded again. */
    contentHash: text("content_hash").notNull(),
    ...lifecycleDates,
  },
  (t) => [uniqueIndex("vector_embeddings_item_model").on(t.contentType, t.contentId, t.model)],
);
