import { randomUUID } from "node:crypto";
import {
  INTERNAL_PATHS,
  JsonRpcCode,
  McpCallError,
  relayErrorObject,
  type CallFailure,
  type CatalogSnapshot,
  type InternalCallAnswer,
  type InternalCallLine,
  type SupervisorPort,
  type UpstreamCall,
  type UpstreamStatus,
} from "@mcphub/contracts";
import { RemoteCatalog, type RemoteCatalogOptions } from "./remote-catalog.ts";
import { withRequestIdHeader } from "@mcphub/observability";

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
    // Relaying the upstream's requests and log messages needs the streamed answer and an id to answer under.
    const callId = call.client ? randomUUID() : undefined;
    const streamed = progress || callId !== undefined;
    let res;
    try {
      res = await this.remote.pool.request({
        path: INTERNAL_PATHS.call,
        method: "POST",
        headers: withRequestIdHeader(this.headers),
        body: JSON.stringify({ server: call.server, method: call.method, params: call.params, progress, callId, origin: call.client?.origin, headers: call.headers }),
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
    // A call that streamed nothing before its result comes back as plain JSON (internal.routes.ts).
    if (!streamed || !String(res.headers["content-type"]).startsWith("application/x-ndjson")) return outcome((await res.body.json()) as InternalCallLine);
    let buffered = "";
    for await (const chunk of res.body) {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as InternalCallLine;
        buffered = buffered.slice(nl + 1);
        if ("progress" in line) call.onProgress?.(line.progress);
        else if ("notification" in line) call.client?.notify(line.notification);
        else if ("request" in line) void this.answer(callId!, line.request, call);
        else return outcome(line);
      }
    }
    throw new McpCallError(JsonRpcCode.UpstreamUnavailable, "the supervisor ended the call without an answer", undefined, "unavailable");
  }

  /** Asks the client (through the gateway) and posts its answer back to the waiting upstream request. */
  private async answer(callId: string, request: { id: number; method: string; params?: Record<string, unknown> }, call: UpstreamCall): Promise<void> {
    let answer: InternalCallAnswer;
    try {
      if (!call.client) throw new McpCallError(JsonRpcCode.MethodNotFound, `${request.method} cannot be relayed to this client`);
      answer = { callId, id: request.id, result: await call.client.ask({ method: request.method, ...(request.params ? { params: request.params } : {}) }) };
    } catch (err) {
      answer = { callId, id: request.id, error: relayErrorObject(err, request.method) };
    }
    try {
      const res = await this.remote.pool.request({ path: INTERNAL_PATHS.callAnswer, method: "POST", headers: withRequestIdHeader(this.headers), body: JSON.stringify(answer) });
      await res.body.dump();
    } catch {
      // The call ended meanwhile (or the supervisor went away): its outcome line says what happened.
    }
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
