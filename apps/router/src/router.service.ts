import { HubError, searchRequestSchema, type CatalogSnapshot, type CatalogSource, type ParsedSearchRequest, type RouterIndexStatus, type RouterPort, type SearchRequest, type SearchResponse, type SearchResult, type SmartRoutingSnapshot } from "@mcphub/contracts";
import type { HubMetrics, Logger } from "@mcphub/observability";
import type { Embedder } from "./embedder.ts";
import type { EmbeddingRepository, ToolEmbedding } from "./embedding.repository.ts";
import { FUSION_DEFAULTS, fuse, type FusionParams } from "./fusion.ts";
import { LexicalIndex } from "./lexical.ts";
import { catalogTools, contentHash, type ToolItem } from "./tool-text.ts";

/** How a RouterService gets its embedder: fixed, or chosen from the catalog's smart-routing settings. */
export interface EmbedderChoice {
  /** Equal keys mean the same embedder (provider, endpoint, model, key): a new key swaps it and re-embeds. */
  key: string;
  create(): Embedder;
}

export interface RouterServiceOptions {
  source: CatalogSource;
  repository: EmbeddingRepository;
  /** A fixed embedder (tests, benchmarks). */
  embedder?: Embedder;
  /** Else: the embedder the settings ask for, looked at on every catalog change. */
  chooseEmbedder?: (settings: SmartRoutingSnapshot) => EmbedderChoice;
  /** Rank with pgvector in SQL (the database has the extension); else exactly in process. */
  useVector: boolean;
  logger: Logger;
  metrics: Pick<HubMetrics, "searchDuration" | "embeddedInputs"> & Partial<Pick<HubMetrics, "routerIndexTools" | "embedderErrors">>;
  /** First wait before retrying a failed sync; doubles up to a minute. */
  retryMs?: number;
  /** How long searches rank lexically without asking an embedder that just failed (default 30 s). */
  embedderCooldownMs?: number;
  fusion?: Partial<FusionParams>;
  /** The signals that rank: both (the default), or one alone (benchmarks compare them). */
  signals?: "hybrid" | "lexical" | "semantic";
}

export type SyncReport = NonNullable<RouterIndexStatus["lastSync"]>;
export type IndexStatus = RouterIndexStatus;

interface CatalogIndex {
  version: number;
  items: ToolItem[];
  byId: Map<string, number>;
  lexical: LexicalIndex;
}

/** The exact backend's vectors in one matrix, rows in `ids` order, unit length. */
interface ExactMatrix {
  version: number;
  ids: string[];
  dims: number;
  /** Kept in process only when the embedder has no scorer of its own. */
  matrix?: Float32Array;
}

/** Why the semantic signal is missing from one search; the answer says it in `degraded`. */
class Degraded extends Error {}

/** How long a failed query embedder is left alone before a search tries it again. */
const EMBEDDER_COOLDOWN_MS = 30_000;
const QUERY_CACHE_SIZE = 512;
let slots = 0;
/**
 * Texts per embedding call during a sync: progress is stored after each, so a restart resumes,
 * and each write is small (PGlite runs its statements on the event loop's thread).
 */
const SYNC_CHUNK = 64;

