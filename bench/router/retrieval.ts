// Tool retrieval quality, side by side for BM25F alone, the semantic signal alone and the hybrid
// default, through RouterService.search as the hub runs it (exact backend, PGlite, the offline
// model), on two differently shaped sets:
//   - MetaTool (HowieHwong/MetaTool, MIT; metatool/SOURCE.txt): 199 plugin tools, hit@1/5/10 and
//     MRR@10 on its fixed 1,000-query sample, full-recall@10 on its 497 two-tool queries;
//   - catalog-tasks (catalog-tasks/README.md): 150 real MCP tools of 10 servers, 157 task-style
//     queries written blind to the ranker, single and multi-tool.
// Then the scale run (scale.ts): 10,000 tools. Numbers are printed, never asserted.
//
//   npx tsx bench/router/retrieval.ts            (BENCH_RETRIEVAL_SCALE=0 skips the 10,000-tool run)
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { McpObject } from "../../packages/contracts/src/index.ts";
import { openDatabase } from "../../packages/db/src/index.ts";
import { createLogger, HubMetrics } from "../../packages/observability/src/index.ts";
import { EmbeddingRepository, RouterService, UseEmbedder, type Embedder } from "../../apps/router/src/index.ts";
import { StaticCatalog } from "../../apps/router/src/static-catalog.ts";
import { latency, ms, table } from "../lib/stats.ts";
import { runScale } from "./scale.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const jsonl = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

interface Query {
  id: string;
  query: string;
  /** MetaTool: tool names; catalog-tasks: `server/tool`. */
  gold_tools: string[];
  kind?: "single" | "multi";
}

interface EvalSet {
  name: string;
  tools: Record<string, McpObject[]>;
  /** Scored on the first relevant result: hit@k, MRR@10. */
  ranked: { label: string; queries: Query[] }[];
  /** Scored on all gold tools in the top 10. */
  recall: { label: string; queries: Query[] }[];
  key: (server: string, tool: string) => string;
}

const SIGNALS = [
  { signals: "lexical", label: "BM25F alone" },
  { signals: "semantic", label: "semantic alone" },
  { signals: "hybrid", label: "hybrid (default)" },
] as const;

interface Row {
  set: string;
  queries: string;
  ranker: string;
  n: number;
  hit1?: number;
  hit5?: number;
  hit10?: number;
  mrr10?: number;
  recall10?: number;
  p50?: number;
}

async function loadSets(): Promise<EvalSet[]> {
  const sets: EvalSet[] = [];
  const mtTools = await jsonl<{ name: string; description: string }>(join(here, "metatool/tools.jsonl"));
  sets.push({
    name: "MetaTool",
    tools: { metatool: mtTools.map((t) => ({ name: t.name, description: t.description })) },
    ranked: [{ label: "single, sample 1000", queries: await jsonl<Query>(join(here, "metatool/queries_single_sample1000.jsonl")) }],
    recall: [{ label: "multi (497)", queries: await jsonl<Query>(join(here, "metatool/queries_multi.jsonl")) }],
    key: (_server, tool) => tool,
  });
  const ct = join(here, "catalog-tasks");
  if (existsSync(join(ct, "queries.jsonl"))) {
    const tools: Record<string, McpObject[]> = {};
    for (const t of await jsonl<{ server: string; name: string; description: string; inputSchema: unknown }>(join(ct, "tools.jsonl"))) {
      (tools[t.server] ??= []).push({ name: t.name, description: t.description, ...(t.inputSchema ? { inputSchema: t.inputSchema } : {}) });
    }
    const queries = await jsonl<Query>(join(ct, "queries.jsonl"));
    sets.push({
      name: "catalog-tasks",
      tools,
      ranked: [
        { label: `all (${queries.length})`, queries },
        { label: "single", queries: queries.filter((q) => q.kind === "single") },
        { label: "multi", queries: queries.filter((q) => q.kind === "multi") },
      ],
      recall: [{ label: "multi", queries: queries.filter((q) => q.kind === "multi") }],
      key: (server, tool) => `${server}/${tool}`,
    });
  } else {
    log("catalog-tasks: not there yet (bench/router/catalog-tasks/queries.jsonl), skipped");
  }
  return sets;
}

