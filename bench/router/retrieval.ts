// Tool retrieval quality on the public MetaTool set: index its 199 tools with the router's
// embedder, run the 1,000 sample queries through RouterService.search and print hit@1/5/10 and
// MRR@10, for pgvector (PGlite) and for the exact in-process ranking over the same rows (which
// must agree). Numbers are printed, never asserted.
//
//   npx tsx bench/router/retrieval.ts
//   METATOOL_DIR=…  (default: the copy beside this file; METATOOL_QUERIES=queries_single.jsonl for the full set)
//   BENCH_DATABASE_URL=postgres://…  (default: PGlite in a temp dir)
//   OPENAI_API_KEY=… [OPENAI_BASE_URL=…] [EMBEDDING_MODEL=…]  (default: the local embedder)
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../packages/db/src/index.ts";
import { createLogger, HubMetrics } from "../../packages/observability/src/index.ts";
import { createEmbedder, EmbeddingRepository, RouterService } from "../../apps/router/src/index.ts";
import { StaticCatalog } from "../../apps/router/src/static-catalog.ts";
import { latency, ms, table } from "../lib/stats.ts";

// MetaTool (HowieHwong/MetaTool, MIT; see metatool/SOURCE.txt and LICENSE): its tools and a fixed sample of its queries.
const dir = process.env.METATOOL_DIR ?? fileURLToPath(new URL("./metatool/", import.meta.url));
const queriesFile = process.env.METATOOL_QUERIES ?? "queries_single_sample1000.jsonl";
const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface Tool {
  name: string;
  description: string;
}
interface Query {
  id: string;
  query: string;
  gold_tools: string[];
}

const jsonl = async <T>(file: string): Promise<T[]> =>
  (await readFile(join(dir, file), "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

const tools = await jsonl<Tool>("tools.jsonl");
const queries = await jsonl<Query>(queriesFile);
log(`MetaTool: ${tools.length} tools, ${queries.length} queries (${queriesFile})`);

const logger = createLogger({ level: "warn", service: "bench-router" });
const hubMetrics = new HubMetrics({ defaultMetrics: false });
const dataDir = await mkdtemp(join(tmpdir(), "mcphub-bench-router-"));
const db = await openDatabase({ url: process.env.BENCH_DATABASE_URL, dataDir });
const embedder = createEmbedder(
  {
    openaiApiKey: process.env.OPENAI_API_KEY || undefined,
    openaiBaseUrl: process.env.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
    model: process.env.EMBEDDING_MODEL ?? "text-embedding-3-small",
  },
  logger,
);
const source = new StaticCatalog({ metatool: tools.map((t) => ({ name: t.name, description: t.description })) });
const repository = new EmbeddingRepository(db.db);
const metrics = hubMetrics;

interface Scores {
  backend: string;
  hit1: number;
  hit5: number;
  hit10: number;
  mrr10: number;
  searchMs: number[];
  rankings: string[][];
}

async function evaluate(useVector: boolean): Promise<Scores> {
  const router = new RouterService({ source, repository, embedder, useVector, logger, metrics });
  const started = Date.now();
  await router.sync();
  const report = router.status();
  if (!report.ready) throw new Error(`indexing failed: ${report.lastError}`);
  log(`${report.backend}: ${report.tools} tools indexed in ${Date.now() - started} ms (embedded ${report.lastSync?.embedded}, reused ${report.lastSync?.reused})`);
  const s: Scores = { backend: report.backend, hit1: 0, hit5: 0, hit10: 0, mrr10: 0, searchMs: [], rankings: [] };
  for (const q of queries) {
    const t0 = performance.now();
    const { results } = await router.search({ query: q.query, limit: 10 });
    s.searchMs.push(performance.now() - t0);
    const names = results.map((r) => r.tool);
    s.rankings.push(names);
    const rank = names.findIndex((n) => q.gold_tools.includes(n)) + 1;
    if (rank === 1) s.hit1++;
    if (rank >= 1 && rank <= 5) s.hit5++;
    if (rank >= 1) {
      s.hit10++;
      s.mrr10 += 1 / rank;
    }
  }
  await router.stop();
  return s;
}

try {
  const runs: Scores[] = [];
  if (db.hasVector) runs.push(await evaluate(true));
  runs.push(await evaluate(false));
  const n = queries.length;
  const pct = (v: number) => `${((100 * v) / n).toFixed(1)}%`;
  console.log(`\nMetaTool tool retrieval — ${tools.length} tools, ${n} queries, model ${embedder.model}, database ${db.kind}\n`);
  console.log(
    table(
      ["backend", "hit@1", "hit@5", "hit@10", "MRR@10", "search p50", "search p99"],
      runs.map((r) => {
        const l = latency(r.searchMs);
        return [r.backend, pct(r.hit1), pct(r.hit5), pct(r.hit10), (r.mrr10 / n).toFixed(3), ms(l.p50), ms(l.p99)];
      }),
    ),
  );
  if (runs.length === 2) {
    const same = runs[0]!.rankings.filter((r, i) => JSON.stringify(r) === JSON.stringify(runs[1]!.rankings[i])).length;
    console.log(`\npgvector and exact rankings identical for ${same} of ${n} queries`);
  }
} finally {
  await embedder.close?.();
  await db.close();
  await rm(dataDir, { recursive: true, force: true });
}
