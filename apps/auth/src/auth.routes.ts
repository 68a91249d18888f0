import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { HubError } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import type { AuditSink } from "@mcphub/contracts";
import { record } from "./audit-record.ts";
import type { AuthenticationService } from "./authn.service.ts";
import { parseInput } from "./errors.ts";
import type { LoginLimiter } from "./login-limiter.ts";
import { requireSession } from "./session.ts";
import { publicUser, type UsersService } from "./users.service.ts";

export interface AuthRoutesOptions {
  users: UsersService;
  authn: AuthenticationService;
  limiter: LoginLimiter;
  audit: AuditSink;
  logger: Logger;
}

const loginBody = z.object({
  username: z.string().min(1, "is required").max(255),
  password: z.string().min(1, "is required").max(1024),
});

export const newPassword = z.string().min(8, "must be at least 8 characters").max(1024, "must be at most 1024 characters");

const passwordBody = z.object({
  currentPassword: z.string().min(1, "is required").max(1024),
  newPassword,
});

/** Sign-in, the signed-in user, and changing one's own password. */
export async function authRoutes(app: FastifyInstance, opts: AuthRoutesOptions): Promise<void> {
  const { users, authn, limiter, audit, logger } = opts;

  app.post("/api/auth/login", async (req, reply) => {
    const { username, password } = parseInput(loginBody, req.body);
    const ip = req.ip;
    const failed = (reason: string, userId?: string) =>
      record(audit, logger, { action: "auth.login", resource: "auth", username, success: false, ip, details: { reason }, ...(userId && { userId }) });

    const block = await limiter.check(ip, username);
    if (block) {
      await failed("rate limited");
      reply.header("retry-after", String(block.retryAfterSeconds));
      const who = block.scope === "user" ? "for this user name from this address" : "from this address";
      throw new HubError(
        "HUB_LOGIN_RATE_LIMITED",
        `too many failed logins ${who}: at most ${block.limit} per ${block.windowSeconds} s; try again in ${block.retryAfterSeconds} s`,
        429,
        block,
      );
    }
    const { user, ok } = await users.verifyLogin(username, password);
    if (!user || !ok) {
      await limiter.recordFailure(ip, username);
      await failed("wrong user name or password", user?.id);
      throw new HubError("HUB_LOGIN_FAILED", "wrong user name or password", 401);
    }
    await limiter.reset(ip, username);
    await record(audit, logger, { action: "auth.login", resource: "auth", userId: user.id, username: user.username, success: true, ip });
    return { token: authn.issueToken(user), user: publicUser(user) };
  });

  app.get("/api/auth/me", async (req) => {
    const { user } = await requireSession(req, authn);
    return { user: publicUser(user) };
  });

  app.put("/api/auth/password", async (req) => {
    const { actor } = await requireSession(req, authn);
    const body = parseInput(passwordBody, req.body);
    const user = await users.changePassword(actor, body.currentPassword, body.newPassword);
    // Tokens signed before the change no longer verify; hand the caller a fresh one.
    return { token: authn.issueToken(user), user: publicUser(user) };
  });
}
