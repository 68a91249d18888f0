/** Which protocol era a POST speaks, and whether its 2026-07-28 headers agree with its body (the SDK's rules; the hub answers before dispatch). */
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, LOG_LEVEL_META_KEY, PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/client";
import { ClientCapabilitiesSchema, ImplementationSchema, LoggingLevelSchema, ProgressTokenSchema } from "@modelcontextprotocol/core";
import { type CatalogView } from "../../core/catalog-view.ts";
import { classify, JsonRpcCode, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest } from "../../core/jsonrpc.ts";
import { HUB_INFO } from "../../core/mcp-dispatcher.ts";

/**
 * The stateless protocol revisions (2026-07-28 and later): no initialize, no session; every
 * request carries its protocol version, client capabilities and client info in `params._meta`.
 * Served on the same endpoints as the 2025-era sessions, told apart per request by the body.
 */
export const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"];
const FIRST_MODERN_VERSION = "2026-07-28";
/** The hub's identity as every 2026-07-28 result carries it in `_meta`. */
export const HUB_INFO_JSON = JSON.stringify(HUB_INFO);

/** Revision identifiers are dates: every revision from the first modern one on is stateless. */
export const isModernVersion = (v: string) => v >= FIRST_MODERN_VERSION;

/** The request methods of the 2026-07-28 revision; any other is "Method not found" there (ping, initialize, logging/setLevel, resources/subscribe are gone). */
export const MODERN_METHODS = new Set([
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
export const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", "server/discover"]);
/** The body field the `Mcp-Name` header mirrors, per method (SEP-2243's table; tasks/* are not served here). */
const MCP_NAME_SOURCE: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri" };
/** The cached list each list method answers with, per view. */
export const VIEW_LISTS: Record<string, (v: CatalogView) => string> = {
  "tools/list": (v) => v.toolsJson,
  "prompts/list": (v) => v.promptsJson,
  "resources/list": (v) => v.resourcesJson,
  "resources/templates/list": (v) => v.templatesJson,
};
/** The envelope keys the hub reads itself; an upstream (a 2025-era session) must not see them. */
export const ENVELOPE_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY, LOG_LEVEL_META_KEY];

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

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v.join(", ") : v;
  // RFC 9110 optional whitespace around a field value is not part of it.
  return s === undefined ? undefined : s.replace(/^[ \t]+|[ \t]+$/g, "");
}

export function metaOf(params: unknown): Record<string, unknown> | undefined {
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

export function reject(status: number, code: number, message: string, data: unknown, id: JsonRpcId | null): EraRoute {
  return { kind: "reject", status, code, message, ...(data === undefined ? {} : { data }), id };
}

/** A header that disagrees with the body (or is missing): 400 with -32020 and the pair at fault. */
export function mismatch(header: string, body: string, id: JsonRpcId | null): EraRoute {
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
export function standardHeaderProblem(req: JsonRpcRequest, headers: IncomingHttpHeaders, revision: string): EraRoute | undefined {
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