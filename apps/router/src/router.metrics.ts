import { Counter, Histogram, type Registry } from "prom-client";

/*
 * The router's metrics. They belong in HubMetrics (packages/observability) with the others;
 * until they move they are created here on its registry, reusing one already registered
 * (a registry refuses a second metric of the same name).
 */
export interface RouterMetrics {
  searchDuration: Histogram<"backend">;
  embeddedInputs: Counter<"model">;
}

export function routerMetrics(registry: Registry): RouterMetrics {
  const searchDuration =
    (registry.getSingleMetric("mcphub_search_duration_seconds") as Histogram<"backend"> | undefined) ??
    new Histogram({
      name: "mcphub_search_duration_seconds",
      help: "Tool searches: embedding the query and ranking the catalog, by backend (pgvector or exact in process).",
      labelNames: ["backend"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  const embeddedInputs =
    (registry.getSingleMetric("mcphub_embedding_inputs_total") as Counter<"model"> | undefined) ??
    new Counter({
      name: "mcphub_embedding_inputs_total",
      help: "Texts sent to the embedding model (catalog tools and search queries), by model: what an embeddings API bills.",
      labelNames: ["model"] as const,
      registers: [registry],
    });
  return { searchDuration, embeddedInputs };
}
