import type { CatalogSource, RouterIndexStatus, RouterPort, SearchRequest, SearchResponse } from "@mcphub/contracts";
import type { DbHandle } from "@mcphub/db";
import type { HubMetrics, Logger } from "@mcphub/observability";
import { createRouterService, stopRouterService, type RouterSearchEnv, type RouterService } from "@mcphub/router";

export interface InProcessRouterOptions {
  source: CatalogSource;
  /** The hub's own database, opened on first need (shared with settings, users and the audit log). */
  database: () => Promise<DbHandle>;
  env: RouterSearchEnv;
  logger: Logger;
  metrics: HubMetrics;
}

/**
 * The router inside the all-in-one hub, started on first use: the first `$smart` search, a
 * smart-routing API call. A hub whose clients never search pays neither the embedding model's
 * memory nor the indexing; one that does gets its index built in the background, with lexical
 * ranking answering meanwhile. Built as the router service builds itself (createRouterService).
 */
export class InProcessRouter implements RouterPort {
  private service: Promise<RouterService> | undefined;
  private closed = false;

  constructor(private readonly opts: InProcessRouterOptions) {}

  async search(request: SearchRequest): Promise<SearchResponse> {
    return (await this.started()).search(request);
  }

  async reindex(): Promise<RouterIndexStatus> {
    return (await this.started()).reindex();
  }

  async status(): Promise<RouterIndexStatus> {
    return (await this.started()).status();
  }

  async close(): Promise<void> {
    this.closed = true;
    const service = await this.service?.catch(() => undefined);
    if (service) await stopRouterService(service);
  }

  private started(): Promise<RouterService> {
    if (this.closed) return Promise.reject(new Error("the hub is shutting down"));
    this.service ??= this.build().catch((err: unknown) => {
      // A failed start (the database would not open) is retried by the next request.
      this.service = undefined;
      throw err;
    });
    return this.service;
  }

  private async build(): Promise<RouterService> {
    const { router } = createRouterService({ ...this.opts, db: await this.opts.database() });
    router.start();
    this.opts.logger.info({ backend: router.status().backend }, "tool search started");
    return router;
  }
}
