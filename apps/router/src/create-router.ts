import type { CatalogSource } from "@mcphub/contracts";
import type { DbHandle } from "@mcphub/db";
import type { HubMetrics, Logger } from "@mcphub/observability";
import { chooseEmbedder } from "./config.ts";
import { EmbeddingRepository } from "./embedding.repository.ts";
import { RouterService } from "./router.service.ts";

/** What the router reads of the environment, in its own process and inside the all-in-one hub alike. */
export interface RouterSearchEnv {
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  EMBEDDING_MODEL?: string;
  ROUTER_VECTOR_BACKEND: "exact" | "pgvector";
  LOCAL_EMBEDDING_MODEL_DIR?: string;
}

/**
 * The router over a catalog and a database, built the same way in every shape: the settings'
 * smartRouting picks the embedder (a change swaps it), the environment gives its defaults, and
 * vectors are compared exactly in process unless pgvector is asked for and installed.
 */
export function createRouterService(opts: { source: CatalogSource; db: DbHandle; env: RouterSearchEnv; logger: Logger; metrics: HubMetrics }): { router: RouterService; repository: EmbeddingRepository } {
  const { env, logger } = opts;
  const embeddingEnv = {
    openaiApiKey: env.OPENAI_API_KEY,
    openaiBaseUrl: env.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    model: env.EMBEDDING_MODEL ?? "text-embedding-3-small",
    localModelDir: env.LOCAL_EMBEDDING_MODEL_DIR,
  };
  const repository = new EmbeddingRepository(opts.db.db);
  const router = new RouterService({
    source: opts.source,
    repository,
    chooseEmbedder: (settings) => chooseEmbedder(settings, embeddingEnv, logger),
    useVector: env.ROUTER_VECTOR_BACKEND === "pgvector" && opts.db.hasVector,
    logger,
    metrics: opts.metrics,
  });
  return { router, repository };
}

/** Stops following the catalog and frees the embedder (its worker threads). */
export async function stopRouterService(router: RouterService): Promise<void> {
  await router.stop();
  await router.currentEmbedder()?.close?.();
}
