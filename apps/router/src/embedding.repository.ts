import { createHash } from "node:crypto";
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
  private iterative: Promise<boolean> | undefined;

  constructor(private readonly db: Database) {}

  /** Whether pgvector has iterative index scans (0.8.0 and later). */
  private iterativeScans(): Promise<boolean> {
    this.iterative ??= queryRows<{ v: string }>(this.db, sql`select extversion as v from pg_extension where extname = 'vector'`).then(
      (rows) => {
        const [major = 0, minor = 0] = (rows[0]?.v ?? "0").split(".").map(Number);
        return major > 0 || minor >= 8;
      },
      () => false,
    );
    return this.iterative;
  }

  /** Whether the database answers (readiness). */
  async ping(): Promise<boolean> {
    return this.db.execute(sql`select 1`).then(
      () => true,
      () => false,
    );
  }

  /** content id → content hash and dimensions of every tool embedded with `model`. */
  async hashes(model: string): Promise<Map<string, { hash: string; dims: number }>> {
    const rows = await this.db
      .select({ contentId: vectorEmbeddings.contentId, contentHash: vectorEmbeddings.contentHash, dims: vectorEmbeddings.dimensions })
      .from(vectorEmbeddings)
      .where(and(eq(vectorEmbeddings.contentType, TOOL_CONTENT), eq(vectorEmbeddings.model, model)));
    return new Map(rows.map((r) => [r.contentId, { hash: r.contentHash, dims: r.dims }]));
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
   * An HNSW index for `model`'s vectors, where pgvector is installed: an expression index over
   * the real[] column cast to its dimensions, partial to the model, so the table itself needs no
   * vector type. The planner uses it once the catalog is large enough to make it pay.
   */
  async ensureHnsw(model: string, dims: number): Promise<void> {
    const name = `vector_embeddings_hnsw_${createHash("sha256").update(`${model}\u0000${dims}`).digest("hex").slice(0, 16)}`;
    // Identifiers and the model literal cannot be bound parameters in DDL: the name is a hash, the model is quoted.
    const literal = `'${model.replaceAll("'", "''")}'`;
    await this.db.execute(
      sql.raw(
        `create index if not exists ${name} on vector_embeddings using hnsw ((embedding::vector(${Math.trunc(dims)})) vector_cosine_ops) ` +
          `where content_type = '${TOOL_CONTENT}' and model = ${literal} and dimensions = ${Math.trunc(dims)}`,
      ),
    );
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
    const dims = sql.raw(String(Math.trunc(opts.query.length)));
    const threshold = opts.threshold === undefined ? sql`` : sql`and 1 - (embedding::vector(${dims}) <=> ${query}::vector(${dims})) >= ${opts.threshold}`;
    // An HNSW scan yields at most ef_search rows (40 by default), filtered afterwards: ask for
    // as many as the caller wants, and (pgvector 0.8+) let the scan go on past filtered-out rows,
    // so its answer is the exact one at catalog sizes.
    const iterative = await this.iterativeScans();
    const rows = await this.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`set local hnsw.ef_search = ${Math.min(1000, Math.max(40, Math.trunc(opts.limit)))}`));
      if (iterative) await tx.execute(sql`set local hnsw.iterative_scan = strict_order`);
      return queryRows<{ content_id: string; score: number | string }>(
      tx as unknown as Database,
      sql`select content_id, 1 - (embedding::vector(${dims}) <=> ${query}::vector(${dims})) as score
          from vector_embeddings
          where content_type = ${TOOL_CONTENT} and model = ${opts.model} and dimensions = ${opts.query.length}
            and content_id in (select jsonb_array_elements_text(${ids}::jsonb))
            ${threshold}
          order by embedding::vector(${dims}) <=> ${query}::vector(${dims}), content_id collate "C"
          limit ${opts.limit}`,
      );
    });
    return rows.map((r) => ({ contentId: r.content_id, score: Number(r.score) }));
  }
}
