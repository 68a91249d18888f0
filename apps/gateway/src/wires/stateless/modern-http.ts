import type { IncomingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
} from "@modelcontextprotocol/client";
import { ClientCapabilitiesSchema, ImplementationSchema, LoggingLevelSchema, ProgressTokenSchema } from "@modelcontextprotocol/core";
import { McpCallError, type ServerCatalog } from "@mcphub/contracts";
import { resolveTarget, type CatalogView } from "../../core/catalog-view.ts";
import { classify, errorResponse, JsonRpcCode, rawResultJson, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest } from "../../core/jsonrpc.ts";
import type { ListenStreams } from "./listen-streams.ts";
import { forwardedHeaders } from "../forwarded-headers.ts";
import type { McpAccess } from "../mcp-auth.ts";
import { HUB_INFO, type DispatchContext } from "../../core/mcp-dispatcher.ts";
import { MULTI_ROUND_TRIP_METHODS, MultiRoundTrips } from "../../state/multi-round-trips.ts";
import { checkTarget, type GatewayCore } from "../sessions/session-lifecycle.ts";
import { SseStream } from "../sse-stream.ts";

/**
 * The stateless protocol revisions (2026-07-28 and later): no initialize, no session; every
 * request carries its protocol version, client capabilities and client info in `params._meta`.
 * Served on the same endpoints as the 2025-era sessions, told apart per request by the body.
 */
export const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"];
const FIRST_MODERN_VERSION = "2026-07-28";
/** The hub's identity as every 2026-07-28 result carries it in `_meta`. */
const HUB_INFO_JSON = JSON.stringify(HUB_INFO);

/** Revision identifiers are dates: every revision from the first modern one on is stateless. */
export const isModernVersion = (v: string) => v >= FIRST_MODERN_VERSION;

/** The request methods of the 2026-07-28 revision; any other is "Method not found" there (ping, initialize, logging/setLevel, resources/subscribe are gone). */
const MODERN_METHODS = new Set([
  "tools/call",
  "tools/list",
  "prompts/get",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
  "server/discover",
  "subscriptions/listen",
]);
/** Results that carry cache hints (`ttlMs`, `cacheScope`) on 2026-07-28. */
const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", "server/discover"]);
/** The body field the `Mcp-Name` header mirrors, per method (SEP-2243's table; tasks/* are not served here). */
const MCP_NAME_SOURCE: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };
/** The cached list each list method answers with, per view. */
const VIEW_LISTS: Record<string, (v: CatalogView) => string> = {
  "tools/list": (v) => v.toolsJson,
  "prompts/list": (v) => v.promptsJson,
  "resources/list": (v) => v.resourcesJson,
  "resources/templates/list": (v) => v.templatesJson,
};
/** The envelope keys the hub reads itself; an upstream (a 2025-era session) must not see them. */
const ENVELOPE_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY, LOG_LEVEL_META_KEY];

/** JSON-RPC codes of the 2026-07-28 revision (SEP-2243 and the version error). */
export const ModernCode = {
  HeaderMismatch: -32020,
  UnsupportedProtocolVersion: -32022,
} as const;

/** The per-request `_meta` envelope; loose, so other `_meta` keys (progressToken, trace context) pass. */
const EnvelopeSchema = z.looseObject({
  progressToken: ProgressTokenSchema.optional(),
  [PROTOCOL_VERSION_META_KEY]: z.string(),
  [CLIENT_INFO_META_KEY]: ImplementationSchema.optional(),
  [CLIENT_CAPABILITIES_META_KEY]: ClientCapabilitiesSchema,
  [LOG_LEVEL_META_KEY]: LoggingLevelSchema.optional(),
});
const REQUIRED_ENVELOPE_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY];

/** How one POST is served: by the session code (2025 era), by the stateless code, or refused. */
export type EraRoute =
  | { kind: "legacy" }
  | { kind: "reject"; status: number; code: number; message: string; data?: unknown; id: JsonRpcId | null }
  | { kind: "request"; message: JsonRpcRequest; revision: string }
  | { kind: "notification"; message: JsonRpcNotification };

