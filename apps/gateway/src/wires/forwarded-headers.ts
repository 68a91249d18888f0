import type { IncomingHttpHeaders } from "node:http";

/** x- headers that are the hub's own business: credentials and proxy bookkeeping. */
const KEPT = new Set(["x-api-key", "x-real-ip", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-prefix"]);
/** W3C trace context: a trace started by the client continues at the upstream. */
const TRACE = new Set(["traceparent", "tracestate", "baggage"]);

/**
 * The headers of a client's request that the hub does not interpret and passes on to an HTTP
 * upstream with the request it causes: extension headers (`x-…`) and trace context. What the hub
 * itself reads — credentials, the MCP headers (it sets the upstream's own), hop-by-hop and
 * proxy headers — stays here. Undefined when there is none (the common case costs nothing more).
 */
export function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    if (!(name.startsWith("x-") ? !KEPT.has(name) : TRACE.has(name))) continue;
    const value = headers[name];
    if (value === undefined) continue;
    (out ??= {})[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
