/** Who is calling, as the auth service tells the gateway and the supervisor (`POST /internal/authenticate`). */
export type Role = "admin" | "user";
export type AccessType = "all" | "groups" | "servers";

export interface PrincipalScope {
  /** "all" for session tokens; for API keys what the key was created with. */
  accessType: AccessType;
  /** Group ids the key may reach, when accessType is "groups". */
  groups?: string[];
  /** Server names the key may reach, when accessType is "servers". */
  servers?: string[];
}

export interface Principal {
  kind: "user" | "apiKey";
  userId: string;
  username: string;
  role: Role;
  scope: PrincipalScope;
  /** The API key's id, when kind is "apiKey" (for audit entries). */
  keyId?: string;
}

export interface AuthenticateRequest {
  /** The client's Authorization header value: `Bearer <session token>` or `Bearer mcphub_…`. */
  authorization?: string;
  /** The client's x-api-key header value. */
  apiKey?: string;
}

export type AuthenticateResponse = { principal: Principal };

/** Why a credential was refused; `details.reason` of the 401 answer. */
export type AuthFailureReason =
  | "missing_credentials"
  | "unsupported_scheme"
  | "token_expired"
  | "token_invalid"
  | "token_revoked"
  | "user_not_found"
  | "key_unknown"
  | "key_revoked"
  | "key_expired";

export const INTERNAL_AUTH_PATH = "/internal/authenticate";

/**
 * What the gateway and the supervisor need from the auth service: the auth service itself in
 * one process, an HTTP client of `/internal/authenticate` across processes. Refusals are
 * HubError 401 with `details.reason` an AuthFailureReason.
 */
export interface AuthenticatorPort {
  authenticate(request: AuthenticateRequest): Promise<Principal>;
}
