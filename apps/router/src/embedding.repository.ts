import { and, eq, inArray, sql } from "drizzle-orm";
import { queryRows, vectorEmbeddings, type Database } from "@mcphub/db";

/** The content type of catalog tools in `vector_embeddings`. */
export const TOOL_CONTENT = "tool";

export interface ToolEmbedding {
  /** `<server>/<tool>`. */
  contentId: string;
  server: string;
  tool: string;
  text: string;
  embedding: number[];
  model: string;
  contentHash: string;
}

export interface StoredVector {
  contentId: string;
  embedding: number[];
}

export interface VectorMatch {
  contentId: string;
  score: number;
}

/** Stored tool embeddings: what the index holds, writes after a sync, and the pgvector search. */
export class EmbeddingRepository {
  constructor(private readonly db: Database) {}

  /** Whether the database answers (readiness). */
  async ping(): Promise<boolean> {
    return this.db.execute(sql`select 1`).then(
      () => true,
      () => false,
    );
  }

  /** content id → content hash of every tool embedded with `model`. */
  async hashes(model: string): Promise<Map<string, string>> {
    const rows = await this.db
      .select({ contentId: vectorEmbeddings.contentId, contentHash: vectorEmbeddings.contentHash })
      .from(vectorEmbeddings)
      .where(and(eq(vectorEmbeddings.contentType, TOOL_CONTENT), eq(vectorEmbeddings.model, model)));
    return new Map(rows.map((r) => [r.contentId, r.contentHash]));
  }

  /** Every tool embedded with any model, by content id, with its server and name. */
  async tools(): Promise<{ contentId: string; server: string; tool: string }[]> {
    const rows = await this.db
      .selectDistinct({ contentId: vectorEmbeddings.contentId, metadata: vectorEmbeddings.metadata })
      .from(vectorEmbeddings)
      .where(eq(vectorEmbeddings.contentType, TOOL_CONTENT));
    return rows.map((r) => ({ contentId: r.contentId, server: String(r.metadata.server ?? ""), tool: String(r.metadata.tool ?? "") }));
  }

  /** Inserts or replaces the given embeddings and removes the given tools (of every model), atomically. */
  async apply(upserts: ToolEmbedding[], removals: string[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      // Chunked: one statement binds 10 parameters per row, and Postgres allows 65,535.
      for (let i = 0; i < upserts.length; i += 500) {
        const chunk = upserts.slice(i, i + 500);
        await tx
          .insert(vectorEmbeddings)
          .values(
            chunk.map((u) => ({
              contentType: TOOL_CONTENT,
              contentId: u.contentId,
              textContent: u.text,
              metadata: { server: u.server, tool: u.tool },
              embedding: u.embedding,
              dimensions: u.embedding.length,
              model: u.model,
              contentHash: u.contentHash,
            })),
          )
          .onConflictDoUpdate({
            target: [vectorEmbeddings.contentType, vectorEmbeddings.contentId, vectorEmbeddings.model],
            set: {
              textContent: sql`excluded.text_content`,
              metadata: sql`excluded.metadata`,
              embedding: sql`excluded.embedding`,
              dimensions: sql`excluded.dimensions`,
              contentHash: sql`excluded.content_hash`,
              updatedAt: sql`now()`,
            },
          });
      }
      for (let i = 0; i < removals.length; i += 5000) {
        await tx
          .delete(vectorEmbeddings)
          .where(and(eq(vectorEmbeddings.contentType, TOOL_CONTENT), inArray(vectorEmbeddings.contentId, removals.slice(i, i + 5000))));
      }
    });
  }

  /** Every vector of `model`, for the exact search in process. */
  async vectors(model: string): Promise<StoredVector[]> {
    return this.db
      .select({ contentId: vectorEmbeddings.contentId, embedding: vectorEmbeddings.embedding })
      .from(vectorEmbeddings)
      .where(and(eq(vectorEmbeddings.contentType, TOOL_CONTENT), eq(vectorEmbeddings.model, model)));
  }

  /**
   * The closest tools among `contentIds` by cosine similarity, through pgvector: the real[]
   * column is cast to `vector` in the query, so the table needs no pgvector type and stays the
   * same on a server without the extension. Ties go by content id, as in the exact search.
   */
  async nearest(opts: { model: string; query: number[]; contentIds: string[]; limit: number; threshold?: number }): Promise<VectorMatch[]> {
    if (!opts.contentIds.length) return [];
    const query = `[${opts.query.join(",")}]`;
    // The allowed ids travel as one JSON parameter: a catalog may hold more tools than a statement may bind parameters.
    const ids = JSON.stringify(opts.contentIds);
    const threshold = opts.threshold === undefined ? sql`` : sql`and 1 - (embedding::vector <=> ${query}::vector) >= ${opts.threshold}`;
    const rows = await queryRows<{ content_id: string; score: number | string }>(
      this.db,
      sql`select content_id, 1 - (embedding::vector <=> ${query}::vector) as score
          from vector_embeddings
          where content_type = ${TOOL_CONTENT} and model = ${opts.model} and dimensions = ${opts.query.length}
            and content_id in (select jsonb_array_elements_text(${ids}::jsonb))
            ${threshold}
          order by embedding::vector <=> ${query}::vector, content_id collate "C"
          limit ${opts.limit}`,
    );
    return rows.map((r) => ({ contentId: r.content_id, score: Number(r.score) }));
  }
}
