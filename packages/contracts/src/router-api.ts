import { z } from "zod";
import type { CatalogSnapshot } from "./catalog.ts";

/** The router's internal HTTP API (DESIGN.md, "Contracts"), called by gateways for `$smart`. */
export const ROUTER_PATHS = {
  search: "/internal/search",
  reindex: "/internal/reindex",
  status: "/internal/status",
} as const;

/** The longest query accepted: a tool search is a sentence or two, not a document. */
export const SEARCH_QUERY_MAX_CHARS = 1000;

export const SEARCH_LIMIT_MAX = 50;
export const SEARCH_LIMIT_DEFAULT = 10;

export const searchRequestSchema = z.strictObject({
  query: z
    .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
    .trim()
    .min(1, "must not be empty")
    .max(SEARCH_QUERY_MAX_CHARS, `must be at most ${SEARCH_QUERY_MAX_CHARS} characters`),
  limit: z
    .number({ error: "must be a number" })
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(SEARCH_LIMIT_MAX, `must be at most ${SEARCH_LIMIT_MAX}`)
    .default(SEARCH_LIMIT_DEFAULT),
  /** Only tools of these servers. */
  servers: z.array(z.string().min(1, "must not contain empty names"), { error: "must be an array of server names" }).optional(),
  /**
   * Only these tools: server name → "all" or its picked (unprefixed) tool names. What a group or
   * an API key's scope lets the caller see; applied together with `servers` when both are given.
   */
  scope: z
    .record(z.string().min(1), z.union([z.literal("all"), z.array(z.string())]), { error: 'must map server names to "all" or tool names' })
    .optional(),
  /** Score (0..1, see SearchResult.score) below which results are dropped. */
  threshold: z.number({ error: "must be a number" }).min(-1, "must be at least -1").max(1, "must be at most 1").optional(),
});
export type SearchRequest = z.input<typeof searchRequestSchema>;
export type ParsedSearchRequest = z.output<typeof searchRequestSchema>;

export interface SearchResult {
  server: string;
  /** The upstream's (unprefixed) tool name. */
  tool: string;
  /** How well the tool fits the query, in [0, 1]; higher is closer. The settings' threshold applies to it. */
  score: number;
  description: string;
}

export interface SearchResponse {
  results: SearchResult[];
  /** Which signals ranked these results: both, or the lexical one alone when the embedder failed. */
  ranking: "hybrid" | "lexical";
  /** Why the ranking is degraded (the embedder's error), when it is. */
  degraded?: string;
}

/** What the router's index looks like, for `/api/smart-routing/status` and readiness. */
export interface RouterIndexStatus {
  /** The embedding model whose vectors the index holds. */
  model: string;
  /** Where vectors are compared: pgvector in SQL, or exactly in process. */
  backend: "pgvector" | "exact";
  /** The first sync has completed: searches see the whole catalog. */
  ready: boolean;
  syncing: boolean;
  /** Tools of the catalog that are indexed. */
  tools: number;
  lastSync?: { at: string; catalogVersion: number; embedded: number; reused: number; removed: number; ms: number };
  lastError?: string;
}

/** What a gateway (and the smart-routing REST API) needs from the router; the RouterService in one process, an HTTP client across processes. */
export interface RouterPort {
  search(request: SearchRequest): Promise<SearchResponse>;
  /** Re-embeds every tool (a model change, or an operator's request); resolves when the index is rebuilt. */
  reindex(): Promise<RouterIndexStatus>;
  status(): RouterIndexStatus | Promise<RouterIndexStatus>;
}

/**
 * Where the router reads the catalog from: the SupervisorService itself in all-in-one mode,
 * a reader of the supervisor's `/internal/catalog` in a split deployment. SupervisorPort
 * satisfies it as is.
 */
export interface CatalogSource {
  catalog(): CatalogSnapshot;
  /** Calls `listener` after the catalog changed (and `catalog()` already shows it). */
  onCatalogChanged(listener: () => void): () => void;
}
