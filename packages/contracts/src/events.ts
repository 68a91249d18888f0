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
  /**
   * A credential stopped being valid (published by the auth service after the change is
   * committed). Every process drops what it cached for it at once; the gateway is where that
   * principal's open streams and sessions are closed. A subscriber that missed events while
   * disconnected forgets every cached credential (Bus.onReconnect).
   */
  "credentials.revoked": CredentialsRevoked;
}

/**
 * Which credentials a revocation covers: with `keyId`, that API key alone; without it, every
 * credential of the user (session tokens and API keys: a key acts with its owner's role).
 */
export interface CredentialsRevoked {
  userId: string;
  keyId?: string;
  reason: "key_revoked" | "user_deleted" | "role_changed" | "password_changed";
}

/**
 * Traffic for a client session held by another gateway replica: a JSON-RPC message for
 * the replica that holds the session's stream, or a cancellation for the one running the request.
 */
export type SessionRelayMessage =
  | { kind: "send"; json: string }
  | { kind: "cancel"; requestId: string | number }
  /**
   * The session was ended elsewhere (a DELETE, the principal's session cap, a revoked
   * credential): its stream closes, and the replica that created it stops counting it.
   */
  | { kind: "close"; transport?: "streamable-http" | "sse" }
  /** A client's answer to a server-to-client request that another replica is waiting for. */
  | { kind: "answer"; requestId: string | number; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };
export type HubEventName = keyof HubEvents;
