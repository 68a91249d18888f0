// Tunes the fusion on queries the benchmark does not score: MetaTool's queries outside its
// 1,000-query sample (a fixed 1,500 of them), and reports the catalog-tasks set beside it as a
// check. Signals are computed once per query, then the fusion is swept in memory.
//
//   npx tsx bench/router/tune.ts [--bm25 name=2.5,description=1,...]
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { BM25_DEFAULTS, LexicalIndex, type Bm25Params } from "../../apps/router/src/lexical.ts";
import { calibrateSemantic, FUSION_DEFAULTS, fuse, type FusionParams } from "../../apps/router/src/fusion.ts";
import { StaticCatalog } from "../../apps/router/src/static-catalog.ts";
import { catalogTools, nameWords, type ToolItem } from "../../apps/router/src/tool-text.ts";
import { UseEmbedder } from "../../apps/router/src/use.embedder.ts";
import type { McpObject } from "../../packages/contracts/src/index.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const shared = process.env.METATOOL_FULL ?? fileURLToPath(new URL("../../../shared/data/retrieval/metatool/", import.meta.url));
const jsonl = async <T>(file: string): Promise<T[]> => (await readFile(file, "utf8")).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as T);

interface Q { id: string; query: string; gold_tools: string[] }
interface Set { name: string; items: ToolItem[]; queries: Q[]; gold: (q: Q, item: ToolItem) => boolean }

const mtTools = await jsonl<{ name: string; description: string }>(join(here, "metatool/tools.jsonl"));
const sample = new globalThis.Set((await jsonl<Q>(join(here, "metatool/queries_single_sample1000.jsonl"))).map((q) => q.query));
const all = (await jsonl<Q>(join(shared, "queries_single.jsonl"))).filter((q) => !sample.has(q.query));
// A fixed, spread-out subset: every k-th query.
const step = Math.floor(all.length / 1500);
const holdout = all.filter((_, i) => i % step === 0).slice(0, 1500);
const mtItems = catalogTools(StaticCatalog.snapshot({ metatool: mtTools.map((t) => ({ name: t.name, description: t.description })) }, 1));
const ctTools = await jsonl<McpObject & { server: string }>(join(here, "catalog-tasks/tools.jsonl"));
const byServer: Record<string, McpObject[]> = {};
for (const t of ctTools) (byServer[t.server] ??= []).push({ name: t.name, description: t.description, inputSchema: t.inputSchema ?? undefined });
const ctItems = catalogTools(StaticCatalog.snapshot(byServer, 1));
const ctQueries = await jsonl<Q>(join(here, "catalog-tasks/queries.jsonl"));
const sets: Set[] = [
  { name: "metatool-holdout", items: mtItems, queries: holdout, gold: (q, i) => q.gold_tools.includes(i.tool) },
  { name: "catalog-tasks", items: ctItems, queries: ctQueries, gold: (q, i) => q.gold_tools.includes(i.contentId) },
];

const embedder = new UseEmbedder();
const bm25: Bm25Params = structuredClone(BM25_DEFAULTS);
for (const arg of process.argv.slice(2)) {
  for (const kv of arg.split(",")) {
    const [k, v] = kv.split("=");
    if (k === "k1") bm25.k1 = Number(v);
    else if (k!.startsWith("b.")) bm25.b[k!.slice(2) as keyof Bm25Params["b"]] = Number(v);
    else bm25.weights[k as keyof Bm25Params["weights"]] = Number(v);
  }
}

interface Prepared { set: Set; lex: Map<string, number>[]; sem: Map<string, number>[]; server: Map<string, number>[] }
const docVariant = process.env.DOC ?? "name-description";
const docText = (i: ToolItem) =>
  docVariant === "description" ? i.description || i.text : docVariant === "server-name-description" ? `${i.server} ${i.text}` : docVariant === "first-sentence" ? `${i.text.split(/(?<=[.!?])\s/)[0]}` : i.text;
