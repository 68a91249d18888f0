import { HubError } from "@mcphub/contracts";
import type { z } from "zod";
import type { AuthFailureReason } from "@mcphub/contracts";

const MESSAGES: Record<AuthFailureReason, string> = {
  missing_credentials: "no credentials: send Authorization: Bearer <token> or an API key",
  unsupported_scheme: "unsupported Authorization scheme: use Bearer",
  token_expired: "the session token has expired: sign in again",
  token_invalid: "not a valid session token, nor an API key (API keys start with mcphub_) or the configured bearer key",
  token_revoked: "the session token is no longer valid: the password was changed, sign in again",
  user_not_found: "the user of this credential no longer exists",
  key_unknown: "unknown API key",
  key_revoked: "the API key has been revoked",
  key_expired: "the API key has expired",
};

/** A refused credential: 401 with a stable code per reason and `details.reason`. */
export function authFailure(reason: AuthFailureReason): HubError {
  return new HubError(`HUB_AUTH_${reason.toUpperCase()}`, MESSAGES[reason], 401, { reason });
}

export const forbidden = (message: string) => new HubError("HUB_FORBIDDEN", message, 403);
export const notFound = (what: string, id: string) => new HubError("HUB_NOT_FOUND", `${what} ${id} not found`, 404);

/** 400 naming every bad field and why. */
export function invalidInput(code: `HUB_${string}`, error: z.ZodError, where = "body"): HubError {
  const details = error.issues.map((i) => ({ field: i.path.join(".") || where, message: i.message }));
  return new HubError(code, details.map((d) => `${d.field}: ${d.message}`).join("; "), 400, details);
}

/** Parses with zod or throws the 400 above. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, code: `HUB_${string}` = "HUB_INVALID_REQUEST", where = "body"): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw invalidInput(code, result.error, where);
  return result.data;
}
