import { authFailure } from "./errors.ts";
import { API_KEY_PREFIX, type ApiKeysService } from "./api-keys.service.ts";
import type { AuthenticateRequest, Principal, Role } from "@mcphub/contracts";
import type { UserRow } from "./users.repository.ts";
import { passwordFingerprint, type UsersService } from "./users.service.ts";

/** What a session token says. */
export interface SessionClaims {
  sub: string;
  username: string;
  role: Role;
  /** Fingerprint of the password hash at signing time (see passwordFingerprint). */
  pwv: string;
}

/** Signs and verifies session tokens (@fastify/jwt's `app.jwt` in the service). */
export interface TokenCodec {
  sign(claims: SessionClaims): string;
  /** Throws a fast-jwt TokenError (code FAST_JWT_EXPIRED, …) when the token is not valid. */
  verify(token: string): SessionClaims;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Turns credentials (a session token or an API key) into a principal, or a 401 saying why not. */
export class AuthenticationService {
  constructor(
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly tokens: TokenCodec,
  ) {}

  issueToken(user: UserRow): string {
    return this.tokens.sign({ sub: user.id, username: user.username, role: user.role, pwv: passwordFingerprint(user.password) });
  }

  /** The user behind a session token; the role and name are read fresh, not trusted from the token. */
  async userFromToken(token: string): Promise<UserRow> {
    let claims: SessionClaims;
    try {
      claims = this.tokens.verify(token);
    } catch (err) {
      throw authFailure((err as { code?: string }).code === "FAST_JWT_EXPIRED" ? "token_expired" : "token_invalid");
    }
    if (typeof claims.sub !== "string" || !UUID.test(claims.sub)) throw authFailure("token_invalid");
    const user = await this.users.get(claims.sub);
    if (!user) throw authFailure("user_not_found");
    if (claims.pwv !== passwordFingerprint(user.password)) throw authFailure("token_revoked");
    return user;
  }

  /** Internal API: the client's Authorization header value or x-api-key value. */
  async authenticate(req: AuthenticateRequest): Promise<Principal> {
    if (req.apiKey) return this.keys.authenticate(req.apiKey.trim());
    const header = req.authorization?.trim();
    if (!header) throw authFailure("missing_credentials");
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw authFailure("unsupported_scheme");
    const credential = m[1]!;
    if (credential.startsWith(API_KEY_PREFIX)) return this.keys.authenticate(credential);
    const user = await this.userFromToken(credential);
    return { kind: "user", userId: user.id, username: user.username, role: user.role, scope: { accessType: "all" } };
  }
}
