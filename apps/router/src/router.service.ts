import { HubError, type CatalogSnapshot } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import type { Embedder } from "./embedder.ts";
import { EmbeddingError } from "./openai.embedder.ts";
import type { EmbeddingRepository, ToolEmbedding, VectorMatch } from "./embedding.repository.ts";
import type { HubMetrics } from "@mcphub/observability";
import { searchRequestSchema, type CatalogSource, type RouterPort, type SearchRequest, type SearchResponse, type SearchResult } from "@mcphub/contracts";
import { catalogTools, contentHash, type ToolItem } from "./tool-text.ts";

export interface RouterServiceOptions {
  source: CatalogSource;
  repository: EmbeddingRepository;
  embedder: Embedder;
  /** Rank with pgvector in SQL (the database has the extension); else exactly in process. */
  useVector: boolean;
  logger: Logger;
  metrics: Pick<HubMetrics, "searchDuration" | "embeddedInputs">;
  /** First wait before retrying a failed sync; doubles up to a minute. */
  retryMs?: number;
}

export interface SyncReport {
  at: string;
  catalogVersion: number;
  embedded: number;
  reused: number;
  removed: number;
  ms: number;
}

export interface IndexStatus {
  model: string;
  backend: "pgvector" | "exact";
  /** The first sync has completed: searches see the whole catalog. */
  ready: boolean;
  syncing: boolean;
  /** Tools of the catalog that have a vector. */
  tools: number;
  lastSync?: SyncReport;
  lastError?: string;
}

interface CatalogIndex {
  version: number;
  items: Map<string, ToolItem>;
}

/** A stored vector as pgvector reads it (single precision), with its norm. */
interface CachedVector {
  contentId: string;
  values: Float32Array;
  norm: number;
}

const QUERY_CACHE_SIZE = 512;

/**
 * Keeps `vector_embeddings` in step with the catalog and answers searches over it.
 *
 * A sync embeds only tools whose text changed (by content hash), so a restart or a catalog
 * event that changed nothing costs no embedding call. Tools of a server that is configured and
 * enabled but not ready (restarting) are kept, not re-embedded when it returns; they are
 * searched again once the server is back in the catalog.
 */
export class RouterService implements RouterPort {
  private syncing: Promise<void> | undefined;
  private again = false;
  /** The catalog version the running (or last) pass read. */
  private passVersion: number | undefined;
  private ready = false;
  private lastSync: SyncReport | undefined;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private catalogIndex: CatalogIndex | undefined;
  private indexed = new Set<string>();
  private exact: CachedVector[] | undefined;
  private readonly queryCache = new Map<string, number[]>();
  private readonly backend: "pgvector" | "exact";
  private forceAll = false;

  constructor(private readonly opts: RouterServiceOptions) {
    this.backend = opts.useVector ? "pgvector" : "exact";
  }

