/** Lifecycle of one upstream MCP server as the supervisor sees it. */
export type UpstreamState = "connecting" | "ready" | "failed" | "restarting" | "disabled";

export interface UpstreamStatus {
  name: string;
  type: "stdio" | "sse" | "streamable-http";
  state: UpstreamState;
  /** Tools the server exposes after per-tool overrides (disabled tools not counted). */
  toolCount: number;
  lastError?: string;
  restarts: number;
  /** Milliseconds until the next reconnect attempt, while restarting. */
  retryInMs?: number;
  pid?: number;
}
