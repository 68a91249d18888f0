import { Redis, type RedisOptions } from "ioredis";
import { safeErrorMessage, type Logger } from "@mcphub/observability";
import { parseStreamEvent, type AuditEvent } from "@mcphub/contracts";
import type { AuditMetrics } from "./audit-metrics.ts";
import type { AuditRepository } from "./audit.repository.ts";
import { AUDIT_STREAM } from "@mcphub/bus";

export interface AuditConsumerOptions {
  redisUrl: string;
  repository: AuditRepository;
  logger: Logger;
  /** This replica's name in the group; its pending entries are re-read under the same name after a restart. */
  consumer: string;
  stream?: string;
  group?: string;
  /** Entries per read and per INSERT (10 columns each: far below the 65,535 bind-parameter limit). */
  batchSize?: number;
  /** How long one XREADGROUP waits for new entries. */
  blockMs?: number;
  /** Entries another consumer left unacknowledged this long are claimed (a replica that died for good). */
  claimIdleMs?: number;
  /** How often to look for such entries, and to trim acknowledged entries from the stream. */
  maintenanceEveryMs?: number;
  metrics?: AuditMetrics;
  redisOptions?: RedisOptions;
}

type Entry = { id: string; fields: string[] | null };

/** Postgres SQLSTATE classes that mean "this row can never be stored", not "try again later". */
const DATA_ERROR = /^(22|23)/;

