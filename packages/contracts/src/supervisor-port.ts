import type { UpstreamCall } from "./call.ts";
import type { CatalogSnapshot } from "./catalog.ts";
import type { UpstreamStatus } from "./upstream.ts";

/**
 * What the gateway needs from the supervisor. In all-in-one mode the supervisor service
 * implements it directly; across processes an HTTP client implements the same interface.
 */
export interface SupervisorPort {
  /** The current catalog; cheap to call on every request (the caller may cache by version). */
  catalog(): CatalogSnapshot;
  /** Forwards one request to an upstream; rejects with McpCallError on failure. */
  call(call: UpstreamCall): Promise<Record<string, unknown>>;
  status(): UpstreamStatus[];
  /** Calls `listener` after the catalog changed (and `catalog()` already shows it). */
  onCatalogChanged(listener: () => void): () => void;
}
