import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Embedding the catalog is CPU work for the shipped model: on a busy shared machine it takes
// several times longer than alone, so the tests wait on it with a generous bound.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
import { HubError, type McpObject } from "@mcphub/contracts";
import { openDatabase, type DbHandle } from "@mcphub/db";
import { createLogger, HubMetrics } from "@mcphub/observability";
import { RemoteRouter } from "@mcphub/service-clients";
import routerApp from "../../src/app.ts";
import { EmbeddingRepository } from "../../src/embedding.repository.ts";
import { RouterService } from "../../src/router.service.ts";
import { StaticCatalog } from "../../src/static-catalog.ts";
import { UseEmbedder } from "../../src/use.embedder.ts";

/**
 * A gateway's view of a router in another process: RemoteRouter over HTTP against the real
 * router app (its routes, token check and error handler) and a RouterService indexing the real
 * tool catalog in ../shared/data with the shipped model.
 */
const TOKEN = "remote-router-test-token-0123456789";
const CATALOG = fileURLToPath(new URL("../../../../bench/router/catalog-tasks/tools.jsonl", import.meta.url));
const logger = createLogger({ level: "silent", service: "remote-router-test" });

let app: FastifyInstance;
let db: DbHandle;
let dataDir: string;
let service: RouterService;
let remote: RemoteRouter;
const embedder = new UseEmbedder();
let tools: Record<string, McpObject[]>;

beforeAll(async () => {
  tools = {};
  for (const line of (await readFile(CATALOG, "utf8")).split("\n").filter(Boolean)) {
    const t = JSON.parse(line) as { server: string; name: string; description: string };
    (tools[t.server] ??= []).push({ name: t.name, description: t.description });
  }
  dataDir = await mkdtemp(join(tmpdir(), "mcphub-remote-router-"));
  db = await openDatabase({ dataDir });
  service = new RouterService({ source: new StaticCatalog(tools), repository: new EmbeddingRepository(db.db), embedder, useVector: false, logger, metrics: new HubMetrics({ defaultMetrics: false }) });
  await service.sync();
  app = Fastify();
  await app.register(routerApp, { router: service, token: TOKEN });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  remote = new RemoteRouter({ url, token: TOKEN });
}, 120_000);

afterAll(async () => {
  await remote?.close();
  await app?.close();
  await service?.stop();
  await embedder.close();
  await db?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("RemoteRouter against the router app", () => {
  it("searches like the service in process, scope and all", async () => {
    const request = { query: "show me the commit history of this repository", limit: 5, scope: { git: "all" as const, github: ["list_commits"] } };
    const over = await remote.search(request);
    expect(over).toEqual(await service.search(request));
    expect(over.ranking).toBe("hybrid");
    expect(over.results.length).toBeGreaterThan(1);
    expect(over.results.every((r) => r.server === "git" || (r.server === "github" && r.tool === "list_commits"))).toBe(true);
    expect(over.results.every((r) => r.score >= 0 && r.score <= 1)).toBe(true);
  });

  it("re-throws the router's HubError with its code, status and the field it names", async () => {
    for (const [request, field] of [
      [{ query: "" }, "query"],
      [{ query: "x".repeat(1001) }, "query"],
      [{ query: "x", limit: 0 }, "limit"],
      [{ query: "x", limit: 51 }, "limit"],
    ] as const) {
      const err = await remote.search(request).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubError);
      expect(err).toMatchObject({ code: "HUB_INVALID_SEARCH", status: 400, details: [{ field }] });
      expect((err as HubError).message.startsWith(`${field}:`)).toBe(true);
    }
  });

  it("is refused with a wrong token, and says when the router is unreachable", async () => {
    const wrong = new RemoteRouter({ url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, token: "wrong-token-0123456789" });
    await expect(wrong.search({ query: "time" })).rejects.toMatchObject({ code: "HUB_INTERNAL_UNAUTHORIZED", status: 401 });
    await expect(wrong.status()).rejects.toMatchObject({ status: 401 });
    await wrong.close();
    const gone = new RemoteRouter({ url: "http://127.0.0.1:9", token: TOKEN });
    await expect(gone.search({ query: "time" })).rejects.toMatchObject({ code: "HUB_ROUTER_UNAVAILABLE", status: 503 });
    await gone.close();
  });

  it("reports the index and reindexes through the API", async () => {
    const count = Object.values(tools).reduce((n, l) => n + l.length, 0);
    expect(await remote.status()).toMatchObject({ model: embedder.model, backend: "exact", ready: true, tools: count });
    const after = await remote.reindex();
    expect(after).toMatchObject({ ready: true, tools: count, lastSync: { embedded: count, reused: 0 } });
  });
});
