import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, login, testWorld, waitFor, type AuthInstance } from "./harness.ts";

const ADMIN_PASSWORD = "limit-admin-password";
// A short window keeps the test quick (password hashing is cheap in tests, see harness.ts).
const limits = { maxFailures: 3, maxFailuresPerIp: 8, windowSeconds: 2 };

let world: Awaited<ReturnType<typeof testWorld>>;
let replicaA: AuthInstance;
let replicaB: AuthInstance;

beforeAll(async () => {
  world = await testWorld("ratelimit");
  // Two replicas of the service on the same database and Redis.
  replicaA = await world.start({ adminPassword: ADMIN_PASSWORD, limits, replica: "auth-a" });
  replicaB = await world.start({ adminPassword: ADMIN_PASSWORD, limits, replica: "auth-b" });
  const token = await login(replicaA.app, "admin", ADMIN_PASSWORD);
  for (const name of ["ivan", "judy"]) {
    await replicaA.app.inject({ method: "POST", url: "/api/users", headers: bearer(token), payload: { username: name, password: `${name}-password` } });
  }
});
afterAll(async () => world?.close());

function attempt(app: FastifyInstance, username: string, password: string, ip: string) {
  return app.inject({ method: "POST", url: "/api/auth/login", payload: { username, password }, headers: { "x-forwarded-for": ip } });
}

async function limitedTests(a: FastifyInstance, b: FastifyInstance, ip: string, user: string) {
  // Failures on either replica count together.
  for (const app of [a, b, a]) expect((await attempt(app, user, "wrong-guess", ip)).statusCode).toBe(401);
  const blocked = await attempt(b, user, "wrong-guess", ip);
  expect(blocked.statusCode).toBe(429);
  const error = blocked.json().error;
  expect(error.code).toBe("HUB_LOGIN_RATE_LIMITED");
  expect(error.details).toMatchObject({ scope: "user", limit: 3, windowSeconds: 2 });
  expect(error.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(error.details.retryAfterSeconds).toBeLessThanOrEqual(2);
  expect(Number(blocked.headers["retry-after"])).toBe(error.details.retryAfterSeconds);
  expect(error.message).toMatch(/at most 3 per 2 s; try again in \d+ s/);

  // While blocked even the right password is refused: guessing cannot go on.
  expect((await attempt(a, user, `${user}-password`, ip)).statusCode).toBe(429);
  // The same user from another address, and another user from this one, are not blocked.
  expect((await attempt(a, user, `${user}-password`, "203.0.113.99")).statusCode).toBe(200);

  // After the window a good login works.
  await waitFor(async () => (await attempt(b, user, `${user}-password`, ip)).statusCode === 200, "the window to pass", 15_000);
  // A good login clears the count: 2 failures, success, 2 failures is not 4 failures.
  for (const round of [1, 2]) {
    for (let i = 0; i < 2; i++) expect((await attempt(a, user, "wrong-guess", ip)).statusCode, `round ${round}`).toBe(401);
    expect((await attempt(b, user, `${user}-password`, ip)).statusCode, `round ${round}`).toBe(200);
  }
}

describe("login rate limiting (Redis, across replicas)", () => {
  it("answers 429 with the limit and the wait after repeated bad logins, and lets a good login in after the window", async () => {
    await limitedTests(replicaA.app, replicaB.app, "198.51.100.7", "ivan");
  });

  it("counts case variants of a user name as one", async () => {
    const ip = "198.51.100.8";
    for (const name of ["judy", "JUDY", "Judy"]) expect((await attempt(replicaA.app, name, "wrong-guess", ip)).statusCode).toBe(401);
    expect((await attempt(replicaA.app, "judy", "judy-password", ip)).statusCode).toBe(429);
  });

  it("limits one address trying many user names", async () => {
    const ip = "198.51.100.9";
    for (let i = 0; i < 8; i++) expect((await attempt(replicaB.app, `sprayed-${i}`, "password1", ip)).statusCode).toBe(401);
    const blocked = await attempt(replicaA.app, "ivan", "ivan-password", ip);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().error.details).toMatchObject({ scope: "ip", limit: 8 });
  });

  it("records refused attempts in the audit log", async () => {
    await waitFor(async () => {
      const rows = await replicaA.runtime.auditRepository.query({ action: "auth.login", success: false, limit: 500 });
      return rows.some((r) => (r.details as { reason?: string } | null)?.reason === "rate limited");
    }, "a rate-limited login in the audit log");
  });
});

describe("login rate limiting (all-in-one, in memory)", () => {
  it("behaves the same without Redis", async () => {
    const single = await world.start({ redisUrl: undefined, limits, replica: "auth-single", startRuntime: false });
    await limitedTests(single.app, single.app, "198.51.100.10", "ivan");
  });
});
