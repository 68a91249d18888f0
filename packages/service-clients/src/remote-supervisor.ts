import {
  INTERNAL_PATHS,
  JsonRpcCode,
  McpCallError,
  type CallFailure,
  type CatalogSnapshot,
  type InternalCallLine,
  type SupervisorPort,
  type UpstreamCall,
  type UpstreamStatus,
} from "@mcphub/contracts";
import { RemoteCatalog, type RemoteCatalogOptions } from "./remote-catalog.ts";

/**
 * SupervisorPort over the supervisor's internal HTTP API, for a gateway in its own process:
 * the catalog from a RemoteCatalog cache, calls over the same keep-alive pool, progress
 * streamed back as NDJSON lines, cancellation by closing the request.
 */
export class RemoteSupervisor implements SupervisorPort {
  private readonly remote: RemoteCatalog;
  private readonly headers: Record<string, string>;

  constructor(opts: RemoteCatalogOptions) {
    this.remote = new RemoteCatalog({ connections: 16, ...opts });
    this.headers = { ...this.remote.headers, "content-type": "application/json" };
  }

  start(retryMs?: number): Promise<void> {
    return this.remote.start(retryMs);
  }

  catalog(): CatalogSnapshot {
    return this.remote.catalog();
  }

  status(): UpstreamStatus[] {
    return this.remote.status();
  }

  onCatalogChanged(listener: () => void): () => void {
    return this.remote.onCatalogChanged(listener);
  }

  async call(call: UpstreamCall): Promise<Record<string, unknown>> {
    const progress = call.onProgress !== undefined;
    let res;
    try {
      res = await this.remote.pool.request({
        path: INTERNAL_PATHS.call,
        method: "POST",
        headers: this.headers,
        body: JSON.stringify({ server: call.server, method: call.method, params: call.params, progress }),
        signal: call.signal,
      });
    } catch (err) {
      if (call.signal?.aborted) throw new McpCallError(JsonRpcCode.RequestTimeout, `${call.method} was cancelled`, undefined, "cancelled");
      throw new McpCallError(JsonRpcCode.UpstreamUnavailable, `the supervisor is unreachable: ${(err as Error).message}`, undefined, "unavailable");
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new McpCallError(JsonRpcCode.InternalError, `the supervisor refused the call (${res.statusCode}): ${text}`);
    }
    if (!progress) return outcome((await res.body.json()) as InternalCallLine);
    let buffered = "";
    for await (const chunk of res.body) {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as InternalCallLine;
        buffered = buffered.slice(nl + 1);
        if ("progress" in line) call.onProgress!(line.progress);
        else return outcome(line);
      }
    }
    throw new McpCallError(JsonRpcCode.UpstreamUnavailable, "the supervisor ended the call without an answer", undefined, "unavailable");
  }

  close(): Promise<void> {
    return this.remote.close();
  }
}

function outcome(line: InternalCallLine): Record<string, unknown> {
  if ("result" in line) return line.result;
  if ("error" in line) throw new McpCallError(line.error.code, line.error.message, line.error.data, line.error.reason as CallFailure | undefined);
  throw new McpCallError(JsonRpcCode.InternalError, "the supervisor sent a progress line where the answer was expected");
}
