import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import { apiKeys, insertAuditEvents, users, type Database } from "@mcphub/db";
import type { AccessType, Role } from "@mcphub/contracts";
import type { AuditOf } from "./users.repository.ts";

/** A row of api_keys, its access type narrowed (the column's check constraint holds these three). */
export type ApiKeyRow = Omit<typeof apiKeys.$inferSelect, "accessType"> & { accessType: AccessType };

export type ApiKeyWithOwner = ApiKeyRow & { username: string; role: Role };

export class ApiKeysRepository {
  constructor(private readonly db: Database) {}

  /** Stores a key; with `audit`, its audit event in the same transaction. */
  async insert(
    key: Pick<ApiKeyRow, "userId" | "name" | "keyHash" | "prefix" | "accessType" | "allowedGroups" | "allowedServers" | "expiresAt">,
    audit?: AuditOf<ApiKeyRow>,
  ): Promise<ApiKeyRow> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.insert(apiKeys).values(key).returning();
      if (audit) await insertAuditEvents(tx, [audit(row as ApiKeyRow)]);
      return row as ApiKeyRow;
    });
  }

  /** The key with the owner's name and role, by the hash of the presented key. */
  async findByHash(keyHash: string): Promise<ApiKeyWithOwner | undefined> {
    const [row] = await this.db
      .select({ key: apiKeys, username: users.username, role: users.role })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(eq(apiKeys.keyHash, keyHash));
    return row ? ({ ...(row.key as ApiKeyRow), username: row.username, role: row.role as Role }) : undefined;
  }

  async findById(id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.id, id));
    return row as ApiKeyRow | undefined;
  }

  /** One user's keys, or everyone's (with owner names) when userId is undefined. Newest first. */
  async list(userId: string | undefined): Promise<ApiKeyWithOwner[]> {
    const rows = await this.db
      .select({ key: apiKeys, username: users.username, role: users.role })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(userId ? eq(apiKeys.userId, userId) : undefined)
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
    return rows.map((r) => ({ ...(r.key as ApiKeyRow), username: r.username, role: r.role as Role }));
  }

  /** Marks the key revoked (first revocation time kept); undefined if it does not exist. */
  async revoke(id: string, audit?: AuditOf<ApiKeyRow>): Promise<ApiKeyRow | undefined> {
    const now = new Date();
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(apiKeys)
        .set({ enabled: false, revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now.toISOString()}::timestamptz)`, updatedAt: now })
        .where(eq(apiKeys.id, id))
        .returning();
      if (row && audit) await insertAuditEvents(tx, [audit(row as ApiKeyRow)]);
      return row as ApiKeyRow | undefined;
    });
  }

  /** Sets last_used_at unless another replica set it within `minIntervalMs`: one write per key per interval. */
  async touch(id: string, at: Date, minIntervalMs: number): Promise<void> {
    const threshold = new Date(at.getTime() - minIntervalMs);
    await this.db
      .update(apiKeys)
      .set({ lastUsedAt: at })
      .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, threshold))));
  }
}
