import { Pool } from "undici";
import type { Logger } from "@mcphub/observability";
import type { Embedder } from "./embedder.ts";

export interface OpenAIEmbedderOptions {
  /** e.g. https://api.openai.com/v1; `/embeddings` is appended. */
  baseUrl: string;
  apiKey: string;
  model: string;
  logger: Logger;
  /** Inputs per request (OpenAI accepts up to 2048; smaller requests fail and retry cheaper). */
  batchSize?: number;
  /** Attempts after the first on 429, 5xx and network errors. */
  maxRetries?: number;
  /** First backoff; doubled on each retry, capped at 20 s, unless the server says how long to wait. */
  retryBaseMs?: number;
  timeoutMs?: number;
  /**
   * `smartRouting.embeddingMaxTokens`: texts are cut to about this many tokens (four characters
   * each, the usual rate for English) so a long description does not make the server refuse the batch.
   */
  maxInputTokens?: number;
}

/** The wire format of `POST /embeddings` in the OpenAI API and the servers compatible with it. */
interface EmbeddingsResponse {
  data: { embedding: number[]; index: number }[];
  model?: string;
  usage?: { prompt_tokens?: number; total_tokens?: number };
}

export class EmbeddingError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "EmbeddingError";
  }
}

const MAX_BACKOFF_MS = 20_000;

/**
 * An OpenAI-compatible embeddings client over a keep-alive undici pool. Plain HTTP rather than
 * the `openai` package: the one call we make is a few lines, we choose the retry policy (429 and
 * 5xx, honouring Retry-After), and the SDK asks for base64 vectors unless told otherwise, which
 * several "compatible" servers (proxies, local model servers) do not implement.
 */
export class OpenAIEmbedder implements Embedder {
  readonly provider = "openai" as const;
  readonly model: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly batchSize: number;

  constructor(private readonly opts: OpenAIEmbedderOptions) {
    this.model = opts.model;
    const url = new URL(opts.baseUrl);
    this.pool = new Pool(url.origin, { connections: 4 });
    this.path = `${url.pathname.replace(/\/+$/, "")}/embeddings`;
    this.batchSize = opts.batchSize ?? 100;
  }

  async embed(input: string[]): Promise<number[][]> {
    const maxChars = this.opts.maxInputTokens ? this.opts.maxInputTokens * 4 : undefined;
    const texts = maxChars ? input.map((t) => (t.length > maxChars ? t.slice(0, maxChars) : t)) : input;
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      out.push(...(await this.embedBatch(texts.slice(i, i + this.batchSize))));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async embedBatch(input: string[]): Promise<number[][]> {
    const maxRetries = this.opts.maxRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      let status: number | undefined;
      let waitMs: number | undefined;
      let failure: string;
      try {
        const res = await this.pool.request({
          path: this.path,
          method: "POST",
          headers: { authorization: `Bearer ${this.opts.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ model: this.opts.model, input }),
          headersTimeout: this.opts.timeoutMs ?? 30_000,
          bodyTimeout: this.opts.timeoutMs ?? 30_000,
        });
        status = res.statusCode;
        if (status === 200) return this.vectors((await res.body.json()) as EmbeddingsResponse, input.length);
        failure = `${status}: ${errorMessage(await res.body.text())}`;
        waitMs = retryAfterMs(res.headers);
        if (status !== 429 && status < 500) throw new EmbeddingError(`embeddings request refused (${failure})`, status);
      } catch (err) {
        if (err instanceof EmbeddingError) throw err;
        failure = (err as Error).message;
      }
      if (attempt >= maxRetries) throw new EmbeddingError(`embeddings request failed after ${attempt + 1} attempts (${failure})`, status);
      const backoff = Math.min((this.opts.retryBaseMs ?? 500) * 2 ** attempt, MAX_BACKOFF_MS);
      const delay = Math.min(waitMs ?? backoff, MAX_BACKOFF_MS);
      this.opts.logger.warn({ status, attempt: attempt + 1, delayMs: delay, inputs: input.length }, `embeddings request failed (${failure}); retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private vectors(body: EmbeddingsResponse, expected: number): number[][] {
    if (!Array.isArray(body?.data) || body.data.length !== expected) {
      throw new EmbeddingError(`embeddings response has ${Array.isArray(body?.data) ? body.data.length : "no"} vectors for ${expected} inputs`);
    }
    const out = new Array<number[]>(expected);
    for (const item of body.data) {
      if (!Number.isInteger(item.index) || item.index < 0 || item.index >= expected || !Array.isArray(item.embedding)) {
        throw new EmbeddingError("embeddings response has an item without a valid index and embedding (base64 is not supported)");
      }
      out[item.index] = item.embedding;
    }
    const dims = out[0]?.length;
    if (out.some((v) => v === undefined || v.length !== dims || v.length === 0)) {
      throw new EmbeddingError("embeddings response has missing vectors or vectors of different lengths");
    }
    return out;
  }
}

/** `retry-after-ms` (OpenAI's own) or `retry-after` in seconds. */
function retryAfterMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const ms = Number(headers["retry-after-ms"]);
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const s = Number(headers["retry-after"]);
  if (headers["retry-after"] !== undefined && Number.isFinite(s) && s >= 0) return s * 1000;
  return undefined;
}

/** The `error.message` of an OpenAI error body, else the body's start. */
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    if (typeof parsed.error?.message === "string") return parsed.error.message;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
