import type { FastifyRequest } from "fastify";
import { HubError } from "@mcphub/contracts";
import { authFailure, forbidden } from "./errors.ts";
import { API_KEY_PREFIX } from "./api-keys.service.ts";
import type { AuthenticationService } from "./authn.service.ts";
import type { UserRow } from "./users.repository.ts";
import type { Actor } from "./users.service.ts";

export interface Session {
  user: UserRow;
  actor: Actor;
}

/**
 * The signed-in user of a REST request (a session token in `Authorization: Bearer`).
 * API keys are for MCP endpoints only: a key scoped to some servers must not be able to
 * mint itself an unscoped one here.
 */
export async function requireSession(req: FastifyRequest, authn: AuthenticationService): Promise<Session> {
  const header = req.headers.authorization?.trim();
  if (!header) throw authFailure("missing_credentials");
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw authFailure("unsupported_scheme");
  if (m[1]!.startsWith(API_KEY_PREFIX)) {
    throw new HubError("HUB_AUTH_TOKEN_INVALID", "API keys are for the MCP endpoints; sign in (POST /api/auth/login) for this API", 401, {
      reason: "token_invalid",
    });
  }
  const user = await authn.userFromToken(m[1]!);
  return { user, actor: { userId: user.id, username: user.username, role: user.role, ip: req.ip } };
}

export async function requireAdmin(req: FastifyRequest, authn: AuthenticationService): Promise<Session> {
  const session = await requireSession(req, authn);
  if (session.user.role !== "admin") throw forbidden("admins only");
  return session;
}
