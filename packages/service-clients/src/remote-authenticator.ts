import { createHash } from "node:crypto";
import { HubError, INTERNAL_AUTH_PATH, type AuthenticateRequest, type AuthenticatorPort, type Principal } from "@mcphub/contracts";
import { Pool } from "undici";

export interface RemoteAuthenticatorOptions {
  url: string;
  token: string;
  /**
   * How long an answer is reused for the same credential. Every MCP request is checked, and a
   * round trip to the auth service each time would double the hub's added latency; a revoked
   * key stops working within this time.
   */
  cacheMs?: number;
}

type Cached = { at: number; principal?: Principal; error?: HubError };

/** AuthenticatorPort over the auth service's `POST /internal/authenticate`. */
export class RemoteAuthenticator implements AuthenticatorPort {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly opts: RemoteAuthenticatorOptions) {
    this.pool = new Pool(opts.url, { connections: 8, pipelining: 1 });
    this.headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  }

  async authenticate(request: AuthenticateRequest): Promise<Principal> {
    // Keyed by a hash: the cache never holds a credential itself.
    const key = createHash("sha256").update(`${request.authorization ?? ""}\n${request.apiKey ?? ""}`).digest("base64url");
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < (this.opts.cacheMs ?? 5000)) {
      if (hit.principal) return hit.principal;
      throw hit.error!;
    }
    let res;
    try {
      res = await this.pool.request({ path: INTERNAL_AUTH_PATH, method: "POST", headers: this.headers, body: JSON.stringify(request) });
    } catch (err) {
      throw new HubError("HUB_AUTH_UNAVAILABLE", `the auth service is unreachable: ${(err as Error).message}`, 503);
    }
    const body = (await res.body.json()) as { principal?: Principal; error?: { code: string; message: string; details?: unknown } };
    if (res.statusCode === 200 && body.principal) {
      this.remember(key, { at: Date.now(), principal: body.principal });
      return body.principal;
    }
    if (res.statusCode === 401 && body.error) {
      const error = new HubError(body.error.code as `HUB_${string}`, body.error.message, 401, body.error.details);
      this.remember(key, { at: Date.now(), error });
      throw error;
    }
    throw new HubError("HUB_AUTH_UNAVAILABLE", `the auth service answered ${res.statusCode}: ${body.error?.message ?? "no reason"}`, 503);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private remember(key: string, entry: Cached): void {
    // Bounded: a client cycling through random credentials cannot grow it without end.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, entry);
  }
}
