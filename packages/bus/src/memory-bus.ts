import type { HubEventName, HubEvents } from "@mcphub/contracts";
import type { Bus, Handler } from "./bus.ts";

/**
 * The all-in-one bus. Handlers run synchronously in publish order; a throwing handler
 * is reported to `onError` and does not stop the others.
 */
export class MemoryBus implements Bus {
  private readonly handlers = new Map<HubEventName, Set<Handler<never>>>();
  constructor(private readonly onError: (err: unknown, event: HubEventName) => void = () => {}) {}

  publish<E extends HubEventName>(event: E, payload: HubEvents[E]): void {
    for (const h of this.handlers.get(event) ?? []) {
      try {
        (h as Handler<E>)(payload);
      } catch (err) {
        this.onError(err, event);
      }
    }
  }

  subscribe<E extends HubEventName>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
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
