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
  /** The protocol revision the hub and the server agreed on, while connected. */
  protocolVersion?: string;
}

/** "server "x" is restarting" — the state as a user reads it in an error message. */
export function describeState(state: UpstreamState | undefined): string {
  switch (state) {
    case "connecting":
      return "is still connecting";
    case "failed":
      return "failed to start";
    case "restarting":
      return "is restarting";
    case "disabled":
      return "is disabled";
    case "ready":
      return "is ready";
    default:
      return "is unavailable";
  }
}
