import Fastify, { type FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { openDatabase, type DbHandle } from "@mcphub/db";
import { createLogger, type Logger } from "@mcphub/observability";
import { freshDatabase } from "../../../../test/helpers/postgres.ts";
import authApp, { authServerOptions } from "../../src/app.ts";
import { createAuthRuntime, type AuthRuntime, type AuthRuntimeOptions } from "../../src/runtime.ts";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const INTERNAL_TOKEN = "internal-token-for-tests-0123456789";
export const JWT_SECRET = "a-test-secret-that-is-long-enough-0123456789";

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A logger whose JSON lines the test can read. */
export function collectingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: "info", service: "auth-test", stream: { write: (l) => lines.push(JSON.parse(l) as LogLine) } });
  return { logger, lines };
}

/** One test file's world: its own database and Redis key prefix. */
export async function testWorld(label: string) {
  const database = await freshDatabase(`auth_${label}`);
  const prefix = `test:auth:${label}:${process.pid}:${Date.now()}:`;
  const redis = new Redis(REDIS_URL);
  const db = await openDatabase({ url: database.url, dataDir: "unused", maxConnections: 5 });
  const instances: AuthInstance[] = [];
  return {
    prefix,
    redis,
    db,
    databaseUrl: database.url,
    stream: `${prefix}audit`,
    /** An auth service (app + runtime) on this world's database and Redis. */
    async start(opts: StartOptions = {}): Promise<AuthInstance> {
      const instance = await startAuth(db, { redisUrl: REDIS_URL, redisPrefix: prefix, auditStream: `${prefix}audit`, ...opts });
      instances.push(instance);
      return instance;
    },
    async close() {
      for (const i of instances.splice(0)) await i.close();
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== "0");
      redis.disconnect();
      await db.close();
      await database.drop();
    },
  };
}

export interface AuthInstance {
  app: FastifyInstance;
  runtime: AuthRuntime;
  lines: LogLine[];
  registry: Registry;
  close(): Promise<void>;
}

export type StartOptions = Partial<AuthRuntimeOptions> & { startRuntime?: boolean; tokenTtlSeconds?: number };

export async function startAuth(db: DbHandle, opts: StartOptions): Promise<AuthInstance> {
  const { logger, lines } = collectingLogger();
  const registry = new Registry();
  const runtime = createAuthRuntime({
    db: db.db,
    logger,
    replica: opts.replica ?? "auth-test",
    limits: { maxFailures: 5, maxFailuresPerIp: 50, windowSeconds: 900 },
    retentionDays: 90,
    registry,
    consumer: { blockMs: 200, maintenanceEveryMs: 60_000 },
    // A cheap scrypt cost: tests log in often on a busy machine. The default cost has its own unit test.
    passwordCost: { N: 2 ** 12, r: 8, p: 1 },
    ...opts,
  });
  const app = Fastify({ ...authServerOptions });
  await app.register(authApp, {
    ...runtime,
    logger,
    jwtSecret: JWT_SECRET,
    tokenTtlSeconds: opts.tokenTtlSeconds ?? 3600,
    internalToken: INTERNAL_TOKEN,
    checks: () => runtime.checks(),
  });
  await app.ready();
  if (opts.startRuntime ?? true) await runtime.start();
  let closed = false;
  return {
    app,
    runtime,
    lines,
    registry,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await runtime.stop();
    },
  };
}

/** Signs in through the API; returns the token. */
export async function login(app: FastifyInstance, username: string, password: string, ip?: string): Promise<string> {
  const res = await app.inject({
    method: "POST",
    url: "/api/auth/login",
    payload: { username, password },
    headers: ip ? { "x-forwarded-for": ip } : {},
  });
  if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
  return (res.json() as { token: string }).token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Polls until `check` returns a truthy value (no fixed sleeps: the machine may be slow). */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
