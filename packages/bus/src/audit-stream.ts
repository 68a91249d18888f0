import { completeEvent, type AuditEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";
import type { Redis } from "ioredis";

export const AUDIT_STREAM = "mcphub:audit";

/**
 * Appends audit events to the Redis stream every service shares (split mode): a stream, not
 * pub/sub, because an audit event must not be lost while the auth service is away. The
 * contract: `XADD mcphub:audit * event <JSON of AuditEvent>`; the auth service's consumer
 * group stores each event once, by its eventId.
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
