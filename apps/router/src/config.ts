import { z } from "zod";
import { splitServiceEnvSchema } from "@mcphub/config";
import type { Logger } from "@mcphub/observability";
import type { Embedder } from "./embedder.ts";
import { LocalEmbedder } from "./local.embedder.ts";
import { OpenAIEmbedder } from "./openai.embedder.ts";

/** The router's environment: a split service's, plus the supervisor to read and the embedding model. */
export const routerEnvSchema = splitServiceEnvSchema.extend({
  SUPERVISOR_URL: z.url(),
  /** Absent or empty: the offline local embedder. */
  OPENAI_API_KEY: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  OPENAI_BASE_URL: z.url().default("https://api.openai.com/v1"),
  EMBEDDING_MODEL: z.string().min(1).default("text-embedding-3-small"),
});
export type RouterEnv = z.infer<typeof routerEnvSchema>;

export interface EmbeddingConfig {
  openaiApiKey?: string;
  openaiBaseUrl: string;
  model: string;
}

/** "openai" (any OpenAI-compatible server) when a key is set, else the deterministic local embedder. */
export function createEmbedder(cfg: EmbeddingConfig, logger: Logger): Embedder {
  if (!cfg.openaiApiKey) return new LocalEmbedder();
  return new OpenAIEmbedder({ baseUrl: cfg.openaiBaseUrl, apiKey: cfg.openaiApiKey, model: cfg.model, logger });
}
