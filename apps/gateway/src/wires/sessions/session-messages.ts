import type { SupervisorPort } from "@mcphub/contracts";
import { resolveTarget, type CatalogViews } from "../../core/catalog-view.ts";
import { errorResponse, JsonRpcCode, type Classified } from "../../core/jsonrpc.ts";
import type { LiveSessions } from "../../state/live-sessions.ts";
import type { McpDispatcher } from "../../core/mcp-dispatcher.ts";
import type { SessionRecord } from "../../state/session.store.ts";

/** Where answers to one batch of client messages go: a POST's body or SSE, or a legacy stream. */
export interface Responder {
  /** A notification related to a request in flight (progress). */
  notify(json: string): void;
  /** One response; called once per request and per invalid message. */
  respond(json: string): void;
}

/**
 * Runs the messages a client POSTed within its session, on either transport. Requests are
 * answered through the responder (concurrently, in completion order); notifications and
 * responses from the client produce no answer. Returns how many answers will come.
 */
export function processSessionMessages(
  deps: { live: LiveSessions; dispatcher: McpDispatcher; supervisor: SupervisorPort; views: CatalogViews },
  session: SessionRecord,
  messages: Classified[],
  responder: Responder,
  /** Headers of the POST that carried the messages, passed on to HTTP upstreams. */
  headers?: Record<string, string>,
): number {
  const snap = deps.supervisor.catalog();
  const target = resolveTarget(session.targetName, snap);
  let answers = 0;
  for (const m of messages) {
    if (m.kind === "invalid") {
      answers++;
      responder.respond(JSON.stringify(errorResponse(m.id, JsonRpcCode.InvalidRequest, `invalid JSON-RPC message: ${m.reason}`)));
    } else if (m.kind === "notification") {
      if (m.message.method === "notifications/cancelled") {
        const requestId = m.message.params?.requestId;
        if (typeof requestId === "string" || typeof requestId === "number") deps.live.cancel(session.id, requestId);
      }
      // notifications/initialized, roots/list_changed: nothing to do for a hub session.
    } else if (m.kind === "request") {
      answers++;
      const req = m.message;
      if (!target) {
        responder.respond(JSON.stringify(errorResponse(req.id, JsonRpcCode.InvalidRequest, `endpoint "${session.targetName}" no longer exists (its group or server was removed)`)));
        continue;
      }
      const view = deps.views.view(snap, target, session.servers);
      const ctl = deps.live.track(session.id, req.id);
      const notify = (json: string) => responder.notify(json);
      deps.dispatcher
        .handle(req, {
          view,
          snap,
          signal: ctl.signal,
          actor: session.actor,
          emit: (n) => notify(JSON.stringify(n)),
          session: deps.live.clientSession(session, notify),
          headers,
        })
        .then(
          (json) => responder.respond(json),
          // handle() turns every failure into a JSON-RPC error; this is a last resort.
          () => responder.respond(JSON.stringify(errorResponse(req.id, JsonRpcCode.InternalError, "internal error in the hub"))),
        )
        .finally(() => deps.live.untrack(session.id, req.id));
    } else {
      // The client answers a request the hub passed to it on an upstream's behalf.
      deps.live.answer(session.id, m.message);
    }
  }
  return answers;
}