/**
 * The baseline the targets are set against: textbook BM25 (k1 1.2, b 0.75) over each tool's name
 * and description, lowercased and split on non-letters, no stemming, no identifier splitting,
 * no fields: what "BM25" means in the smart-routing issue's figures.
 */
function plainBm25(set: EvalSet): (query: string) => string[] {
  const tokens = (t: string) => t.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const docs = Object.entries(set.tools).flatMap(([server, list]) => list.map((t) => ({ key: set.key(server, t.name), terms: tokens(`${t.name} ${String(t.description ?? "")}`) })));
  const df = new Map<string, number>();
  for (const d of docs) for (const t of new Set(d.terms)) df.set(t, (df.get(t) ?? 0) + 1);
  const avg = docs.reduce((s, d) => s + d.terms.length, 0) / docs.length;
  const tfs = docs.map((d) => {
    const m = new Map<string, number>();
    for (const t of d.terms) m.set(t, (m.get(t) ?? 0) + 1);
    return m;
  });
  return (query) => {
    const q = new Set(tokens(query));
    const scored = docs.map((d, i) => {
      let s = 0;
      for (const t of q) {
        const tf = tfs[i]!.get(t);
        if (!tf) continue;
        const idf = Math.log(1 + (docs.length - df.get(t)! + 0.5) / (df.get(t)! + 0.5));
        s += (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * d.terms.length) / avg));
      }
      return { key: d.key, s };
    });
    return scored.filter((x) => x.s > 0).sort((a, b) => b.s - a.s || (a.key < b.key ? -1 : 1)).slice(0, 10).map((x) => x.key);
  };
}

function scoreRanker(set: EvalSet, label: string, rank: (q: Query) => string[]): Row[] {
  const rows: Row[] = [];
  for (const part of set.ranked) {
    let hit1 = 0, hit5 = 0, hit10 = 0, mrr = 0;
    for (const q of part.queries) {
      const found = rank(q).findIndex((k) => q.gold_tools.includes(k)) + 1;
      if (found === 1) hit1++;
      if (found >= 1 && found <= 5) hit5++;
      if (found >= 1) {
        hit10++;
        mrr += 1 / found;
      }
    }
    const n = part.queries.length;
    rows.push({ set: set.name, queries: part.label, ranker: label, n, hit1: hit1 / n, hit5: hit5 / n, hit10: hit10 / n, mrr10: mrr / n });
  }
  for (const part of set.recall) {
    const full = part.queries.filter((q) => {
      const top = new Set(rank(q));
      return q.gold_tools.every((g) => top.has(g));
    }).length;
    rows.push({ set: set.name, queries: part.label, ranker: label, n: part.queries.length, recall10: full / part.queries.length });
  }
  return rows;
}

