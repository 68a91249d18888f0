import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@mcphub/observability";
import { startFakeOpenAI, type FakeOpenAI } from "../test/fake-openai.ts";
import { EmbeddingError, OpenAIEmbedder } from "./openai.embedder.ts";

const logger = createLogger({ level: "silent", service: "test" });
const KEY = "sk-test-embedder";
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY, dimensions: 32 });
});
afterAll(async () => {
  await fake.close();
});

const embedder = (extra: Partial<ConstructorParameters<typeof OpenAIEmbedder>[0]> = {}) =>
  new OpenAIEmbedder({ baseUrl: fake.baseUrl, apiKey: KEY, model: "text-embedding-3-small", logger, retryBaseMs: 20, ...extra });

describe("OpenAIEmbedder", () => {
  it("sends the model and the inputs in batches and returns the vectors in input order", async () => {
    const e = embedder({ batchSize: 100 });
    const texts = Array.from({ length: 250 }, (_, i) => `tool item${i} does thing${i % 7}`);
    const before = fake.served.length;
    const vectors = await e.embed(texts);
    await e.close();
    const requests = fake.served.slice(before);
    expect(requests.map((r) => r.input.length)).toEqual([100, 100, 50]);
    expect(requests.every((r) => r.model === "text-embedding-3-small")).toBe(true);
    expect(requests.flatMap((r) => r.input)).toEqual(texts);
    expect(vectors).toHaveLength(250);
    // The fake answers items in reverse order; each vector still belongs to its own text.
    const single = embedder();
    for (const k of [0, 3, 149, 249]) expect(vectors[k]).toEqual((await single.embed([texts[k]!]))[0]);
    await single.close();
    expect(vectors[3]).not.toEqual(vectors[4]);
  });

  it("retries a 429 and a 500, then succeeds", async () => {
    const e = embedder();
    fake.failNext(429);
    fake.failNext(500);
    const before = fake.attempts.length;
    const vectors = await e.embed(["a rate limited text"]);
    await e.close();
    expect(fake.attempts.slice(before).map((a) => a.status)).toEqual([429, 500, 200]);
    expect(vectors).toHaveLength(1);
    expect(vectors[0]).toHaveLength(32);
  });

  it("gives up after its retries with the server's message", async () => {
    const e = embedder({ maxRetries: 2 });
    fake.failNext(503, 3);
    const before = fake.attempts.length;
    const err = (await e.embed(["never"]).catch((x: unknown) => x)) as EmbeddingError;
    await e.close();
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err.message).toMatch(/after 3 attempts .*503: The server had an error/);
    expect(fake.attempts.length - before).toBe(3);
  });

  it("does not retry a refused key, and does not repeat the key in the error", async () => {
    const e = new OpenAIEmbedder({ baseUrl: fake.baseUrl, apiKey: "sk-wrong-key-0123", model: "m", logger, retryBaseMs: 20 });
    const before = fake.attempts.length;
    const err = (await e.embed(["x"]).catch((x: unknown) => x)) as EmbeddingError;
    await e.close();
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err.status).toBe(401);
    expect(err.message).toContain("Incorrect API key provided");
    expect(err.message).not.toContain("sk-wrong-key-0123");
    expect(fake.attempts.length - before).toBe(1);
  });
});