/**
 * Keeps `vector_embeddings` in step with the catalog and ranks tools for a query: BM25F over
 * the tools' fields fused with the embedder's cosine similarity (fusion.ts).
 *
 * A sync embeds only tools whose text changed (by content hash), in the background: searches
 * rank lexically (saying so) until the first one is done, and whenever the embedder fails. Tools
 * of a server that is configured and enabled but not ready (restarting) keep their rows, not
 * re-embedded when it returns; they are searched again once the server is back in the catalog.
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
  private forceAll = false;
  private unsubscribe: (() => void) | undefined;
  private catalogIndex: CatalogIndex | undefined;
  private embedder: Embedder | undefined;
  private embedderKey: string | undefined;
  private embedderError: string | undefined;
  /** The current model's vectors by content id (exact backend). */
  private readonly vectors = new Map<string, Float32Array>();
  private exact: ExactMatrix | undefined;
  private exactVersion = 0;
  /** Tools of the current catalog that have a vector of the current model. */
  private indexed = 0;
  private progress: { embedded: number; total: number } | undefined;
  private readonly queryCache = new Map<string, Float32Array>();
  /** The query embedder's last failure, while searches leave it alone (EMBEDDER_COOLDOWN_MS). */
  private queryEmbedderDown: { model: string; at: number; until: number; message: string } | undefined;
  private readonly backend: "pgvector" | "exact";
  private readonly fusion: FusionParams;
  /** This service's matrix in the embedder's scorer. */
  private readonly slot = `router-${process.pid}-${++slots}`;

  constructor(private readonly opts: RouterServiceOptions) {
    this.backend = opts.useVector ? "pgvector" : "exact";
    this.fusion = { ...FUSION_DEFAULTS, ...opts.fusion };
    if (opts.embedder) {
      this.embedder = opts.embedder;
      this.embedderKey = "fixed";
    }
  }

  /** Follows the catalog: a sync now and after every change. Returns at once: indexing runs in the background. */
  start(): void {
    this.unsubscribe = this.opts.source.onCatalogChanged(() => void this.sync());
    void this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.retryTimer);
    await this.syncing;
    // Frees this service's matrix in a shared embedder's worker.
    if (this.exact && this.embedder?.scorer) await this.embedder.scorer.load(this.slot, ++this.exactVersion, new Float32Array(0), 0, 0).catch(() => undefined);
  }

  /** The embedder in use (after the settings were read), for closing it with the process. */
  currentEmbedder(): Embedder | undefined {
    return this.embedder;
  }

  status(): RouterIndexStatus {
    return {
      model: this.embedder?.model ?? "none",
      backend: this.backend,
      ready: this.ready,
      syncing: this.syncing !== undefined,
      tools: this.indexed,
      lastSync: this.lastSync,
      lastError: this.lastError ?? this.embedderError,
    };
  }

  /** Re-embeds every tool, whatever its stored hash says; resolves when the index is rebuilt. */
  async reindex(): Promise<RouterIndexStatus> {
    await this.syncing;
    this.forceAll = true;
    await this.sync();
    return this.status();
  }

  /**
   * Brings the index up to date with the catalog; one sync at a time, and a change announced
   * during one triggers one more. Resolves when the index reflects the catalog as it was called.
   */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.syncing) {
      // Another pass only if the catalog moved on since this one read it.
      if (this.opts.source.catalog().version !== this.passVersion || this.forceAll) this.again = true;
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
    const parsed = searchRequestSchema.safeParse(input);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "body", message: i.message }));
      throw new HubError("HUB_INVALID_SEARCH", details.map((d) => `${d.field}: ${d.message}`).join("; "), 400, details);
    }
    const req = parsed.data;
    const end = this.opts.metrics.searchDuration.startTimer({ backend: this.backend });
    try {
      return await this.rank(req);
    } finally {
      end();
    }
  }

  private async rank(req: ParsedSearchRequest): Promise<SearchResponse> {
    const cat = this.currentCatalog();
    const allowed = allowedTools(cat.items, req);
    const signals = this.opts.signals ?? "hybrid";
    // The semantic side runs (in the embedder's worker, or in SQL) while BM25 runs here.
    const semanticPending = signals === "lexical" ? undefined : this.semantic(req.query, cat, allowed).catch((err: unknown) => err as Error);
    let lexical = new Map<string, number>();
    if (signals !== "semantic") {
      const { matches, max } = cat.lexical.search(req.query, (d) => allowed[d] === 1);
      // The best `candidates` only, as on the semantic side: a common word matches thousands of
      // tools at 10,000, and fusing them all would cost more than ranking did.
      const k = this.fusion.candidates;
      const best = matches.length > k ? matches.sort((a, b) => b.score - a.score || a.doc - b.doc).slice(0, k) : matches;
      if (max > 0) for (const m of best) lexical.set(cat.items[m.doc]!.contentId, m.score / max);
    }
    const semantic = await semanticPending;
    let ranking: SearchResponse["ranking"] = "hybrid";
    let degraded: string | undefined;
    let fused;
    if (semantic === undefined || semantic instanceof Error) {
      if (semantic instanceof Error) {
        if (!(semantic instanceof Degraded)) this.opts.logger.warn({ err: semantic.message }, "semantic search failed; ranking lexically");
        degraded = semantic.message;
      }
      ranking = "lexical";
      if (signals === "semantic") lexical = new Map();
      fused = fuse(lexical, undefined, 0, this.fusion);
    } else if (signals === "semantic") {
      fused = fuse(new Map(), semantic.scores, semantic.floor, { ...this.fusion, semanticWeight: 1 });
    } else {
      fused = fuse(lexical, semantic.scores, semantic.floor, this.fusion);
    }
    const results: SearchResult[] = [];
    for (const f of fused) {
      if (results.length >= req.limit) break;
      if (req.threshold !== undefined && f.score < req.threshold) break;
      const item = cat.items[cat.byId.get(f.contentId)!]!;
      results.push({ server: item.server, tool: item.tool, score: round(f.score), description: item.description });
    }
    return degraded === undefined ? { results, ranking } : { results, ranking, degraded };
  }

  /** The `candidates` closest allowed tools by cosine, and the lowest of them (stand-in for all others). */
  private async semantic(query: string, cat: CatalogIndex, allowed: Uint8Array): Promise<{ scores: Map<string, number>; floor: number }> {
    const embedder = this.embedder;
    if (this.embedderError) throw new Degraded(this.embedderError);
    if (!embedder || !this.ready) {
      if (this.lastError) throw new Degraded(`the semantic index could not be built (${this.lastError}); ranking lexically`);
      const p = this.progress;
      throw new Degraded(`the semantic index is being built${p ? ` (${p.embedded} of ${p.total} tools embedded)` : ""}; ranking lexically meanwhile`);
    }
    const k = this.fusion.candidates;
    if (this.backend === "pgvector") {
      const vector = await this.embedQuery(embedder, query);
      this.checkDims(vector.length, this.exact?.dims);
      const contentIds: string[] = [];
      allowed.forEach((a, d) => a && contentIds.push(cat.items[d]!.contentId));
      const matches = await this.opts.repository.nearest({ model: embedder.model, query: Array.from(vector), contentIds, limit: k });
      return { scores: new Map(matches.map((m) => [m.contentId, m.score])), floor: matches.at(-1)?.score ?? 0 };
    }
    const exact = this.exact;
    if (!exact) throw new Degraded("the semantic index is being built; ranking lexically meanwhile");
    let scores: Float32Array;
    if (embedder.scorer && !exact.matrix) {
      const cached = this.queryCache.get(query);
      let answer;
      try {
        answer = await embedder.scorer.query(this.slot, query, cached);
      } catch (err) {
        this.opts.metrics.embedderErrors?.inc({ model: embedder.model, purpose: "query" });
        throw new Degraded(`the embedder failed: ${(err as Error).message}`);
      }
      if (!cached) {
        this.opts.metrics.embeddedInputs.inc({ model: embedder.model });
        this.remember(query, answer.vector.slice());
      }
      if (answer.version !== exact.version) throw new Degraded("the semantic index changed during the search");
      this.checkDims(answer.vector.length, exact.dims);
      scores = answer.scores;
    } else {
      const vector = await this.embedQuery(embedder, query);
      this.checkDims(vector.length, exact.dims);
      scores = dotAll(exact.matrix!, exact.ids.length, exact.dims, vector);
    }
    return topK(exact.ids, scores, (id) => {
      const d = cat.byId.get(id);
      return d !== undefined && allowed[d] === 1;
    }, k);
  }

  /** A model that answers in another dimension than the index holds: said, and everything re-embedded. */
  private checkDims(got: number, indexed: number | undefined): void {
    if (indexed === undefined || got === indexed) return;
    this.ready = false;
    void this.reindex();
    throw new Degraded(`the embedding model ${this.embedder?.model} returned ${got} dimensions where the index holds ${indexed}: re-embedding the catalog, ranking lexically meanwhile`);
  }

  private async embedQuery(embedder: Embedder, query: string): Promise<Float32Array> {
    const cached = this.queryCache.get(query);
    if (cached) {
      // Refresh its place: the map's order is the eviction order.
      this.queryCache.delete(query);
      this.queryCache.set(query, cached);
      return cached;
    }
    // A failed embedder is not asked again for a while: each search would otherwise wait out
    // its retries (seconds) before ranking lexically.
    const down = this.queryEmbedderDown;
    if (down && down.model === embedder.model && Date.now() < down.until) {
      throw new Degraded(`the embedder failed ${Math.round((Date.now() - down.at) / 1000)} s ago (${down.message}); ranking lexically until it is tried again`);
    }
    let vector: Float32Array;
    try {
      const [v] = await embedder.embed([query], { query: true });
      vector = unit(v!);
    } catch (err) {
      this.opts.metrics.embedderErrors?.inc({ model: embedder.model, purpose: "query" });
      const now = Date.now();
      this.queryEmbedderDown = { model: embedder.model, at: now, until: now + (this.opts.embedderCooldownMs ?? EMBEDDER_COOLDOWN_MS), message: (err as Error).message };
      throw new Degraded(`the embedder failed: ${(err as Error).message}`);
    }
    this.queryEmbedderDown = undefined;
    this.opts.metrics.embeddedInputs.inc({ model: embedder.model });
    this.remember(query, vector);
    return vector;
  }

  private remember(query: string, vector: Float32Array): void {
    this.queryCache.set(query, vector);
    if (this.queryCache.size > QUERY_CACHE_SIZE) this.queryCache.delete(this.queryCache.keys().next().value!);
  }

  private currentCatalog(): CatalogIndex {
    const snapshot = this.opts.source.catalog();
    if (this.catalogIndex?.version !== snapshot.version) {
      const items = catalogTools(snapshot);
      this.catalogIndex = {
        version: snapshot.version,
        items,
        byId: new Map(items.map((i, n) => [i.contentId, n])),
        lexical: new LexicalIndex(items.map((i) => i.lexical)),
      };
    }
    return this.catalogIndex;
  }

  /** Swaps the embedder when the settings ask for another; the new model's index starts empty (lexical meanwhile). */
  private followSettings(snapshot: CatalogSnapshot): void {
    if (!this.opts.chooseEmbedder) return;
    let choice: EmbedderChoice;
    try {
      choice = this.opts.chooseEmbedder(snapshot.smartRouting);
    } catch (err) {
      // A setting that names no usable embedder (openai without a key): lexical ranking, and the reason in every answer.
      this.embedderError = (err as Error).message;
      return;
    }
    this.embedderError = undefined;
    if (choice.key === this.embedderKey) return;
    const previous = this.embedder;
    this.embedder = choice.create();
    this.embedderKey = choice.key;
    this.ready = false;
    this.vectors.clear();
    this.exact = undefined;
    this.queryCache.clear();
    this.indexed = 0;
    if (previous) {
      this.opts.logger.info({ from: previous.model, to: this.embedder.model }, "embedding model changed; re-embedding the catalog");
      void previous.close?.();
    }
  }

  private async syncOnce(): Promise<void> {
    const snapshot = this.opts.source.catalog();
    this.passVersion = snapshot.version;
    // Version 0 (or the -1 of a reader that has not fetched yet): the supervisor has not applied
    // any settings, so an empty catalog means "not known yet", not "every tool was removed".
    if (snapshot.version <= 0) return;
    this.followSettings(snapshot);
    const embedder = this.embedder;
    if (!embedder) return;
    const started = Date.now();
    // The lexical index for this catalog is built now, so the first search after a change does not pay for it.
    this.currentCatalog();
    const { repository } = this.opts;
    const model = embedder.model;
    const items = catalogTools(snapshot);
    const stored = await repository.hashes(model);
    const hashes = new Map(items.map((i) => [i.contentId, contentHash(i.text, model)]));
    const all = this.forceAll;
    this.forceAll = false;
    let stale = all ? items : items.filter((i) => stored.get(i.contentId)?.hash !== hashes.get(i.contentId));
    const removals = (await repository.tools()).filter((r) => !hashes.has(r.contentId) && removed(snapshot, r.server, r.tool)).map((r) => r.contentId);

    // Vectors of tools that are unchanged come from the database the first time (a restart).
    if (this.backend === "exact") {
      const missing = items.some((i) => !this.vectors.has(i.contentId) && stored.has(i.contentId));
      if (missing) {
        for (const row of await repository.vectors(model)) if (hashes.get(row.contentId) === stored.get(row.contentId)?.hash) this.vectors.set(row.contentId, unit(row.embedding));
      }
    }

    let embedded = 0;
    let dims: number | undefined;
    const staleIds = new Set(stale.map((i) => i.contentId));
    this.progress = { embedded: 0, total: stale.length };
    for (let round = 0; round < 2 && stale.length; round++) {
      for (let i = 0; i < stale.length; i += SYNC_CHUNK) {
        if (this.embedder !== embedder || this.stopped) {
          this.again = true;
          return;
        }
        const chunk = stale.slice(i, i + SYNC_CHUNK);
        let vectors: number[][];
        try {
          vectors = await embedder.embed(chunk.map((c) => c.text));
        } catch (err) {
          this.opts.metrics.embedderErrors?.inc({ model, purpose: "index" });
          throw err;
        }
        this.opts.metrics.embeddedInputs.inc({ model }, chunk.length);
        dims ??= vectors[0]?.length;
        const upserts: ToolEmbedding[] = chunk.map((item, n) => ({
          contentId: item.contentId,
          server: item.server,
          tool: item.tool,
          text: item.text,
          embedding: vectors[n]!,
          model,
          contentHash: hashes.get(item.contentId)!,
        }));
        await repository.apply(upserts, []);
        if (this.backend === "exact") for (const u of upserts) this.vectors.set(u.contentId, unit(u.embedding));
        embedded += chunk.length;
        this.progress = { embedded, total: this.progress.total };
      }
      // A model that now answers in another dimension (a changed model behind the same name): the unchanged tools are redone too.
      stale = dims === undefined ? [] : items.filter((i) => !staleIds.has(i.contentId) && stored.get(i.contentId)!.dims !== dims);
      for (const i of stale) staleIds.add(i.contentId);
      if (stale.length) this.progress = { embedded, total: this.progress.total + stale.length };
    }
    if (removals.length) await repository.apply([], removals);
    for (const id of removals) this.vectors.delete(id);
    if (this.backend === "pgvector" && embedded) {
      dims ??= stored.values().next().value?.dims;
      if (dims) await repository.ensureHnsw(model, dims).catch((err: unknown) => this.opts.logger.warn({ err: (err as Error).message }, "could not create the HNSW index; searching without it"));
    }
    if (this.backend === "exact") await this.loadExact(items, embedder);
    else this.exact = { version: 0, ids: [], dims: dims ?? stored.values().next().value?.dims ?? 0 };
    this.indexed = items.filter((i) => staleIds.has(i.contentId) || stored.has(i.contentId)).length;
    this.opts.metrics.routerIndexTools?.set({ model }, this.indexed);
    this.ready = true;
    this.progress = undefined;
    this.lastSync = {
      at: new Date().toISOString(),
      catalogVersion: snapshot.version,
      embedded,
      reused: items.length - embedded,
      removed: removals.length,
      ms: Date.now() - started,
    };
    if (embedded || removals.length) this.opts.logger.info(this.lastSync, "tool index updated");
  }

  /** Lays the catalog's vectors out as one matrix, for the embedder's scorer or for the dot products here. */
  private async loadExact(items: ToolItem[], embedder: Embedder): Promise<void> {
    const rows = items.filter((i) => this.vectors.has(i.contentId));
    const dims = rows.length ? this.vectors.get(rows[0]!.contentId)!.length : 0;
    const usable = rows.filter((i) => this.vectors.get(i.contentId)!.length === dims);
    const matrix = new Float32Array(usable.length * dims);
    usable.forEach((item, n) => matrix.set(this.vectors.get(item.contentId)!, n * dims));
    const version = ++this.exactVersion;
    const ids = usable.map((i) => i.contentId);
    if (embedder.scorer) {
      // Set before the load is sent: the worker answers in order, so every later query sees these rows.
      const loading = embedder.scorer.load(this.slot, version, matrix, ids.length, dims);
      this.exact = { version, ids, dims };
      await loading;
    } else {
      this.exact = { version, ids, dims, matrix };
    }
  }
}

