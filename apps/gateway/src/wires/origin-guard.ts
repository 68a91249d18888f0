import type { FastifyReply, FastifyRequest } from "fastify";
import { errorResponse } from "../core/jsonrpc.ts";

export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"];

/**
 * The host names the MCP endpoints answer to, the same in every shape: ALLOWED_HOSTS when set;
 * else, on a loopback address, loopback names only (a page elsewhere cannot re-point its name at
 * a hub on this machine); else any (a hub on the network, usually behind a proxy).
 */
export function allowedHosts(env: { ALLOWED_HOSTS?: string[]; HOST: string }): readonly string[] | undefined {
  return env.ALLOWED_HOSTS ?? (LOOPBACK_HOSTS.includes(env.HOST) ? LOOPBACK_HOSTS : undefined);
}

/** "host:port", "[::1]:port" or a URL's host → the bare, lower-case host name. */
function hostName(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith("[")) return v.slice(1, v.indexOf("]"));
  const colons = v.split(":").length - 1;
  return colons === 1 ? v.slice(0, v.indexOf(":")) : v;
}

/**
 * DNS-rebinding protection for the MCP endpoints: a web page on another site that gets a
 * browser to reach the hub (its name re-pointed at 127.0.0.1) carries that site's Host and
 * Origin. Both must name an allowed host, else 403. Clients that send no Origin (IDEs, agents)
 * are judged by Host alone. `allowed` undefined: any host (a hub behind a proxy on purpose).
 */
export function originGuard(allowed: readonly string[] | undefined) {
  const hosts = allowed && new Set(allowed.map((h) => hostName(h)));
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!hosts) return;
    const host = req.headers.host;
    let refused: string | undefined;
    if (!host || !hosts.has(hostName(host))) refused = `Host "${host ?? ""}" is not allowed`;
    const origin = req.headers.origin;
    if (!refused && origin && origin !== "null") {
      let originHost: string;
      try {
        originHost = new URL(origin).hostname.replace(/^\[|\]$/g, "").toLowerCase();
      } catch {
        originHost = "";
      }
      if (!hosts.has(originHost)) refused = `Origin "${origin}" is not allowed`;
    }
    if (refused) {
      reply
        .code(403)
        .header("content-type", "application/json")
        .send(JSON.stringify(errorResponse(null, -32000, `Forbidden: ${refused} (set ALLOWED_HOSTS to serve other names)`)));
    }
  };
}
