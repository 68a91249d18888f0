import { randomBytes } from "node:crypto";
import { JsonRpcCode, McpCallError, type ServerToClientRequest } from "@mcphub/contracts";
import { capabilityError, passesLogLevel } from "./client-requests.ts";
import type { JsonRpcId } from "../core/jsonrpc.ts";
import type { ClientSession } from "../core/mcp-dispatcher.ts";

/** The methods whose 2026-07-28 results may be `input_required`. */
export const MULTI_ROUND_TRIP_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);

interface Ask {
  request: ServerToClientRequest;
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: McpCallError) => void;
}

/** One client request whose upstream call is still running while the client answers its questions. */
interface Suspended {
  principalKey: string;
  method: string;
  /** Questions sent to the client in the last input_required result, by key. */
  asked: Map<string, Ask>;
  /** Questions the upstream asked since, not yet sent. */
  queued: Ask[];
  /** The final answer (JSON text, with the first round's id), once the upstream call ended. */
  outcome: Promise<string>;
  firstId: JsonRpcId;
  /** Wakes the round waiting for a question or the outcome. */
  wake: () => void;
  /** Where notifications of the current round go (its POST). */
  emit: (json: string) => void;
  abort: AbortController;
  expiry?: NodeJS.Timeout;
  nextKey: number;
}

export interface RoundTripRequest {
  id: JsonRpcId;
  method: string;
  /** The request's params without the envelope; a retry carries `inputResponses` and `requestState`. */
  params: Record<string, unknown>;
  principalKey: string;
  clientCapabilities: Record<string, unknown>;
  /** The per-request log level of the 2026-07-28 envelope, if any. */
  logLevel?: string;
  /** Aborted when this round's POST closes. */
  signal: AbortSignal;
  /** Sends a notification on this round's POST. */
  emit: (json: string) => void;
  /** Runs the request (the dispatcher) with a session whose questions become input requests. */
  start: (session: ClientSession, emit: (json: string) => void, signal: AbortSignal) => Promise<string>;
}

/**
 * The 2026-07-28 multi-round-trip form of server-to-client requests, for upstreams of any
 * revision. A stateless client cannot receive a request in the middle of its call, so when
 * the upstream asks (sampling, elicitation, roots) the hub ends the round with
 * `resultType: "input_required"`, the questions as `inputRequests` and an opaque
 * `requestState`; the client retries the same request with `inputResponses` and that state,
 * and the hub hands the answers to the upstream call it kept running, then waits for its
 * result or its next question. The state is a random token bound to the caller; it names a
 * call held by this gateway replica, so a retry must reach the same replica.
 */
export class MultiRoundTrips {
  private readonly suspended = new Map<string, Suspended>();
  /**
   * Each request is its own client for the upstream's attribution: origins unique across gateway
   * replicas (which share one supervisor), from a random prefix and a counter.
   */
  private readonly originPrefix = `stateless-${randomBytes(4).toString("hex")}-`;
  private calls = 0;

  /** How long a call waits for the client's retry before it is abandoned (and cancelled upstream). */
  constructor(private readonly retryWindowMs = 5 * 60_000) {}

  /** Runs a request, or resumes the one its `requestState` names; resolves with this round's response JSON. */
  async serve(req: RoundTripRequest): Promise<string> {
    const state = req.params.requestState;
    if (state === undefined) return this.begin(req);
    if (typeof state !== "string") throw new McpCallError(JsonRpcCode.InvalidParams, "params.requestState: must be the string the previous input_required result gave");
    const call = this.suspended.get(state);
    if (!call || call.principalKey !== req.principalKey || call.method !== req.method) {
      throw new McpCallError(JsonRpcCode.InvalidParams, "params.requestState: unknown or expired (a retry must reach the gateway replica that gave it, within its window)");
    }
    this.suspended.delete(state);
    clearTimeout(call.expiry);
    const responses = req.params.inputResponses;
    if (responses !== undefined && (typeof responses !== "object" || responses === null || Array.isArray(responses))) {
      throw new McpCallError(JsonRpcCode.InvalidParams, "params.inputResponses: must be an object keyed by the input request keys");
    }
    for (const [key, ask] of call.asked) {
      const answer = (responses as Record<string, unknown> | undefined)?.[key];
      if (answer && typeof answer === "object" && !Array.isArray(answer)) ask.resolve(answer as Record<string, unknown>);
      else ask.reject(new McpCallError(JsonRpcCode.InvalidParams, `the client sent no answer for input request "${key}"`));
    }
    call.asked.clear();
    return this.round(call, req);
  }

