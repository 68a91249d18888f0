import { createHash } from "node:crypto";
import { canonicalJson, type ServerConfig, type Settings, type SmartRoutingConfig } from "@mcphub/config";
import type { Bus } from "@mcphub/bus";
import { CallStats } from "./call-stats.ts";
import {
  JsonRpcCode,
  McpCallError,
  SMART_ROUTING_DEFAULTS,
  type SmartRoutingSnapshot,
  type CatalogGroup,
  type CatalogServerInfo,
  type CatalogSnapshot,
  type McpObject,
  type ServerCatalog,
  type SupervisorPort,
  type UpstreamCall,
  type UpstreamStatus,
} from "@mcphub/contracts";
import type { HubMetrics, Logger } from "@mcphub/observability";
import { UpstreamConnection } from "./upstream-connection.ts";

export interface SupervisorOptions {
  initTimeoutMs: number;
  requestTimeoutMs: number;
  hubEnv: NodeJS.ProcessEnv;
  logger: Logger;
  metrics: HubMetrics;
  bus: Bus;
  /** Reconnect backoff bounds (tests shorten them). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface ServerEntry {
  config: ServerConfig;
  /** Absent while the server is disabled. */
  conn?: UpstreamConnection;
}

/**
 * Owns the upstream connections and the catalog built from them. The settings come in
 * through `applySettings` (from the SettingsService: file, API and revisions); each
 * change is applied as a diff so untouched servers keep running.
 */
export class SupervisorService implements SupervisorPort {
  private settings: Settings | undefined;
  private readonly servers = new Map<string, ServerEntry>();
  /** The last hour of tool calls per server and minute, for the dashboard's overview. */
  readonly stats = new CallStats();
  private version = 0;
  private snapshot: CatalogSnapshot | undefined;
  private stopping = false;
  private readonly catalogListeners = new Set<() => void>();

  constructor(private readonly opts: SupervisorOptions) {}

