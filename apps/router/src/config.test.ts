import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@mcphub/config";
import { createLogger } from "@mcphub/observability";
import { chooseEmbedder, routerEnvSchema } from "./config.ts";
import { EmbedderUnavailableError } from "./embedder.ts";
import { OpenAIEmbedder } from "./openai.embedder.ts";
import { UseEmbedder } from "./use.embedder.ts";

const base = { INTERNAL_TOKEN: "0123456789abcdef-router", REDIS_URL: "redis://127.0.0.1:6379", SUPERVISOR_URL: "http://127.0.0.1:3001" };
const logger = createLogger({ level: "silent", service: "test" });
const env = (extra: Record<string, string> = {}) => {
  const e = parseEnv(routerEnvSchema, { ...base, OPENAI_API_KEY: "", ...extra });
  return { openaiApiKey: e.OPENAI_API_KEY, openaiBaseUrl: e.OPENAI_BASE_URL, model: e.EMBEDDING_MODEL };
};

describe("router environment and the settings' embedder", () => {
  it("defaults the embedding settings and picks the offline model without a key", () => {
    const e = env();
    expect(e).toEqual({ openaiApiKey: undefined, openaiBaseUrl: "https://api.openai.com/v1", model: "text-embedding-3-small" });
    const choice = chooseEmbedder({}, e, logger);
    expect(choice.key).toBe("local:use");
    expect(choice.create()).toBeInstanceOf(UseEmbedder);
  });

  it("picks the OpenAI-compatible embedder with a key from the environment, under its model", async () => {
    const e = chooseEmbedder({}, env({ OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: "http://127.0.0.1:9/v1", EMBEDDING_MODEL: "nomic-embed-text" }), logger).create();
    expect(e).toBeInstanceOf(OpenAIEmbedder);
    expect(e.model).toBe("nomic-embed-text");
    await e.close?.();
  });

  it("lets the settings' key, base URL and model win over the environment's, and never puts the key in the choice's identity", () => {
    const e = env({ OPENAI_API_KEY: "sk-env", OPENAI_BASE_URL: "http://127.0.0.1:9/v1", EMBEDDING_MODEL: "env-model" });
    const choice = chooseEmbedder({ openaiApiKey: "sk-settings-secret", openaiApiBaseUrl: "http://127.0.0.1:10/v1", openaiApiEmbeddingModel: "settings-model" }, e, logger);
    expect(choice.key).toContain("http://127.0.0.1:10/v1");
    expect(choice.key).toContain("settings-model");
    expect(choice.key).not.toContain("sk-settings-secret");
    expect(choice.create().model).toBe("settings-model");
    // A settings key alone (no provider named) selects the OpenAI-compatible server.
    expect(chooseEmbedder({ openaiApiKey: "sk-s" }, env(), logger).key).toMatch(/^openai:https:\/\/api\.openai\.com\/v1:text-embedding-3-small:/);
    // An explicit "local" keeps the offline model even with a key in the environment.
    expect(chooseEmbedder({ embeddingProvider: "local" }, e, logger).key).toBe("local:use");
  });

  it('refuses "openai" without any key, saying which keys would do', () => {
    expect(() => chooseEmbedder({ embeddingProvider: "openai" }, env(), logger)).toThrow(EmbedderUnavailableError);
    expect(() => chooseEmbedder({ embeddingProvider: "openai" }, env(), logger)).toThrow(/openaiApiKey or OPENAI_API_KEY/);
  });

  it("takes a local ONNX model directory, which says plainly that it is not supported yet", async () => {
    const e = parseEnv(routerEnvSchema, { ...base, LOCAL_EMBEDDING_MODEL_DIR: "/models/e5-small" });
    const choice = chooseEmbedder({}, { openaiBaseUrl: e.OPENAI_BASE_URL, model: e.EMBEDDING_MODEL, localModelDir: e.LOCAL_EMBEDDING_MODEL_DIR }, logger);
    expect(choice.key).toBe("local:onnx:/models/e5-small");
    await expect(choice.create().embed(["x"])).rejects.toThrow(/local ONNX models are not supported yet \(\/models\/e5-small\)/);
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
