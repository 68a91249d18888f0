import { HubError, ROUTER_PATHS, type RouterIndexStatus, type RouterPort, type SearchRequest, type SearchResponse } from "@mcphub/contracts";
import { Pool } from "undici";
import { withRequestIdHeader } from "@mcphub/observability";

export interface RemoteRouterOptions {
  /** ROUTER_URL. */
  url: string;
  /** INTERNAL_TOKEN. */
  token: string;
  /** Keep-alive connections to the router. */
  connections?: number;
  /** Per request; a reindex waits for the whole catalog to be embedded, so it gets its own. */
  timeoutMs?: number;
  reindexTimeoutMs?: number;
}

/** The router's error body (its REST error handler): `{ error: { code, message, details?, requestId } }`. */
interface ErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
}

/**
 * RouterPort over the router's internal HTTP API, for a gateway (or the smart-routing REST API)
 * in another process than the router: the same answers as the RouterService in one process, and
 * its HubErrors (a bad query's 400 naming the field) re-thrown with their code and status.
 */
export class RemoteRouter implements RouterPort {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: RemoteRouterOptions) {
    this.pool = new Pool(opts.url, { connections: opts.connections ?? 4 });
    this.headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  }

  search(request: SearchRequest): Promise<SearchResponse> {
    return this.request<SearchResponse>("POST", ROUTER_PATHS.search, JSON.stringify(request), this.opts.timeoutMs ?? 10_000);
  }

  reindex(): Promise<RouterIndexStatus> {
    return this.request<RouterIndexStatus>("POST", ROUTER_PATHS.reindex, "{}", this.opts.reindexTimeoutMs ?? 600_000);
  }

  status(): Promise<RouterIndexStatus> {
    return this.request<RouterIndexStatus>("GET", ROUTER_PATHS.status, undefined, this.opts.timeoutMs ?? 10_000);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async request<T>(method: "GET" | "POST", path: string, body: string | undefined, timeoutMs: number): Promise<T> {
    let res;
    try {
      res = await this.pool.request({
        path,
        method,
        headers: withRequestIdHeader(body === undefined ? { authorization: this.headers.authorization! } : this.headers),
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw new HubError("HUB_ROUTER_UNAVAILABLE", `the router is unreachable: ${(err as Error).message}`, 503);
    }
    const text = await res.body.text();
    if (res.statusCode === 200) return JSON.parse(text) as T;
    let parsed: ErrorBody | undefined;
    try {
      parsed = JSON.parse(text) as ErrorBody;
    } catch {
      // Not our error handler's body (a proxy's page): said below with its status.
    }
    const e = parsed?.error;
    if (e?.code?.startsWith("HUB_") && typeof e.message === "string") throw new HubError(e.code as `HUB_${string}`, e.message, res.statusCode, e.details);
    throw new HubError("HUB_ROUTER_UNAVAILABLE", `the router answered ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ""}`, res.statusCode >= 500 ? 503 : 502);
  }
}
