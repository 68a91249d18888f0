import type { UpstreamState } from "./upstream.ts";

/**
 * Events that cross services (DESIGN.md, "Contracts"). Pub/sub events may be missed;
 * each carries a version so a subscriber that reconnects re-reads the state.
 */
export interface HubEvents {
  "settings.changed": { revision: number };
  "catalog.changed": { server: string | null; version: number };
  "upstream.status": { server: string; state: UpstreamState };
  "session.message": { sessionId: string; message: SessionRelayMessage };
  /** An upstream's notifications/resources/updated, for the sessions subscribed to the URI. */
  "resource.updated": { server: string; uri: string };
}

/**
 * Traffic for a client session held by another gateway replica: a JSON-RPC message for
 * the replica that holds the session's stream, or a cancellation for the one running the request.
 */
export type SessionRelayMessage =
  | { kind: "send"; json: string }
  | { kind: "cancel"; requestId: string | number }
  /** A client's answer to a server-to-client request that another replica is waiting for. */
  | { kind: "answer"; requestId: string | number; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };
export type HubEventName = keyof HubEvents;
