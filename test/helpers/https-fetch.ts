import { request } from "node:https";
import { Readable } from "node:stream";

/**
 * A `fetch` over node:https that trusts `ca` (a self-signed certificate): what an MCP client
 * of a hub with its own CA does. Streams the response body, so SSE works through it.
 */
export function httpsFetch(ca: Buffer): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const body = init?.body === undefined || init.body === null ? undefined : typeof init.body === "string" ? init.body : Buffer.from(await new Response(init.body).arrayBuffer());
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        { method: init?.method ?? "GET", headers: Object.fromEntries(headers), ca, signal: init?.signal ?? undefined },
        (res) => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
          const status = res.statusCode ?? 0;
          const stream = status === 204 || status === 304 || init?.method === "HEAD" ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(stream, { status, headers: out }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
}
