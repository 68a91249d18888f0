import type { UpstreamState } from "./upstream.ts";

/**
 * Events that cross services (DESIGN.md, "Contracts"). Pub/sub events may be missed;
 * each carries a version so a subscriber that reconnects re-reads the state.
 */
export interface HubEvents {
  "settings.changed": { revision: number };
  "catalog.changed": { server: string | null; version: number };
  "upstream.status": { server: string; state: UpstreamState };
  "session.message": { sessionId: string; message: unknown };
}
export type HubEventName = keyof HubEvents;
