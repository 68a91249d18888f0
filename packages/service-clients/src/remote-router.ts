import { HubError, ROUTER_PATHS, type RouterIndexStatus, type RouterPort, type SearchRequest, type SearchResponse } from "@mcphub/contracts";
import { Pool } from "undici";

export interface RemoteRouterOptions {
  /** ROUTER_URL */
  url: string;
  /** INTERNAL_TOKEN */
  token: string;
  connections?: number;
}

/**
 * RouterPort over the router service's internal HTTP API, for a gateway in its own process. The
 * router's errors come back as the HubErrors they were (a bad query stays a 400 naming its
 * field); an unreachable router is a 503 that says so.
 */
export class RemoteRouter implements RouterPort {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: RemoteRouterOptions) {
    this.pool = new Pool(opts.url, { connections: opts.connections ?? 8 });
    this.headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  }

  search(request: SearchRequest): Promise<SearchResponse> {
    return this.request("POST", ROUTER_PATHS.search, request);
  }

  reindex(): Promise<RouterIndexStatus> {
    return this.request("POST", ROUTER_PATHS.reindex, {});
  }

  status(): Promise<RouterIndexStatus> {
    return this.request("GET", ROUTER_PATHS.status);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    let res;
    try {
      res = await this.pool.request({ path, method, headers: this.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new HubError("HUB_ROUTER_UNAVAILABLE", `the router at ${this.opts.url} is unreachable: ${(err as Error).message}`, 503);
    }
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new HubError("HUB_ROUTER_UNAVAILABLE", `the router answered ${res.statusCode} with a body that is not JSON`, 503);
    }
    if (res.statusCode >= 400) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      const code = typeof error?.code === "string" && error.code.startsWith("HUB_") ? (error.code as `HUB_${string}`) : "HUB_ROUTER_UNAVAILABLE";
      throw new HubError(code, error?.message ?? `the router answered ${res.statusCode}`, res.statusCode, error?.details);
    }
    return parsed as T;
  }
}
