/** A client request the gateway hands to the supervisor for one upstream server. */
export interface UpstreamCall {
  server: string;
  /** An MCP request method: tools/call, prompts/get, resources/read, completion/complete, ... */
  method: string;
  /** Params as the upstream expects them (unprefixed names). `_meta.progressToken` is stripped. */
  params: Record<string, unknown>;
  /** Set when the client asked for progress; called with the upstream's progress params. */
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Aborted when the client cancels or goes away. */
  signal?: AbortSignal;
  /** The calling client, where the upstream's requests and notifications during the call can reach it. */
  client?: CallClient;
  /** Headers of the client's request the hub passes on (extension and trace headers); HTTP upstreams get them. */
  headers?: Record<string, string>;
}

/**
 * The client a call is for, as the upstream side sees it. One object per client request: it
 * is passed along, not wrapped in closures per call (those showed up in the hub's GC profile).
 */
export interface CallClient {
  /** Who the call is for (a client session, or one stateless request): calls from one origin are one client's. */
  readonly origin: string;
  /**
   * Asks the client on the upstream's behalf (sampling/createMessage, elicitation/create,
   * roots/list sent during the call); resolves with the client's result or rejects with
   * McpCallError (the client's error, or a capability it did not declare).
   */
  ask(request: ServerToClientRequest): Promise<Record<string, unknown>>;
  /** A notification the upstream sends during the call (notifications/message, ...), for this client. */
  notify(notification: { method: string; params?: Record<string, unknown> }): void;
}

/** A request an upstream server sends to its client, which the hub passes to the client that caused it. */
export interface ServerToClientRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** The server-to-client requests the hub relays; any other an upstream sends is answered "method not found". */
export const RELAYED_SERVER_REQUESTS = ["sampling/createMessage", "elicitation/create", "roots/list"] as const;

/** JSON-RPC error codes the hub produces (the spec's, plus MCP's -32002 for unknown resources). */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Upstream unavailable, timed out or refused: a server-defined code in the spec's range. */
  UpstreamUnavailable: -32001,
  RequestTimeout: -32001,
  ResourceNotFound: -32002,
} as const;

/** An error that reaches the MCP client as a JSON-RPC error object. */
export class McpCallError extends Error {
  readonly code: number;
  readonly data?: unknown;
  /** Why the hub failed the call, for metrics; absent when the upstream itself answered with an error. */
  readonly reason?: CallFailure;
  constructor(code: number, message: string, data?: unknown, reason?: CallFailure) {
    super(message);
    this.name = "McpCallError";
    this.code = code;
    this.data = data;
    this.reason = reason;
  }
}

export type CallFailure = "timeout" | "unavailable" | "refused" | "cancelled";

/** The JSON-RPC error object for a failed relay of `method`: the McpCallError's own, else an internal error naming the method. */
export function relayErrorObject(err: unknown, method: string): { code: number; message: string; data?: unknown } {
  if (!(err instanceof McpCallError)) return { code: JsonRpcCode.InternalError, message: `the hub could not relay ${method}` };
  return { code: err.code, message: err.message, ...(err.data !== undefined ? { data: err.data } : {}) };
}
