import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "@mcphub/observability";
import { changeEvent } from "./audit-record.ts";
import { authFailure, forbidden, notFound } from "./errors.ts";
import type { AccessType, CredentialsRevoked, Principal } from "@mcphub/contracts";
import type { ApiKeyRow, ApiKeysRepository, ApiKeyWithOwner } from "./api-keys.repository.ts";
import type { Actor } from "./users.service.ts";

export const API_KEY_PREFIX = "mcphub_";
/** `mcphub_` and the first 8 random characters: enough to tell keys apart in a list, useless to guess with. */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

/** An API key as the API shows it: never the key nor its hash. */
export interface PublicApiKey {
  id: string;
  userId: string;
  /** The owner's user name (in lists). */
  username?: string;
  name: string;
  prefix: string;
  accessType: AccessType;
  allowedGroups: string[] | null;
  allowedServers: string[] | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface NewApiKey {
  name: string;
  accessType: AccessType;
  allowedGroups?: string[];
  allowedServers?: string[];
  expiresAt?: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function publicApiKey(k: ApiKeyRow & { username?: string }): PublicApiKey {
  return {
    id: k.id,
    userId: k.userId,
    ...(k.username !== undefined && { username: k.username }),
    name: k.name,
    prefix: k.prefix,
    accessType: k.accessType,
    allowedGroups: k.allowedGroups,
    allowedServers: k.allowedServers,
    expiresAt: iso(k.expiresAt),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
    createdAt: k.createdAt.toISOString(),
  };
}

/**
 * A key carries 256 random bits, so a plain SHA-256 is a safe way to store it: unlike a
 * password there is nothing to guess, and lookups stay one indexed equality.
 */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export class ApiKeysService {
  /** When this process last wrote last_used_at per key. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repository: ApiKeysRepository,
    private readonly logger: Logger,
    /** last_used_at is written at most this often per key (it is a hint, not a log). */
    private readonly touchEveryMs = 60_000,
    /** Told once a key is revoked (committed): every process drops it from its cache. */
    private readonly revoked: (e: CredentialsRevoked) => void = () => {},
  ) {}

  /** Creates a key for the actor; the key itself is in the answer and nowhere else. */
  async create(actor: Actor, input: NewApiKey): Promise<{ key: string; apiKey: PublicApiKey }> {
    const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
    const row = await this.repository.insert({
      userId: actor.userId,
      name: input.name,
      keyHash: hashApiKey(key),
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      accessType: input.accessType,
      allowedGroups: input.accessType === "groups" ? (input.allowedGroups ?? []) : null,
      allowedServers: input.accessType === "servers" ? (input.allowedServers ?? []) : null,
      expiresAt: input.expiresAt ?? null,
    }, changeEvent(actor, "apikey.create", "api_key", (k) => ({
      name: k.name, prefix: k.prefix, accessType: k.accessType, ...(k.expiresAt && { expiresAt: k.expiresAt.toISOString() }),
    })));
    return { key, apiKey: publicApiKey(row) };
  }

  /** The actor's own keys; every key (with owners) when `all` and the actor is an admin. */
  async list(actor: Actor, all: boolean): Promise<PublicApiKey[]> {
    if (all && actor.role !== "admin") throw forbidden("all=true lists every user's keys: admins only");
    return (await this.repository.list(all ? undefined : actor.userId)).map(publicApiKey);
  }

  /** Revokes the actor's key (an admin: anyone's). Another user's key is "not found", not "forbidden". */
  async revoke(actor: Actor, id: string): Promise<void> {
    const existing = await this.repository.findById(id);
    if (!existing || (existing.userId !== actor.userId && actor.role !== "admin")) throw notFound("API key", id);
    const row = await this.repository.revoke(id, changeEvent(actor, "apikey.revoke", "api_key", (k) => ({ name: k.name, prefix: k.prefix, ownerId: k.userId })));
    if (!row) throw notFound("API key", id);
    this.revoked({ userId: row.userId, keyId: row.id, reason: "key_revoked" });
  }

  /** The principal of a presented key, or a 401 HubError saying why not. */
  async authenticate(key: string): Promise<Principal> {
    const row: ApiKeyWithOwner | undefined = key.startsWith(API_KEY_PREFIX) ? await this.repository.findByHash(hashApiKey(key)) : undefined;
    if (!row) throw authFailure("key_unknown");
    if (row.revokedAt || !row.enabled) throw authFailure("key_revoked");
    const now = new Date();
    if (row.expiresAt && row.expiresAt <= now) throw authFailure("key_expired");
    await this.touch(row.id, now);
    return {
      kind: "apiKey",
      keyId: row.id,
      userId: row.userId,
      username: row.username,
      role: row.role,
      scope: {
        accessType: row.accessType,
        ...(row.accessType === "groups" && { groups: row.allowedGroups ?? [] }),
        ...(row.accessType === "servers" && { servers: row.allowedServers ?? [] }),
      },
    };
  }

  private async touch(id: string, now: Date): Promise<void> {
    const last = this.touched.get(id);
    if (last !== undefined && now.getTime() - last < this.touchEveryMs) return;
    this.touched.set(id, now.getTime());
    if (this.touched.size > 50_000) this.touched.clear();
    try {
      await this.repository.touch(id, now, this.touchEveryMs);
    } catch (err) {
      // Only a hint: authentication does not fail because of it.
      this.logger.warn({ err, keyId: id }, "could not update an API key's last use");
    }
  }
}
