import type { Bus } from "@mcphub/bus";
import { INTERNAL_PATHS, SMART_ROUTING_DEFAULTS, type CatalogSnapshot, type CatalogSource, type InternalCatalogResponse, type UpstreamStatus } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import { Pool } from "undici";

export interface RemoteCatalogOptions {
  url: string;
  token: string;
  bus: Bus;
  logger: Logger;
  /** Re-read the catalog this often even without an event. */
  pollMs?: number;
  /** Keep-alive connections to the supervisor (a gateway forwards calls over the same pool). */
  connections?: number;
}

/** Version -1: nothing read yet (a router does not index an unknown catalog). */
const EMPTY: CatalogSnapshot = {
  version: -1,
  nameSeparator: "-",
  routing: { enableGlobalRoute: true, enableGroupNameRoute: true }, audit: { logArguments: false },
      smartRouting: SMART_ROUTING_DEFAULTS,
  servers: {},
  configured: {},
  groups: [],
};

/**
 * The catalog read from the supervisor's `GET /internal/catalog`, for a gateway or router in
 * its own process: fetched at start (retrying until the supervisor answers), again on
 * `catalog.changed`, after a bus gap, and now and then as a net under pub/sub, which may
 * drop an event. Reads are from the cache, so a tools/list never waits on the network.
 */
export class RemoteCatalog implements CatalogSource {
  private snapshot: CatalogSnapshot = EMPTY;
  private statuses: UpstreamStatus[] = [];
  /** Shared with RemoteSupervisor's calls. */
  readonly pool: Pool;
  readonly headers: Record<string, string>;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly opts: RemoteCatalogOptions) {
    this.pool = new Pool(opts.url, { connections: opts.connections ?? 2, pipelining: 1 });
    this.headers = { authorization: `Bearer ${opts.token}` };
  }

  /** Resolves once the first catalog is read; retries every `retryMs` until the supervisor answers or `close()`. */
  async start(retryMs = 500): Promise<void> {
    this.unsubscribe.push(
      this.opts.bus.subscribe("catalog.changed", (e) => {
        if (e.version !== this.snapshot.version) void this.refresh();
      }),
      this.opts.bus.onReconnect(() => void this.refresh()),
    );
    // Subscribed before the first fetch, so no change falls between the two.
    await this.opts.bus.settled();
    const poll = setInterval(() => void this.refresh(), this.opts.pollMs ?? 5000);
    poll.unref();
    this.unsubscribe.push(() => clearInterval(poll));
    while (!this.closed) {
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

  /** Upstream states as of the last read. */
  status(): UpstreamStatus[] {
    return this.statuses;
  }

  onCatalogChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.refreshing;
    await this.pool.close();
  }

  /** One fetch at a time; a change announced during a fetch triggers one more. */
  private refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
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
      } while (this.again && !this.closed);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** How often the catalog was read whole, and how often the supervisor said it had not changed. */
  readonly reads = { full: 0, unchanged: 0 };

  private async fetchCatalog(): Promise<void> {
    const known = this.snapshot.version >= 0 ? { "if-none-match": `"${this.snapshot.version}"` } : {};
    const res = await this.pool.request({ path: INTERNAL_PATHS.catalog, method: "GET", headers: { ...this.headers, ...known } });
    if (res.statusCode === 304) {
      await res.body.dump();
      this.reads.unchanged++;
      return;
    }
    this.reads.full++;
    if (res.statusCode !== 200) throw new Error(`GET ${INTERNAL_PATHS.catalog} answered ${res.statusCode}: ${await res.body.text()}`);
    const body = (await res.body.json()) as InternalCatalogResponse;
    const changed = body.catalog.version !== this.snapshot.version;
    this.snapshot = body.catalog;
    this.statuses = body.status;
    if (changed) for (const l of this.listeners) l();
  }
}
