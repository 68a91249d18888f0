/**
 * The catalog: what every ready upstream offers, after the settings' per-tool overrides.
 * Items are the upstream's own MCP objects (unprefixed names), kept as-is so the hub
 * forwards fields it does not know.
 */
export type McpObject = Record<string, unknown> & { name: string };
export type McpResource = Record<string, unknown> & { uri: string };
export type McpResourceTemplate = Record<string, unknown> & { uriTemplate: string };

export interface ServerCatalog {
  server: string;
  /** Bumped whenever this server's lists change. */
  version: number;
  /** The upstream's advertised capabilities (initialize result). */
  capabilities: Record<string, unknown>;
  instructions?: string;
  tools: McpObject[];
  prompts: McpObject[];
  resources: McpResource[];
  resourceTemplates: McpResourceTemplate[];
}

export interface CatalogGroup {
  id: string;
  name: string;
  /** Server name → "all" or the picked (unprefixed) tool names. */
  servers: Record<string, "all" | string[]>;
}

/** Why a server is not in the catalog; used to say why a call is refused. */
export interface CatalogServerInfo {
  enabled: boolean;
  /** Unprefixed names of tools disabled by the settings. */
  disabledTools: string[];
}

export interface SmartRoutingSnapshot {
  enabled: boolean;
  threshold: number;
  progressiveDisclosure: boolean;
  embeddingMaxTokens: number;
  embeddingProvider?: "local" | "openai";
  openaiApiBaseUrl?: string;
  openaiApiKey?: string;
  openaiApiEmbeddingModel?: string;
}

/** Smart routing as it is when the settings say nothing (the settings schema's defaults). */
export const SMART_ROUTING_DEFAULTS: SmartRoutingSnapshot = { enabled: true, threshold: 0.3, progressiveDisclosure: false, embeddingMaxTokens: 512 };

export interface CatalogSnapshot {
  /** Bumped on any change: a server's lists, the settings, a server's state. */
  version: number;
  nameSeparator: string;
  routing: {
    enableGlobalRoute: boolean;
    enableGroupNameRoute: boolean;
    /** The settings' bearer key, as a sha256 hex digest: gateways check it without holding it. */
    bearerAuth?: { enabled: boolean; keySha256?: string };
  };
  audit: { logArguments: boolean };
  /** `systemConfig.smartRouting` as the settings hold it (internal API only: it may carry an embedding key). */
  smartRouting: SmartRoutingSnapshot;
  /** Ready servers only, by name. */
  servers: Record<string, ServerCatalog>;
  /** Every configured server, ready or not. */
  configured: Record<string, CatalogServerInfo>;
  groups: CatalogGroup[];
}
