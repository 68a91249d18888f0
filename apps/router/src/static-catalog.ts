import { SMART_ROUTING_DEFAULTS, type CatalogSnapshot, type McpObject } from "@mcphub/contracts";
import type { CatalogSource } from "@mcphub/contracts";

/**
 * A catalog source over tool lists given by the caller rather than by a supervisor: for
 * indexing a fixed tool set (a retrieval benchmark, an evaluation corpus). `set` replaces the
 * lists and announces the change like the supervisor would.
 */
export class StaticCatalog implements CatalogSource {
  private snapshot: CatalogSnapshot;
  private readonly listeners = new Set<() => void>();

  constructor(tools: Record<string, McpObject[]>) {
    this.snapshot = StaticCatalog.snapshot(tools, 1);
  }

  /** `notReady`: servers configured and enabled but not connected (absent from `servers`, as in the supervisor's catalog). */
  static snapshot(tools: Record<string, McpObject[]>, version: number, notReady: string[] = []): CatalogSnapshot {
    return {
      version,
      nameSeparator: "-",
      routing: { enableGlobalRoute: true, enableGroupNameRoute: true }, audit: { logArguments: false },
      smartRouting: SMART_ROUTING_DEFAULTS,
      servers: Object.fromEntries(
        Object.entries(tools).map(([server, list]) => [
          server,
          { server, version, capabilities: { tools: {} }, tools: list, prompts: [], resources: [], resourceTemplates: [] },
        ]),
      ),
      configured: Object.fromEntries([...Object.keys(tools), ...notReady].map((server) => [server, { enabled: true, disabledTools: [] }])),
      groups: [],
    };
  }

  catalog(): CatalogSnapshot {
    return this.snapshot;
  }

  set(tools: Record<string, McpObject[]>, notReady: string[] = []): void {
    this.snapshot = StaticCatalog.snapshot(tools, this.snapshot.version + 1, notReady);
    for (const l of this.listeners) l();
  }

  onCatalogChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
