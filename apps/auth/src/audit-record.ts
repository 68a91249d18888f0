import type { Logger } from "@mcphub/observability";
import type { AuditEventInput, AuditSink } from "@mcphub/contracts";

/**
 * Appends an audit event for a change that has already happened. The change cannot be
 * undone if the append fails, so the failure is logged with the event (which holds no
 * secrets) rather than turned into an error for the caller.
 */
export async function record(audit: AuditSink, logger: Logger, event: AuditEventInput): Promise<void> {
  try {
    await audit.append(event);
  } catch (err) {
    logger.error({ err, auditEvent: event }, "could not append an audit event");
  }
}
