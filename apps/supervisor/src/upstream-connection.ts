import { Client, ProtocolError, SdkError, SdkErrorCode, SdkHttpError, SseError, type StandardSchemaV1 } from "@modelcontextprotocol/client";
import type { ServerConfig } from "@mcphub/config";
import {
  JsonRpcCode,
  McpCallError,
  RELAYED_SERVER_REQUESTS,
  type McpObject,
  type ServerCatalog,
  type McpResource,
  type McpResourceTemplate,
  type UpstreamState,
  type UpstreamStatus,
  describeState,
} from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";
import { InflightCalls, type CallListeners } from "./inflight-calls.ts";
import { createUpstreamTransport, type BuiltTransport } from "./upstream-transport.ts";

/**
 * Results pass through untouched: the hub forwards what the upstream said, including
 * fields a newer spec revision added, instead of re-shaping them through its own schemas.
 */
const passthrough: StandardSchemaV1<unknown, Record<string, unknown>> = {
  "~standard": { version: 1, vendor: "mcphub", validate: (value) => ({ value: value as Record<string, unknown> }) },
};

/** What an upstream offers, as the catalog keeps it per server. */
export type UpstreamLists = Omit<ServerCatalog, "server" | "version">;

export interface ConnectionOptions {
  initTimeoutMs: number;
  requestTimeoutMs: number;
  hubEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /** Called after the state or the lists changed. */
  onChange: (conn: UpstreamConnection) => void;
  /** Called when a lost connection is about to be re-established. */
  onRestart: (conn: UpstreamConnection) => void;
  /** Called with the URI of an upstream's notifications/resources/updated. */
  onResourceUpdated?: (conn: UpstreamConnection, uri: string) => void;
  /** First reconnect delay; doubles per failure up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const STDERR_TAIL_LINES = 20;
const DEFAULT_MIN_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
const HUB_INFO = { name: "mcphub", version: "0.1.0" };
/**
 * Declared to every upstream: the hub relays these requests to the client whose call caused
 * them, and answers for a client that did not declare the capability itself (see InflightCalls).
 */
const RELAYED_CLIENT_CAPABILITIES = { sampling: { tools: {} }, elicitation: { form: {}, url: {} }, roots: {} };

/**
 * One upstream MCP server: its process or connection, its lists, its state. Owns the
 * reconnect loop: a lost connection is retried with exponential backoff until `stop()`.
 */
export class UpstreamConnection {
  state: UpstreamState = "connecting";
  lastError: string | undefined;
  restarts = 0;
  lists: UpstreamLists = emptyLists();

  private client: Client | undefined;
  private built: BuiltTransport | undefined;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt: number | undefined;
  private readyAt = 0;
  private readonly stderrTail: string[] = [];
  /** Clients of failed attempts still shutting their process down; stop() waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private readonly log: Logger;
  private readonly inflight: InflightCalls;

  constructor(
    readonly name: string,
    private config: ServerConfig,
    private readonly opts: ConnectionOptions,
  ) {
    this.log = opts.logger.child({ server: name });
    this.inflight = new InflightCalls("mcphub", { log: this.log, onResourceUpdated: (uri) => opts.onResourceUpdated?.(this, uri) });
  }

  /** Takes settings that differ only in what needs no reconnect (tool overrides, timeout). */
  updateConfig(config: ServerConfig): void {
    this.config = config;
  }

  get timeoutMs(): number {
    return this.config.options?.timeout ?? this.opts.requestTimeoutMs;
  }

  status(): UpstreamStatus {
    return {
      name: this.name,
      type: this.config.type,
      state: this.state,
      toolCount: this.lists.tools.length,
      lastError: this.lastError,
      restarts: this.restarts,
      retryInMs: this.retryAt ? Math.max(0, this.retryAt - Date.now()) : undefined,
      pid: this.built?.pid(),
      ...(this.state === "ready" && this.client ? { protocolVersion: this.client.getNegotiatedProtocolVersion() } : {}),
    };
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.built = undefined;
    if (client) this.closeClient(client);
    // Without this, a process still being closed after a failed attempt outlives the hub.
    await Promise.all([...this.closing]);
  }

  private closeClient(client: Client): Promise<void> {
    const done = client.close().catch(() => {});
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
    return done;
  }

  /** Forwards one request; failures become McpCallError with a message a user can act on. */
  async request(
    method: string,
    params: Record<string, unknown>,
    options: CallListeners & { signal?: AbortSignal; headers?: Record<string, string> },
  ): Promise<Record<string, unknown>> {
    const client = this.client;
    if (this.state !== "ready" || !client) throw this.unavailableError();
    const timeout = this.timeoutMs;
    const token = this.inflight.register(options);
    if (options.onProgress) params = { ...params, _meta: { ...(params._meta as object | undefined), progressToken: token } };
    try {
      // Per-request headers exist only where each request is its own HTTP exchange.
      const headers = this.config.type === "stdio" ? undefined : options.headers;
      return await client.request({ method, params }, passthrough, { timeout, signal: options.signal, headers });
    } catch (err) {
      if (!options.signal?.aborted && this.isConnectionLoss(err)) this.lose(client, `${method} failed: ${describeNetworkError(err)}`);
      throw this.toCallError(err, method, timeout, options.signal);
    } finally {
      this.inflight.unregister(token);
    }
  }

