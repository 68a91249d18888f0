import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for a paid API: an OpenAI-compatible `POST /v1/embeddings` over real HTTP, with
 * the real request and response shapes and error bodies. Its vectors are deterministic
 * (hashed bag of words, so related texts are close) and it records every request.
 */
export interface FakeOpenAI {
  /** The OPENAI_BASE_URL to use (ends in /v1). */
  baseUrl: string;
  /** Every request answered 200, in arrival order. */
  served: { model: string; input: string[] }[];
  /** Every request received, with the status it got. */
  attempts: { status: number; inputs: number }[];
  /** Texts embedded so far (what the API would bill). */
  inputCount(): number;
  /** The next `times` requests get this status (429: rate limited, 500: server error). */
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

export async function startFakeOpenAI(opts: { apiKey: string; dimensions?: number }): Promise<FakeOpenAI> {
  const dims = opts.dimensions ?? 256;
  const served: FakeOpenAI["served"] = [];
  const attempts: FakeOpenAI["attempts"] = [];
  const failures: number[] = [];

  const error = (res: ServerResponse, status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify({ error: { message, type, param: null, code } }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || req.url !== "/v1/embeddings") return error(res, 404, `Unknown request URL: ${req.method} ${req.url}`, "invalid_request_error", "unknown_url");
    if (req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      attempts.push({ status: 401, inputs: 0 });
      return error(res, 401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
    }
    let body: { model?: unknown; input?: unknown; encoding_format?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return error(res, 400, "We could not parse the JSON body of your request.", "invalid_request_error", null);
    }
    const input = typeof body.input === "string" ? [body.input] : body.input;
    if (typeof body.model !== "string" || !Array.isArray(input) || !input.length || input.some((i) => typeof i !== "string" || !i)) {
      attempts.push({ status: 400, inputs: 0 });
      return error(res, 400, "'input' must be a non-empty string or array of non-empty strings, and 'model' a string", "invalid_request_error", null);
    }
    if (body.encoding_format !== undefined && body.encoding_format !== "float") {
      return error(res, 400, "this fake serves float vectors only", "invalid_request_error", null);
    }
    const fail = failures.shift();
    if (fail !== undefined) {
      attempts.push({ status: fail, inputs: input.length });
      if (fail === 429) return error(res, 429, "Rate limit reached for requests", "requests", "rate_limit_exceeded", { "retry-after-ms": "50" });
      return error(res, fail, "The server had an error while processing your request.", "server_error", null);
    }
    attempts.push({ status: 200, inputs: input.length });
    served.push({ model: body.model, input: input as string[] });
    const data = (input as string[]).map((text, index) => ({ object: "embedding", index, embedding: vector(text, dims) }));
    const tokens = (input as string[]).reduce((n, t) => n + t.split(/\s+/).length, 0);
    res.writeHead(200, { "content-type": "application/json" });
    // Items in reverse: the wire format orders them by `index`, not by position.
    res.end(JSON.stringify({ object: "list", data: data.reverse(), model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    served,
    attempts,
    inputCount: () => served.reduce((n, r) => n + r.input.length, 0),
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) failures.push(status);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Hashed bag of lowercased words (a trailing "s" dropped), L2-normalised. */
function vector(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const raw of text.toLowerCase().split(/[^a-z0-9]+/)) {
    if (raw.length < 2) continue;
    const word = raw.length > 3 && raw.endsWith("s") ? raw.slice(0, -1) : raw;
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
    v[(h >>> 0) % dims]! += 1;
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}