const LEGACY: EraRoute = { kind: "legacy" };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v.join(", ") : v;
  // RFC 9110 optional whitespace around a field value is not part of it.
  return s === undefined ? undefined : s.replace(/^[ \t]+|[ \t]+$/g, "");
}

function metaOf(params: unknown): Record<string, unknown> | undefined {
  return isObject(params) && isObject(params._meta) ? params._meta : undefined;
}

/** A message claims the stateless envelope when its `_meta` names a protocol version, valid or not. */
const hasClaim = (params: unknown) => {
  const meta = metaOf(params);
  return meta !== undefined && PROTOCOL_VERSION_META_KEY in meta;
};

/** What is wrong with an envelope, first problem first: missing required keys, then invalid values. */
function envelopeIssues(meta: Record<string, unknown>): { key: string; problem: string }[] {
  const issues = REQUIRED_ENVELOPE_KEYS.filter((k) => !(k in meta)).map((key) => ({ key, problem: "missing" }));
  const parsed = EnvelopeSchema.safeParse(meta);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.length ? issue.path.map(String).join(".") : "_meta";
      if (issue.path.length === 1 && issues.some((i) => i.key === key)) continue;
      issues.push({ key, problem: issue.message });
    }
  }
  return issues;
}

const validModernClaim = (params: unknown) => {
  const meta = metaOf(params);
  const v = meta?.[PROTOCOL_VERSION_META_KEY];
  return typeof v === "string" && isModernVersion(v) && envelopeIssues(meta!).length === 0;
};

function reject(status: number, code: number, message: string, data: unknown, id: JsonRpcId | null): EraRoute {
  return { kind: "reject", status, code, message, ...(data === undefined ? {} : { data }), id };
}

/** A header that disagrees with the body (or is missing): 400 with -32020 and the pair at fault. */
function mismatch(header: string, body: string, id: JsonRpcId | null): EraRoute {
  return reject(400, ModernCode.HeaderMismatch, `Bad Request: the request headers and body disagree: ${body}`, { mismatch: { header, body } }, id);
}

/**
 * Which era one POST belongs to, from its body first: a request whose `params._meta` names a
 * protocol version is stateless (2026-07-28), so is a notification sent with a modern
 * MCP-Protocol-Version header; `initialize`, session traffic, batches and responses stay with
 * the session code, unchanged. The header is only a cross-check: a disagreement, a malformed
 * envelope, or a modern header on an envelope-less request is refused here.
 */
