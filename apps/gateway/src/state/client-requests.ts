import { randomBytes } from "node:crypto";
import type { Bus } from "@mcphub/bus";
import { JsonRpcCode, McpCallError, type ServerToClientRequest } from "@mcphub/contracts";
import type { JsonRpcId, JsonRpcResponse } from "../core/jsonrpc.ts";
import type { SessionRecord } from "./session.store.ts";

/** RFC 5424 severities as MCP names them, least severe first. */
const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** Whether a log message at `level` passes a client's chosen minimum (none chosen: all pass). */
export function passesLogLevel(level: string, minimum: string | undefined): boolean {
  return !minimum || LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(minimum);
}

interface Pending {
  sessionId: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: McpCallError) => void;
}

/**
 * The capability a client must have declared for the hub to pass it an upstream's request,
 * or the reason it cannot (then the upstream gets the error a client without it would give).
 */
function missingCapability(request: ServerToClientRequest, caps: Record<string, unknown>): string | undefined {
  const params = request.params ?? {};
  switch (request.method) {
    case "sampling/createMessage": {
      const sampling = caps.sampling as Record<string, unknown> | undefined;
      if (!sampling) return "sampling";
      if ((params.tools !== undefined || params.toolChoice !== undefined) && !sampling.tools) return "sampling.tools";
      return undefined;
    }
    case "elicitation/create": {
      const elicitation = caps.elicitation as Record<string, unknown> | undefined;
      if (!elicitation) return "elicitation";
      // An empty elicitation capability is the 2025-06-18 form, which means form mode.
      if (params.mode === "url") return elicitation.url ? undefined : "elicitation.url";
      return elicitation.form || Object.keys(elicitation).length === 0 ? undefined : "elicitation.form";
    }
    case "roots/list":
      return caps.roots ? undefined : "roots";
    default:
      return request.method;
  }
}

/** The error the upstream gets when the client cannot be asked this (as a client without the capability would answer). */
export function capabilityError(request: ServerToClientRequest, caps: Record<string, unknown>): McpCallError | undefined {
  const missing = missingCapability(request, caps);
  return missing ? new McpCallError(JsonRpcCode.MethodNotFound, `the client did not declare the ${missing} capability, so ${request.method} cannot be passed to it`) : undefined;
}

/**
 * Requests the hub sends to clients on an upstream's behalf, waiting for their answers.
 * An answer is POSTed by the client and may land on another gateway replica: that replica
 * passes it here over the bus (`session.message`, kind `answer`). Ids carry this replica's
 * random prefix, so they never collide with another replica's.
 */
export class ClientRequests {
  private readonly pending = new Map<JsonRpcId, Pending>();
  private readonly prefix = `mcphub-${randomBytes(4).toString("hex")}-`;
  private next = 0;

  constructor(private readonly bus: Bus) {}

  /**
   * Sends the request with `send` and resolves with the client's result. Rejects with
   * McpCallError when the client lacks the capability, answers with an error, or when `signal`
   * aborts (the call that caused it ended), telling the client to stop.
   */
  ask(session: SessionRecord, request: ServerToClientRequest, send: (json: string) => void, signal: AbortSignal): Promise<Record<string, unknown>> {
    const refused = capabilityError(request, session.clientCapabilities);
    if (refused) return Promise.reject(refused);
    if (signal.aborted) return Promise.reject(new McpCallError(JsonRpcCode.InternalError, `${request.method} was cancelled: the call ended`));
    const id = `${this.prefix}${++this.next}`;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "the call that asked ended" } }));
        reject(new McpCallError(JsonRpcCode.InternalError, `${request.method} was cancelled: the call ended`));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        sessionId: session.id,
        resolve: (r) => (signal.removeEventListener("abort", onAbort), resolve(r)),
        reject: (e) => (signal.removeEventListener("abort", onAbort), reject(e)),
      });
      send(JSON.stringify({ jsonrpc: "2.0", id, method: request.method, ...(request.params ? { params: request.params } : {}) }));
    });
  }

  /** A response a client POSTed in its session: settles the request here, or on the replica that asked. */
  answer(sessionId: string, response: JsonRpcResponse): void {
    const id = response.id as JsonRpcId;
    if (!this.settle(sessionId, id, response.result, response.error)) {
      this.bus.publish("session.message", {
        sessionId,
        message: { kind: "answer", requestId: id, ...(response.error ? { error: response.error } : { result: response.result ?? {} }) },
      });
    }
  }

  /** Settles a pending request of this session; false when it is not waiting here. */
  settle(sessionId: string, id: JsonRpcId, result?: Record<string, unknown>, error?: JsonRpcResponse["error"]): boolean {
    const p = this.pending.get(id);
    // Only the session that was asked may answer.
    if (!p || p.sessionId !== sessionId) return false;
    this.pending.delete(id);
    if (error) p.reject(new McpCallError(error.code, error.message, error.data));
    else p.resolve(result ?? {});
    return true;
  }

  /** The session is gone: its questions will never be answered. */
  dropSession(sessionId: string): void {
    for (const [id, p] of this.pending) {
      if (p.sessionId !== sessionId) continue;
      this.pending.delete(id);
      p.reject(new McpCallError(JsonRpcCode.InternalError, "the client's session closed before it answered"));
    }
  }
}
