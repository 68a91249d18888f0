import type { Embedder } from "./embedder.ts";

/**
 * Words that say nothing about which tool fits ("can you get me the ..."). Dropping them
 * matters more here than in a trained model: hashed features have no learned weights, so a
 * shared "the" would count as much as a shared "weather".
 */
const STOP_WORDS = new Set(
  (
    "a an and are as at be been but by can could do does for from get give has have help how i if in into is it its " +
    "let me my of on or our please show so some tell than that the their them then there these this those to us " +
    "use using want was we what when where which who will with would you your returns return provides allows lets " +
    "find any all also about just need like " +
    // Words that tool descriptions use everywhere ("an AI-powered tool that provides information ...").
    "tool tools information powered more most such through including various specific within etc based easily quickly ai app service other way best s t"
  ).split(" "),
);

/**
 * Word features count fully; character trigrams catch morphology and typos at a lower weight.
 * Measured on MetaTool queries outside the benchmark's sample (bench/router/retrieval.ts):
 * trigrams at 0.3 beat 0.1 and 0.5, word pairs made it worse, and 1,024 buckets beat 512 by
 * about 2 points of hit@1 (fewer collisions) at 4 KB per stored vector; 2,048 would add
 * another 1.5 at twice the size.
 */
const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.3;

/** FNV-1a, 32 bits: fast, stable across platforms and releases, good enough spread for feature hashing. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** "getWeatherForecast", "get_weather-forecast" and "Get weather forecast" give the same words. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** A light suffix stripper: "numbers"/"number", "searching"/"search", "files"/"file". */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith("ing") && word.length > 5) return word.slice(0, -3);
  if (word.endsWith("ed") && word.length > 4) return word.slice(0, -2);
  if (word.endsWith("es") && /(?:ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us") && !word.endsWith("is")) return word.slice(0, -1);
  return word;
}

/**
 * A deterministic, offline embedder: words and their character trigrams hashed into a
 * fixed number of signed buckets (the "hashing trick"), sublinear term frequency, L2-normalised.
 * It needs no model files and no network, so all-in-one works offline; it ranks by shared
 * vocabulary, not meaning ("sum" does not find "add"), which an OpenAI-compatible model fixes.
 */
export class LocalEmbedder implements Embedder {
  readonly model: string;

  constructor(readonly dimensions = 1024) {
    // The version suffix changes when the features change, so stored vectors are redone.
    this.model = `local-hash-v1-${dimensions}`;
  }

  async embed(texts: string[]): Promise<number[][]> {
    return texts.map((t) => this.embedOne(t));
  }

  embedOne(text: string): number[] {
    const features = new Map<string, number>();
    const add = (feature: string, weight: number) => features.set(feature, (features.get(feature) ?? 0) + weight);
    const all = words(text);
    let content = all.filter((w) => !STOP_WORDS.has(w));
    // A text of stop words only ("what can you do") still deserves a vector of its own.
    if (!content.length) content = all;
    const stems = content.map(stem);
    for (const w of stems) {
      add(`w:${w}`, WORD_WEIGHT);
      const padded = `<${w}>`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, TRIGRAM_WEIGHT);
    }
    // Never the zero vector: its cosine similarity is undefined (NaN in pgvector).
    if (!features.size) add("empty", 1);

    const v = new Array<number>(this.dimensions).fill(0);
    for (const [feature, weight] of features) {
      const h = fnv1a(feature);
      // The top bit picks the sign, so colliding features cancel out on average instead of piling up.
      const sign = h & 0x80000000 ? -1 : 1;
      // Sublinear: a word said five times is not five times as relevant.
      v[h % this.dimensions]! += sign * Math.log1p(weight);
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) {
      // All features cancelled each other out (possible, if unlikely): fall back to one fixed bucket.
      v[0] = 1;
      return v;
    }
    return v.map((x) => x / norm);
  }
}