export function classifyEra(bodyText: string, headers: IncomingHttpHeaders): EraRoute {
  const headerVersion = headerOf(headers, "mcp-protocol-version");
  const headerModern = headerVersion !== undefined && isModernVersion(headerVersion);
  // The session path's hot loop: no claim key in the body and no modern header means no parse here.
  if (!headerModern && !bodyText.includes("protocolVersion")) return LEGACY;
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return LEGACY; // the session code answers the parse error
  }
  if (Array.isArray(body)) {
    if (body.some((m) => isObject(m) && hasClaim(m.params))) {
      return reject(400, JsonRpcCode.InvalidRequest, "Bad Request: JSON-RPC batches may not contain requests for protocol revision 2026-07-28 or later", undefined, null);
    }
    return LEGACY;
  }
  const c = classify(body);
  const methodHeader = headerOf(headers, "mcp-method");
  if (c.kind === "request") {
    const { method, params, id } = c.message;
    if (method === "initialize" && !validModernClaim(params)) {
      if (headerModern) return mismatch(headerVersion, "an initialize request (legacy handshake) was sent with a modern MCP-Protocol-Version header", id);
      return LEGACY;
    }
    const meta = metaOf(params);
    if (meta && PROTOCOL_VERSION_META_KEY in meta) {
      const first = envelopeIssues(meta)[0];
      if (first) {
        return reject(400, JsonRpcCode.InvalidParams, `Invalid _meta envelope for protocol revision 2026-07-28: ${first.key}: ${first.problem}`, { envelope: first }, id);
      }
      const claimed = meta[PROTOCOL_VERSION_META_KEY] as string;
      if (headerVersion !== undefined && headerVersion !== claimed) {
        return mismatch(headerVersion, `the body envelope names protocol version ${claimed} but the MCP-Protocol-Version header names ${headerVersion}`, id);
      }
      if (methodHeader !== undefined && methodHeader !== method) {
        return mismatch(methodHeader, `the body names method ${method} but the Mcp-Method header names ${methodHeader}`, id);
      }
      return { kind: "request", message: c.message, revision: claimed };
    }
    if (headerModern) {
      const missingKeys = meta ? envelopeIssues(meta).filter((i) => i.problem === "missing").map((i) => i.key) : [];
      const missing = !meta ? ["_meta"] : missingKeys.length ? missingKeys : [PROTOCOL_VERSION_META_KEY];
      return reject(
        400,
        JsonRpcCode.InvalidParams,
        `Invalid params: the MCP-Protocol-Version header names protocol revision ${headerVersion}, but the request is missing the required per-request envelope key(s): ${missing.join(", ")}`,
        { envelope: { missing } },
        id,
      );
    }
    return LEGACY;
  }
  if (c.kind === "notification") {
    const { method, params } = c.message;
    if (hasClaim(params)) {
      const claimed = metaOf(params)![PROTOCOL_VERSION_META_KEY];
      if (typeof claimed !== "string") {
        const problem = EnvelopeSchema.shape[PROTOCOL_VERSION_META_KEY].safeParse(claimed).error?.issues[0]?.message ?? "expected a protocol version string";
        const envelope = { key: PROTOCOL_VERSION_META_KEY, problem };
        return reject(400, JsonRpcCode.InvalidParams, `Invalid _meta envelope for protocol revision 2026-07-28: ${envelope.key}: ${problem}`, { envelope }, null);
      }
      if (headerVersion !== undefined && headerVersion !== claimed) {
        return mismatch(headerVersion, `the notification envelope names protocol version ${claimed} but the MCP-Protocol-Version header names ${headerVersion}`, null);
      }
      // A notification claiming a 2025 revision has no session to belong to: it is dropped like any other stateless one.
      if (isModernVersion(claimed) && methodHeader !== undefined && methodHeader !== method) {
        return mismatch(methodHeader, `the notification body names method ${method} but the Mcp-Method header names ${methodHeader}`, null);
      }
      return { kind: "notification", message: c.message };
    }
    if (headerModern) {
      if (methodHeader !== undefined && methodHeader !== method) {
        return mismatch(methodHeader, `the notification body names method ${method} but the Mcp-Method header names ${methodHeader}`, null);
      }
      return { kind: "notification", message: c.message };
    }
  }
  return LEGACY;
}

const BASE64_PREFIX = "=?base64?";
const BASE64_SUFFIX = "?=";
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A header value as sent, or the UTF-8 text of its `=?base64?…?=` form; undefined when that form is not canonical Base64 of UTF-8. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(BASE64_PREFIX) && value.endsWith(BASE64_SUFFIX) && value.length >= BASE64_PREFIX.length + BASE64_SUFFIX.length)) return value;
  const b64 = value.slice(BASE64_PREFIX.length, value.length - BASE64_SUFFIX.length);
  if (!CANONICAL_BASE64.test(b64)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(b64, "base64"));
  } catch {
    return undefined;
  }
}

/**
 * SEP-2243's required headers on a stateless request, in the spec's order: MCP-Protocol-Version,
 * Mcp-Method, then Mcp-Name for the methods that address one tool, prompt or resource.
 * (Their disagreements with the body were refused by classifyEra already.)
 */
