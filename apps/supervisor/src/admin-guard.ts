import type { FastifyRequest } from "fastify";
import type { AuthenticatorPort, Principal } from "@mcphub/contracts";
import { requireAdmin } from "@mcphub/service-clients";

declare module "fastify" {
  interface FastifyRequest {
    /** Who made a management request, once the admin guard let it through. */
    principal?: Principal;
  }
}

/** The settings API is for admins signed in with a session token (requireAdmin says why). */
export function adminOnly(authenticator: AuthenticatorPort) {
  return async (req: FastifyRequest): Promise<void> => {
    req.principal = await requireAdmin(authenticator, req.headers.authorization, "managing servers, groups and settings");
  };
}
