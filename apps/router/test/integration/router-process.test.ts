import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InternalCatalogResponse } from "@mcphub/contracts";
import { freshDatabase } from "../../../../test/helpers/postgres.ts";
import { startService, type ServiceProcess } from "../../../../test/helpers/processes.ts";
import { startFakeOpenAI, type FakeOpenAI } from "../fake-openai.ts";

/**
 * The router as its own process, indexing the catalog of a real supervisor (itself a process,
 * running server-everything over stdio) read through `/internal/catalog` and the Redis bus,
 * with the local embedder and with an OpenAI-compatible server.
 */
const TOKEN = "router-process-test-token-0123456789";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const OPENAI_KEY = "sk-router-test";
const require = createRequire(import.meta.url);
const EVERYTHING_JS = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

let dir: string;
let settingsPath: string;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let sql: postgres.Sql;
let supervisor: ServiceProcess;
let router: ServiceProcess;
let fake: FakeOpenAI;
let everythingTools: string[];
const routers: ServiceProcess[] = [];

interface Health {
  index: { ready: boolean; syncing: boolean; tools: number; model: string; backend: string; lastSync?: { embedded: number; reused: number; removed: number } };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const health = async (svc: ServiceProcess) => (await (await fetch(`${svc.url}/api/health`)).json()) as Health;

/** Until the router has indexed exactly `tools` tools and is idle. */
const indexed = (svc: ServiceProcess, tools: number) =>
  waitUntil(async () => {
    const { index } = await health(svc);
    return index.ready && !index.syncing && index.tools === tools;
  }, 30_000, `${tools} tools indexed`);

function search(svc: ServiceProcess, body: unknown, token = TOKEN): Promise<Response> {
  return fetch(`${svc.url}/internal/search`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

async function results(svc: ServiceProcess, body: unknown): Promise<{ server: string; tool: string; score: number; description: string }[]> {
  const res = await search(svc, body);
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: { server: string; tool: string; score: number; description: string }[] }).results;
}

const settings = (tools?: Record<string, { enabled: boolean }>) =>
  JSON.stringify({ mcpServers: { everything: { type: "stdio", command: process.execPath, args: [EVERYTHING_JS, "stdio"], ...(tools ? { tools } : {}) } } });

function startRouter(env: Record<string, string> = {}): Promise<ServiceProcess> {
  return startService("router", {
    INTERNAL_TOKEN: TOKEN,
    REDIS_URL,
    DATABASE_URL: database.url,
    SUPERVISOR_URL: supervisor.url,
    OPENAI_API_KEY: "",
    ...env,
  }).then((svc) => {
    routers.push(svc);
    return svc;
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-router-"));
  settingsPath = join(dir, "mcp_settings.json");
  await writeFile(settingsPath, settings());
  database = await freshDatabase("router_process");
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  fake = await startFakeOpenAI({ apiKey: OPENAI_KEY });
  supervisor = await startService("supervisor", { INTERNAL_TOKEN: TOKEN, REDIS_URL, DATABASE_URL: database.url, MCPHUB_SETTING_PATH: settingsPath });
  await waitUntil(async () => {
    const res = await fetch(`${supervisor.url}/internal/catalog`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as InternalCatalogResponse;
    everythingTools = (body.catalog.servers.everything?.tools ?? []).map((t) => t.name);
    return everythingTools.length > 0;
  }, 30_000, "server-everything ready in the supervisor");
  router = await startRouter();
}, 90_000);

afterAll(async () => {
  await Promise.all([...routers, supervisor].filter(Boolean).map((s) => s.stop()));
  await fake?.close();
  await sql?.end();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("the router with the local embedder", () => {
  it("indexes every tool of the supervisor's catalog in vector_embeddings", async () => {
    await indexed(router, everythingTools.length);
    const { index } = await health(router);
    expect(index).toMatchObject({ model: "use-lite-512-t48-v1", backend: "exact" });
    expect((await fetch(`${router.url}/api/health/ready`)).status).toBe(200);
    const rows = await sql<{ content_id: string; text_content: string; metadata: unknown; dimensions: number; model: string; content_hash: string; n: number }[]>`
      select content_id, text_content, metadata, dimensions, model, content_hash, cardinality(embedding) as n
      from vector_embeddings where content_type = 'tool' and model = ${index.model}`;
    expect(rows.map((r) => r.content_id).sort()).toEqual(everythingTools.map((t) => `everything/${t}`).sort());
    const sum = rows.find((r) => r.content_id === "everything/get-sum")!;
    expect(sum).toMatchObject({ metadata: { server: "everything", tool: "get-sum" }, dimensions: 512, n: 512 });
    expect(sum.text_content).toContain("Returns the sum of two numbers");
    expect(sum.content_hash).toBe(createHash("sha256").update(sum.text_content).update("\u0000").update(sum.model).digest("hex"));
  });

  it('ranks get-sum first for "add two numbers"', async () => {
    const found = await results(router, { query: "add two numbers" });
    expect(found[0]).toMatchObject({ server: "everything", tool: "get-sum", description: "Returns the sum of two numbers" });
    expect(found[0]!.score).toBeGreaterThan(found[1]!.score);
    expect(found.length).toBe(Math.min(10, everythingTools.length));
  });

  it("honours limit, servers and threshold, and times searches in mcphub_search_duration_seconds", async () => {
    expect(await results(router, { query: "echo a message back", limit: 1 })).toEqual([expect.objectContaining({ tool: "echo" })]);
    expect(await results(router, { query: "echo a message back", servers: ["another"] })).toEqual([]);
    const strict = await results(router, { query: "add two numbers", threshold: 0.3, limit: 50 });
    expect(strict.length).toBeGreaterThan(0);
    expect(strict.every((r) => r.score >= 0.3)).toBe(true);
    expect(strict.length).toBeLessThan(everythingTools.length);
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    const count = Number(/^mcphub_search_duration_seconds_count\{backend="exact"\} (\d+)/m.exec(metrics)?.[1]);
    expect(count).toBeGreaterThanOrEqual(4);
  });
});

describe("bad input and security on /internal/search", () => {
  it("answers a missing query with 400 naming `query`", async () => {
    const res = await search(router, { limit: 5 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; details: { field: string }[]; requestId: string } };
    expect(body.error).toMatchObject({ code: "HUB_INVALID_SEARCH", message: "query: is required", details: [{ field: "query", message: "is required" }] });
    expect(body.error.requestId).toBeTruthy();
  });

  it("answers a limit over 50 with 400 naming `limit`", async () => {
    const res = await search(router, { query: "add", limit: 51 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe("limit: must be at most 50");
  });

  it("answers a wrong or missing token with 401 and no results", async () => {
    for (const token of ["wrong-token-0123456789", ""]) {
      const res = await search(router, { query: "add two numbers" }, token);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string }; results?: unknown };
      expect(body.error.code).toBe("HUB_INTERNAL_UNAUTHORIZED");
      expect(body.results).toBeUndefined();
    }
  });
});

describe("the router with an OpenAI-compatible embeddings server", () => {
  const model = "fake-embedding-model";
  const env = () => ({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl, EMBEDDING_MODEL: model });
  let openaiRouter: ServiceProcess;

  it("embeds the catalog in one batch with the model, retrying a 429", async () => {
    fake.failNext(429);
    openaiRouter = await startRouter(env());
    await indexed(openaiRouter, everythingTools.length);
    expect(fake.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(fake.served).toHaveLength(1);
    expect(fake.served[0]!.model).toBe(model);
    expect(fake.served[0]!.input).toHaveLength(everythingTools.length);
    expect(fake.served[0]!.input.find((t) => t.includes("get sum"))).toContain("Returns the sum of two numbers");
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from vector_embeddings where model = ${model} and dimensions = 256`;
    expect(count?.n).toBe(everythingTools.length);

    const found = await results(openaiRouter, { query: "add two numbers" });
    expect(found[0]).toMatchObject({ tool: "get-sum" });
    // The query itself is embedded by the same model.
    expect(fake.served.at(-1)).toEqual({ model, input: ["add two numbers"] });
  });

  it("re-embeds nothing after a restart: every stored hash matches", async () => {
    const before = fake.inputCount();
    await openaiRouter.stop();
    openaiRouter = await startRouter(env());
    await indexed(openaiRouter, everythingTools.length);
    expect((await health(openaiRouter)).index.lastSync).toMatchObject({ embedded: 0, reused: everythingTools.length });
    expect(fake.inputCount() - before).toBe(0);
  });
});

describe("a tool removed from the catalog", () => {
  it("disappears from the results and from the table", async () => {
    expect((await results(router, { query: "add two numbers" })).map((r) => r.tool)).toContain("get-sum");
    await writeFile(settingsPath, settings({ "get-sum": { enabled: false } }));
    await indexed(router, everythingTools.length - 1);
    await waitUntil(async () => !(await results(router, { query: "add two numbers", limit: 50 })).some((r) => r.tool === "get-sum"), 10_000, "get-sum gone from results");
    const rows = await sql`select model from vector_embeddings where content_id = 'everything/get-sum'`;
    expect(rows).toHaveLength(0);
  });
});
