import type { Transport } from "@modelcontextprotocol/client";

type ProgressListener = (progress: { progress: number; total?: number; message?: string }) => void;

/**
 * Relays upstream progress notifications synchronously, as they arrive.
 *
 * The SDK client runs notification handlers in a later microtask but settles responses at
 * once, so a progress notification sent just before its result reaches the handler after
 * the request is done and is dropped (seen with server-everything's long-running tool).
 * Here the hub sets its own progress tokens and catches those notifications on the
 * transport, before the client sees them, so every one is forwarded in order.
 */
export class ProgressInterceptor {
  private readonly listeners = new Map<string, ProgressListener>();
  private next = 0;

  constructor(private readonly prefix: string) {}

  /** Registers a listener and returns the progress token to send upstream. */
  register(listener: ProgressListener): string {
    const token = `${this.prefix}-${++this.next}`;
    this.listeners.set(token, listener);
    return token;
  }

  unregister(token: string): void {
    this.listeners.delete(token);
  }

  /** Wraps a transport so that its inbound progress notifications for our tokens go to the listeners. */
  wrap<T extends Transport>(transport: T): T {
    const listeners = this.listeners;
    return new Proxy(transport, {
      set(target, prop, value, receiver) {
        if (prop !== "onmessage" || typeof value !== "function") return Reflect.set(target, prop, value, receiver);
        const deliver = value as (message: unknown, extra?: unknown) => void;
        target.onmessage = (message, extra) => {
          const m = message as { method?: string; params?: { progressToken?: unknown } };
          if (m.method === "notifications/progress" && typeof m.params?.progressToken === "string") {
            const listener = listeners.get(m.params.progressToken);
            if (listener) {
              const { progressToken: _t, ...progress } = m.params as Record<string, unknown>;
              listener(progress as Parameters<ProgressListener>[0]);
              return;
            }
          }
          deliver(message, extra);
        };
        return true;
      },
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }
}
