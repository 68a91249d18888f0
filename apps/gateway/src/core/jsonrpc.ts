import { JsonRpcCode } from "@mcphub/contracts";

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: JsonRpcId | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** A response whose result is already JSON text (a cached list). */
export function rawResultJson(id: JsonRpcId, resultJson: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${resultJson}}`;
}

export type Classified =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "response"; message: JsonRpcResponse }
  | { kind: "invalid"; id: JsonRpcId | null; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks one JSON-RPC 2.0 message's envelope and says which kind it is, with the field
 * at fault when it is invalid. Params are checked per method by the dispatcher.
 */
export function classify(value: unknown): Classified {
  if (!isObject(value)) return { kind: "invalid", id: null, reason: "a JSON-RPC message must be an object" };
  const id = value.id;
  const validId = typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
  const replyId = validId ? (id as JsonRpcId) : null;
  if (value.jsonrpc !== "2.0") return { kind: "invalid", id: replyId, reason: 'jsonrpc must be "2.0"' };
  if ("method" in value) {
    if (typeof value.method !== "string" || value.method === "") return { kind: "invalid", id: replyId, reason: "method must be a non-empty string" };
    if (value.params !== undefined && !isObject(value.params)) return { kind: "invalid", id: replyId, reason: "params must be an object" };
    if (id === undefined) return { kind: "notification", message: value as unknown as JsonRpcNotification };
    if (!validId) return { kind: "invalid", id: null, reason: "id must be a string or a number" };
    return { kind: "request", message: value as unknown as JsonRpcRequest };
  }
  if ("result" in value || "error" in value) {
    if (!validId) return { kind: "invalid", id: null, reason: "a response needs the id of its request" };
    return { kind: "response", message: value as unknown as JsonRpcResponse };
  }
  return { kind: "invalid", id: replyId, reason: "a message needs a method (request, notification) or a result or error (response)" };
}

export { JsonRpcCode };