/** 1 for each tool the request may see: the snapshot's tools, then `servers`, then `scope`. */
function allowedTools(items: ToolItem[], req: ParsedSearchRequest): Uint8Array {
  const out = new Uint8Array(items.length);
  const only = req.servers ? new Set(req.servers) : undefined;
  const picks = req.scope ? new Map(Object.entries(req.scope).map(([s, v]) => [s, v === "all" ? "all" : new Set(v)] as const)) : undefined;
  items.forEach((item, d) => {
    if (only && !only.has(item.server)) return;
    if (picks) {
      const pick = picks.get(item.server);
      if (!pick || (pick !== "all" && !pick.has(item.tool))) return;
    }
    out[d] = 1;
  });
  return out;
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

/** Single precision and unit length, as pgvector reads the stored vector: both backends compare the same numbers. */
function unit(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]! * out[i]!;
  const n = Math.sqrt(sum);
  if (n > 0) for (let i = 0; i < out.length; i++) out[i]! /= n;
  return out;
}

function dotAll(matrix: Float32Array, rows: number, dims: number, q: Float32Array): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * dims;
    for (let i = 0; i < dims; i++) s += q[i]! * matrix[o + i]!;
    out[r] = s;
  }
  return out;
}

/** The k best allowed rows by score (ties by content id, as the SQL orders them) and the k-th score. */
function topK(ids: string[], scores: Float32Array, allowed: (id: string) => boolean, k: number): { scores: Map<string, number>; floor: number } {
  const picked: { id: string; score: number }[] = [];
  let floor = -Infinity;
  for (let r = 0; r < ids.length; r++) {
    const score = scores[r]!;
    if (picked.length >= k * 4 && score < floor) continue;
    const id = ids[r]!;
    if (!allowed(id)) continue;
    picked.push({ id, score });
    // Prune now and then instead of keeping a heap: candidates are few against 10,000 rows.
    if (picked.length >= k * 8) {
      picked.sort(byScore);
      picked.length = k * 4;
      floor = picked[k - 1]!.score;
    }
  }
  picked.sort(byScore);
  picked.length = Math.min(picked.length, k);
  return { scores: new Map(picked.map((p) => [p.id, p.score])), floor: picked.at(-1)?.score ?? 0 };
}

function byScore(a: { id: string; score: number }, b: { id: string; score: number }): number {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Scores are reported to six places: beyond that, float noise would make equal scores look different across backends. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