  private begin(req: RoundTripRequest): Promise<string> {
    const abort = new AbortController();
    const call: Suspended = {
      principalKey: req.principalKey,
      method: req.method,
      asked: new Map(),
      queued: [],
      outcome: Promise.resolve(""),
      wake: () => {},
      emit: req.emit,
      abort,
      nextKey: 0,
      firstId: req.id,
    };
    const session: ClientSession = {
      origin: `${this.originPrefix}${++this.calls}`,
      ask: (request) => {
        const refused = capabilityError(request, req.clientCapabilities);
        if (refused) return Promise.reject(refused);
        return new Promise((resolve, reject) => {
          call.queued.push({ request, resolve, reject });
          call.wake();
        });
      },
      notify: (n) => {
        if (n.method === "notifications/message" && !passesLogLevel(String(n.params?.level), req.logLevel)) return;
        call.emit(JSON.stringify({ jsonrpc: "2.0", method: n.method, ...(n.params ? { params: n.params } : {}) }));
      },
      // Questions outlive a round here: they end with the call, or when it is abandoned.
      end: () => {},
      setLogLevel: async () => {},
      subscribe: () => {
        throw new McpCallError(JsonRpcCode.MethodNotFound, "resource subscriptions need a session (or subscriptions/listen)");
      },
      unsubscribe: () => {},
    };
    call.outcome = req.start(session, (json) => call.emit(json), abort.signal);
    return this.round(call, req);
  }

  /** Waits for the call's result or its next questions; the latter end this round as input_required. */
  private async round(call: Suspended, req: RoundTripRequest): Promise<string> {
    call.emit = req.emit;
    const closed = () => call.abort.abort();
    req.signal.addEventListener("abort", closed, { once: true });
    try {
      while (call.queued.length === 0) {
        const woken = new Promise<void>((resolve) => (call.wake = resolve));
        const done = await Promise.race([call.outcome.then(() => true, () => true), woken.then(() => false)]);
        if (done) return withId(await call.outcome, call.firstId, req.id);
      }
    } finally {
      req.signal.removeEventListener("abort", closed);
    }
    // Questions asked together go out together.
    await new Promise((resolve) => setImmediate(resolve));
    const inputRequests: Record<string, ServerToClientRequest> = {};
    for (const ask of call.queued.splice(0)) {
      const key = `r${++call.nextKey}`;
      call.asked.set(key, ask);
      inputRequests[key] = ask.request;
    }
    const state = randomBytes(18).toString("base64url");
    this.suspended.set(state, call);
    call.expiry = setTimeout(() => this.abandon(state), this.retryWindowMs);
    call.expiry.unref();
    return JSON.stringify({ jsonrpc: "2.0", id: req.id, result: { resultType: "input_required", inputRequests, requestState: state } });
  }

  private abandon(state: string): void {
    const call = this.suspended.get(state);
    if (!call) return;
    this.suspended.delete(state);
    for (const ask of call.asked.values()) ask.reject(new McpCallError(JsonRpcCode.InternalError, "the client did not retry with its answers in time"));
    call.abort.abort();
  }

  /** Gateway shutdown: every held call is cancelled. */
  close(): void {
    for (const state of [...this.suspended.keys()]) this.abandon(state);
  }
}

/** The outcome was built with the first round's id; a later round answers under its own. */
function withId(json: string, first: JsonRpcId, id: JsonRpcId): string {
  if (id === first) return json;
  const response = JSON.parse(json) as { id: JsonRpcId };
  response.id = id;
  return JSON.stringify(response);
}
