import { randomBytes } from "node:crypto";
import { z } from "zod";
import { splitServiceEnvSchema } from "@mcphub/config";

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * The auth service's policy, read the same way wherever auth runs (its own process, or inside
 * the all-in-one hub): token lifetime, audit retention, sign-in limits.
 */
export const authPolicyEnv = {
  /** How long a session token stays valid, in seconds (default 24 h). */
  JWT_TTL_SECONDS: seconds(24 * 3600),
  AUDIT_RETENTION_DAYS: z.coerce.number().positive().default(90),
  /** Failed logins allowed per (address, user name), and per address, within the window. */
  LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().positive().default(50),
  LOGIN_WINDOW_SECONDS: seconds(15 * 60),
};

export interface AuthPolicy {
  tokenTtlSeconds: number;
  retentionDays: number;
  limits: { maxFailures: number; maxFailuresPerIp: number; windowSeconds: number };
}

/** The policy from an environment parsed with `authPolicyEnv`. */
export function authPolicy(env: { [K in keyof typeof authPolicyEnv]: number }): AuthPolicy {
  return {
    tokenTtlSeconds: env.JWT_TTL_SECONDS,
    retentionDays: env.AUDIT_RETENTION_DAYS,
    limits: { maxFailures: env.LOGIN_MAX_FAILURES, maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: env.LOGIN_WINDOW_SECONDS },
  };
}

/** The policy an environment that sets none of these gets. */
export const DEFAULT_AUTH_POLICY: AuthPolicy = authPolicy(z.object(authPolicyEnv).parse({}));

/** What the auth service reads beyond the shared split-service variables. */
export const authEnvSchema = splitServiceEnvSchema
  .extend({
    ...authPolicyEnv,
    /** HS256 secret of the session tokens; generated per process when absent outside production. */
    JWT_SECRET: z.string().optional(),
    /** Password of the first admin; generated and printed once when absent. */
    ADMIN_PASSWORD: z.string().min(1, "must not be empty (leave it unset to have one generated)").optional(),
    /** The Redis stream producers append audit events to, and the consumer group that reads it. */
    AUDIT_STREAM: z.string().min(1).default("mcphub:audit"),
    AUDIT_GROUP: z.string().min(1).default("mcphub-auth"),
  })
  // `when`: checked even if other variables are bad, so every problem is reported in one go.
  .refine((env) => !(env.NODE_ENV === "production" && (env.JWT_SECRET ?? "").length < 32), {
    path: ["JWT_SECRET"],
    message: "must be set to at least 32 characters when NODE_ENV=production (a short secret lets anyone forge session tokens)",
    when: () => true,
  });

export type AuthEnv = z.infer<typeof authEnvSchema>;

/**
 * The secret that signs session tokens. Outside production a missing one is generated, which
 * is fine for one process but means tokens die with it and replicas do not share them.
 */
export function resolveJwtSecret(env: { JWT_SECRET?: string; NODE_ENV: string }, warn: (msg: string) => void): string {
  if (env.JWT_SECRET) {
    if (env.JWT_SECRET.length < 32) warn("JWT_SECRET is shorter than 32 characters; production refuses such a secret");
    return env.JWT_SECRET;
  }
  warn("JWT_SECRET is not set: using a random secret for this process only; sessions end when it restarts and are not valid on other replicas");
  return randomBytes(48).toString("base64url");
}