  /** Applies new settings: starts added servers, restarts changed ones, stops removed or disabled ones. */
  async applySettings(next: Settings): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const [name, entry] of this.servers) {
      const cfg = next.mcpServers[name];
      if (!cfg || !cfg.enabled || connectionKey(cfg) !== connectionKey(entry.config)) {
        if (entry.conn) stops.push(entry.conn.stop());
        this.opts.metrics.upstreamUp.remove({ server: name });
        this.servers.delete(name);
      } else {
        // Only tool overrides or the timeout changed: no reconnect.
        entry.config = cfg;
        entry.conn?.updateConfig(cfg);
      }
    }
    this.settings = next;
    for (const [name, cfg] of Object.entries(next.mcpServers)) {
      if (this.servers.has(name)) continue;
      const entry: ServerEntry = { config: cfg };
      this.servers.set(name, entry);
      if (cfg.enabled && !this.stopping) {
        entry.conn = this.createConnection(name, cfg);
        entry.conn.start();
      }
    }
    // settings.changed carries a settings revision id and is the SettingsService's to publish;
    // what changed here is the catalog, announced by changed().
    this.changed(null);
    await Promise.all(stops);
  }

  /**
   * Reconnects one server now (an operator's restart: a stdio server's process is replaced).
   * Its restart count carries on. False when the server is unknown or disabled.
   */
  async restart(name: string): Promise<boolean> {
    const entry = this.servers.get(name);
    const old = entry?.conn;
    if (!entry || !old || this.stopping) return false;
    const conn = this.createConnection(name, entry.config);
    conn.restarts = old.restarts + 1;
    entry.conn = conn;
    this.opts.metrics.upstreamRestarts.inc({ server: name });
    await old.stop();
    conn.start();
    this.changed(name);
    return true;
  }

  catalog(): CatalogSnapshot {
    return (this.snapshot ??= this.buildSnapshot());
  }

  status(): UpstreamStatus[] {
    return [...this.servers.entries()].map(([name, entry]) => {
      if (!entry.conn) return { name, type: entry.config.type, state: "disabled" as const, toolCount: 0, restarts: 0 };
      const status = entry.conn.status();
      // The connection counts every tool the upstream lists; the status counts what clients can call.
      const disabled = this.disabledTools(name, entry.config);
      if (!disabled.size) return status;
      return { ...status, toolCount: entry.conn.lists.tools.filter((t) => !disabled.has(t.name)).length };
    });
  }

  /**
   * What a server lists as it sent it, disabled tools and original descriptions included
   * (the management view; clients see the catalog). Undefined for an unknown server.
   */
  upstreamLists(name: string): { tools: McpObject[]; prompts: McpObject[]; resources: unknown[] } | undefined {
    const entry = this.servers.get(name);
    if (!entry) return undefined;
    const lists = entry.conn?.lists;
    return { tools: lists?.tools ?? [], prompts: lists?.prompts ?? [], resources: lists?.resources ?? [] };
  }

  async call(call: UpstreamCall): Promise<Record<string, unknown>> {
    const entry = this.servers.get(call.server);
    if (!entry) throw new McpCallError(JsonRpcCode.InvalidParams, `unknown server "${call.server}"`);
    if (!entry.conn) throw new McpCallError(JsonRpcCode.InvalidParams, `server "${call.server}" is disabled`);
    if (call.method !== "tools/call") {
      return entry.conn.request(call.method, call.params, call);
    }
    const tool = String(call.params.name);
    // The catalog snapshot already holds each server's disabled tools, derived once per change.
    if (this.catalog().configured[call.server]?.disabledTools.includes(tool)) {
      this.opts.metrics.toolCalls.inc({ server: call.server, tool, status: "refused" });
      throw new McpCallError(JsonRpcCode.InvalidParams, `tool "${tool}" of server "${call.server}" is disabled`, undefined, "refused");
    }
    const end = this.opts.metrics.toolCallDuration.startTimer({ server: call.server });
    let status = "ok";
    try {
      const result = await entry.conn.request(call.method, call.params, call);
      if (result.isError === true) status = "error";
      return result;
    } catch (err) {
      status = (err instanceof McpCallError && err.reason) || "error";
      throw err;
    } finally {
      const seconds = end();
      this.stats.record(call.server, seconds * 1000, status === "ok");
      this.opts.metrics.toolCalls.inc({ server: call.server, tool, status });
    }
  }

  /** Stops every upstream; resolves when their processes are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.servers.values()].map((e) => e.conn?.stop()));
  }

  private createConnection(name: string, config: ServerConfig): UpstreamConnection {
    const { metrics } = this.opts;
    return new UpstreamConnection(name, config, {
      initTimeoutMs: this.opts.initTimeoutMs,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      hubEnv: this.opts.hubEnv,
      logger: this.opts.logger,
      minBackoffMs: this.opts.minBackoffMs,
      maxBackoffMs: this.opts.maxBackoffMs,
      onChange: (conn) => {
        if (this.servers.get(name)?.conn !== conn) return;
        metrics.upstreamUp.set({ server: name }, conn.state === "ready" ? 1 : 0);
        this.opts.bus.publish("upstream.status", { server: name, state: conn.state });
        this.changed(name);
      },
      onRestart: () => metrics.upstreamRestarts.inc({ server: name }),
      // Gateways keep who subscribed to what; every replica hears it and tells its own sessions.
      onResourceUpdated: (conn, uri) => {
        if (this.servers.get(name)?.conn === conn) this.opts.bus.publish("resource.updated", { server: name, uri });
      },
    });
  }

  onCatalogChanged(listener: () => void): () => void {
    this.catalogListeners.add(listener);
    return () => this.catalogListeners.delete(listener);
  }

  private changed(server: string | null): void {
    this.version++;
    this.snapshot = undefined;
    for (const l of this.catalogListeners) l();
    this.opts.bus.publish("catalog.changed", { server, version: this.version });
  }

  /** Unprefixed names of tools the settings disable; overrides may be keyed with or without the prefix. */
  private disabledTools(server: string, config: ServerConfig): Set<string> {
    const out = new Set<string>();
    for (const [key, o] of Object.entries(config.tools ?? {})) {
      if (o.enabled === false) out.add(this.unprefix(server, key));
    }
    return out;
  }

  private unprefix(server: string, key: string): string {
    const prefix = server + (this.settings?.systemConfig.nameSeparator ?? "-");
    return key.startsWith(prefix) ? key.slice(prefix.length) : key;
  }

  private buildSnapshot(): CatalogSnapshot {
    const settings = this.settings;
    const servers: Record<string, ServerCatalog> = {};
    const configured: Record<string, CatalogServerInfo> = {};
    for (const [name, entry] of this.servers) {
      const disabled = this.disabledTools(name, entry.config);
      configured[name] = { enabled: entry.config.enabled, disabledTools: [...disabled] };
      const conn = entry.conn;
      if (!conn || conn.state !== "ready") continue;
      const descriptions = new Map<string, string>();
      for (const [key, o] of Object.entries(entry.config.tools ?? {})) {
        if (o.description !== undefined) descriptions.set(this.unprefix(name, key), o.description);
      }
      const tools: McpObject[] = [];
      for (const t of conn.lists.tools) {
        if (disabled.has(t.name)) continue;
        const description = descriptions.get(t.name);
        tools.push(description === undefined ? t : { ...t, description });
      }
      servers[name] = {
        server: name,
        version: this.version,
        capabilities: conn.lists.capabilities,
        instructions: conn.lists.instructions,
        tools,
        prompts: conn.lists.prompts,
        resources: conn.lists.resources,
        resourceTemplates: conn.lists.resourceTemplates,
      };
    }
    const groups: CatalogGroup[] = (settings?.groups ?? []).map((g) => ({
      id: g.id,
      name: g.name,
      servers: Object.fromEntries(
        g.servers.map((s) => (typeof s === "string" ? [s, "all" as const] : [s.name, s.tools === "all" ? "all" : s.tools.map((t) => this.unprefix(s.name, t))])),
      ),
    }));
    const routing = settings?.systemConfig.routing;
    return {
      version: this.version,
      nameSeparator: settings?.systemConfig.nameSeparator ?? "-",
      routing: {
        enableGlobalRoute: routing?.enableGlobalRoute ?? true,
        enableGroupNameRoute: routing?.enableGroupNameRoute ?? true,
        bearerAuth: {
          enabled: routing?.enableBearerAuth ?? false,
          keySha256: routing?.bearerAuthKey ? createHash("sha256").update(routing.bearerAuthKey).digest("hex") : undefined,
        },
      },
      audit: { logArguments: settings?.systemConfig.audit.logArguments ?? false },
      smartRouting: smartRoutingSnapshot(settings?.systemConfig.smartRouting),
      servers,
      configured,
      groups,
    };
  }
}

/** The settings' smartRouting without the keys the catalog does not carry (unknown extra keys). */
function smartRoutingSnapshot(cfg: SmartRoutingConfig | undefined): SmartRoutingSnapshot {
  if (!cfg) return SMART_ROUTING_DEFAULTS;
  const { enabled, threshold, progressiveDisclosure, embeddingMaxTokens, embeddingProvider, openaiApiBaseUrl, openaiApiKey, openaiApiEmbeddingModel } = cfg;
  return { enabled, threshold, progressiveDisclosure, embeddingMaxTokens, embeddingProvider, openaiApiBaseUrl, openaiApiKey, openaiApiEmbeddingModel };
}

/** What requires a reconnect when it changes: everything but the per-tool overrides and the request timeout. */
function connectionKey(config: ServerConfig): string {
  const { tools: _tools, options, ...rest } = config;
  const { timeout: _timeout, ...otherOptions } = options ?? {};
  return canonicalJson({ ...rest, options: otherOptions });
}
