import type { FastifyRequest } from "fastify";
import { HubError, type AuthenticatorPort, type Principal } from "@mcphub/contracts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who made a management request, once the admin guard let it through. */
    principal?: Principal;
  }
}

/**
 * The settings API is for admins signed in with a session token. API keys are for MCP
 * clients: a key scoped to some servers must not be able to widen its own reach here.
 */
export function adminOnly(authenticator: AuthenticatorPort) {
  return async (req: FastifyRequest): Promise<void> => {
    const authorization = req.headers.authorization;
    if (!authorization) throw new HubError("HUB_UNAUTHORIZED", "sign in: send Authorization: Bearer <session token from POST /api/auth/login>", 401);
    const principal = await authenticator.authenticate({ authorization });
    if (principal.kind !== "user") throw new HubError("HUB_FORBIDDEN", "API keys are for MCP endpoints; the settings API takes an admin's session token", 403);
    if (principal.role !== "admin") throw new HubError("HUB_FORBIDDEN", "managing servers, groups and settings is for admins", 403);
    req.principal = principal;
  };
}
