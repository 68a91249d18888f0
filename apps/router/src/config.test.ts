import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@mcphub/config";
import { createLogger } from "@mcphub/observability";
import { createEmbedder, routerEnvSchema } from "./config.ts";
import { LocalEmbedder } from "./local.embedder.ts";
import { OpenAIEmbedder } from "./openai.embedder.ts";

const base = { INTERNAL_TOKEN: "0123456789abcdef-router", REDIS_URL: "redis://127.0.0.1:6379", SUPERVISOR_URL: "http://127.0.0.1:3001" };
const logger = createLogger({ level: "silent", service: "test" });

describe("router environment", () => {
  it("defaults the embedding settings and picks the local embedder without a key", () => {
    const env = parseEnv(routerEnvSchema, { ...base, OPENAI_API_KEY: "" });
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.OPENAI_BASE_URL).toBe("https://api.openai.com/v1");
    expect(env.EMBEDDING_MODEL).toBe("text-embedding-3-small");
    expect(createEmbedder({ openaiApiKey: env.OPENAI_API_KEY, openaiBaseUrl: env.OPENAI_BASE_URL, model: env.EMBEDDING_MODEL }, logger)).toBeInstanceOf(LocalEmbedder);
  });

  it("picks the OpenAI-compatible embedder with a key, under the configured model", async () => {
    const env = parseEnv(routerEnvSchema, { ...base, OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: "http://127.0.0.1:9/v1", EMBEDDING_MODEL: "nomic-embed-text" });
    const e = createEmbedder({ openaiApiKey: env.OPENAI_API_KEY, openaiBaseUrl: env.OPENAI_BASE_URL, model: env.EMBEDDING_MODEL }, logger);
    expect(e).toBeInstanceOf(OpenAIEmbedder);
    expect(e.model).toBe("nomic-embed-text");
    await e.close?.();
  });

  it("reports every bad key at once", () => {
    const err = (() => {
      try {
        parseEnv(routerEnvSchema, { INTERNAL_TOKEN: "short", OPENAI_BASE_URL: "not a url", EMBEDDING_MODEL: "" });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const keys = err!.issues.map((i) => i.split(":")[0]);
    expect(keys).toEqual(expect.arrayContaining(["INTERNAL_TOKEN", "REDIS_URL", "SUPERVISOR_URL", "OPENAI_BASE_URL", "EMBEDDING_MODEL"]));
  });
});
