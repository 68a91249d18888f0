import type { HubEventName, HubEvents } from "@mcphub/contracts";

export type Handler<E extends HubEventName> = (payload: HubEvents[E]) => void;

/** A typed event bus: in memory in one process, Redis across processes. */
export interface Bus {
  publish<E extends HubEventName>(event: E, payload: HubEvents[E]): void;
  /** Returns an unsubscribe function. */
  subscribe<E extends HubEventName>(event: E, handler: Handler<E>): () => void;
  /**
   * Called after the bus lost its connection and got it back: events published meanwhile
   * were missed, so a subscriber re-reads the state it caches. Never called in memory.
   */
  onReconnect(handler: () => void): () => void;
  /** Resolves once every subscription made so far receives events (Redis confirms SUBSCRIBE asynchronously). */
  settled(): Promise<void>;
  close(): Promise<void>;
}
