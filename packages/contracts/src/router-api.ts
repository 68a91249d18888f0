import { z } from "zod";
import type { CatalogSnapshot } from "./catalog.ts";

/** The router's internal HTTP API (DESIGN.md, "Contracts"), called by gateways for `$smart`. */
export const ROUTER_PATHS = {
  search: "/internal/search",
} as const;

export const SEARCH_LIMIT_MAX = 50;
export const SEARCH_LIMIT_DEFAULT = 10;

export const searchRequestSchema = z.strictObject({
  query: z
    .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
    .trim()
    .min(1, "must not be empty"),
  limit: z
    .number({ error: "must be a number" })
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(SEARCH_LIMIT_MAX, `must be at most ${SEARCH_LIMIT_MAX}`)
    .default(SEARCH_LIMIT_DEFAULT),
  /** Only tools of these servers. */
  servers: z.array(z.string().min(1, "must not contain empty names"), { error: "must be an array of server names" }).optional(),
  /** Cosine similarity below which results are dropped. */
  threshold: z.number({ error: "must be a number" }).min(-1, "must be at least -1").max(1, "must be at most 1").optional(),
});
export type SearchRequest = z.input<typeof searchRequestSchema>;
export type ParsedSearchRequest = z.output<typeof searchRequestSchema>;

export interface SearchResult {
  server: string;
  /** The upstream's (unprefixed) tool name. */
  tool: string;
  /** Cosine similarity of the query and the tool, in [-1, 1]; higher is closer. */
  score: number;
  description: string;
}

export interface SearchResponse {
  results: SearchResult[];
}

/** What a gateway needs from the router; the RouterService in one process, an HTTP client across processes. */
export interface RouterPort {
  search(request: SearchRequest): Promise<SearchResult[]>;
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
