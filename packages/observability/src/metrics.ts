import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The hub's metrics, all prefixed `mcphub_`. One instance per process; every service
 * registers what it produces here so `/metrics` shows one registry.
 */
export class HubMetrics {
  readonly registry = new Registry();

  readonly toolCalls = new Counter({
    name: "mcphub_tool_calls_total",
    help: "Tool calls forwarded to upstream servers, by outcome (ok, error, timeout, unavailable, refused).",
    labelNames: ["server", "tool", "status"] as const,
    registers: [this.registry],
  });

  readonly toolCallDuration = new Histogram({
    name: "mcphub_tool_call_duration_seconds",
    help: "Time from receiving a tool call to having its result, including the upstream's time.",
    labelNames: ["server"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly upstreamUp = new Gauge({
    name: "mcphub_upstream_up",
    help: "1 when the upstream server is connected and ready, else 0.",
    labelNames: ["server"] as const,
    registers: [this.registry],
  });

  readonly upstreamRestarts = new Counter({
    name: "mcphub_upstream_restarts_total",
    help: "Reconnects of upstream servers after a crash or a lost connection.",
    labelNames: ["server"] as const,
    registers: [this.registry],
  });

  readonly sessionsActive = new Gauge({
    name: "mcphub_sessions_active",
    help: "MCP client sessions open on this process, by transport.",
    labelNames: ["transport"] as const,
    registers: [this.registry],
  });

  readonly relayReceived = new Counter({
    name: "mcphub_relay_messages_received_total",
    help: "Session messages this gateway received from other replicas, by kind (a replica gets only its own sessions' traffic).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly httpRequestDuration = new Histogram({
    name: "mcphub_http_request_duration_seconds",
    help: "HTTP requests served, by route and status code.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly searchDuration = new Histogram({
    name: "mcphub_search_duration_seconds",
    help: "Tool searches: embedding the query and ranking the catalog, by backend (pgvector or exact in process).",
    labelNames: ["backend"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly embeddedInputs = new Counter({
    name: "mcphub_embedding_inputs_total",
    help: "Texts sent to the embedding model (catalog tools and search queries), by model: what an embeddings API bills.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly routerIndexTools = new Gauge({
    name: "mcphub_router_index_tools",
    help: "Tools in the router's search index, by model: the catalog's tools that have a vector.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly embedderErrors = new Counter({
    name: "mcphub_embedding_errors_total",
    help: "Embedding requests that failed after their retries, by model and purpose (index, query); searches then rank lexically.",
    labelNames: ["model", "purpose"] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "mcphub_process_" });
  }
}
