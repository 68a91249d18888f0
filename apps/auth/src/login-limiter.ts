import { HubError } from "@mcphub/contracts";
import type { Redis } from "ioredis";

export interface LoginLimits {
  /** Failed logins allowed per (address, user name) within the window. */
  maxFailures: number;
  /** Failed logins allowed per address, whatever the user names (password spraying). */
  maxFailuresPerIp: number;
  windowSeconds: number;
}

export interface LoginBlock {
  /** Which limit was reached. */
  scope: "user" | "ip";
  limit: number;
  windowSeconds: number;
  retryAfterSeconds: number;
}

/**
 * Counts failed logins in fixed windows that start at the first failure. Only failures
 * count, and a good login clears its (address, user name) counter. A blocked attempt is
 * refused before its password is checked, so guessing cannot go on while blocked.
 */
export interface LoginLimiter {
  readonly limits: LoginLimits;
  /** The block in force for this attempt, if any. */
  check(ip: string, username: string): Promise<LoginBlock | undefined>;
  recordFailure(ip: string, username: string): Promise<void>;
  reset(ip: string, username: string): Promise<void>;
}

/** User names differ in case only by accident; count them as one. */
const userKey = (ip: string, username: string) => `${ip}|${encodeURIComponent(username.trim().toLowerCase())}`;

/** Shared by every replica: counters in Redis with their expiry. */
export class RedisLoginLimiter implements LoginLimiter {
  constructor(
    private readonly redis: Redis,
    readonly limits: LoginLimits,
    private readonly prefix = "mcphub:login-failures:",
  ) {}

  private keys(ip: string, username: string): [string, string] {
    return [`${this.prefix}user:${userKey(ip, username)}`, `${this.prefix}ip:${ip}`];
  }

  /**
   * Without its counters (Redis away) sign-in is refused within 2 s with a 503 that says why:
   * letting guesses through uncounted would lift the limit, and waiting on every reconnect
   * attempt would hang the request.
   */
  async check(ip: string, username: string): Promise<LoginBlock | undefined> {
    const [user, addr] = this.keys(ip, username);
    // A connection still being made (a process starting) gets the time a reconnect loop does not.
    let timer: NodeJS.Timeout | undefined;
    const replies = await Promise.race([
      this.redis.multi().get(user).pttl(user).get(addr).pttl(addr).exec(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), COUNTERS_TIMEOUT_MS))),
    ])
      .catch(() => {
        throw countersUnavailable();
      })
      .finally(() => clearTimeout(timer));
    const value = (i: number) => replies?.[i]?.[1] as string | number | null | undefined;
    const block = (scope: LoginBlock["scope"], count: number, ttlMs: number, limit: number): LoginBlock | undefined =>
      count >= limit ? { scope, limit, windowSeconds: this.limits.windowSeconds, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) } : undefined;
    return (
      block("user", Number(value(0) ?? 0), Number(value(1) ?? 0), this.limits.maxFailures) ??
      block("ip", Number(value(2) ?? 0), Number(value(3) ?? 0), this.limits.maxFailuresPerIp)
    );
  }

  async recordFailure(ip: string, username: string): Promise<void> {
    const windowMs = this.limits.windowSeconds * 1000;
    const [user, addr] = this.keys(ip, username);
    // NX: the window starts at the first failure and is not extended by later ones. A failure
    // lost to a Redis blip just after check() passed costs one uncounted guess, not a 500.
    await this.redis.multi().incr(user).pexpire(user, windowMs, "NX").incr(addr).pexpire(addr, windowMs, "NX").exec().catch(() => {});
  }

  async reset(ip: string, username: string): Promise<void> {
    await this.redis.del(this.keys(ip, username)[0]).catch(() => {});
  }
}

/** One process (all-in-one, no Redis): the same counting in a Map. */
export class MemoryLoginLimiter implements LoginLimiter {
  private readonly counters = new Map<string, { count: number; expiresAt: number }>();
  constructor(readonly limits: LoginLimits) {}

  private live(key: string, now: number) {
    const c = this.counters.get(key);
    if (c && c.expiresAt <= now) {
      this.counters.delete(key);
      return undefined;
    }
    return c;
  }

  async check(ip: string, username: string): Promise<LoginBlock | undefined> {
    const now = Date.now();
    const block = (scope: LoginBlock["scope"], key: string, limit: number): LoginBlock | undefined => {
      const c = this.live(key, now);
      return c && c.count >= limit
        ? { scope, limit, windowSeconds: this.limits.windowSeconds, retryAfterSeconds: Math.max(1, Math.ceil((c.expiresAt - now) / 1000)) }
        : undefined;
    };
    return block("user", `user:${userKey(ip, username)}`, this.limits.maxFailures) ?? block("ip", `ip:${ip}`, this.limits.maxFailuresPerIp);
  }

  async recordFailure(ip: string, username: string): Promise<void> {
    const now = Date.now();
    if (this.counters.size > 100_000) for (const k of [...this.counters.keys()]) this.live(k, now);
    for (const key of [`user:${userKey(ip, username)}`, `ip:${ip}`]) {
      const c = this.live(key, now);
      if (c) c.count++;
      else this.counters.set(key, { count: 1, expiresAt: now + this.limits.windowSeconds * 1000 });
    }
  }

  async reset(ip: string, username: string): Promise<void> {
    this.counters.delete(`user:${userKey(ip, username)}`);
  }
}

/** How long sign-in waits for its counters before it is refused (Redis away: ioredis retries for much longer). */
const COUNTERS_TIMEOUT_MS = 2000;

function countersUnavailable(): HubError {
  return new HubError("HUB_LOGIN_UNAVAILABLE", "sign-in is paused: its failed-login counters (Redis) cannot be reached; try again shortly", 503);
}
