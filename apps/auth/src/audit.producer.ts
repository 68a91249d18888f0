import { completeEvent, type AuditEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";
import type { AuditMetrics } from "./audit-metrics.ts";
import type { AuditRepository } from "./audit.repository.ts";

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
