import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "../../../../test/helpers/postgres.ts";
import { startService, type ServiceProcess } from "../../../../test/helpers/processes.ts";
import { REDIS_URL, waitFor } from "./harness.ts";

const prefix = `test:auth:server:${process.pid}:${Date.now()}:`;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let service: ServiceProcess | undefined;

const baseEnv = () => ({
  DATABASE_URL: database.url,
  REDIS_URL,
  INTERNAL_TOKEN: "server-test-internal-token-0123",
  AUDIT_STREAM: `${prefix}audit`,
  ADMIN_PASSWORD: "server-admin-password",
  JWT_SECRET: "x".repeat(40),
  NODE_ENV: "production",
  REPLICA_ID: "auth-server-test",
});

beforeAll(async () => {
  database = await freshDatabase("auth_server");
});
afterAll(async () => {
  await service?.stop();
  const redis = new Redis(REDIS_URL);
  await redis.del(`${prefix}audit`);
  redis.disconnect();
  await database?.drop();
});

describe("the auth service process", () => {
  it("runs alone: health, login, /internal/authenticate, audit and metrics", async () => {
    service = await startService("auth", baseEnv());
    const login = await fetch(`${service.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "server-admin-password" }),
    });
    expect(login.status).toBe(200);
    expect(login.headers.get("x-mcphub-replica")).toBe("auth-server-test");
    const { token } = (await login.json()) as { token: string };

    const who = await fetch(`${service.url}/internal/authenticate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer server-test-internal-token-0123" },
      body: JSON.stringify({ authorization: `Bearer ${token}` }),
    });
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ principal: { kind: "user", username: "admin", role: "admin", scope: { accessType: "all" } } });

    const ready = await fetch(`${service.url}/api/health/ready`);
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: true, redis: true } });

    // The login went through the stream into audit_logs.
    const audit = await waitFor(async () => {
      const res = await fetch(`${service!.url}/api/audit?action=auth.login`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { entries: { success: boolean; username: string }[] };
      return body.entries.length > 0 && body.entries;
    }, "the login in the audit log");
    expect(audit[0]).toMatchObject({ success: true, username: "admin" });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/mcphub_audit_events_total\{result="inserted"\} [1-9]/);
    expect(await service.stop()).toBe(0);
    service = undefined;
  });

  it("refuses to start in production with a short JWT_SECRET, saying why", async () => {
    const err = await startService("auth", { ...baseEnv(), JWT_SECRET: "too-short" }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/auth exited with 1/);
    expect(err?.message).toMatch(/JWT_SECRET: must be set to at least 32 characters when NODE_ENV=production/);
  });

  it("reports every bad variable together", async () => {
    const err = await startService("auth", { ...baseEnv(), JWT_SECRET: "", INTERNAL_TOKEN: "short", LOGIN_WINDOW_SECONDS: "soon" }).then(
      () => undefined,
      (e: Error) => e,
    );
    for (const key of ["JWT_SECRET", "INTERNAL_TOKEN", "LOGIN_WINDOW_SECONDS"]) expect(err?.message).toContain(`${key}:`);
  });
});
