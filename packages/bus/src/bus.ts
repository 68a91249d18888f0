import type { HubEventName, HubEvents } from "@mcphub/contracts";

export type Handler<E extends HubEventName> = (payload: HubEvents[E]) => void;

/** A typed event bus: in memory in one process, Redis across processes. */
export interface Bus {
  /**
   * `to` sends on one addressee's channel of the event (a gateway replica's, say) instead of
   * everyone's: only subscribers of that same `to` receive it.
   */
  publish<E extends HubEventName>(event: E, payload: HubEvents[E], to?: string): void;
  /** Returns an unsubscribe function. With `to`, hears only what is published to it. */
  subscribe<E extends HubEventName>(event: E, handler: Handler<E>, to?: string): () => void;
  /**
   * Called after the bus lost its connection and got it back: events published meanwhile
   * were missed, so a subscriber re-reads the state it caches. Never called in memory.
   */
  onReconnect(handler: () => void): () => void;
  /** Resolves once every subscription made so far receives events (Redis confirms SUBSCRIBE asynchronously). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** The channel an event travels on: its name, or `<event>@<addressee>` for one addressee. */
export function channel(event: HubEventName, to?: string): string {
  return to === undefined ? event : `${event}@${to}`;
}
