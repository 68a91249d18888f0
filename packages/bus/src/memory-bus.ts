import type { HubEventName, HubEvents } from "@mcphub/contracts";
import { channel, type Bus, type Handler } from "./bus.ts";

/**
 * The all-in-one bus. Handlers run synchronously in publish order; a throwing handler
 * is reported to `onError` and does not stop the others.
 */
export class MemoryBus implements Bus {
  /** By channel: the event name, or `<event>@<addressee>`. */
  private readonly handlers = new Map<string, Set<Handler<never>>>();
  constructor(private readonly onError: (err: unknown, event: HubEventName) => void = () => {}) {}

  publish<E extends HubEventName>(event: E, payload: HubEvents[E], to?: string): void {
    for (const h of this.handlers.get(channel(event, to)) ?? []) {
      try {
        (h as Handler<E>)(payload);
      } catch (err) {
        this.onError(err, event);
      }
    }
  }

  subscribe<E extends HubEventName>(event: E, handler: Handler<E>, to?: string): () => void {
    let set = this.handlers.get(channel(event, to));
    if (!set) this.handlers.set(channel(event, to), (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  onReconnect(): () => void {
    // One process: nothing is ever missed.
    return () => {};
  }

  async settled(): Promise<void> {}

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
