// The router at 10,000 tools: a synthetic catalog built from the real tools (catalog-tasks' 150
// MCP tools and MetaTool's 199), each replicated over many servers with a server-specific line in
// its description, so every tool text is distinct and really embedded (no shared vectors). Prints
// the background indexing time and how long the event loop was held meanwhile, search latency
// with the offline query embedding (distinct queries: no cache hits), and the process RSS.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { McpObject } from "../../packages/contracts/src/index.ts";
import { openDatabase } from "../../packages/db/src/index.ts";
import { createLogger, HubMetrics } from "../../packages/observability/src/index.ts";
import { EmbeddingRepository, RouterService, type Embedder } from "../../apps/router/src/index.ts";
import { StaticCatalog } from "../../apps/router/src/static-catalog.ts";
import { latency, mb, ms } from "../lib/stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const TOOLS = Number(process.env.BENCH_SCALE_TOOLS ?? 10_000);
const TARGET_P50_MS = 10;
const TARGET_INDEX_S = 120;
const jsonl = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

/** Words that make each replica's tools read like another team's deployment of the same server. */
const TEAMS = "billing platform growth support research mobile payments search identity security data infra design legal sales ops marketing finance hr analytics edge ml devrel partner qa release docs compliance gaming media".split(" ");

export async function syntheticCatalog(count = TOOLS): Promise<Record<string, McpObject[]>> {
  const base: { server: string; tool: McpObject }[] = [];
  for (const t of await jsonl<{ server: string; name: string; description: string }>(join(here, "catalog-tasks/tools.jsonl"))) base.push({ server: t.server, tool: { name: t.name, description: t.description } });
  for (const t of await jsonl<{ name: string; description: string }>(join(here, "metatool/tools.jsonl"))) base.push({ server: "plugins", tool: { name: t.name, description: t.description } });
  const servers: Record<string, McpObject[]> = {};
  for (let n = 0; n < count; n++) {
    const { server, tool } = base[n % base.length]!;
    const replica = Math.floor(n / base.length);
    const team = TEAMS[replica % TEAMS.length]!;
    const name = `${server}-${team}${replica >= TEAMS.length ? Math.floor(replica / TEAMS.length) : ""}`;
    (servers[name] ??= []).push({ ...tool, description: `${tool.description as string} Runs against the ${team} team's ${server} workspace.` });
  }
  return servers;
}

export async function runScale(embedder: Embedder, dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const tools = await syntheticCatalog(TOOLS);
  const servers = Object.keys(tools).length;
  const queries = [
    ...(await jsonl<{ query: string }>(join(here, "metatool/queries_single_sample1000.jsonl"))).slice(0, 200),
    ...(await jsonl<{ query: string }>(join(here, "catalog-tasks/queries.jsonl")).catch(() => [])).slice(0, 100),
  ].map((q) => q.query);
  const db = await openDatabase({ dataDir: join(dataDir, "scale") });
  const logger = createLogger({ level: "warn", service: "bench-router-scale" });
  const metrics = new HubMetrics({ defaultMetrics: false });
  const source = new StaticCatalog(tools);
  const rssBefore = process.memoryUsage().rss;
  try {
    const router = new RouterService({ source, repository: new EmbeddingRepository(db.db), embedder, useVector: false, logger, metrics });
    process.stderr.write(`scale: indexing ${TOOLS} tools of ${servers} servers in the background…\n`);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    // A search while the index is being built: answered at once, lexically.
    const t0 = performance.now();
    const syncing = router.sync();
    const during = await router.search({ query: queries[0]! });
    const duringMs = performance.now() - t0;
    await syncing;
    loop.disable();
    const indexS = (performance.now() - t0) / 1000;
    const status = router.status();
    if (!status.ready) throw new Error(`indexing failed: ${status.lastError}`);
    const times: number[] = [];
    for (const query of queries) {
      const t = performance.now();
      const answer = await router.search({ query, limit: 10 });
      times.push(performance.now() - t);
      if (answer.ranking !== "hybrid") throw new Error(`search answered ${answer.ranking}: ${answer.degraded}`);
    }
    const cached: number[] = [];
    for (const query of queries.slice(0, 100)) {
      const t = performance.now();
      await router.search({ query, limit: 10 });
      cached.push(performance.now() - t);
    }
    const lexical = new RouterService({ source, repository: new EmbeddingRepository(db.db), embedder, useVector: false, logger, metrics, signals: "lexical" });
    await lexical.sync();
    const lexTimes: number[] = [];
    for (const query of queries) {
      const t = performance.now();
      await lexical.search({ query, limit: 10 });
      lexTimes.push(performance.now() - t);
    }
    await lexical.stop();
    const rss = process.memoryUsage().rss;
    const l = latency(times);
    const c = latency(cached);
    const x = latency(lexTimes);
    out.push(`router at ${TOOLS.toLocaleString("en-US")} tools (${servers} servers, synthetic from the real tools; exact backend, ${embedder.model}):`);
    out.push(`  indexing from empty, in the background:  ${indexS.toFixed(1)} s (${status.lastSync?.embedded} embedded) — target ≤ ${TARGET_INDEX_S} s: ${indexS <= TARGET_INDEX_S ? "met" : "MISSED"}`);
    out.push(`  event loop held during indexing:         max ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms`);
    out.push(`  a search during indexing:                ${ms(duringMs)} (${during.ranking}: ${during.degraded ?? ""})`);
    out.push(`  search, hybrid, query embedded offline:  p50 ${ms(l.p50)}, p99 ${ms(l.p99)} (${l.n} distinct queries) — target p50 ≤ ${TARGET_P50_MS} ms: ${l.p50 <= TARGET_P50_MS ? "met" : "MISSED"}`);
    out.push(`  search, hybrid, repeated query (cached): p50 ${ms(c.p50)}, p99 ${ms(c.p99)}`);
    out.push(`  search, BM25F alone:                     p50 ${ms(x.p50)}, p99 ${ms(x.p99)}`);
    out.push(`  process RSS with ${TOOLS.toLocaleString("en-US")} tools indexed:     ${mb(rss / 1024)} (before the catalog: ${mb(rssBefore / 1024)}; the model's worker thread and PGlite included)`);
    await router.stop();
  } finally {
    await db.close();
  }
  return out;
}
