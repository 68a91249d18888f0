import type { Redis } from "ioredis";
import { completeEvent, type AuditEvent, type AuditEventInput, type AuditSink } from "./audit-event.ts";
import type { AuditMetrics } from "./audit-metrics.ts";
import type { AuditRepository } from "./audit.repository.ts";

export const AUDIT_STREAM = "mcphub:audit";

/**
 * Appends audit events to the Redis stream every service shares (split mode). The contract
 * for other apps: `XADD mcphub:audit * event <JSON of AuditEvent>`; the auth service's
 * consumer group stores each event once, by its eventId.
 */
export class AuditProducer implements AuditSink {
  constructor(
    private readonly redis: Redis,
    private readonly stream: string = AUDIT_STREAM,
  ) {}

  async append(input: AuditEventInput): Promise<AuditEvent> {
    const event = completeEvent(input);
    // No MAXLEN: trimming here could drop events the consumer has not stored yet; the consumer trims.
    await this.redis.xadd(this.stream, "*", "event", JSON.stringify(event));
    return event;
  }
}

/** All-in-one mode (no Redis): the same interface, written straight to audit_logs. */
export class DirectAuditSink implements AuditSink {
  constructor(
    private readonly repository: AuditRepository,
    private readonly metrics?: AuditMetrics,
  ) {}

  async append(input: AuditEventInput): Promise<AuditEvent> {
    const event = completeEvent(input);
    const inserted = await this.repository.insertMany([event]);
    this.metrics?.inc({ result: inserted ? "inserted" : "duplicate" });
    return event;
  }
}
