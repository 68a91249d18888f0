/**
 * How the lexical and semantic signals become one score in [0, 1].
 *
 * Each signal is put on an absolute scale first, so a score means the same thing from one query
 * to the next and the settings' threshold can apply to it:
 * - lexical: BM25F divided by the query's attainable maximum (LexicalIndex), i.e. how much of
 *   the query's weighted vocabulary the tool matches;
 * - semantic: the cosine similarity mapped linearly from [low, high] to [0, 1] (clamped): below
 *   `low` a sentence encoder's cosine says "unrelated", above `high` "the same request".
 * Then a weighted sum, stretched for reporting (REPORTED_EXPONENT). Compared with reciprocal-rank fusion, which keeps only ranks, a tool that
 * matches a rare word or its exact name keeps its large lexical lead, and a confident semantic
 * match its semantic one (bench/router/retrieval.ts prints both).
 */
export interface FusionParams {
  /** Weight of the semantic signal; the lexical one gets the rest. */
  semanticWeight: number;
  semanticLow: number;
  semanticHigh: number;
  /** Candidates taken from each signal before fusing (the semantic backend returns this many). */
  candidates: number;
}

export const FUSION_DEFAULTS: FusionParams = { semanticWeight: 0.5, semanticLow: 0.1, semanticHigh: 0.9, candidates: 100 };

/**
 * The fused sum is raised to this power before it is reported: a monotone stretch (the ranking
 * is unchanged) that puts the settings' default threshold, 0.3, where it keeps about nine in ten
 * relevant tools of a top 10 and drops about half of the others (MetaTool queries outside the
 * benchmark's sample: 0.89 / 0.56; catalog-tasks: 0.97 / 0.87; bench/router/tune.ts). The raw sum
 * would drop a third of the relevant tools at 0.3.
 */
const REPORTED_EXPONENT = 0.75;

export function calibrateSemantic(cosine: number, p: FusionParams): number {
  return Math.min(1, Math.max(0, (cosine - p.semanticLow) / (p.semanticHigh - p.semanticLow)));
}

export interface Fused {
  contentId: string;
  score: number;
}

/**
 * `lexical`: normalised scores (0..1) of the tools sharing a word with the query; `semantic`:
 * cosines of the `candidates` closest tools, and `semanticFloor`, the lowest of them, stands in
 * for every tool outside (an upper bound of its cosine; the same for pgvector and the exact
 * search, so both backends fuse alike). Ties go by content id.
 */
export function fuse(lexical: Map<string, number>, semantic: Map<string, number> | undefined, semanticFloor: number, p: FusionParams): Fused[] {
  const out: Fused[] = [];
  if (!semantic) {
    for (const [contentId, score] of lexical) out.push({ contentId, score });
  } else {
    const w = p.semanticWeight;
    const floor = calibrateSemantic(semanticFloor, p);
    for (const [contentId, cos] of semantic) out.push({ contentId, score: w * calibrateSemantic(cos, p) + (1 - w) * (lexical.get(contentId) ?? 0) });
    for (const [contentId, lex] of lexical) if (!semantic.has(contentId)) out.push({ contentId, score: w * floor + (1 - w) * lex });
  }
  for (const f of out) f.score = Math.pow(f.score, REPORTED_EXPONENT);
  return out.sort((a, b) => b.score - a.score || (a.contentId < b.contentId ? -1 : a.contentId > b.contentId ? 1 : 0));
}
