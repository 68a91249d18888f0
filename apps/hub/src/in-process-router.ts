import type { Env } from "@mcphub/config";
import type { CatalogSource, RouterIndexStatus, RouterPort, SearchRequest, SearchResponse } from "@mcphub/contracts";
import type { DbHandle } from "@mcphub/db";
import type { HubMetrics, Logger } from "@mcphub/observability";
import { chooseEmbedder, EmbeddingRepository, RouterService } from "@mcphub/router";

export interface InProcessRouterOptions {
  source: CatalogSource;
  /** The hub's own database, opened on first need (shared with settings, users and the audit log). */
  database: () => Promise<DbHandle>;
  env: Pick<Env, "OPENAI_API_KEY" | "OPENAI_BASE_URL" | "EMBEDDING_MODEL">;
  logger: Logger;
  metrics: HubMetrics;
}

/**
 * The router inside the all-in-one hub, started on first use: the first `$smart` search, a
 * smart-routing API call. A hub whose clients never search pays neither the embedding model's
 * memory nor the indexing; one that does gets its index built in the background, with lexical
 * ranking answering meanwhile.
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
    await service?.stop();
    await service?.currentEmbedder()?.close?.();
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
    const { env, logger, metrics } = this.opts;
    const handle = await this.opts.database();
    const embeddingEnv = { openaiApiKey: env.OPENAI_API_KEY, openaiBaseUrl: env.OPENAI_BASE_URL ?? "https://api.openai.com/v1", model: env.EMBEDDING_MODEL ?? "text-embedding-3-small" };
    const service = new RouterService({
      source: this.opts.source,
      repository: new EmbeddingRepository(handle.db),
      // The settings' smartRouting picks the embedder (a change swaps it); the environment gives its defaults.
      chooseEmbedder: (settings) => chooseEmbedder(settings, embeddingEnv, logger),
      // In PGlite, ranking the cached vectors in process is far faster than its pgvector scan (bench/router).
      useVector: handle.hasVector && handle.kind === "postgres",
      logger,
      metrics,
    });
    service.start();
    logger.info({ backend: service.status().backend }, "tool search started");
    return service;
  }
}
