import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import type { Registry } from "prom-client";
import type { Database } from "@mcphub/db";
import { auditSpoolGauge, currentRequestId, type Logger } from "@mcphub/observability";
import type { AuditSink, CredentialsRevoked } from "@mcphub/contracts";
import { auditMetrics } from "./audit-metrics.ts";
import { AuditConsumer } from "./audit.consumer.ts";
import { AUDIT_STREAM, AuditProducer, logAuditSpool, RedisBus, type Bus } from "@mcphub/bus";
import { DirectAuditSink } from "./audit.producer.ts";
import { AuditRepository } from "./audit.repository.ts";
import { AuditRetention } from "./audit.retention.ts";
import { ApiKeysRepository } from "./api-keys.repository.ts";
import { ApiKeysService } from "./api-keys.service.ts";
import { MemoryLoginLimiter, RedisLoginLimiter, type LoginLimiter, type LoginLimits } from "./login-limiter.ts";
import type { ScryptCost } from "./password.ts";
import { UsersRepository } from "./users.repository.ts";
import { UsersService } from "./users.service.ts";

export interface AuthRuntimeOptions {
  db: Database;
  logger: Logger;
  /** Names this replica's consumer in the audit group. */
  replica: string;
  /** Split mode; without it (all-in-one) audit events go straight to the database and login limits stay in memory. */
  redisUrl?: string;
  /** Prefix of the login-limit counters in Redis (tests give each file its own). */
  redisPrefix?: string;
  auditStream?: string;
  auditGroup?: string;
  /** Whether this process reads the audit stream (on by default with Redis). */
  consumeAudit?: boolean;
  /** Tuning of the consumer (tests shorten the waits). */
  consumer?: { batchSize?: number; blockMs?: number; claimIdleMs?: number; maintenanceEveryMs?: number };
  limits: LoginLimits;
  retentionDays: number;
  retentionEveryMs?: number;
  adminPassword?: string;
  /** scrypt cost of new password hashes (tests use a cheap one). */
  passwordCost?: ScryptCost;
  /** How often an API key's last use is written. */
  touchEveryMs?: number;
  registry?: Registry;
  /**
   * Where revocations are published (`credentials.revoked`): the host's bus in all-in-one; in
   * split mode, a Redis bus on `redisUrl` is made when none is given.
   */
  bus?: Bus;
}

/** The services of the auth app, and what runs beside its routes (audit consumer, retention). */
export interface AuthRuntime {
  users: UsersService;
  keys: ApiKeysService;
  auditRepository: AuditRepository;
  audit: AuditSink;
  limiter: LoginLimiter;
  consumer?: AuditConsumer;
  /** The Redis connection of the producer and the limiter (split mode). */
  redis?: Redis;
  /** Creates the first admin, starts consuming the audit stream and the retention timer. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Readiness: the database and, in split mode, Redis answer. */
  checks(): Promise<Record<string, boolean>>;
}

export function createAuthRuntime(opts: AuthRuntimeOptions): AuthRuntime {
  const { db, logger } = opts;
  const metrics = opts.registry ? auditMetrics(opts.registry) : undefined;
  const auditRepository = new AuditRepository(db);
  const stream = opts.auditStream ?? AUDIT_STREAM;

  let redis: Redis | undefined;
  let audit: AuditSink;
  let limiter: LoginLimiter;
  let consumer: AuditConsumer | undefined;
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, { connectionName: `${opts.replica}-auth`, retryStrategy: (times) => Math.min(50 * 2 ** times, 2000) });
    redis.on("error", (err) => logger.warn({ err }, "auth: redis error"));
    const producer = new AuditProducer(redis, stream, { onSpool: logAuditSpool(logger), requestId: currentRequestId });
    if (opts.registry) auditSpoolGauge(opts.registry, () => producer.spooled);
    audit = producer;
    limiter = new RedisLoginLimiter(redis, opts.limits, `${opts.redisPrefix ?? "mcphub:"}login-failures:`);
    if (opts.consumeAudit ?? true) {
      consumer = new AuditConsumer({
        redisUrl: opts.redisUrl,
        repository: auditRepository,
        logger,
        consumer: opts.replica,
        stream,
        group: opts.auditGroup,
        metrics,
        ...opts.consumer,
      });
    }
  } else {
    audit = new DirectAuditSink(auditRepository, metrics);
    limiter = new MemoryLoginLimiter(opts.limits);
  }

  let ownBus: RedisBus | undefined;
  if (!opts.bus && opts.redisUrl) {
    ownBus = new RedisBus({ url: opts.redisUrl, name: `${opts.replica}-auth-bus`, onError: (err, context) => logger.warn({ err, context }, "auth: bus error") });
  }
  const bus: Bus | undefined = opts.bus ?? ownBus;
  const revoked = (e: CredentialsRevoked) => bus?.publish("credentials.revoked", e);
  const users = new UsersService(new UsersRepository(db), audit, logger, opts.passwordCost, revoked);
  // Changes to users and keys store their audit rows in their own transactions (this service owns audit_logs);
  // `audit` carries the rest: sign-ins and refusals.
  const keys = new ApiKeysService(new ApiKeysRepository(db), logger, opts.touchEveryMs, revoked);
  const retention = new AuditRetention(auditRepository, logger, opts.retentionDays, opts.retentionEveryMs);

  return {
    users,
    keys,
    auditRepository,
    audit,
    limiter,
    consumer,
    redis,
    async start() {
      await users.ensureFirstAdmin(opts.adminPassword);
      await consumer?.start();
      retention.start();
    },
    async stop() {
      await retention.stop();
      await consumer?.stop();
      await redis?.quit().catch(() => {});
      await ownBus?.close();
    },
    async checks() {
      const database = await db.execute(sql`select 1`).then(() => true, () => false);
      const result: Record<string, boolean> = { database };
      if (redis) result.redis = await redis.ping().then((r) => r === "PONG", () => false);
      return result;
    },
  };
}
