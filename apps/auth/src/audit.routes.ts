import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { HubError } from "@mcphub/contracts";
import type { AuthenticationService } from "./authn.service.ts";
import type { AuditFilter, AuditRepository } from "./audit.repository.ts";
import { parseInput } from "./errors.ts";
import { requireSession } from "./session.ts";

const isoTime = z.iso.datetime({ offset: true, message: "must be an ISO 8601 time, e.g. 2030-01-31T00:00:00Z" });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const auditQuery = z
  .object({
    /** A user id or a user name. */
    user: z.string().min(1).max(255).optional(),
    action: z.string().min(1).max(100).optional(),
    resource: z.string().min(1).max(255).optional(),
    success: z.enum(["true", "false"], "must be true or false").optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    limit: z.coerce.number("must be a number").int("must be a whole number").min(1).max(500).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** The cursor is opaque to clients: the (time, id) of the last entry of the previous page. */
function encodeCursor(at: string, id: number): string {
  return Buffer.from(JSON.stringify([at, id])).toString("base64url");
}

function decodeCursor(cursor: string): { at: Date; id: number } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [unknown, unknown];
    const date = new Date(String(at));
    if (typeof at === "string" && Number.isSafeInteger(id) && !Number.isNaN(date.getTime())) return { at: date, id: id as number };
  } catch {
    // reported below
  }
  throw new HubError("HUB_INVALID_QUERY", "cursor: not a cursor returned by this API (pass nextCursor unchanged)", 400, [
    { field: "cursor", message: "not a cursor returned by this API" },
  ]);
}

/** The audit trail: admins see every entry, other users their own. Newest first, cursor-paged. */
export async function auditRoutes(app: FastifyInstance, opts: { repository: AuditRepository; authn: AuthenticationService }): Promise<void> {
  app.get("/api/audit", async (req) => {
    const { user } = await requireSession(req, opts.authn);
    const q = parseInput(auditQuery, req.query, "HUB_INVALID_QUERY", "query");
    const filter: AuditFilter = {
      action: q.action,
      resource: q.resource,
      success: q.success === undefined ? undefined : q.success === "true",
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      before: q.cursor ? decodeCursor(q.cursor) : undefined,
      // One more than asked: tells whether another page exists.
      limit: q.limit + 1,
    };
    if (q.user) {
      if (UUID.test(q.user)) filter.userId = q.user;
      else filter.username = q.user;
    }
    if (user.role !== "admin") {
      // Both filters apply: asking for someone else's entries gives none.
      if (filter.userId && filter.userId !== user.id) return { entries: [], nextCursor: null };
      filter.userId = user.id;
    }
    const rows = await opts.repository.query(filter);
    const entries = rows.slice(0, q.limit);
    const last = entries[entries.length - 1];
    return { entries, nextCursor: rows.length > q.limit && last ? encodeCursor(last.at, last.id) : null };
  });
}