const prepared: Prepared[] = [];
for (const set of sets) {
  const t0 = performance.now();
  const full = await embedder.embed(set.items.map(docText));
  const names = await embedder.embed(set.items.map((i) => nameWords(i.tool)));
  const alpha = Number(process.env.ALPHA ?? 1);
  // A second view of each tool: its name alone (the action it names), mixed into the full text's vector.
  const docs = full.map((v, d) => {
    const m = v.map((x, i) => alpha * x + (1 - alpha) * names[d]![i]!);
    const n = Math.hypot(...m);
    return m.map((x) => x / n);
  });
  const qv = await embedder.embed(set.queries.map((q) => q.query), { query: true });
  process.stderr.write(`${set.name}: ${set.items.length} tools, ${set.queries.length} queries embedded in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const index = new LexicalIndex(set.items.map((i) => i.lexical), bm25);
  const lex = set.queries.map((q) => {
    const { matches, max } = index.search(q.query);
    return new Map(matches.map((m) => [set.items[m.doc]!.contentId, max ? m.score / max : 0]));
  });
  const sem = qv.map((v) => new Map(set.items.map((item, d) => [item.contentId, docs[d]!.reduce((s, x, i) => s + x * v[i]!, 0)])));
  // Server-level evidence: the cosine of the query to the mean of the server's tool vectors (MCP-Zero's server stage, as a prior).
  const centroids = new Map<string, number[]>();
  set.items.forEach((item, d) => {
    const c = centroids.get(item.server) ?? new Array(512).fill(0);
    docs[d]!.forEach((x, i) => (c[i] += x));
    centroids.set(item.server, c);
  });
  for (const c of centroids.values()) { const n = Math.hypot(...c); c.forEach((x, i) => (c[i] = x / n)); }
  const server = qv.map((v) => new Map([...centroids].map(([sv, c]) => [sv, c.reduce((s, x, i) => s + x * v[i]!, 0)])));
  prepared.push({ set, lex, sem, server });
}
await embedder.close();

let serverWeight = 0;
function evaluate(p: Prepared, mode: "lexical" | "semantic" | "hybrid", fp: FusionParams) {
  let h1 = 0, h5 = 0, h10 = 0, mrr = 0;
  p.set.queries.forEach((q, n) => {
    const semAll = [...p.sem[n]!].sort((a, b) => b[1] - a[1]);
    const top = new Map(semAll.slice(0, fp.candidates));
    const floor = semAll[Math.min(fp.candidates, semAll.length) - 1]![1];
    let fused = mode === "lexical" ? fuse(p.lex[n]!, undefined, 0, fp) : mode === "semantic" ? fuse(new Map(), top, floor, { ...fp, semanticWeight: 1 }) : fuse(p.lex[n]!, top, floor, fp);
    const items = new Map(p.set.items.map((i) => [i.contentId, i]));
    if (serverWeight && mode === "hybrid") {
      fused = fused.map((f) => ({ contentId: f.contentId, score: f.score + serverWeight * calibrateSemantic(p.server[n]!.get(items.get(f.contentId)!.server)!, fp) }));
      fused.sort((a, b) => b.score - a.score);
    }
    const rank = fused.slice(0, 10).findIndex((f) => p.set.gold(q, items.get(f.contentId)!)) + 1;
    if (rank === 1) h1++;
    if (rank >= 1 && rank <= 5) h5++;
    if (rank >= 1) { h10++; mrr += 1 / rank; }
  });
  const n = p.set.queries.length;
  return { h1: h1 / n, h5: h5 / n, h10: h10 / n, mrr: mrr / n };
}
const fmt = (r: { h1: number; h5: number; h10: number; mrr: number }) => `h@1 ${r.h1.toFixed(3)} h@5 ${r.h5.toFixed(3)} h@10 ${r.h10.toFixed(3)} mrr ${r.mrr.toFixed(3)}`;
for (const p of prepared) {
  console.log(`${p.set.name}  lexical  ${fmt(evaluate(p, "lexical", FUSION_DEFAULTS))}`);
  console.log(`${p.set.name}  semantic ${fmt(evaluate(p, "semantic", FUSION_DEFAULTS))}`);
}
// Cosine distribution of gold vs others, to place the calibration's low and high.
for (const p of prepared) {
  const gold: number[] = [], other: number[] = [];
  p.set.queries.forEach((q, n) => { for (const i of p.set.items) (p.set.gold(q, i) ? gold : other).push(p.sem[n]!.get(i.contentId)!); });
  const pct = (a: number[], x: number) => a.sort((m, k) => m - k)[Math.floor(a.length * x)]!.toFixed(3);
  console.log(`${p.set.name} cosine gold p10/p50/p90 ${pct(gold, 0.1)}/${pct(gold, 0.5)}/${pct(gold, 0.9)}  others p50/p90/p99 ${pct(other, 0.5)}/${pct(other, 0.9)}/${pct(other, 0.99)}`);
}
const grid: FusionParams[] = [];
for (const w of [0.4, 0.5, 0.6, 0.7, 0.8]) for (const lo of [0, 0.1, 0.2]) for (const hi of [0.6, 0.75, 0.9]) grid.push({ semanticWeight: w, semanticLow: lo, semanticHigh: hi, candidates: 100 });
const rows = grid.flatMap((fp) => [0, 0.1, 0.2, 0.3].map((sw) => { serverWeight = sw; return { fp, sw, r: prepared.map((p) => evaluate(p, "hybrid", fp)) }; }));
const objective = (r: { h5: number; mrr: number }[]) => r.reduce((s, x) => s + x.h5 + x.mrr, 0);
rows.sort((a, b) => objective(b.r) - objective(a.r));
for (const { fp, sw, r } of rows.slice(0, 15)) console.log(`w ${fp.semanticWeight} lo ${fp.semanticLow} hi ${fp.semanticHigh} server ${sw}: ${r.map((x, i) => `${prepared[i]!.set.name} ${fmt(x)}`).join(" | ")}`);
serverWeight = 0;
console.log(`default: ${prepared.map((p) => `${p.set.name} ${fmt(evaluate(p, "hybrid", FUSION_DEFAULTS))}`).join(" | ")}`);
void calibrateSemantic;
// Where the settings' threshold bites: the share of gold tools in the top 10 that a threshold keeps, and of other tools it drops.
for (const p of prepared) {
  const gold: number[] = [], other: number[] = [];
  p.set.queries.forEach((q, n) => {
    const semAll = [...p.sem[n]!].sort((a, b) => b[1] - a[1]);
    const top = new Map(semAll.slice(0, 100));
    const fused = fuse(p.lex[n]!, top, semAll[Math.min(100, semAll.length) - 1]![1], FUSION_DEFAULTS).slice(0, 10);
    const items = new Map(p.set.items.map((i) => [i.contentId, i]));
    for (const f of fused) (p.set.gold(q, items.get(f.contentId)!) ? gold : other).push(f.score);
  });
  const keep = (a: number[], t: number) => (a.filter((x) => x >= t).length / a.length).toFixed(2);
  console.log(`${p.set.name} threshold: ${[0.1, 0.15, 0.2, 0.25, 0.3, 0.35].map((t) => `${t}: gold kept ${keep(gold, t)}, others kept ${keep(other, t)}`).join("; ")}`);
}
