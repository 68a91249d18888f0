import type { Bus } from "@mcphub/bus";
import {
  INTERNAL_PATHS,
  JsonRpcCode,
  McpCallError,
  type CallFailure,
  type CatalogSnapshot,
  type InternalCallLine,
  type InternalCatalogResponse,
  type SupervisorPort,
  type UpstreamCall,
  type UpstreamStatus,
} from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import { Pool } from "undici";

export interface RemoteSupervisorOptions {
  url: string;
  token: string;
  bus: Bus;
  logger: Logger;
  /** Keep-alive connections to the supervisor. */
  connections?: number;
  /** Re-read the catalog this often even without an event. */
  pollMs?: number;
}

const EMPTY: CatalogSnapshot = {
  version: -1,
  nameSeparator: "-",
  routing: { enableGlobalRoute: true, enableGroupNameRoute: true },
  servers: {},
  configured: {},
  groups: [],
};

/**
 * SupervisorPort over the supervisor's internal HTTP API, for a gateway in its own process.
 * Keeps the catalog cached and refetches it on `catalog.changed` and after a bus gap, so a
 * tools/list never waits on the network; calls go over a keep-alive pool.
 */
export class RemoteSupervisor implements SupervisorPort {
  private snapshot: CatalogSnapshot = EMPTY;
  private statuses: UpstreamStatus[] = [];
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly catalogListeners = new Set<() => void>();

  constructor(private readonly opts: RemoteSupervisorOptions) {
    this.pool = new Pool(opts.url, { connections: opts.connections ?? 16, pipelining: 1 });
    this.headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  }

  /** Loads the first catalog (retrying until the supervisor answers) and follows changes. */
  async start(retryMs = 500): Promise<void> {
    this.unsubscribe.push(
      this.opts.bus.subscribe("catalog.changed", (e) => {
        if (e.version !== this.snapshot.version) void this.refresh();
      }),
      this.opts.bus.onReconnect(() => void this.refresh()),
    );
    // Subscribed before the first fetch, so no change falls between the two.
    await this.opts.bus.settled();
    // A safety net under pub/sub, which may drop an event: re-read now and then.
    const poll = setInterval(() => void this.refresh(), this.opts.pollMs ?? 5000);
    poll.unref();
    this.unsubscribe.push(() => clearInterval(poll));
    for (;;) {
      try {
        await this.fetchCatalog();
        return;
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message, url: this.opts.url }, "supervisor not reachable yet; retrying");
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  catalog(): CatalogSnapshot {
    return this.snapshot;
  }

  status(): UpstreamStatus[] {
    return this.statuses;
  }

  onCatalogChanged(listener: () => void): () => void {
    this.catalogListeners.add(listener);
    return () => this.catalogListeners.delete(listener);
  }

  async call(call: UpstreamCall): Promise<Record<string, unknown>> {
    const progress = call.onProgress !== undefined;
    let res;
    try {
      res = await this.pool.request({
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

  async close(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.pool.close();
  }

  /** One fetch at a time; a change announced during a fetch triggers one more. */
  private async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        try {
          await this.fetchCatalog();
        } catch (err) {
          this.opts.logger.warn({ err: (err as Error).message }, "catalog refresh failed; keeping the cached one");
        }
      } while (this.again);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async fetchCatalog(): Promise<void> {
    const res = await this.pool.request({ path: INTERNAL_PATHS.catalog, method: "GET", headers: this.headers });
    if (res.statusCode !== 200) throw new Error(`GET ${INTERNAL_PATHS.catalog} answered ${res.statusCode}: ${await res.body.text()}`);
    const body = (await res.body.json()) as InternalCatalogResponse;
    const changed = body.catalog.version !== this.snapshot.version;
    this.snapshot = body.catalog;
    this.statuses = body.status;
    if (changed) for (const l of this.catalogListeners) l();
  }
}

function outcome(line: InternalCallLine): Record<string, unknown> {
  if ("result" in line) return line.result;
  if ("error" in line) throw new McpCallError(line.error.code, line.error.message, line.error.data, line.error.reason as CallFailure | undefined);
  throw new McpCallError(JsonRpcCode.InternalError, "the supervisor sent a progress line where the answer was expected");
}
