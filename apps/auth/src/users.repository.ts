import { asc, eq, sql } from "drizzle-orm";
import { insertAuditEvents, users, type AuditRowEvent, type Database } from "@mcphub/db";
import type { Role } from "@mcphub/contracts";

export interface UserRow {
  id: string;
  username: string;
  password: string;
  role: Role;
  email: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface UserPatch {
  username?: string;
  password?: string;
  role?: Role;
  email?: string | null;
}

/** Builds the audit row of a change from the row it changed; written in the change's transaction. */
export type AuditOf<Row> = (row: Row) => AuditRowEvent;

/** Thrown inside a transaction to roll it back when the change would leave no admin. */
export class LastAdminError extends Error {}

export class UsersRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id));
    return row as UserRow | undefined;
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username));
    return row as UserRow | undefined;
  }

  async list(): Promise<UserRow[]> {
    return (await this.db.select().from(users).orderBy(asc(users.createdAt), asc(users.username))) as UserRow[];
  }

  async countAdmins(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(users).where(eq(users.role, "admin"));
    return Number(row?.n ?? 0);
  }

  /**
   * Inserts unless the user name exists; undefined then (two replicas creating the first admin
   * at once). With `audit`, the event is stored in the same transaction as the user.
   */
  async insertIfAbsent(user: { username: string; password: string; role: Role; email?: string | null }, audit?: AuditOf<UserRow>): Promise<UserRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.insert(users).values(user).onConflictDoNothing({ target: users.username }).returning();
      if (row && audit) await insertAuditEvents(tx, [audit(row as UserRow)]);
      return row as UserRow | undefined;
    });
  }

  /**
   * Applies the patch; throws LastAdminError (and changes nothing) if it would demote the
   * last admin. Admin rows are locked first, so two concurrent demotions cannot both pass.
   */
  async update(id: string, patch: UserPatch, audit?: AuditOf<UserRow>): Promise<UserRow | undefined> {
    return this.db.transaction(async (tx) => {
      if (patch.role === "user") {
        const admins = await tx.select({ id: users.id }).from(users).where(eq(users.role, "admin")).for("update");
        if (admins.length === 1 && admins[0]!.id === id) throw new LastAdminError();
      }
      const [row] = await tx
        .update(users)
        .set({ ...patch, updatedAt: new Date() })
        .where(eq(users.id, id))
        .returning();
      if (row && audit) await insertAuditEvents(tx, [audit(row as UserRow)]);
      return row as UserRow | undefined;
    });
  }

  /** Deletes the user (their API keys go with them); throws LastAdminError for the last admin. */
  async delete(id: string, audit?: AuditOf<UserRow>): Promise<UserRow | undefined> {
    return this.db.transaction(async (tx) => {
      const admins = await tx.select({ id: users.id }).from(users).where(eq(users.role, "admin")).for("update");
      if (admins.length === 1 && admins[0]!.id === id) throw new LastAdminError();
      const [row] = await tx.delete(users).where(eq(users.id, id)).returning();
      if (row && audit) await insertAuditEvents(tx, [audit(row as UserRow)]);
      return row as UserRow | undefined;
    });
  }
}