function sqlState(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Entries of an XREADGROUP reply: RESP2 gives `[[stream, entries]]`, RESP3 (ioredis' default
 * for raw calls) a map that arrives flattened as `[stream, entries, …]`; entries are `[id, fields]`.
 */
function entriesOf(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const lists: unknown[] =
    typeof reply[0] === "string" ? reply.filter((_, i) => i % 2 === 1) : (reply as unknown[][]).map((pair) => pair[1]);
  const out: Entry[] = [];
  for (const list of lists) {
    for (const [id, fields] of (list ?? []) as [string, string[] | null][]) out.push({ id, fields });
  }
  return out;
}

function fieldOf(fields: string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * Reads `mcphub:audit` as a member of the consumer group and stores the events in
 * audit_logs. An entry is acknowledged only after the INSERT that holds it committed; the
 * unique event_id makes a second delivery harmless. So a crash between insert and ack
 * re-delivers (pending entries are read first on start) and nothing is lost or doubled.
 */
export class AuditConsumer {
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly group: string;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  private readonly maintenanceEveryMs: number;
  private loop?: Promise<void>;
  private stopping = false;
  private blocked = false;
  private nextMaintenance = 0;

  constructor(private readonly opts: AuditConsumerOptions) {
    this.stream = opts.stream ?? AUDIT_STREAM;
    this.group = opts.group ?? "mcphub-auth";
    this.batchSize = opts.batchSize ?? 500;
    this.blockMs = opts.blockMs ?? 2000;
    this.claimIdleMs = opts.claimIdleMs ?? 60_000;
    this.maintenanceEveryMs = opts.maintenanceEveryMs ?? 30_000;
    // A connection of its own: XREADGROUP BLOCK holds it while waiting.
    this.redis = new Redis(opts.redisUrl, {
      connectionName: `${opts.consumer}-audit`,
      // Connects on start(): a service built but not started holds no connection.
      lazyConnect: true,
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
      ...opts.redisOptions,
    });
    this.redis.on("error", (err) => {
      if (!this.stopping) opts.logger.warn({ err }, "audit consumer: redis error");
    });
  }

  /** Creates the group if needed and starts consuming in the background. */
  async start(): Promise<void> {
    await this.ensureGroup();
    this.loop = this.run();
  }

  /**
   * Stops after the batch in hand is stored and acknowledged (a blocked read is cut short).
   * An instance runs once: create a new one to consume again.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.blocked) this.redis.disconnect();
    await this.loop;
    this.redis.disconnect();
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From the start of the stream: events appended before the auth service ever ran are stored too.
      await this.redis.call("XGROUP", "CREATE", this.stream, this.group, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).startsWith("BUSYGROUP")) throw err;
    }
  }

  private async run(): Promise<void> {
    let rereadPending = true;
    let failures = 0;
    while (!this.stopping) {
      try {
        if (rereadPending) {
          await this.drainPending();
          rereadPending = false;
        }
        if (Date.now() >= this.nextMaintenance) {
          await this.claimAbandoned();
          await this.trim();
          this.nextMaintenance = Date.now() + this.maintenanceEveryMs;
        }
        if (this.stopping) break;
        this.blocked = true;
        const reply = await this.redis
          .call("XREADGROUP", "GROUP", this.group, this.opts.consumer, "COUNT", this.batchSize, "BLOCK", this.blockMs, "STREAMS", this.stream, ">")
          .finally(() => (this.blocked = false));
        // Even when stopping: entries in hand are stored and acknowledged before the loop ends.
        await this.handle(entriesOf(reply));
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures++;
        // Entries read before the failure are pending under our name: read them again first.
        rereadPending = true;
        if (String((err as Error).message).startsWith("NOGROUP")) {
          this.opts.logger.warn({ stream: this.stream, group: this.group }, "audit consumer: the stream or group vanished; recreating it");
          await this.ensureGroup().catch(() => {});
        } else {
          this.opts.logger.error({ err: safeErrorMessage(err), failures }, "audit consumer: storing events failed; retrying");
        }
        await sleep(Math.min(100 * 2 ** failures, 5000));
      }
    }
  }

  /** Our own delivered-but-unacknowledged entries (a crash between insert and ack). */
  private async drainPending(): Promise<void> {
    let after = "0";
    for (;;) {
      const entries = entriesOf(
        await this.redis.call("XREADGROUP", "GROUP", this.group, this.opts.consumer, "COUNT", this.batchSize, "STREAMS", this.stream, after),
      );
      if (entries.length === 0) return;
      await this.handle(entries);
      after = entries[entries.length - 1]!.id;
    }
  }

  /** Entries a consumer that never came back (a replaced replica) left pending. */
  private async claimAbandoned(): Promise<void> {
    let start = "0-0";
    do {
      const reply = (await this.redis.call(
        "XAUTOCLAIM", this.stream, this.group, this.opts.consumer, this.claimIdleMs, start, "COUNT", this.batchSize,
      )) as [string, [string, string[] | null][], string[]?];
      start = reply[0];
      const entries = (reply[1] ?? []).map(([id, fields]) => ({ id, fields }));
      if (entries.length) {
        this.opts.logger.info({ count: entries.length }, "audit consumer: claimed entries another consumer left unacknowledged");
        await this.handle(entries);
      }
    } while (start !== "0-0" && !this.stopping);
  }

  /**
   * Removes entries every member of the group has acknowledged, so the stream does not grow
   * forever. Only when our group is the stream's only reader: another group may still need them.
   */
  private async trim(): Promise<void> {
    const groups = (await this.redis.call("XINFO", "GROUPS", this.stream)) as unknown[][];
    if (groups.length !== 1) return;
    const info = groups[0]!;
    const lastDelivered = String(info[info.indexOf("last-delivered-id") + 1]);
    if (lastDelivered === "0-0") return;
    // Read after last-delivered-id: entries delivered in between are above it or still pending.
    const summary = (await this.redis.call("XPENDING", this.stream, this.group)) as [number, string | null, string | null, unknown];
    const minPending = summary[0] > 0 ? summary[1] : null;
    const keepFrom = minPending && compareIds(minPending, lastDelivered) < 0 ? minPending : lastDelivered;
    await this.redis.call("XTRIM", this.stream, "MINID", "~", keepFrom);
  }

  private async handle(entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const events: AuditEvent[] = [];
    const eventEntries: string[] = [];
    let malformed = 0;
    for (const entry of entries) {
      if (entry.fields === null) continue; // trimmed from the stream while pending: nothing left to store
      const { event, error } = parseStreamEvent(fieldOf(entry.fields, "event"));
      if (event) {
        events.push(event);
        eventEntries.push(entry.id);
      } else {
        malformed++;
        // Acknowledged below with the rest: an unreadable entry must not block the stream.
        this.opts.logger.error({ entryId: entry.id, stream: this.stream, reason: error }, "audit consumer: dropping a malformed audit entry");
      }
    }
    const inserted = await this.store(events, eventEntries);
    this.opts.metrics?.inc({ result: "inserted" }, inserted.inserted);
    this.opts.metrics?.inc({ result: "duplicate" }, inserted.duplicates);
    if (malformed + inserted.rejected) this.opts.metrics?.inc({ result: "malformed" }, malformed + inserted.rejected);
    // Only now, after the commit: a crash before this line re-delivers, and ON CONFLICT absorbs it.
    await this.redis.call("XACK", this.stream, this.group, ...entries.map((e) => e.id));
  }

  /** One INSERT for the batch; if Postgres refuses the data itself, row by row to find the bad ones. */
  private async store(events: AuditEvent[], ids: string[]): Promise<{ inserted: number; duplicates: number; rejected: number }> {
    try {
      const inserted = await this.opts.repository.insertMany(events);
      return { inserted, duplicates: events.length - inserted, rejected: 0 };
    } catch (err) {
      const state = sqlState(err);
      if (!state || !DATA_ERROR.test(state)) throw err;
    }
    let inserted = 0;
    let rejected = 0;
    for (const [i, event] of events.entries()) {
      try {
        inserted += await this.opts.repository.insertMany([event]);
      } catch (err) {
        const state = sqlState(err);
        if (!state || !DATA_ERROR.test(state)) throw err;
        rejected++;
        this.opts.logger.error({ entryId: ids[i], eventId: event.eventId, sqlState: state }, "audit consumer: the database refused an audit event; dropping it");
      }
    }
    return { inserted, duplicates: events.length - inserted - rejected, rejected };
  }
}

/** Orders stream ids `<ms>-<seq>` numerically. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}