function standardHeaderProblem(req: JsonRpcRequest, headers: IncomingHttpHeaders, revision: string): EraRoute | undefined {
  const id = req.id;
  if (headerOf(headers, "mcp-protocol-version") === undefined) {
    return mismatch("(missing)", `the body envelope names protocol version ${revision} but the required MCP-Protocol-Version header is absent`, id);
  }
  if (headerOf(headers, "mcp-method") === undefined) {
    return mismatch("(missing)", `the body names method ${req.method} but the required Mcp-Method header is absent`, id);
  }
  const field = Object.hasOwn(MCP_NAME_SOURCE, req.method) ? MCP_NAME_SOURCE[req.method]! : undefined;
  if (field === undefined) return undefined;
  const raw = req.params?.[field];
  const bodyValue = typeof raw === "string" ? raw : undefined;
  const nameHeader = headerOf(headers, "mcp-name");
  if (nameHeader === undefined) {
    // Without the body value there is nothing to mirror: the params check answers that request.
    if (bodyValue === undefined) return undefined;
    return mismatch("(missing)", `the body carries params.${field}="${bodyValue}" but the required Mcp-Name header is absent`, id);
  }
  const decoded = decodeHeaderValue(nameHeader);
  if (decoded === undefined) return mismatch(nameHeader, "the Mcp-Name header carries an invalid Base64 sentinel value", id);
  if (bodyValue !== undefined && decoded !== bodyValue) {
    return mismatch(nameHeader, `the body carries params.${field}="${bodyValue}" but the Mcp-Name header names "${decoded}"`, id);
  }
  return undefined;
}

interface ParamHeader {
  path: string[];
  header: string;
  type?: string;
}

/** `x-mcp-header` declarations reachable through `properties` chains of a tool's input schema, per tool object. */
const paramHeaderCache = new WeakMap<object, ParamHeader[]>();

function paramHeadersOf(tool: Record<string, unknown>): ParamHeader[] {
  const schema = tool.inputSchema;
  if (!isObject(schema)) return [];
  let found = paramHeaderCache.get(schema);
  if (found) return found;
  found = [];
  const visit = (node: unknown, path: string[]) => {
    if (!isObject(node)) return;
    const header = node["x-mcp-header"];
    if (path.length > 0 && typeof header === "string" && header !== "") {
      found!.push({ path, header, ...(typeof node.type === "string" ? { type: node.type } : {}) });
    }
    if (isObject(node.properties)) for (const [k, child] of Object.entries(node.properties)) visit(child, [...path, k]);
  };
  visit(schema, []);
  paramHeaderCache.set(schema, found);
  return found;
}

function primitiveText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number" && Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v))) return String(v);
  return undefined;
}

/**
 * SEP-2243's `Mcp-Param-{Name}` headers: a tool whose input schema marks an argument with
 * `x-mcp-header` gets that argument mirrored in a header by the client, and the server that
 * reads the body must refuse a missing or different one. The hub reads the body, so it checks
 * them as the upstream would, against the schema it lists.
 */
function paramHeaderProblem(req: JsonRpcRequest, headers: IncomingHttpHeaders, view: CatalogView, servers: Record<string, ServerCatalog>): EraRoute | undefined {
  const routed = typeof req.params?.name === "string" ? view.tools.get(req.params.name) : undefined;
  if (!routed) return undefined;
  const tool = servers[routed.server]?.tools.find((t) => t.name === routed.name);
  if (!tool) return undefined;
  const declared = paramHeadersOf(tool);
  if (declared.length === 0) return undefined;
  const args = req.params?.arguments;
  for (const d of declared) {
    let value: unknown = args;
    for (const k of d.path) value = isObject(value) ? value[k] : undefined;
    if (value === undefined || value === null) continue;
    const bodyText = primitiveText(value);
    if (bodyText === undefined) continue;
    const name = `Mcp-Param-${d.header}`;
    const where = d.path.join(".");
    const sent = headerOf(headers, name.toLowerCase());
    if (sent === undefined) return mismatch(name, `the body carries ${where}=${JSON.stringify(value)} but the ${name} header is absent`, req.id);
    const decoded = decodeHeaderValue(sent);
    if (decoded === undefined) return mismatch(name, `the ${name} header carries an invalid Base64 sentinel value`, req.id);
    const numeric = (d.type === "integer" || d.type === "number") && typeof value === "number" && /^-?\d+(\.\d+)?$/.test(decoded);
    if (numeric ? Number(decoded) !== value : decoded !== bodyText) {
      return mismatch(name, `the ${name} header decodes to ${JSON.stringify(decoded)} but the body carries ${where}=${JSON.stringify(value)}`, req.id);
    }
  }
  return undefined;
}

