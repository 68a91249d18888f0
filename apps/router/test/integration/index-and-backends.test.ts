import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Embedding the catalog is CPU work for the shipped model: on a busy shared machine it takes
// several times longer than alone, so the tests wait on it with a generous bound.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
import type { McpObject } from "@mcphub/contracts";
import { openDatabase, queryRows, type DbHandle } from "@mcphub/db";
import { sql } from "drizzle-orm";
import { createLogger, HubMetrics } from "@mcphub/observability";
import { freshDatabase } from "../../../../test/helpers/postgres.ts";
import { EmbeddingRepository } from "../../src/embedding.repository.ts";
import { UseEmbedder } from "../../src/use.embedder.ts";
import type { Embedder } from "../../src/embedder.ts";
import { OpenAIEmbedder } from "../../src/openai.embedder.ts";
import { startFakeOpenAI } from "../fake-openai.ts";
import { RouterService } from "../../src/router.service.ts";
import type { SearchRequest, SearchResult } from "@mcphub/contracts";
import { StaticCatalog } from "../../src/static-catalog.ts";

/**
 * The index and the two search backends in process, over a real catalog-sized tool set (the
 * public MetaTool tools): pgvector on PGlite, exact ranking in process on a Postgres server
 * without the extension. Both must rank alike; the sync must embed only what changed.
 */
const METATOOL = fileURLToPath(new URL("../../../../bench/router/metatool/", import.meta.url));
const logger = createLogger({ level: "silent", service: "router-test" });

