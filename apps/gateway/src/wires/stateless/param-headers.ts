/** The `Mcp-Param-*` headers a 2026-07-28 tools/call must carry for the parameters its tool marks, checked against the body. */
import type { IncomingHttpHeaders } from "node:http";
import { type ServerCatalog } from "@mcphub/contracts";
import { type CatalogView } from "../../core/catalog-view.ts";
import { type JsonRpcRequest } from "../../core/jsonrpc.ts";
import { type EraRoute, isObject, headerOf, mismatch, decodeHeaderValue } from "./era.ts";

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
export function paramHeaderProblem(req: JsonRpcRequest, headers: IncomingHttpHeaders, view: CatalogView, servers: Record<string, ServerCatalog>): EraRoute | undefined {
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