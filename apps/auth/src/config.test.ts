import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@mcphub/config";
import { authEnvSchema, resolveJwtSecret } from "./config.ts";

const base = { INTERNAL_TOKEN: "0123456789abcdef", REDIS_URL: "redis://localhost:6379" };

function issues(env: Record<string, string>): string[] {
  try {
    parseEnv(authEnvSchema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe("auth environment", () => {
  it("has the documented defaults", () => {
    const env = parseEnv(authEnvSchema, base);
    expect(env).toMatchObject({
      AUDIT_RETENTION_DAYS: 90, AUDIT_STREAM: "mcphub:audit", AUDIT_GROUP: "mcphub-auth", LOGIN_MAX_FAILURES: 5, LOGIN_WINDOW_SECONDS: 900,
    });
  });

  it("requires a JWT_SECRET of 32 characters in production only", () => {
    expect(issues({ ...base, NODE_ENV: "production" })).toEqual([expect.stringMatching(/^JWT_SECRET: must be set to at least 32 characters/)]);
    expect(issues({ ...base, NODE_ENV: "production", JWT_SECRET: "short" })).toHaveLength(1);
    expect(issues({ ...base, NODE_ENV: "production", JWT_SECRET: "s".repeat(32) })).toEqual([]);
    expect(issues({ ...base, NODE_ENV: "development" })).toEqual([]);
  });

  it("reports the JWT_SECRET problem together with every other bad key", () => {
    const keys = issues({ NODE_ENV: "production", JWT_SECRET: "x", AUDIT_RETENTION_DAYS: "-3", REDIS_URL: "http://x" }).map((i) => i.split(":")[0]).sort();
    expect(keys).toEqual(["AUDIT_RETENTION_DAYS", "INTERNAL_TOKEN", "JWT_SECRET", "REDIS_URL"]);
  });

  it("generates a secret with a warning outside production when none is set", () => {
    const warnings: string[] = [];
    const a = resolveJwtSecret({ NODE_ENV: "development" }, (m) => warnings.push(m));
    const b = resolveJwtSecret({ NODE_ENV: "development" }, (m) => warnings.push(m));
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(a).not.toBe(b);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/JWT_SECRET is not set/);
    expect(resolveJwtSecret({ NODE_ENV: "production", JWT_SECRET: "k".repeat(40) }, (m) => warnings.push(m))).toBe("k".repeat(40));
    expect(warnings).toHaveLength(2);
  });
});
