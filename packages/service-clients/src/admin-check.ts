import { HubError, type AuthenticatorPort, type Principal } from "@mcphub/contracts";

/**
 * The management APIs are for admins signed in with a session token. API keys are for MCP
 * clients: a key scoped to some servers must not be able to widen its own reach there.
 * `what` says what the refused caller tried ("managing servers, groups and settings").
 */
export async function requireAdmin(authenticator: AuthenticatorPort, authorization: string | undefined, what: string): Promise<Principal> {
  if (!authorization) throw new HubError("HUB_UNAUTHORIZED", "sign in: send Authorization: Bearer <session token from POST /api/auth/login>", 401);
  const principal = await authenticator.authenticate({ authorization });
  if (principal.kind !== "user") throw new HubError("HUB_FORBIDDEN", "API keys are for MCP endpoints; this API takes an admin's session token", 403);
  if (principal.role !== "admin") throw new HubError("HUB_FORBIDDEN", `${what} is for admins`, 403);
  return principal;
}
