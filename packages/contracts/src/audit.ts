import { randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * One audit event as producers append it to the Redis stream `mcphub:audit`
 * (XADD <stream> * event <JSON>) and as the auth service stores it in audit_logs.
 * Lengths match the columns, so a valid event always fits its row.
 */
export const auditEventSchema = z.object({
  eventId: z.uuid(),
  at: z.iso.datetime({ offset: true }),
  userId: z.uuid().nullish(),
  username: z.string().max(255).nullish(),
  action: z.string().min(1).max(100),
  resource: z.string().min(1).max(255),
  resourceId: z.string().max(512).nullish(),
  success: z.boolean(),
  details: z.record(z.string(), z.unknown()).nullish(),
  ip: z.string().max(80).nullish(),
});

export interface AuditEvent {
  /** A UUID set by the producer: replays of the same event are stored once. */
  eventId: string;
  /** ISO 8601 time at the producer. */
  at: string;
  userId?: string;
  username?: string;
  /** What was done, `resource.verb` style: `auth.login`, `user.create`, `apikey.revoke`, `tool.call`. */
  action: string;
  /** The kind of thing it was done to: `auth`, `user`, `api_key`, `server`. */
  resource: string;
  resourceId?: string;
  success: boolean;
  /** Context; never a password, token or key (see redactDetails). */
  details?: Record<string, unknown>;
  ip?: string;
}

/** What a caller passes to `append`: eventId and at are filled in when absent. */
export type AuditEventInput = Omit<AuditEvent, "eventId" | "at"> & Partial<Pick<AuditEvent, "eventId" | "at">>;

/** Where audit events go: the Redis stream in split mode, the database directly in all-in-one. */
export interface AuditSink {
  append(event: AuditEventInput): Promise<AuditEvent>;
}

/** Field names whose values are secrets wherever they appear in details. */
const SECRET_FIELD = /password|passwd|secret|token|authorization|cookie|^(api[-_]?)?key$|private[-_]?key/i;

/** Replaces secret-looking fields at any depth, so a careless producer cannot store a password. */
export function redactDetails(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[truncated]";
  if (Array.isArray(value)) return value.map((v) => redactDetails(v, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? "[redacted]" : redactDetails(v, depth + 1);
    return out;
  }
  return value;
}

/** Fills eventId and time, redacts details and validates; throws on an event that could not be stored. */
export function completeEvent(input: AuditEventInput): AuditEvent {
  const candidate = {
    ...input,
    eventId: input.eventId ?? randomUUID(),
    at: input.at ?? new Date().toISOString(),
    details: input.details === undefined ? undefined : (redactDetails(input.details) as Record<string, unknown>),
  };
  const parsed = auditEventSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new Error(`invalid audit event: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return normalize(parsed.data);
}

/** null and undefined mean the same in the stream's JSON; keep only undefined. */
export function normalize(e: z.infer<typeof auditEventSchema>): AuditEvent {
  return {
    eventId: e.eventId,
    at: e.at,
    action: e.action,
    resource: e.resource,
    success: e.success,
    ...(e.userId != null && { userId: e.userId }),
    ...(e.username != null && { username: e.username }),
    ...(e.resourceId != null && { resourceId: e.resourceId }),
    ...(e.details != null && { details: e.details }),
    ...(e.ip != null && { ip: e.ip }),
  };
}

/** Parses the `event` field of a stream entry; undefined when it is not a valid event. */
export function parseStreamEvent(json: string | undefined): { event?: AuditEvent; error?: string } {
  if (json === undefined) return { error: "entry has no 'event' field" };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  const parsed = auditEventSchema.safeParse(raw);
  if (!parsed.success) return { error: parsed.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.message}`).join("; ") };
  return { event: normalize(parsed.data) };
}