  /** Follows the catalog: a sync now and after every change. */
  start(): void {
    this.unsubscribe = this.opts.source.onCatalogChanged(() => void this.sync());
    void this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.retryTimer);
    await this.syncing;
  }

  /** Re-embeds every tool, whatever its stored hash says. */
  async reindex(): Promise<IndexStatus> {
    await this.syncing;
    this.forceAll = true;
    await this.sync();
    return this.status();
  }

  status(): IndexStatus {
    return {
      model: this.opts.embedder.model,
      backend: this.backend,
      ready: this.ready,
      syncing: this.syncing !== undefined,
      tools: this.indexed.size,
      lastSync: this.lastSync,
      lastError: this.lastError,
    };
  }

  /**
   * Brings the index up to date with the catalog; one sync at a time, and a change announced
   * during one triggers one more. Resolves when the index reflects the catalog as it was called.
   */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.syncing) {
      // Another pass only if the catalog moved on since this one read it.
      if (this.opts.source.catalog().version !== this.passVersion) this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
          this.failures = 0;
          this.lastError = undefined;
        } catch (err) {
          this.failures++;
          this.lastError = (err as Error).message;
          const delay = Math.min((this.opts.retryMs ?? 5000) * 2 ** (this.failures - 1), 60_000);
          this.opts.logger.error({ err: this.lastError, retryInMs: delay }, "tool index sync failed; searches use the index as it is");
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.sync(), delay);
          this.retryTimer.unref();
          break;
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  async search(input: SearchRequest): Promise<SearchResponse> {
    return { results: await this.rank(input), ranking: "hybrid" };
  }

  private async rank(input: SearchRequest): Promise<SearchResult[]> {
    const parsed = searchRequestSchema.safeParse(input);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "body", message: i.message }));
      throw new HubError("HUB_INVALID_SEARCH", details.map((d) => `${d.field}: ${d.message}`).join("; "), 400, details);
    }
    const req = parsed.data;
    const end = this.opts.metrics.searchDuration.startTimer({ backend: this.backend });
    try {
      const { items } = this.currentCatalog();
      const only = req.servers ? new Set(req.servers) : undefined;
      const allowed = [...items.values()].filter((i) => !only || only.has(i.server)).map((i) => i.contentId);
      if (!allowed.length) return [];
      const query = await this.embedQuery(req.query);
      const matches = this.opts.useVector
        ? await this.opts.repository.nearest({ model: this.opts.embedder.model, query, contentIds: allowed, limit: req.limit, threshold: req.threshold })
        : await this.nearestExact(query, new Set(allowed), req.limit, req.threshold);
      return matches.map((m) => {
        const item = items.get(m.contentId)!;
        return { server: item.server, tool: item.tool, score: m.score, description: item.description };
      });
    } finally {
      end();
    }
  }

  private currentCatalog(): CatalogIndex {
    const snapshot = this.opts.source.catalog();
    if (this.catalogIndex?.version !== snapshot.version) {
      this.catalogIndex = { version: snapshot.version, items: new Map(catalogTools(snapshot).map((i) => [i.contentId, i])) };
    }
    return this.catalogIndex;
  }

  private async syncOnce(): Promise<void> {
    const snapshot = this.opts.source.catalog();
    this.passVersion = snapshot.version;
    // Version 0 (or the -1 of a reader that has not fetched yet): the supervisor has not applied
    // any settings, so an empty catalog means "not known yet", not "every tool was removed".
    if (snapshot.version <= 0) return;
    const started = Date.now();
    const { repository, embedder } = this.opts;
    const model = embedder.model;
    const items = catalogTools(snapshot);
    const stored = await repository.hashes(model);
    const hashes = new Map(items.map((i) => [i.contentId, contentHash(i.text, model)]));
    const all = this.forceAll;
    this.forceAll = false;
    const stale = all ? items : items.filter((i) => stored.get(i.contentId) !== hashes.get(i.contentId));
    const removals = (await repository.tools()).filter((r) => !hashes.has(r.contentId) && removed(snapshot, r.server, r.tool)).map((r) => r.contentId);

    let upserts: ToolEmbedding[] = [];
    if (stale.length) {
      const vectors = await embedder.embed(stale.map((i) => i.text));
      this.opts.metrics.embeddedInputs.inc({ model }, stale.length);
      upserts = stale.map((item, n) => ({
        contentId: item.contentId,
        server: item.server,
        tool: item.tool,
        text: item.text,
        embedding: vectors[n]!,
        model,
        contentHash: hashes.get(item.contentId)!,
      }));
    }
    if (upserts.length || removals.length) await repository.apply(upserts, removals);
    if (!this.opts.useVector && (upserts.length || removals.length || !this.exact)) await this.loadExact();
    this.indexed = new Set(items.map((i) => i.contentId));
    this.ready = true;
    this.lastSync = {
      at: new Date().toISOString(),
      catalogVersion: snapshot.version,
      embedded: upserts.length,
      reused: items.length - upserts.length,
      removed: removals.length,
      ms: Date.now() - started,
    };
    if (upserts.length || removals.length) this.opts.logger.info(this.lastSync, "tool index updated");
  }

  private async loadExact(): Promise<void> {
    const rows = await this.opts.repository.vectors(this.opts.embedder.model);
    this.exact = rows.map((r) => {
      const values = Float32Array.from(r.embedding);
      return { contentId: r.contentId, values, norm: norm(values) };
    });
  }

  private async nearestExact(query: number[], allowed: Set<string>, limit: number, threshold?: number): Promise<VectorMatch[]> {
    if (!this.exact) await this.loadExact();
    // Single precision, as pgvector reads the query, so both backends compare the same numbers.
    const q = Float32Array.from(query);
    const qNorm = norm(q);
    // The local embedder's query vectors are mostly zeros: visiting only the non-zero
    // coordinates makes a scan of thousands of tools take a fraction of a millisecond.
    const nonZero: number[] = [];
    for (let i = 0; i < q.length; i++) if (q[i] !== 0) nonZero.push(i);
    const sparse = nonZero.length < q.length / 4;
    const scored: VectorMatch[] = [];
    for (const v of this.exact!) {
      if (!allowed.has(v.contentId) || v.values.length !== q.length) continue;
      const dot = sparse ? sparseDot(q, v.values, nonZero) : denseDot(q, v.values);
      const score = qNorm && v.norm ? dot / (qNorm * v.norm) : 0;
      if (threshold !== undefined && score < threshold) continue;
      scored.push({ contentId: v.contentId, score });
    }
    // The same order as the SQL: by distance, then by content id (code-point order, as under the C collation).
    scored.sort((a, b) => b.score - a.score || (a.contentId < b.contentId ? -1 : a.contentId > b.contentId ? 1 : 0));
    return scored.slice(0, limit);
  }

  private async embedQuery(query: string): Promise<number[]> {
    const cached = this.queryCache.get(query);
    if (cached) {
      // Refresh its place: the map's order is the eviction order.
      this.queryCache.delete(query);
      this.queryCache.set(query, cached);
      return cached;
    }
    let vector: number[];
    try {
      [vector] = (await this.opts.embedder.embed([query])) as [number[]];
    } catch (err) {
      if (err instanceof EmbeddingError) throw new HubError("HUB_EMBEDDING_UNAVAILABLE", `could not embed the query: ${err.message}`, 503);
      throw err;
    }
    this.opts.metrics.embeddedInputs.inc({ model: this.opts.embedder.model });
    this.queryCache.set(query, vector);
    if (this.queryCache.size > QUERY_CACHE_SIZE) this.queryCache.delete(this.queryCache.keys().next().value!);
    return vector;
  }
}

/**
 * Whether a stored tool that the catalog does not list is gone for good. A server that is
 * configured and enabled but not ready keeps its tools (bar those the settings disable), so a
 * restart does not cost a re-embedding; a ready server lists all it has.
 */
function removed(snapshot: CatalogSnapshot, server: string, tool: string): boolean {
  if (snapshot.servers[server]) return true;
  const configured = snapshot.configured[server];
  return !configured || !configured.enabled || configured.disabledTools.includes(tool);
}

function denseDot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function sparseDot(a: Float32Array, b: Float32Array, indices: number[]): number {
  let sum = 0;
  for (const i of indices) sum += a[i]! * b[i]!;
  return sum;
}

function norm(v: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  return Math.sqrt(sum);
}
