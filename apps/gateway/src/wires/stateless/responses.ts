/** How a 2026-07-28 answer is written: the envelope taken off the request, the result stamped with `resultType` and the hub's identity, JSON or SSE. */
import type { FastifyReply } from "fastify";
import { SERVER_INFO_META_KEY } from "@modelcontextprotocol/client";
import { errorResponse, JsonRpcCode, rawResultJson, type JsonRpcId, type JsonRpcRequest } from "../../core/jsonrpc.ts";
import { HUB_INFO } from "../../core/mcp-dispatcher.ts";
import { SseStream } from "../sse-stream.ts";
import { HUB_INFO_JSON, CACHEABLE, ENVELOPE_KEYS, isObject, metaOf } from "./era.ts";

/** The request as the dispatcher (and through it the upstream's 2025-era session) sees it: the envelope keys removed from `_meta`. */
export function withoutEnvelope(req: JsonRpcRequest): JsonRpcRequest {
  const meta = metaOf(req.params);
  if (!meta) return req;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (!ENVELOPE_KEYS.includes(k)) rest[k] = v;
  const { _meta: _dropped, ...params } = req.params!;
  return { ...req, params: Object.keys(rest).length ? { ...params, _meta: rest } : params };
}

/**
 * Turns the dispatcher's response into a 2026-07-28 one: results carry `resultType`, cache
 * hints where the revision defines them, and the server's identity in `_meta`; tools lose the
 * `execution` field the revision removed; resource-not-found (-32002) becomes -32602, the code
 * this revision uses for it.
 */
export function toModernResponse(method: string, id: JsonRpcId, json: string): string {
  const head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},`;
  const tail = json.startsWith(head) ? json.slice(head.length) : undefined;
  if (tail?.startsWith('"result":{')) {
    const result = tail.slice('"result":'.length, -1);
    // The common case, spliced as text: a result without any of the keys stamped here.
    if (!/"(?:_meta|resultType|ttlMs|cacheScope|execution)"/.test(result)) {
      const stamp = `"resultType":"complete",${CACHEABLE.has(method) ? '"ttlMs":0,"cacheScope":"private",' : ""}"_meta":{"${SERVER_INFO_META_KEY}":${HUB_INFO_JSON}}`;
      return `${head}"result":{${stamp}${result === "{}" ? "}" : `,${result.slice(1)}`}}`;
    }
  } else if (tail?.startsWith('"error":') && !tail.includes(`"code":${JsonRpcCode.ResourceNotFound}`)) {
    return json;
  }
  const msg = JSON.parse(json) as { id: JsonRpcId; result?: Record<string, unknown>; error?: { code: number } };
  if (msg.error) {
    if (msg.error.code === JsonRpcCode.ResourceNotFound) msg.error.code = JsonRpcCode.InvalidParams;
    return JSON.stringify(msg);
  }
  return JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: stampResult(method, msg.result ?? {}) });
}

export function stampResult(method: string, result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...result };
  if (method === "tools/list" && Array.isArray(out.tools)) {
    out.tools = out.tools.map((t: unknown) => {
      if (!isObject(t) || !("execution" in t)) return t;
      const { execution: _removed, ...rest } = t;
      return rest;
    });
  }
  // An upstream of a later revision may answer tools/call, prompts/get or resources/read with another result type: kept.
  out.resultType ??= "complete";
  if (CACHEABLE.has(method) && out.resultType === "complete") {
    if (!(Number.isInteger(out.ttlMs) && (out.ttlMs as number) >= 0)) out.ttlMs = 0;
    if (out.cacheScope !== "public" && out.cacheScope !== "private") out.cacheScope = "private";
  }
  const meta = out._meta;
  if (meta === undefined) out._meta = { [SERVER_INFO_META_KEY]: HUB_INFO };
  else if (isObject(meta) && meta[SERVER_INFO_META_KEY] === undefined) out._meta = { ...meta, [SERVER_INFO_META_KEY]: HUB_INFO };
  return out;
}

/**
 * Answers one stateless POST: a plain JSON body, switching to an SSE stream when a
 * notification (progress) must go out before the response.
 */
export class ModernResponder {
  private sse: SseStream | undefined;
  done = false;

  constructor(private readonly reply: FastifyReply) {}

  notify(json: string): void {
    if (this.done) return;
    if (!this.sse) {
      this.reply.hijack();
      this.sse = new SseStream(this.reply.raw, {});
    }
    this.sse.send(json);
  }

  respond(json: string): void {
    if (this.done) return;
    this.done = true;
    if (this.sse) {
      this.sse.send(json);
      this.sse.end();
    } else {
      this.reply.code(200).header("content-type", "application/json").send(json);
    }
  }
}

/** Whether `json` is exactly rawResultJson(id, result), compared in place: a list can be large. */
export function isRawResult(json: string, id: JsonRpcId, result: string): boolean {
  const head = rawResultJson(id, "").slice(0, -1);
  return json.length === head.length + result.length + 1 && json.startsWith(head) && json.startsWith(result, head.length);
}

export function sendError(reply: FastifyReply, status: number, code: number, message: string, data: unknown, id: JsonRpcId | null): FastifyReply {
  const body = errorResponse(id, code, message, data);
  if (status === 405) reply.header("allow", "POST");
  return reply.code(status).header("content-type", "application/json").send(JSON.stringify(body));
}