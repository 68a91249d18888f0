import fastifyJwt from "@fastify/jwt";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { Logger } from "@mcphub/observability";
import { restErrorHandler } from "@mcphub/observability";
import type { AuditSink } from "@mcphub/contracts";
import type { AuditRepository } from "./audit.repository.ts";
import { auditRoutes } from "./audit.routes.ts";
import { authRoutes } from "./auth.routes.ts";
import { AuthenticationService, type SessionClaims } from "./authn.service.ts";
import { apiKeysRoutes } from "./api-keys.routes.ts";
import type { ApiKeysService } from "./api-keys.service.ts";
import { internalRoutes } from "./internal.routes.ts";
import type { LoginLimiter } from "./login-limiter.ts";
import { usersRoutes } from "./users.routes.ts";
import type { UsersService } from "./users.service.ts";

export interface AuthDeps {
  users: UsersService;
  keys: ApiKeysService;
  auditRepository: AuditRepository;
  audit: AuditSink;
  limiter: LoginLimiter;
  logger: Logger;
  /** HS256 secret of session tokens. */
  jwtSecret: string;
  tokenTtlSeconds: number;
  /** Serves `/internal/authenticate` when set (split mode). */
  internalToken?: string;
  /** Readiness checks for `/api/health/ready`. */
  checks?: () => Promise<Record<string, boolean>>;
  /** Receives the authenticator, for a host that calls it in process (all-in-one). */
  onAuthenticator?: (authn: AuthenticationService) => void;
  /** Serve /api/health[/ready] (on when the auth service runs alone). */
  healthRoutes?: boolean;
  /**
   * BASE_PATH of the public routes when the service runs alone (the all-in-one hub mounts the
   * whole plugin under its own); `/internal` stays at the root, where peers call it.
   */
  basePath?: string;
}

/**
 * Fastify options the auth service needs from its host: the client address behind nginx
 * (login limits count per address), trusting X-Forwarded-For only from private peers.
 */
export const authServerOptions: Pick<FastifyServerOptions, "trustProxy"> = {
  trustProxy: "loopback,linklocal,uniquelocal",
};

/** The auth service's HTTP surface: sign-in, users, API keys, the audit trail and `/internal/authenticate`. */
export default async function authApp(app: FastifyInstance, deps: AuthDeps): Promise<void> {
  restErrorHandler(app);
  await app.register(fastifyJwt, {
    secret: deps.jwtSecret,
    sign: { algorithm: "HS256", expiresIn: deps.tokenTtlSeconds },
    verify: { algorithms: ["HS256"] },
  });
  const authn = new AuthenticationService(deps.users, deps.keys, {
    sign: (claims) => app.jwt.sign(claims),
    verify: (token) => app.jwt.verify<SessionClaims>(token),
  });
  deps.onAuthenticator?.(authn);

  // In the all-in-one hub the supervisor's health routes answer for the process.
  const prefix = deps.basePath ?? "";
  if (deps.healthRoutes ?? true) {
    app.get(`${prefix}/api/health`, async () => ({ status: "ok" }));
    app.get(`${prefix}/api/health/ready`, async (_req, reply) => {
      const checks = (await deps.checks?.()) ?? {};
      const ready = Object.values(checks).every(Boolean);
      reply.code(ready ? 200 : 503);
      return { status: ready ? "ready" : "degraded", checks };
    });
  }

  await app.register(authRoutes, { prefix, users: deps.users, authn, limiter: deps.limiter, audit: deps.audit, logger: deps.logger });
  await app.register(usersRoutes, { prefix, users: deps.users, authn });
  await app.register(apiKeysRoutes, { prefix, keys: deps.keys, authn });
  await app.register(auditRoutes, { prefix, repository: deps.auditRepository, authn });
  if (deps.internalToken) await app.register(internalRoutes, { authn, token: deps.internalToken });
}
