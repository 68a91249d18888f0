/**
 * An error for REST and internal APIs (not the MCP wire): a stable code prefixed `HUB_`,
 * an HTTP status, and optional details (e.g. every invalid field).
 */
export class HubError extends Error {
  constructor(
    readonly code: `HUB_${string}`,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HubError";
  }
}
