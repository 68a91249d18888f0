import { createHash } from "node:crypto";
import { HubError } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import { completeEvent, type AuditSink } from "@mcphub/contracts";
import { changeEvent, record } from "./audit-record.ts";
import { notFound } from "./errors.ts";
import { DEFAULT_SCRYPT_COST, decoyHash, generatePassword, hashPassword, verifyPassword, type ScryptCost } from "./password.ts";
import type { CredentialsRevoked, Role } from "@mcphub/contracts";
import { LastAdminError, type UserPatch, type UserRow, type UsersRepository } from "./users.repository.ts";

/** A user as the API shows it: never the password hash. */
export interface PublicUser {
  id: string;
  username: string;
  role: Role;
  email: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Who is making a change, for permission checks and the audit trail. */
export interface Actor {
  userId: string;
  username: string;
  role: Role;
  ip?: string;
}

export const FIRST_ADMIN = "admin";

export function publicUser(u: UserRow): PublicUser {
  return { id: u.id, username: u.username, role: u.role, email: u.email, createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString() };
}

/**
 * A short digest of the stored password hash, put in session tokens: changing the password
 * changes it, which ends every session signed before the change.
 */
export function passwordFingerprint(passwordHash: string): string {
  return createHash("sha256").update(passwordHash).digest("base64url").slice(0, 16);
}

const uniqueViolation = (err: unknown) => {
  const e = err as { code?: string; cause?: { code?: string; constraint_name?: string; constraint?: string } };
  return e.code === "23505" || e.cause?.code === "23505";
};
const constraintOf = (err: unknown) => {
  const c = (err as { cause?: { constraint_name?: string; constraint?: string } }).cause;
  return c?.constraint_name ?? c?.constraint ?? "";
};

export class UsersService {
  constructor(
    private readonly repository: UsersRepository,
    private readonly audit: AuditSink,
    private readonly logger: Logger,
    /** The scrypt cost of new password hashes. */
    private readonly cost: ScryptCost = DEFAULT_SCRYPT_COST,
    /** Told once a change has ended credentials (committed): every process drops them from its cache. */
    private readonly revoked: (e: CredentialsRevoked) => void = () => {},
  ) {}

  private hash(password: string): Promise<string> {
    return hashPassword(password, this.cost);
  }

  /**
   * Creates the user "admin" when no admin exists: with ADMIN_PASSWORD, or with a generated
   * password logged once (at warn, so it shows at the default level). Later starts find the
   * admin and log nothing; two replicas starting together create it once.
   */
  async ensureFirstAdmin(adminPassword?: string): Promise<{ created: boolean }> {
    if ((await this.repository.countAdmins()) > 0) return { created: false };
    const password = adminPassword ?? generatePassword();
    const source = adminPassword ? "ADMIN_PASSWORD" : "generated";
    const row = await this.repository.insertIfAbsent({ username: FIRST_ADMIN, password: await this.hash(password), role: "admin" }, (admin) =>
      completeEvent({
        action: "user.create", resource: "user", resourceId: admin.id, userId: admin.id, username: admin.username, success: true,
        details: { role: "admin", source },
      }),
    );
    if (!row) {
      if ((await this.repository.countAdmins()) === 0) {
        this.logger.warn(`no admin exists and the user name "${FIRST_ADMIN}" is taken by a non-admin: promote a user to admin in the database`);
      }
      return { created: false };
    }
    if (adminPassword) {
      this.logger.info({ username: FIRST_ADMIN }, "created the first admin with ADMIN_PASSWORD");
    } else {
      this.logger.warn(
        `FIRST START: created the admin user "${FIRST_ADMIN}" with the generated password ${password} ` +
          "(shown only this once: sign in and change it, or set ADMIN_PASSWORD before the first start)",
      );
    }
    return { created: true };
  }

