import { stemmer } from "stemmer";

/**
 * Words that say nothing about which tool fits ("can you get me the ..."). BM25's idf already
 * discounts common words, but in a catalog of a few hundred tools "the" is not common enough to
 * vanish, and a query of twenty words would otherwise be matched on its filler.
 */
const STOP_WORDS = new Set(
  (
    "a an and are as at be been but by can could do does for from has have how i if in into is it its " +
    "let me my of on or our please so some than that the their them then there these this those to us " +
    "was we what when where which who will with would you your just also about any all like need want " +
    "s t"
  ).split(" "),
);

/** "getWeatherForecast", "get_weather-forecast" and "Get weather forecast" give the same words. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** The terms a text is indexed and searched by: its words without stop words, Porter-stemmed. */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) if (!STOP_WORDS.has(w)) out.push(stemmer(w));
  return out;
}

/** A tool as the lexical ranker sees it: one text per field. */
export interface LexicalDoc {
  name: string;
  description: string;
  /** Parameter names and their descriptions. */
  params: string;
  server: string;
}

export type Field = keyof LexicalDoc;
const FIELDS: Field[] = ["name", "description", "params", "server"];

/**
 * BM25F field weights and length normalisation. The name says most about a tool and is short,
 * so it weighs most and is not length-normalised; parameters repeat what the description says
 * in longer words and weigh less. Measured on MetaTool queries outside the benchmark's sample
 * (bench/router/retrieval.ts).
 */
export interface Bm25Params {
  k1: number;
  weights: Record<Field, number>;
  b: Record<Field, number>;
}

export const BM25_DEFAULTS: Bm25Params = {
  k1: 1.2,
  weights: { name: 2.5, description: 1, params: 0.5, server: 1 },
  b: { name: 0.3, description: 0.75, params: 0.75, server: 0.3 },
};

interface Posting {
  doc: number;
  /** Term frequency per field, in FIELDS order. */
  tf: Float32Array;
}

export interface LexicalMatch {
  doc: number;
  /** The raw BM25F score. */
  score: number;
}

/**
 * An in-memory BM25F index over a fixed list of documents (rebuilt when the catalog changes:
 * 10,000 tools take tens of milliseconds). Scores are also given normalised: divided by the
 * query's attainable maximum (the sum of its terms' idf), so 1 means every query term matched
 * a tool saturatedly and the number is comparable across queries.
 */
export class LexicalIndex {
  private readonly postings = new Map<string, Posting[]>();
  private readonly lengths: Float32Array[];
  private readonly avg: number[];
  readonly size: number;

  constructor(
    docs: LexicalDoc[],
    private readonly params: Bm25Params = BM25_DEFAULTS,
  ) {
    this.size = docs.length;
    this.lengths = FIELDS.map(() => new Float32Array(docs.length));
    docs.forEach((doc, d) => {
      const counts = new Map<string, Float32Array>();
      FIELDS.forEach((field, f) => {
        const ts = terms(doc[field]);
        this.lengths[f]![d] = ts.length;
        for (const t of ts) {
          let tf = counts.get(t);
          if (!tf) counts.set(t, (tf = new Float32Array(FIELDS.length)));
          tf[f]!++;
        }
      });
      for (const [t, tf] of counts) {
        let list = this.postings.get(t);
        if (!list) this.postings.set(t, (list = []));
        list.push({ doc: d, tf });
      }
    });
    this.avg = this.lengths.map((l) => (l.length ? l.reduce((s, x) => s + x, 0) / l.length : 0) || 1);
  }

  idf(term: string): number {
    const df = this.postings.get(term)?.length ?? 0;
    return Math.log(1 + (this.size - df + 0.5) / (df + 0.5));
  }

  /**
   * Every document that shares a term with the query, with its BM25F score, and the query's
   * attainable maximum. `allowed` (document numbers) restricts the candidates.
   */
  search(query: string, allowed?: (doc: number) => boolean): { matches: LexicalMatch[]; max: number } {
    const { k1, weights, b } = this.params;
    const w = FIELDS.map((f) => weights[f]);
    const bs = FIELDS.map((f) => b[f]);
    const scores = new Map<number, number>();
    let max = 0;
    for (const term of new Set(terms(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = this.idf(term);
      max += idf;
      for (const p of list) {
        if (allowed && !allowed(p.doc)) continue;
        let tf = 0;
        for (let f = 0; f < FIELDS.length; f++) {
          const n = p.tf[f]!;
          if (n) tf += (w[f]! * n) / (1 - bs[f]! + (bs[f]! * this.lengths[f]![p.doc]!) / this.avg[f]!);
        }
        scores.set(p.doc, (scores.get(p.doc) ?? 0) + (idf * tf) / (k1 + tf));
      }
    }
    return { matches: [...scores].map(([doc, score]) => ({ doc, score })), max };
  }
}
