/** Turns texts into vectors; the router stores them and compares them by cosine similarity. */
export interface Embedder {
  /**
   * Names the vector space, stored in the `model` column: vectors of different models are
   * never compared, and changing it re-embeds everything (it is part of the content hash).
   */
  readonly model: string;
  /** One vector per text, in order. */
  embed(texts: string[]): Promise<number[][]>;
  close?(): Promise<void>;
}