/** The request as the dispatcher (and through it the upstream's 2025-era session) sees it: the envelope keys removed from `_meta`. */
function withoutEnvelope(req: JsonRpcRequest): JsonRpcRequest {
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

function stampResult(method: string, result: Record<string, unknown>): Record<string, unknown> {
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
class ModernResponder {
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
function isRawResult(json: string, id: JsonRpcId, result: string): boolean {
  const head = rawResultJson(id, "").slice(0, -1);
  return json.length === head.length + result.length + 1 && json.startsWith(head) && json.startsWith(result, head.length);
}

function sendError(reply: FastifyReply, status: number, code: number, message: string, data: unknown, id: JsonRpcId | null): FastifyReply {
  const body = errorResponse(id, code, message, data);
  if (status === 405) reply.header("allow", "POST");
  return reply.code(status).header("content-type", "application/json").send(JSON.stringify(body));
}

function actorOf(access: McpAccess) {
  const p = access.principal;
  return p ? { userId: p.userId, username: p.username, ...(p.keyId ? { keyId: p.keyId } : {}) } : undefined;
}

/** The 2026-07-28 revision on the MCP endpoints: stateless POSTs and subscriptions/listen streams. */
export class ModernHttp {
  /** 2026-07-28 list results per view (views live as long as their catalog version): stamped once, not per request. */
  private readonly lists = new WeakMap<CatalogView, Map<string, string>>();

  /** Calls kept running while their clients answer the upstream's questions. */
  readonly rounds = new MultiRoundTrips();

  constructor(
    private readonly core: GatewayCore,
    private readonly listen: ListenStreams,
  ) {}

  /** Serves a POST that classifyEra did not leave to the session code. */
  async post(req: FastifyRequest, reply: FastifyReply, targetName: string, route: Exclude<EraRoute, { kind: "legacy" }>): Promise<FastifyReply> {
    const access = await this.core.auth.check(req, reply, targetName);
    if (!access) return reply;
    if (route.kind === "reject") return sendError(reply, route.status, route.code, route.message, route.data, route.id);
    if (!checkTarget(this.core, reply, targetName)) return reply;
    // Nothing a client notifies is kept between stateless requests; a listen stream ends with its connection.
    if (route.kind === "notification") return reply.code(202).send();

    const message = route.message;
    const id = message.id;
    if (!MODERN_PROTOCOL_VERSIONS.includes(route.revision)) {
      return sendError(reply, 400, ModernCode.UnsupportedProtocolVersion, `Unsupported protocol version: ${route.revision}`, { supported: MODERN_PROTOCOL_VERSIONS, requested: route.revision }, id);
    }
    const headerProblem = standardHeaderProblem(message, req.headers, route.revision);
    if (headerProblem?.kind === "reject") return sendError(reply, headerProblem.status, headerProblem.code, headerProblem.message, headerProblem.data, id);
    if (!MODERN_METHODS.has(message.method)) {
      // The revision's method registry answers before any handler, so on HTTP this is a 404.
      return sendError(reply, 404, JsonRpcCode.MethodNotFound, "Method not found", undefined, id);
    }

    const snap = this.core.supervisor.catalog();
    const view = this.core.views.view(snap, resolveTarget(targetName, snap)!, access.servers);
    if (message.method === "subscriptions/listen") {
      return this.listen.serve(reply, message, { targetName, servers: access.servers, capabilities: modernCapabilities(view), serverInfo: HUB_INFO });
    }
    if (message.method === "server/discover") {
      const result = {
        supportedVersions: MODERN_PROTOCOL_VERSIONS,
        capabilities: modernCapabilities(view),
        ...(view.instructions ? { instructions: view.instructions } : {}),
      };
      const json = toModernResponse(message.method, id, JSON.stringify({ jsonrpc: "2.0", id, result }));
      return reply.code(200).header("content-type", "application/json").send(json);
    }
    if (message.method === "tools/call") {
      const problem = paramHeaderProblem(message, req.headers, view, snap.servers);
      if (problem?.kind === "reject") return sendError(reply, problem.status, problem.code, problem.message, problem.data, id);
    }

    const responder = new ModernResponder(reply);
    const ctl = new AbortController();
    // No session to send notifications/cancelled in: a client cancels by closing its POST.
    reply.raw.on("close", () => {
      if (!responder.done) ctl.abort();
    });
    const request = withoutEnvelope(message);
    const actor = actorOf(access);
    const headers = forwardedHeaders(req.headers);
    const context = (signal: AbortSignal, emit: (json: string) => void): DispatchContext => ({
      view,
      snap,
      signal,
      ...(actor ? { actor } : {}),
      ...(headers ? { headers } : {}),
      emit: (n) => emit(JSON.stringify(n)),
    });
    let json: string;
    try {
      if (MULTI_ROUND_TRIP_METHODS.has(message.method)) {
        // The upstream may ask the client something (sampling, elicitation, roots) mid-call:
        // that ends this round as input_required, and the client's retry resumes the call.
        const meta = metaOf(message.params) ?? {};
        const { inputResponses: _r, requestState: _s, ...params } = request.params ?? {};
        json = await this.rounds.serve({
          id,
          method: message.method,
          params: request.params ?? {},
          principalKey: access.principalKey,
          clientCapabilities: (meta[CLIENT_CAPABILITIES_META_KEY] ?? {}) as Record<string, unknown>,
          logLevel: meta[LOG_LEVEL_META_KEY] as string | undefined,
          signal: ctl.signal,
          emit: (n) => responder.notify(n),
          start: (session, emit, signal) => this.core.dispatcher.handle({ ...request, params }, { ...context(signal, emit), session }),
        });
      } else {
        json = await this.core.dispatcher.handle(request, context(ctl.signal, (n) => responder.notify(n)));
      }
      const list = VIEW_LISTS[message.method]?.(view);
      // A list straight from the view (the dispatcher's common answer): its stamped form is cached.
      if (list !== undefined && isRawResult(json, id, list)) json = rawResultJson(id, this.modernList(view, message.method, list));
      else json = toModernResponse(message.method, id, json);
    } catch (err) {
      // A bad retry (unknown requestState, malformed inputResponses) says which field; handle()
      // turns every other failure into a JSON-RPC error, so this is a last resort.
      json = JSON.stringify(
        err instanceof McpCallError ? errorResponse(id, err.code, err.message, err.data) : errorResponse(id, JsonRpcCode.InternalError, "internal error in the hub"),
      );
    }
    responder.respond(json);
    return reply;
  }

  private modernList(view: CatalogView, method: string, listJson: string): string {
    let byMethod = this.lists.get(view);
    if (!byMethod) this.lists.set(view, (byMethod = new Map()));
    let json = byMethod.get(method);
    if (json === undefined) byMethod.set(method, (json = JSON.stringify(stampResult(method, JSON.parse(listJson) as Record<string, unknown>))));
    return json;
  }

  /**
   * GET and DELETE are 2025-era session operations. A client of a stateless revision (it names
   * one in MCP-Protocol-Version and holds no session) is told the endpoint takes only POST from it.
   */
  isStatelessSessionVerb(req: FastifyRequest): boolean {
    const version = headerOf(req.headers, "mcp-protocol-version");
    return version !== undefined && isModernVersion(version) && headerOf(req.headers, "mcp-session-id") === undefined;
  }

  async methodNotAllowed(req: FastifyRequest, reply: FastifyReply, targetName: string): Promise<FastifyReply> {
    const access = await this.core.auth.check(req, reply, targetName);
    if (!access) return reply;
    return sendError(reply, 405, -32000, "Method not allowed.", undefined, null);
  }
}

/** What the endpoint offers a stateless client: as a session's, without the tasks the revision left out. */
function modernCapabilities(view: CatalogView): Record<string, unknown> {
  const { tasks: _removed, ...caps } = view.capabilities;
  return caps;
}
