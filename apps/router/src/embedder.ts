/** Turns texts into vectors; the router stores them and compares them by cosine similarity. */
export interface Embedder {
  /**
   * Names the vector space, stored in the `model` column: vectors of different models are
   * never compared, and changing it re-embeds everything (it is part of the content hash).
   */
  readonly model: string;
  /** Where the vectors come from, for the status: "local" (in process) or "openai" (an OpenAI-compatible server). */
  readonly provider: "local" | "openai";
  /**
   * One vector per text, in order. `query`: a search waits for it, so it goes before any
   * catalog batch the embedder is working through.
   */
  embed(texts: string[], opts?: { query?: boolean }): Promise<number[][]>;
  /**
   * Optional: the embedder holds the catalog's vectors itself and scores a query against all of
   * them where it embeds it (the local model, in its worker thread: one matrix product there
   * instead of 10,000 dot products on the event loop).
   */
  readonly scorer?: VectorScorer;
  close?(): Promise<void>;
}

/** Matrices are kept per `slot` (one per RouterService), so services sharing an embedder do not overwrite each other's. */
export interface VectorScorer {
  /** Replaces the slot's vectors: `rows` unit vectors of `dims`, flat (0 rows: drops the slot). */
  load(slot: string, version: number, matrix: Float32Array, rows: number, dims: number): Promise<void>;
  /**
   * The query's vector and its cosine similarity to every loaded row, in load order, under the
   * version loaded. `vector`: the query's vector from an earlier search, not embedded again.
   */
  query(slot: string, text: string, vector?: Float32Array): Promise<{ vector: Float32Array; scores: Float32Array; version: number }>;
}

/**
 * A user's own ONNX sentence encoder in a directory (`model.onnx` + `tokenizer.json`), for
 * catalogs in languages the shipped model does not know. The interface is what the router
 * needs; the runtime is not built yet, and choosing it fails with that said rather than
 * falling back silently.
 */
export class OnnxDirectoryEmbedder implements Embedder {
  readonly provider = "local" as const;
  readonly model: string;

  constructor(readonly directory: string) {
    this.model = `onnx:${directory}`;
  }

  async embed(): Promise<number[][]> {
    throw new EmbedderUnavailableError(`local ONNX models are not supported yet (${this.directory}): use the built-in model or an OpenAI-compatible server`);
  }
}

/** The embedder cannot answer at all (not configured, not loadable); search falls back to the lexical ranking. */
export class EmbedderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbedderUnavailableError";
  }
}
