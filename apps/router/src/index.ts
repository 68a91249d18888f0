export { default as routerApp, type RouterDeps } from "./app.ts";
export { RouterService, type RouterServiceOptions, type IndexStatus, type SyncReport } from "./router.service.ts";
export { EmbeddingRepository } from "./embedding.repository.ts";
export { createEmbedder, routerEnvSchema, type EmbeddingConfig, type RouterEnv } from "./config.ts";
export type { Embedder } from "./embedder.ts";
export { LocalEmbedder } from "./local.embedder.ts";
export { OpenAIEmbedder, EmbeddingError } from "./openai.embedder.ts";
export { StaticCatalog } from "./static-catalog.ts";
