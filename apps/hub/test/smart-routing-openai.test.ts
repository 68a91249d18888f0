import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../../router/test/fake-openai.ts";
import { connect, startHub, waitUntil, type TestHub } from "./helpers/hub.ts";

/**
 * Smart routing with an OpenAI-compatible embedder configured in the settings (the stand-in
 * speaks the real /v1/embeddings wire format): searches use it, and when it fails the search
 * still answers, lexically, and says so in `_meta` instead of failing or returning nothing.
 */
const CATALOG_TS = fileURLToPath(new URL("./fixtures/catalog-server.ts", import.meta.url));
const KEY = "sk-test-smart-routing-key";
const catalog = (server: string) => ({ type: "stdio", command: process.execPath, args: ["--import", "tsx", CATALOG_TS, "--server", server] });

let fake: FakeOpenAI;
let t: TestHub;
let c: Client;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  t = await startHub(
    {
      mcpServers: { time: catalog("time"), filesystem: catalog("filesystem") },
      systemConfig: { smartRouting: { embeddingProvider: "openai", openaiApiBaseUrl: fake.baseUrl, openaiApiKey: KEY, openaiApiEmbeddingModel: "text-embedding-3-small" } },
    },
    { database: true },
  );
  const status = async () => (await (await fetch(`${t.base}/api/smart-routing/status`)).json()) as { index: { ready: boolean; model: string; tools: number } };
  await waitUntil(async () => (await status()).index.ready, 60_000, "the index");
  expect((await status()).index.model).toContain("text-embedding-3-small");
  c = await connect(`${t.base}/mcp/$smart`);
}, 120_000);

afterAll(async () => {
  await c?.close();
  await t?.close();
  await fake?.close();
});

async function search(query: string) {
  const r = await c.callTool({ name: "search_tools", arguments: { query, limit: 5 } });
  return { names: (r.structuredContent as { tools: { name: string }[] }).tools.map((x) => x.name), meta: (r._meta as Record<string, any>)["mcphub/search"] };
}

describe("an OpenAI-compatible embedder from the settings", () => {
  it("embeds the catalog and the queries", async () => {
    expect(fake.inputCount()).toBeGreaterThanOrEqual(20);
    const before = fake.served.length;
    const { names, meta } = await search("convert a time from one time zone to another");
    expect(meta.ranking).toBe("hybrid");
    expect(names).toContain("time-convert_time");
    expect(fake.served.length).toBe(before + 1);
  });

  it("falls back to lexical ranking, saying why, while the embedder answers 5xx", async () => {
    fake.failNext(503, 100);
    const { names, meta } = await search("list the files of a directory");
    expect(meta.ranking).toBe("lexical");
    expect(String(meta.degraded)).toMatch(/503|unavailable|embed/i);
    expect(names).toContain("filesystem-list_directory");
    // Searches right after do not wait out the retries again: the failed embedder is left alone a while.
    const asked = fake.attempts.length;
    const next = await search("read a text file");
    expect(next.meta.ranking).toBe("lexical");
    expect(String(next.meta.degraded)).toMatch(/failed \d+ s ago/);
    expect(fake.attempts.length).toBe(asked);
  });

  it("never shows the embedding key", async () => {
    const body = await (await fetch(`${t.base}/api/smart-routing/status`)).text();
    expect(body).not.toContain(KEY);
    expect(JSON.parse(body).settings.openaiApiKeySet).toBe(true);
    expect(JSON.stringify(t.logs)).not.toContain(KEY);
  });
});