  /** The user by name and whether the password matches; as slow for an unknown name as for a wrong password. */
  async verifyLogin(username: string, password: string): Promise<{ user?: UserRow; ok: boolean }> {
    const user = await this.repository.findByUsername(username);
    const ok = await verifyPassword(password, user?.password ?? (await decoyHash(this.cost)));
    return { user, ok: Boolean(user) && ok };
  }

  async get(id: string): Promise<UserRow | undefined> {
    return this.repository.findById(id);
  }

  async list(): Promise<PublicUser[]> {
    return (await this.repository.list()).map(publicUser);
  }

  async create(actor: Actor, input: { username: string; password: string; role: Role; email?: string | null }): Promise<PublicUser> {
    let row: UserRow | undefined;
    try {
      row = await this.repository.insertIfAbsent(
        { ...input, password: await this.hash(input.password) },
        changeEvent(actor, "user.create", "user", (r) => ({ role: r.role, ...(r.email && { email: r.email }) })),
      );
    } catch (err) {
      if (uniqueViolation(err) && constraintOf(err).includes("email")) {
        throw new HubError("HUB_USER_EXISTS", `email: ${input.email} is already used by another user`, 409);
      }
      throw err;
    }
    if (!row) throw new HubError("HUB_USER_EXISTS", `username: a user named "${input.username}" already exists`, 409);
    return publicUser(row);
  }

  async update(actor: Actor, id: string, patch: { username?: string; password?: string; role?: Role; email?: string | null }): Promise<PublicUser> {
    const { password, ...rest } = patch;
    const change: UserPatch = { ...rest, ...(password !== undefined && { password: await this.hash(password) }) };
    let row: UserRow | undefined;
    try {
      // What changed, never the new password itself.
      row = await this.repository.update(id, change, changeEvent(actor, "user.update", "user", () => ({ changed: Object.keys(patch).sort(), ...(patch.role && { role: patch.role }) })));
    } catch (err) {
      if (err instanceof LastAdminError) throw new HubError("HUB_LAST_ADMIN", "role: this is the last admin; make another user admin first", 409);
      if (uniqueViolation(err)) {
        const field = constraintOf(err).includes("email") ? "email" : "username";
        throw new HubError("HUB_USER_EXISTS", `${field}: already used by another user`, 409);
      }
      throw err;
    }
    if (!row) throw notFound("user", id);
    // A demoted admin's tokens and keys must stop carrying the old role now; a new password ends the old tokens.
    if (patch.role !== undefined) this.revoked({ userId: id, reason: "role_changed" });
    else if (password !== undefined) this.revoked({ userId: id, reason: "password_changed" });
    return publicUser(row);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    let row: UserRow | undefined;
    try {
      row = await this.repository.delete(id, changeEvent(actor, "user.delete", "user", (r) => ({ deletedUsername: r.username })));
    } catch (err) {
      if (err instanceof LastAdminError) throw new HubError("HUB_LAST_ADMIN", "this is the last admin; make another user admin first", 409);
      throw err;
    }
    if (!row) throw notFound("user", id);
    this.revoked({ userId: id, reason: "user_deleted" });
  }

  /** Returns the updated row (its new hash gives new session tokens). */
  async changePassword(actor: Actor, currentPassword: string, newPassword: string): Promise<UserRow> {
    const user = await this.repository.findById(actor.userId);
    if (!user) throw notFound("user", actor.userId);
    if (!(await verifyPassword(currentPassword, user.password))) {
      await record(this.audit, this.logger, {
        action: "user.password", resource: "user", resourceId: user.id, userId: user.id, username: user.username, success: false, ip: actor.ip,
        details: { reason: "wrong current password" },
      });
      throw new HubError("HUB_WRONG_PASSWORD", "currentPassword: does not match the current password", 400, [
        { field: "currentPassword", message: "does not match the current password" },
      ]);
    }
    const row = await this.repository.update(user.id, { password: await this.hash(newPassword) }, changeEvent(actor, "user.password", "user", () => undefined));
    if (!row) throw notFound("user", actor.userId);
    this.revoked({ userId: user.id, reason: "password_changed" });
    return row;
  }
}
