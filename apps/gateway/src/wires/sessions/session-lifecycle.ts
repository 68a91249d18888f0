import { randomUUID } from "node:crypto";
import { InitializeRequestParamsSchema } from "@modelcontextprotocol/core";
import type { SupervisorPort } from "@mcphub/contracts";
import type { FastifyReply } from "fastify";
import { resolveTarget, SMART_TARGET, type CatalogViews } from "../../core/catalog-view.ts";
import { errorResponse, JsonRpcCode, type JsonRpcRequest } from "../../core/jsonrpc.ts";
import type { LiveSessions } from "../../state/live-sessions.ts";
import type { McpAccess, McpAuth } from "../mcp-auth.ts";
import type { McpDispatcher } from "../../core/mcp-dispatcher.ts";
import type { SessionRecord } from "../../state/session.store.ts";

export interface GatewayCore {
  live: LiveSessions;
  dispatcher: McpDispatcher;
  supervisor: SupervisorPort;
  views: CatalogViews;
  auth: McpAuth;
  basePath: string;
}

/** Sends a transport-level error: an HTTP status with a JSON-RPC error body (id null). */
export function httpError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).header("content-type", "application/json").send(JSON.stringify(errorResponse(null, code, message)));
}

/** The endpoint's target as resolveTarget reads it, from the route's `:target[/:group]` (`$smart/<group>`). */
export function targetPath(params: { target?: string; group?: string }): string {
  return params.group === undefined ? (params.target ?? "") : `${params.target}/${params.group}`;
}

/** The endpoint's path segment, or a 404 already sent when it names nothing. */
export function checkTarget(core: GatewayCore, reply: FastifyReply, targetName: string): boolean {
  if (resolveTarget(targetName, core.supervisor.catalog())) return true;
  const snap = core.supervisor.catalog();
  const smart = targetName === SMART_TARGET || targetName.startsWith(`${SMART_TARGET}/`);
  const message =
    targetName === ""
      ? "the global endpoint /mcp is disabled (systemConfig.routing.enableGlobalRoute)"
      : smart && !snap.smartRouting.enabled
        ? "smart routing is disabled (systemConfig.smartRouting.enabled)"
        : targetName === SMART_TARGET
          ? "the global smart-routing endpoint is disabled with the global route (systemConfig.routing.enableGlobalRoute); use /mcp/$smart/<group>"
          : smart
            ? `no group named "${targetName.slice(SMART_TARGET.length + 1)}"`
            : `no group or server named "${targetName}"`;
  httpError(reply, 404, JsonRpcCode.InvalidRequest, message);
  return false;
}

/** Looks up the session a request names: 400 without a session id, 404 for an unknown one. */
export async function requireSession(
  core: GatewayCore,
  reply: FastifyReply,
  sessionId: string | undefined,
  targetName: string,
  access: McpAccess,
): Promise<SessionRecord | undefined> {
  if (!sessionId) {
    httpError(reply, 400, -32000, "Bad Request: Mcp-Session-Id header is required (send initialize first)");
    return undefined;
  }
  const session = await core.live.store.get(sessionId);
  // A session belongs to the endpoint it was opened on, and to whoever opened it.
  if (!session || session.targetName !== targetName || session.principalKey !== access.principalKey) {
    httpError(reply, 404, -32001, "Session not found (it expired or was closed; initialize again)");
    return undefined;
  }
  core.live.store.touch(sessionId);
  return session;
}

/**
 * Answers an initialize request: fills the session's negotiated state and returns the
 * JSON text of the response, or of a -32602 error naming the bad field.
 */
export function initializeSession(
  core: GatewayCore,
  req: JsonRpcRequest,
  session: SessionRecord,
): { ok: boolean; json: string } {
  const parsed = InitializeRequestParamsSchema.safeParse(req.params ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `params.${i.path.join(".")}: ${i.message}`).join("; ");
    return { ok: false, json: JSON.stringify(errorResponse(req.id, JsonRpcCode.InvalidParams, `invalid initialize request: ${detail}`)) };
  }
  const snap = core.supervisor.catalog();
  const view = core.views.view(snap, resolveTarget(session.targetName, snap)!, session.servers);
  const result = core.dispatcher.initializeResult(req.params, view);
  session.protocolVersion = result.protocolVersion as string;
  session.clientInfo = parsed.data.clientInfo as Record<string, unknown>;
  session.clientCapabilities = (parsed.data.capabilities ?? {}) as Record<string, unknown>;
  return { ok: true, json: JSON.stringify({ jsonrpc: "2.0", id: req.id, result }) };
}

export function newSession(targetName: string, transport: SessionRecord["transport"], access: McpAccess): SessionRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    targetName,
    transport,
    protocolVersion: "",
    clientCapabilities: {},
    principalKey: access.principalKey,
    ...(access.servers ? { servers: access.servers } : {}),
    ...(access.principal
      ? { actor: { userId: access.principal.userId, username: access.principal.username, ...(access.principal.keyId ? { keyId: access.principal.keyId } : {}) } }
      : {}),
    createdAt: now,
    lastSeenAt: now,
  };
}