const jsonl = async <T>(file: string): Promise<T[]> =>
  (await readFile(join(METATOOL, file), "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

let tools: Record<string, McpObject[]>;
/** What a tool's description is (McpObject leaves it unknown). */
const descriptionOf = (t: McpObject) => String(t.description);
let queries: string[];
let pg: DbHandle;
let pglite: DbHandle;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let dataDir: string;
/** One model for the whole file: loading it and embedding the catalog is the slow part. */
const use = new UseEmbedder();

beforeAll(async () => {
  const list = await jsonl<{ name: string; description: string }>("tools.jsonl");
  // Three servers, so the `servers` filter has something to filter.
  tools = { alpha: [], beta: [], gamma: [] };
  list.forEach((t, i) => tools[["alpha", "beta", "gamma"][i % 3]!]!.push({ name: t.name, description: t.description, inputSchema: { type: "object" } }));
  queries = (await jsonl<{ query: string }>("queries_single_sample1000.jsonl")).slice(0, 40).map((q) => q.query);
  database = await freshDatabase("router_backends");
  dataDir = await mkdtemp(join(tmpdir(), "mcphub-router-pglite-"));
  [pg, pglite] = await Promise.all([openDatabase({ url: database.url, dataDir }), openDatabase({ dataDir })]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([pg?.close(), pglite?.close()]);
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
  await use.close();
});

function router(db: DbHandle, source: StaticCatalog, useVector = db.hasVector, embedder: Embedder = use): RouterService {
  return new RouterService({
    source,
    repository: new EmbeddingRepository(db.db),
    embedder,
    useVector,
    logger,
    metrics: new HubMetrics({ defaultMetrics: false }),
  });
}

const ranking = (results: { server: string; tool: string }[]) => results.map((r) => `${r.server}/${r.tool}`);

describe("pgvector (PGlite) and exact in process (Postgres without pgvector)", () => {
  it("the databases are what the comparison needs", () => {
    expect(pglite.hasVector).toBe(true);
    expect(pg.hasVector).toBe(false);
  });

  it("rank every query alike, with the same scores, filters and thresholds", async () => {
    const source = new StaticCatalog(tools);
    const withVector = router(pglite, source);
    const exact = router(pg, source);
    await Promise.all([withVector.sync(), exact.sync()]);
    expect(withVector.status()).toMatchObject({ backend: "pgvector", ready: true, tools: 199 });
    expect(exact.status()).toMatchObject({ backend: "exact", ready: true, tools: 199 });

    const requests: SearchRequest[] = [
      ...queries.map((query) => ({ query, limit: 10 })),
      ...queries.slice(0, 10).map((query) => ({ query, limit: 50, servers: ["beta", "gamma"] })),
      ...queries.slice(10, 20).map((query) => ({ query, limit: 50, threshold: 0.25 })),
      ...queries.slice(20, 30).map((query) => ({ query, limit: 20, scope: { alpha: "all" as const, gamma: tools.gamma!.slice(0, 20).map((t) => t.name) } })),
    ];
    for (const r of [withVector, exact]) expect(await r.search({ query: queries[0]! })).toMatchObject({ ranking: "hybrid" });
    let compared = 0;
    for (const req of requests) {
      const [a, b] = (await Promise.all([withVector.search(req), exact.search(req)])).map((r) => r.results) as [SearchResult[], SearchResult[]];
      // The same top 10; further down, two tools whose cosines differ by float noise (pgvector
      // computes in double, the worker's matrix product in single precision) may trade places,
      // also at the edge of the 100 semantic candidates, which moves a tail score.
      expect(ranking(a).slice(0, 10), req.query).toEqual(ranking(b).slice(0, 10));
      expect(a.length).toBe(b.length);
      a.slice(0, 10).forEach((r, i) => expect(r.score).toBeCloseTo(b[i]!.score, 5));
      if (req.servers) expect(a.every((r) => req.servers!.includes(r.server))).toBe(true);
      if (req.threshold !== undefined) expect(a.every((r) => r.score >= req.threshold!)).toBe(true);
      if (req.scope) expect(a.every((r) => r.server === "alpha" || (r.server === "gamma" && req.scope!.gamma!.includes(r.tool)))).toBe(true);
      compared += a.length;
    }
    // Not a comparison of empty lists.
    expect(compared).toBeGreaterThan(queries.length * 10);
    // The same rows searched both ways on one database agree too.
    const exactOnPglite = router(pglite, source, false);
    await exactOnPglite.sync();
    for (const query of queries.slice(0, 10)) {
      expect(ranking((await exactOnPglite.search({ query })).results)).toEqual(ranking((await withVector.search({ query })).results));
    }
    await Promise.all([withVector.stop(), exact.stop(), exactOnPglite.stop()]);
  });
});

describe("the index follows the catalog (Postgres)", () => {
  const rows = async () =>
    queryRows<{ content_id: string; model: string; content_hash: string; dimensions: number; metadata: Record<string, unknown> }>(
      pg.db,
      sql`select content_id, model, content_hash, dimensions, metadata from vector_embeddings where content_type = 'tool' order by content_id`,
    );

  it("stores one row per tool with its server, name, model, dimensions and hash", async () => {
    const stored = await rows();
    expect(stored).toHaveLength(199);
    const first = tools.alpha![0]!;
    expect(stored.find((r) => r.content_id === `alpha/${first.name}`)).toMatchObject({
      model: use.model,
      dimensions: 512,
      metadata: { server: "alpha", tool: first.name },
    });
    expect(new Set(stored.map((r) => r.content_hash)).size).toBe(199);
  });

  it("re-embeds nothing when nothing changed, even in a new process", async () => {
    const source = new StaticCatalog(tools);
    const fresh = router(pg, source);
    await fresh.sync();
    expect(fresh.status().lastSync).toMatchObject({ embedded: 0, reused: 199, removed: 0 });
    source.set(tools);
    await fresh.sync();
    expect(fresh.status().lastSync).toMatchObject({ embedded: 0, reused: 199, removed: 0 });
    await fresh.stop();
  });

  it("re-embeds a changed tool, deletes a removed one, keeps those of a server that is down, drops a server that is gone", async () => {
    const source = new StaticCatalog(tools);
    const r = router(pg, source);
    r.start();
    await r.sync();
    const hashBefore = (await rows()).find((x) => x.content_id === `alpha/${tools.alpha![0]!.name}`)!.content_hash;

    // One description changes, one tool disappears.
    const [changed, ...restAlpha] = tools.alpha!;
    const gone = restAlpha.pop()!;
    const alpha = [{ ...changed!, description: "Adds two numbers and returns their sum." }, ...restAlpha];
    source.set({ ...tools, alpha });
    await r.sync();
    expect(r.status().lastSync).toMatchObject({ embedded: 1, removed: 1, reused: 197 });
    const after = await rows();
    expect(after.map((x) => x.content_id)).not.toContain(`alpha/${gone.name}`);
    expect(after.find((x) => x.content_id === `alpha/${changed!.name}`)!.content_hash).not.toBe(hashBefore);
    expect((await r.search({ query: "add two numbers and return the sum", limit: 1 })).results[0]).toMatchObject({ server: "alpha", tool: changed!.name });
    expect(ranking((await r.search({ query: descriptionOf(gone), limit: 50 })).results)).not.toContain(`alpha/${gone.name}`);

    // gamma is restarting: its rows stay (no re-embedding when it returns), its tools are not offered meanwhile.
    const { gamma, ...withoutGamma }: Record<string, McpObject[]> = { ...tools, alpha };
    source.set(withoutGamma, ["gamma"]);
    await r.sync();
    expect(r.status().lastSync).toMatchObject({ removed: 0 });
    expect((await rows()).filter((x) => x.content_id.startsWith("gamma/"))).toHaveLength(gamma!.length);
    expect((await r.search({ query: descriptionOf(gamma![0]!), limit: 50 })).results.some((x) => x.server === "gamma")).toBe(false);
    source.set({ ...tools, alpha });
    await r.sync();
    expect(r.status().lastSync).toMatchObject({ embedded: 0, removed: 0 });
    expect((await r.search({ query: descriptionOf(gamma![0]!), limit: 3 })).results.some((x) => x.server === "gamma")).toBe(true);

    // gamma is removed from the settings: its rows go.
    source.set(withoutGamma);
    await r.sync();
    expect(r.status().lastSync).toMatchObject({ removed: gamma!.length });
    expect((await rows()).filter((x) => x.content_id.startsWith("gamma/"))).toHaveLength(0);
    await r.stop();
  });

  it("rejects a bad search naming the field, before embedding anything", async () => {
    const r = router(pg, new StaticCatalog(tools));
    const attempt = (req: unknown) => r.search(req as SearchRequest).then(() => undefined, (e: { code: string; status: number; message: string }) => e);
    expect(await attempt({})).toMatchObject({ code: "HUB_INVALID_SEARCH", status: 400, message: "query: is required" });
    expect(await attempt({ query: "  " })).toMatchObject({ status: 400, message: "query: must not be empty" });
    expect(await attempt({ query: "x", limit: 51 })).toMatchObject({ status: 400, message: "limit: must be at most 50" });
    expect(await attempt({ query: "x", limit: 2.5 })).toMatchObject({ status: 400, message: "limit: must be an integer" });
    expect(await attempt({ query: "x", servers: "alpha" })).toMatchObject({ status: 400, message: "servers: must be an array of server names" });
    expect(await attempt({ query: "x", threshold: 2 })).toMatchObject({ status: 400, message: "threshold: must be at most 1" });
    expect(await attempt({ query: "x", limt: 5 })).toMatchObject({ status: 400, message: expect.stringContaining("limt") });
  });
});

/** Deterministic vectors whose dimension a test can change, as a model swapped behind the same name would. */
class ResizableEmbedder implements Embedder {
  readonly provider = "openai" as const;
  readonly model = "resizable-test-model";
  dims = 32;
  failing: string | undefined;
  calls = 0;
  async embed(texts: string[]): Promise<number[][]> {
    this.calls++;
    if (this.failing) throw new Error(this.failing);
    return texts.map((t) => Array.from({ length: this.dims }, (_, i) => Math.sin((i + 1) * (t.length + t.charCodeAt(0)))));
  }
}

describe("when the embedder fails", () => {
  it("answers with the lexical ranking and says why, when the API is down for a query; retries 429 and 5xx; indexes once the API is back", async () => {
    const fake = await startFakeOpenAI({ apiKey: "sk-down" });
    const embedder = new OpenAIEmbedder({ baseUrl: fake.baseUrl, apiKey: "sk-down", model: "down-test-model", logger, maxRetries: 2, retryBaseMs: 1 });
    const source = new StaticCatalog({ calc: [{ name: "add", description: "Adds two numbers" }] });
    const metrics = new HubMetrics({ defaultMetrics: false });
    const r = new RouterService({ source, repository: new EmbeddingRepository(pg.db), embedder, useVector: false, logger, metrics, retryMs: 60_000 });
    try {
      await r.sync();
      expect(r.status()).toMatchObject({ ready: true, tools: 1 });

      // A 429 and a 503 are retried: the search still ranks with both signals.
      fake.failNext(429);
      fake.failNext(503);
      expect(await r.search({ query: "add up two numbers" })).toMatchObject({ ranking: "hybrid", results: [{ server: "calc", tool: "add" }] });

      // Down for longer than the retries: the lexical ranking answers, and says why.
      fake.failNext(500, 3);
      const down = await r.search({ query: "sum two numbers" });
      expect(down).toMatchObject({ ranking: "lexical", results: [{ server: "calc", tool: "add" }] });
      expect(down.degraded).toMatch(/embedder failed.*500/);
      expect(await metrics.embedderErrors.get()).toMatchObject({ values: [{ labels: { model: "down-test-model", purpose: "query" }, value: 1 }] });

      // A new tool arrives while the API fails: the sync fails and says so; the index keeps what it had.
      fake.failNext(500, 3);
      source.set({ calc: [{ name: "add", description: "Adds two numbers" }, { name: "multiply", description: "Multiplies two numbers" }] });
      await r.sync();
      expect(r.status().lastError).toMatch(/500/);
      expect(r.status().tools).toBe(1);
      // The API is back: the next sync (the retry timer's, or a catalog event's) embeds the new tool only.
      const before = fake.inputCount();
      await r.sync();
      expect(r.status()).toMatchObject({ tools: 2, lastError: undefined, lastSync: { embedded: 1, reused: 1 } });
      expect(fake.inputCount() - before).toBe(1);
      expect((await r.search({ query: "multiply two numbers" })).results[0]).toMatchObject({ server: "calc", tool: "multiply" });
    } finally {
      await r.stop();
      await embedder.close();
      await fake.close();
    }
  });

  it("ranks lexically while the first index is built, and when the embedder cannot run at all", async () => {
    const embedder = new ResizableEmbedder();
    const source = new StaticCatalog({ calc: [{ name: "add", description: "Adds two numbers" }, { name: "echo", description: "Echoes a message" }] });
    const r = router(pg, source, false, embedder);
    // No sync yet: never an empty list for a query that names a tool's words.
    const early = await r.search({ query: "echo a message" });
    expect(early).toMatchObject({ ranking: "lexical", results: [{ tool: "echo" }] });
    expect(early.degraded).toMatch(/being built/);
    await r.sync();
    expect((await r.search({ query: "echo a message" })).ranking).toBe("hybrid");
    embedder.failing = "the model could not be loaded";
    const failed = await r.search({ query: "echo this back" });
    expect(failed).toMatchObject({ ranking: "lexical", results: [{ tool: "echo" }] });
    expect(failed.degraded).toContain("the model could not be loaded");
    await r.stop();
  });

  it("says so when the model answers in another dimension than the index holds, and re-embeds everything", async () => {
    const embedder = new ResizableEmbedder();
    const source = new StaticCatalog({ sized: [{ name: "add", description: "Adds two numbers" }, { name: "echo", description: "Echoes a message" }] });
    const r = router(pg, source, false, embedder);
    await r.sync();
    expect(r.status().lastSync).toMatchObject({ embedded: 2 });
    embedder.dims = 48;
    const answer = await r.search({ query: "add numbers" });
    expect(answer).toMatchObject({ ranking: "lexical", results: [{ tool: "add" }] });
    expect(answer.degraded).toMatch(/returned 48 dimensions where the index holds 32/);
    // The search started the re-embedding; a reindex waits for it and leaves every row at 48.
    const status = await r.reindex();
    expect(status).toMatchObject({ ready: true, tools: 2, lastSync: { embedded: 2 } });
    const dims = await queryRows<{ dimensions: number }>(pg.db, sql`select dimensions from vector_embeddings where model = ${embedder.model}`);
    expect(dims.map((d) => d.dimensions)).toEqual([48, 48]);
    expect((await r.search({ query: "add numbers" })).ranking).toBe("hybrid");
    await r.stop();
  });
});
