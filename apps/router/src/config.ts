import { createHash } from "node:crypto";
import { z } from "zod";
import { splitServiceEnvSchema } from "@mcphub/config";
import type { SmartRoutingSnapshot } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import { EmbedderUnavailableError, OnnxDirectoryEmbedder, type Embedder } from "./embedder.ts";
import { OpenAIEmbedder } from "./openai.embedder.ts";
import type { EmbedderChoice } from "./router.service.ts";
import { UseEmbedder } from "./use.embedder.ts";

/** What the router reads beyond the embedding defaults, wherever it runs (the all-in-one hub parses it too). */
export const routerSearchEnv = {
  /**
   * Where vectors are compared. "exact" (the default): in process, the local model's worker
   * scoring all tools in one matrix product (~1 ms at 10,000 tools), faster than a round trip to
   * SQL at any catalog size measured here (PGlite's pgvector: 12–15 ms at 200–500 tools).
   * "pgvector": in SQL with an HNSW index, where the extension exists (else exact).
   */
  ROUTER_VECTOR_BACKEND: z.enum(["exact", "pgvector"]).default("exact"),
  /** A local ONNX sentence encoder's directory to use instead of the shipped model (not supported yet: searches say so). */
  LOCAL_EMBEDDING_MODEL_DIR: z
    .string()
    .optional()
    .transform((v) => v || undefined),
};

/** The router's environment: a split service's, plus the supervisor to read and the embedding defaults. */
export const routerEnvSchema = splitServiceEnvSchema.extend({
  SUPERVISOR_URL: z.url(),
  /** Absent or empty: the offline local model, unless the settings name a key. */
  OPENAI_API_KEY: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  OPENAI_BASE_URL: z.url().default("https://api.openai.com/v1"),
  EMBEDDING_MODEL: z.string().min(1).default("text-embedding-3-small"),
  ...routerSearchEnv,
});
export type RouterEnv = z.infer<typeof routerEnvSchema>;

/** The environment's embedding defaults (MCPHub's OPENAI_API_KEY, OPENAI_BASE_URL, EMBEDDING_MODEL). */
export interface EmbeddingEnv {
  openaiApiKey?: string;
  openaiBaseUrl: string;
  model: string;
  /** LOCAL_EMBEDDING_MODEL_DIR. */
  localModelDir?: string;
}

/** @deprecated name kept for callers of the first router: the environment's embedding defaults. */
export type EmbeddingConfig = EmbeddingEnv;

/**
 * The embedder `systemConfig.smartRouting` asks for, as MCPHub reads it: an OpenAI-compatible
 * server when the provider is "openai", or when no provider is named and a key is set (in the
 * settings or OPENAI_API_KEY); the settings' base URL, key and model win over the environment's.
 * Otherwise the offline model shipped with the hub. "openai" without any key is refused with
 * the reason (the router then ranks lexically and says why).
 */
export function chooseEmbedder(settings: Partial<SmartRoutingSnapshot>, env: EmbeddingEnv, logger: Logger): EmbedderChoice {
  const apiKey = settings.openaiApiKey || env.openaiApiKey;
  const openai = settings.embeddingProvider === "openai" || (settings.embeddingProvider === undefined && apiKey !== undefined);
  if (!openai) {
    const dir = env.localModelDir;
    if (dir) return { key: `local:onnx:${dir}`, create: () => new OnnxDirectoryEmbedder(dir) };
    return { key: "local:use", create: () => new UseEmbedder() };
  }
  if (!apiKey) throw new EmbedderUnavailableError('smartRouting.embeddingProvider is "openai" but no API key is set (smartRouting.openaiApiKey or OPENAI_API_KEY)');
  const baseUrl = settings.openaiApiBaseUrl || env.openaiBaseUrl;
  const model = settings.openaiApiEmbeddingModel || env.model;
  const maxTokens = settings.embeddingMaxTokens;
  // The key enters the choice's identity only as a digest: a rotated key makes a new client, never a log line.
  const keyDigest = createHash("sha256").update(apiKey).digest("hex").slice(0, 16);
  return {
    key: `openai:${baseUrl}:${model}:${maxTokens ?? ""}:${keyDigest}`,
    create: () => new OpenAIEmbedder({ baseUrl, apiKey, model, logger, maxInputTokens: maxTokens }),
  };
}

/** The embedder the environment alone asks for (no settings): OpenAI-compatible with a key, else the local model. */
export function createEmbedder(env: EmbeddingEnv, logger: Logger): Embedder {
  return chooseEmbedder({}, env, logger).create();
}
