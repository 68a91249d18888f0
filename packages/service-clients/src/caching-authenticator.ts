import { createHash } from "node:crypto";
import type { Bus } from "@mcphub/bus";
import { HubError, type AuthenticateRequest, type AuthenticatorPort, type CredentialsRevoked, type Principal } from "@mcphub/contracts";

type Cached = { at: number; principal?: Principal; error?: HubError };

export interface CachingAuthenticatorOptions {
  /** How long an answer is reused (5 s). */
  cacheMs?: number;
  /**
   * Where revocations arrive (`credentials.revoked`): a revoked key, a deleted user or a changed
   * role or password is dropped from the cache the moment the auth service says so, instead of
   * working until its entry expires. After a reconnect (events may have been missed) the whole
   * cache is dropped.
   */
  bus?: Pick<Bus, "subscribe" | "onReconnect">;
}

/**
 * Reuses an authenticator's answer for the same credential for a few seconds. Every MCP
 * request is checked; a key lookup (a database query, or a round trip to the auth service)
 * on each one would cost more than forwarding the call. With a bus, revocations take effect
 * at once; without one, within `cacheMs`. Only 401 answers are cached among failures: an
 * outage is retried at once.
 */
export class CachingAuthenticator implements AuthenticatorPort {
  private readonly cache = new Map<string, Cached>();
  private readonly cacheMs: number;
  /**
   * Bumped by every revocation: an answer that was being fetched while one arrived is not
   * cached (it may predate the revocation).
   */
  private generation = 0;

  constructor(
    private readonly inner: AuthenticatorPort,
    opts: CachingAuthenticatorOptions = {},
  ) {
    this.cacheMs = opts.cacheMs ?? 5000;
    opts.bus?.subscribe("credentials.revoked", (e) => this.revoke(e));
    opts.bus?.onReconnect(() => this.forgetAll());
  }

  async authenticate(request: AuthenticateRequest): Promise<Principal> {
    // Keyed by a hash: the cache never holds a credential itself.
    const key = createHash("sha256").update(`${request.authorization ?? ""}\n${request.apiKey ?? ""}`).digest("base64url");
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.cacheMs) {
      if (hit.principal) return hit.principal;
      throw hit.error!;
    }
    const generation = this.generation;
    try {
      const principal = await this.inner.authenticate(request);
      if (generation === this.generation) this.remember(key, { at: Date.now(), principal });
      return principal;
    } catch (err) {
      if (err instanceof HubError && err.status === 401) this.remember(key, { at: Date.now(), error: err });
      throw err;
    }
  }

  /** Drops every cached answer the revocation covers; the next request is checked afresh. */
  revoke(e: CredentialsRevoked): void {
    this.generation++;
    for (const [key, entry] of this.cache) {
      const p = entry.principal;
      if (p && p.userId === e.userId && (e.keyId === undefined || p.keyId === e.keyId)) this.cache.delete(key);
    }
  }

  forgetAll(): void {
    this.generation++;
    this.cache.clear();
  }

  private remember(key: string, entry: Cached): void {
    // Bounded: a client cycling through random credentials cannot grow it without end.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, entry);
  }
}
