import { detailsWithRequestId, type Logger } from "@mcphub/observability";
import { completeEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";
import type { AuditOf } from "./users.repository.ts";
import type { Actor } from "./users.service.ts";

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

/**
 * The audit event of a change `actor` makes to a row, built from the changed row inside the
 * change's transaction: the change and its record are committed together or not at all.
 */
export function changeEvent<Row extends { id: string }>(
  actor: Actor,
  action: string,
  resource: string,
  details: (row: Row) => Record<string, unknown> | undefined,
): AuditOf<Row> {
  return (row) => {
    // The request that made the change, when there is one (its log lines carry the same id).
    const d = detailsWithRequestId(details(row));
    return completeEvent({
      action,
      resource,
      resourceId: row.id,
      userId: actor.userId,
      username: actor.username,
      success: true,
      ip: actor.ip,
      ...(d && { details: d }),
    });
  };
}