  private unavailableError(): McpCallError {
    const why = this.lastError ? `: ${this.lastError}` : "";
    const retry = this.retryAt ? ` (next attempt in ${Math.ceil(Math.max(0, this.retryAt - Date.now()) / 1000)} s)` : "";
    return new McpCallError(JsonRpcCode.UpstreamUnavailable, `server "${this.name}" ${describeState(this.state)}${why}${retry}`, {
      server: this.name,
      state: this.state,
    }, "unavailable");
  }

  private toCallError(err: unknown, method: string, timeout: number, signal: AbortSignal | undefined): McpCallError {
    // The SDK rejects an aborted request with the same RequestTimeout code as a timed-out one;
    // only the caller's signal tells a client's cancellation apart.
    if (signal?.aborted) return new McpCallError(JsonRpcCode.RequestTimeout, `${method} was cancelled`, { server: this.name }, "cancelled");
    if (err instanceof ProtocolError) return new McpCallError(err.code, err.message, err.data);
    if (err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) {
      return new McpCallError(JsonRpcCode.RequestTimeout, `server "${this.name}" did not answer ${method} within ${timeout} ms`, {
        server: this.name,
        timeoutMs: timeout,
      }, "timeout");
    }
    if (err instanceof SdkError && (err.code === SdkErrorCode.ConnectionClosed || err.code === SdkErrorCode.NotConnected)) {
      return new McpCallError(JsonRpcCode.UpstreamUnavailable, `server "${this.name}" closed the connection during ${method}`, {
        server: this.name,
      }, "unavailable");
    }
    if (this.isConnectionLoss(err)) {
      return new McpCallError(JsonRpcCode.UpstreamUnavailable, `server "${this.name}" could not be reached for ${method}: ${describeNetworkError(err)}`, {
        server: this.name,
      }, "unavailable");
    }
    return new McpCallError(JsonRpcCode.InternalError, `server "${this.name}" failed ${method}: ${(err as Error).message ?? String(err)}`);
  }

  private setState(state: UpstreamState, error?: string): void {
    this.state = state;
    if (error !== undefined) this.lastError = error;
    this.opts.onChange(this);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.retryAt = undefined;
    this.setState(this.restarts > 0 || this.attempt > 0 ? "restarting" : "connecting");
    const built = createUpstreamTransport(this.config, this.opts.hubEnv);
    this.stderrTail.length = 0;
    built.onStderr((line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      this.log.debug({ stderr: line }, "upstream stderr");
    });
    const client = new Client(HUB_INFO, {
      capabilities: RELAYED_CLIENT_CAPABILITIES,
      // An HTTP server is asked which revision it speaks (server/discover, else initialize). Not
      // a stdio one: the SDK would start the process twice per connect to ask.
      ...(this.config.type === "streamable-http" ? { versionNegotiation: { mode: "auto" as const } } : {}),
    });
    // A 2026-07-28 upstream asks in input_required results, which the SDK client fulfils
    // through these handlers (a 2025-era one's requests are caught on the transport first).
    for (const method of RELAYED_SERVER_REQUESTS) {
      client.setRequestHandler(method, (req) => this.inflight.ask({ method, ...(req.params ? { params: req.params as Record<string, unknown> } : {}) }) as never);
    }
    this.built = built;
    this.client = client;
    client.fallbackNotificationHandler = async (n) => this.onNotification(client, n.method);
    client.onerror = (err) => {
      this.log.debug({ err: err.message }, "upstream transport error");
      // A legacy SSE server keeps the session in its stream: when the stream drops, the
      // session is gone even if the server comes back, and nothing would close the client.
      if (this.config.type === "sse" && err instanceof SseError && this.state === "ready") this.lose(client, `stream lost: ${err.message}`);
    };

    try {
      await withTimeout(client.connect(this.inflight.wrap(built.transport)), this.opts.initTimeoutMs, () => `did not finish initialize within ${this.opts.initTimeoutMs} ms`);
      if (this.client !== client) return; // stopped or replaced while connecting
      this.lists = await withTimeout(fetchLists(client), this.opts.initTimeoutMs, () => `did not list its tools within ${this.opts.initTimeoutMs} ms`);
      if (this.client !== client) return;
      await this.listenForChanges(client);
    } catch (err) {
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      // Not awaited: closing a hung process takes seconds (stdin EOF, then signals), and
      // the state and the backoff should not wait for it. stop() still does.
      void this.closeClient(client);
      this.fail(this.describeFailure(err));
      return;
    }
    // Only a connection that stays up resets the backoff; see lose().
    client.onclose = () => this.onLost(client);
    this.readyAt = Date.now();
    this.lastError = undefined;
    this.log.info({ tools: this.lists.tools.length, pid: built.pid() }, "upstream ready");
    this.setState("ready");
  }