async function evaluate(set: EvalSet, embedder: Embedder, dataDir: string): Promise<Row[]> {
  const db = await openDatabase({ dataDir: join(dataDir, set.name) });
  const logger = createLogger({ level: "warn", service: "bench-router" });
  const metrics = new HubMetrics({ defaultMetrics: false });
  const source = new StaticCatalog(set.tools);
  const bm25 = plainBm25(set);
  const rows: Row[] = scoreRanker(set, "BM25 (plain)", (q) => bm25(q.query));
  try {
    for (const { signals, label } of SIGNALS) {
      const router = new RouterService({ source, repository: new EmbeddingRepository(db.db), embedder, useVector: false, logger, metrics, signals });
      const t0 = performance.now();
      await router.sync();
      const status = router.status();
      if (!status.ready) throw new Error(`indexing failed: ${status.lastError}`);
      if (status.lastSync?.embedded) log(`${set.name}: ${status.tools} tools embedded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const rank = async (q: Query, times: number[]) => {
        const t = performance.now();
        const answer = await router.search({ query: q.query, limit: 10 });
        times.push(performance.now() - t);
        if (answer.ranking !== (signals === "lexical" ? "lexical" : "hybrid")) throw new Error(`${label} answered ${answer.ranking}: ${answer.degraded}`);
        return answer.results.map((r) => set.key(r.server, r.tool));
      };
      for (const part of set.ranked) {
        const times: number[] = [];
        let hit1 = 0;
        let hit5 = 0;
        let hit10 = 0;
        let mrr = 0;
        for (const q of part.queries) {
          const found = (await rank(q, times)).findIndex((k) => q.gold_tools.includes(k)) + 1;
          if (found === 1) hit1++;
          if (found >= 1 && found <= 5) hit5++;
          if (found >= 1) {
            hit10++;
            mrr += 1 / found;
          }
        }
        const n = part.queries.length;
        // Latency of the first pass only: later parts repeat its queries, which the router has cached.
        const first = part === set.ranked[0];
        rows.push({ set: set.name, queries: part.label, ranker: label, n, hit1: hit1 / n, hit5: hit5 / n, hit10: hit10 / n, mrr10: mrr / n, p50: first ? latency(times).p50 : undefined });
      }
      for (const part of set.recall) {
        const times: number[] = [];
        let full = 0;
        for (const q of part.queries) {
          const top = new Set(await rank(q, times));
          if (q.gold_tools.every((g) => top.has(g))) full++;
        }
        rows.push({ set: set.name, queries: part.label, ranker: label, n: part.queries.length, recall10: full / part.queries.length, p50: set.name === "MetaTool" ? latency(times).p50 : undefined });
      }
      await router.stop();
    }
  } finally {
    await db.close();
  }
  return rows;
}

/** Runs every set and, unless BENCH_RETRIEVAL_SCALE=0, the 10,000-tool run; returns the report's lines. */
export async function runRetrieval(): Promise<string[]> {
  const dataDir = await mkdtemp(join(tmpdir(), "mcphub-bench-retrieval-"));
  const embedder = new UseEmbedder();
  const out: string[] = [];
  try {
    const rows: Row[] = [];
    for (const set of await loadSets()) rows.push(...(await evaluate(set, embedder, dataDir)));
    const f = (v: number | undefined) => (v === undefined ? "" : v.toFixed(3));
    out.push(`tool retrieval — RouterService.search, model ${embedder.model}, exact backend, limit 10 (search p50: distinct queries, the query embedded offline)`);
    out.push(
      table(
        ["set", "queries", "ranker", "n", "hit@1", "hit@5", "hit@10", "MRR@10", "full-recall@10", "search p50"],
        rows.map((r) => [r.set, r.queries, r.ranker, String(r.n), f(r.hit1), f(r.hit5), f(r.hit10), f(r.mrr10), f(r.recall10), ms(r.p50)]),
      ),
    );
    out.push("");
    out.push("targets (printed, not asserted):");
    const get = (set: string, ranker: string) => rows.find((r) => r.set === set && r.ranker === ranker && r.hit5 !== undefined);
    const mtHybrid = get("MetaTool", "hybrid (default)");
    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
    if (mtHybrid) {
      out.push(`  MetaTool hybrid hit@5 ≥ 0.72: ${f(mtHybrid.hit5)} — ${verdict(mtHybrid.hit5! >= 0.72)}`);
      out.push(`  MetaTool hybrid MRR@10 ≥ 0.55: ${f(mtHybrid.mrr10)} — ${verdict(mtHybrid.mrr10! >= 0.55)}`);
    }
    for (const set of ["MetaTool", "catalog-tasks"]) {
      const h = get(set, "hybrid (default)");
      for (const base of ["BM25 (plain)", "BM25F alone"]) {
        const b = get(set, base);
        if (h && b) out.push(`  ${set}: hybrid beats ${base} by ≥ 0.10 hit@5: ${(h.hit5! - b.hit5!).toFixed(3)} — ${verdict(h.hit5! - b.hit5! >= 0.1 - 1e-9)}`);
      }
    }
    if (process.env.BENCH_RETRIEVAL_SCALE !== "0") {
      out.push("");
      out.push(...(await runScale(embedder, dataDir)));
    }
  } finally {
    await embedder.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await runRetrieval();
  process.stdout.write(`\n${lines.join("\n")}\n`);
}
