import { createHash } from "node:crypto";
import { HubError, type AuthenticateRequest, type AuthenticatorPort, type Principal } from "@mcphub/contracts";

type Cached = { at: number; principal?: Principal; error?: HubError };

/**
 * Reuses an authenticator's answer for the same credential for a few seconds. Every MCP
 * request is checked; a key lookup (a database query, or a round trip to the auth service)
 * on each one would cost more than forwarding the call. A revoked key stops working within
 * `cacheMs`. Only 401 answers are cached among failures: an outage is retried at once.
 */
export class CachingAuthenticator implements AuthenticatorPort {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly inner: AuthenticatorPort,
    private readonly cacheMs = 5000,
  ) {}

  async authenticate(request: AuthenticateRequest): Promise<Principal> {
    // Keyed by a hash: the cache never holds a credential itself.
    const key = createHash("sha256").update(`${request.authorization ?? ""}\n${request.apiKey ?? ""}`).digest("base64url");
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.cacheMs) {
      if (hit.principal) return hit.principal;
      throw hit.error!;
    }
    try {
      const principal = await this.inner.authenticate(request);
      this.remember(key, { at: Date.now(), principal });
      return principal;
    } catch (err) {
      if (err instanceof HubError && err.status === 401) this.remember(key, { at: Date.now(), error: err });
      throw err;
    }
  }

  private remember(key: string, entry: Cached): void {
    // Bounded: a client cycling through random credentials cannot grow it without end.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, entry);
  }
}