  /**
   * A 2026-07-28 upstream has no GET stream: its list changes come on a subscriptions/listen
   * stream, opened for the lists it says can change. A stream that cannot open is logged, not
   * fatal: calls still work, lists refresh on reconnect.
   */
  private async listenForChanges(client: Client): Promise<void> {
    const version = client.getNegotiatedProtocolVersion();
    if (!version || version < "2026-07-28") return;
    const caps = this.lists.capabilities as Record<string, { listChanged?: boolean } | undefined>;
    const filter = {
      ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
    };
    if (Object.keys(filter).length === 0) return;
    try {
      await withTimeout(client.listen(filter), this.opts.initTimeoutMs, () => `did not acknowledge subscriptions/listen within ${this.opts.initTimeoutMs} ms`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not open the upstream's subscriptions/listen stream: its list changes will not be seen");
    }
  }

  private describeFailure(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    const tail = this.stderrTail.slice(-3).join(" | ");
    return tail ? `${message} (stderr: ${tail})` : message;
  }

  private onLost(client: Client): void {
    const tail = this.stderrTail.slice(-3).join(" | ");
    this.lose(client, this.config.type === "stdio" ? `process exited${tail ? ` (stderr: ${tail})` : ""}` : "connection closed");
  }

  /** A ready connection is gone: drop its client and reconnect with backoff. */
  private lose(client: Client, error: string): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    void this.closeClient(client);
    // A connection that outlived the longest wait was healthy: start the backoff over.
    // One that dies soon after each start keeps doubling it, like a failed start does.
    if (Date.now() - this.readyAt >= (this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS)) this.attempt = 0;
    this.fail(error, true);
  }

  /**
   * Whether a failed request means a remote server's connection is gone (unreachable, or
   * it forgot our session: HTTP 404), rather than one request going wrong. A stdio
   * server's loss shows as its process closing instead.
   */
  private isConnectionLoss(err: unknown): boolean {
    if (this.config.type === "stdio") return false;
    if (err instanceof SdkHttpError) return (err.data as { status?: number } | undefined)?.status === 404;
    return err instanceof TypeError || err instanceof SseError;
  }

  private fail(error: string, wasReady = false): void {
    const delay = Math.min(
      (this.opts.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS) * 2 ** this.attempt,
      this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    );
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.log.warn({ err: error, retryInMs: delay }, wasReady ? "upstream lost" : "upstream failed to start");
    this.setState(wasReady ? "restarting" : "failed", error);
    this.retryTimer = setTimeout(() => {
      if (this.stopped) return;
      this.restarts++;
      this.opts.onRestart(this);
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private async onNotification(client: Client, method: string): Promise<void> {
    if (this.client !== client || this.state !== "ready") return;
    const refresh: Partial<Record<string, (c: Client) => Promise<Partial<UpstreamLists>>>> = {
      "notifications/tools/list_changed": async (c) => ({ tools: await listAll(c, "tools/list", "tools") }),
      "notifications/prompts/list_changed": async (c) => ({ prompts: await listAll(c, "prompts/list", "prompts") }),
      "notifications/resources/list_changed": async (c) => ({
        resources: await listAll(c, "resources/list", "resources"),
        resourceTemplates: await listAll(c, "resources/templates/list", "resourceTemplates"),
      }),
    };
    const fetcher = refresh[method];
    if (!fetcher) return;
    try {
      const update = await fetcher(client);
      if (this.client !== client) return;
      this.lists = { ...this.lists, ...update };
      this.opts.onChange(this);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, method }, "could not refresh lists after list_changed");
    }
  }
}

function emptyLists(): UpstreamLists {
  return { capabilities: {}, tools: [], prompts: [], resources: [], resourceTemplates: [] };
}

async function fetchLists(client: Client): Promise<UpstreamLists> {
  const caps = (client.getServerCapabilities() ?? {}) as Record<string, unknown>;
  const [tools, prompts, resources, resourceTemplates] = await Promise.all([
    caps.tools ? listAll<McpObject>(client, "tools/list", "tools") : [],
    caps.prompts ? listAll<McpObject>(client, "prompts/list", "prompts") : [],
    caps.resources ? listAll<McpResource>(client, "resources/list", "resources") : [],
    caps.resources ? listAll<McpResourceTemplate>(client, "resources/templates/list", "resourceTemplates") : [],
  ]);
  return { capabilities: caps, instructions: client.getInstructions(), tools, prompts, resources, resourceTemplates };
}

/** Follows `nextCursor` so a paginating upstream shows its whole list; bounded against loops. */
async function listAll<T>(client: Client, method: string, key: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await client.request({ method, params: cursor ? { cursor } : {} }, passthrough);
    items.push(...(((result[key] as T[] | undefined) ?? [])));
    cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
    if (!cursor) break;
  }
  return items;
}

/** fetch() fails with a bare "fetch failed"; the reason (ECONNREFUSED, ...) is in its cause. */
function describeNetworkError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail && !message.includes(detail) ? `${message} (${detail})` : message;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message())), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
