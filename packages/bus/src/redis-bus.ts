import type { HubEventName, HubEvents } from "@mcphub/contracts";
import { Redis, type RedisOptions } from "ioredis";
import { channel, type Bus, type Handler } from "./bus.ts";

export interface RedisBusOptions {
  url: string;
  /** Prefix of every channel; tests give each file its own. */
  prefix?: string;
  /** Names the Redis connections (`<name>-pub`, `<name>-sub`) in CLIENT LIST. */
  name?: string;
  onError?: (err: unknown, context: string) => void;
  redisOptions?: RedisOptions;
}

/** Reconnect quickly at first, then at most every 2 s, forever: the bus must come back on its own. */
const retryStrategy = (times: number) => Math.min(50 * 2 ** times, 2000);

/**
 * The bus across processes: Redis pub/sub, one channel per event name, JSON payloads.
 * Pub/sub loses what is published while a subscriber is disconnected, so after a
 * reconnect the `onReconnect` handlers run and subscribers re-read their state.
 */
export class RedisBus implements Bus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly prefix: string;
  /** By channel (without the prefix): the event name, or `<event>@<addressee>`. */
  private readonly handlers = new Map<string, Set<Handler<never>>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private everReady = false;
  private pendingSubscriptions: Promise<unknown>[] = [];
  private closed = false;

  constructor(private readonly opts: RedisBusOptions) {
    this.prefix = opts.prefix ?? "mcphub:";
    const base: RedisOptions = { retryStrategy, maxRetriesPerRequest: null, lazyConnect: false, ...opts.redisOptions };
    const name = opts.name ?? "mcphub-bus";
    this.pub = new Redis(opts.url, { ...base, connectionName: `${name}-pub` });
    this.sub = new Redis(opts.url, { ...base, connectionName: `${name}-sub`, autoResubscribe: true });
    const report = (context: string) => (err: unknown) => opts.onError?.(err, context);
    this.pub.on("error", report("redis publisher"));
    this.sub.on("error", report("redis subscriber"));
    this.sub.on("ready", () => {
      if (this.everReady && !this.closed) for (const h of this.reconnectHandlers) this.safely(h, "reconnect handler");
      this.everReady = true;
    });
    this.sub.on("message", (channel: string, message: string) => this.deliver(channel, message));
  }

  /** Resolves once both connections are up (publishing before that is queued, not lost). */
  async ready(): Promise<void> {
    await Promise.all([this.pub.ping(), this.sub.ping()]);
  }

  publish<E extends HubEventName>(event: E, payload: HubEvents[E], to?: string): void {
    this.pub.publish(this.prefix + channel(event, to), JSON.stringify(payload)).catch((err) => this.opts.onError?.(err, `publish ${event}`));
  }

  subscribe<E extends HubEventName>(event: E, handler: Handler<E>, to?: string): () => void {
    const name = channel(event, to);
    let set = this.handlers.get(name);
    if (!set) {
      this.handlers.set(name, (set = new Set()));
      this.pendingSubscriptions.push(this.sub.subscribe(this.prefix + name).catch((err) => this.opts.onError?.(err, `subscribe ${name}`)));
    }
    set.add(handler as Handler<never>);
    return () => {
      set.delete(handler as Handler<never>);
    };
  }

  async settled(): Promise<void> {
    const pending = this.pendingSubscriptions.splice(0);
    await Promise.all(pending);
  }

  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }

  private deliver(raw: string, message: string): void {
    if (!raw.startsWith(this.prefix)) return;
    const name = raw.slice(this.prefix.length);
    const event = name.split("@", 1)[0] as HubEventName;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch (err) {
      this.opts.onError?.(err, `malformed ${event} event`);
      return;
    }
    for (const h of this.handlers.get(name) ?? []) this.safely(() => (h as Handler<HubEventName>)(payload as never), `${event} handler`);
  }

  private safely(fn: () => void, context: string): void {
    try {
      fn();
    } catch (err) {
      this.opts.onError?.(err, context);
    }
  }
}
