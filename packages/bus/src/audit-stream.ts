import { completeEvent, type AuditEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";
import type { Redis } from "ioredis";

export const AUDIT_STREAM = "mcphub:audit";

export interface AuditProducerOptions {
  /**
   * Events kept in memory while Redis cannot take them (10,000 by default, ~3 MB). Past it an
   * append is refused (its promise rejects, the caller logs the event): memory stays bounded.
   */
  maxSpooled?: number;
  /** How long one XADD may take before its event is spooled instead (it may still land: harmless, by eventId). */
  appendTimeoutMs?: number;
  /** First and longest wait between attempts to drain the spool. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /**
   * The id of the request an event is appended for (observability's currentRequestId): kept
   * in the event's details as `requestId`, so the audit entry names the request its log lines name.
   */
  requestId?: () => string | undefined;
  /** Told when spooling starts, when the spool drains, and when an event is refused. */
  onSpool?: (report: { state: "spooling" | "drained" | "full"; spooled: number; error?: unknown }) => void;
}

/**
 * Appends audit events to the Redis stream every service shares (split mode): a stream, not
 * pub/sub, because an audit event must not be lost while the auth service is away. The
 * contract: `XADD mcphub:audit * event <JSON of AuditEvent>`; the auth service's consumer
 * group stores each event once, by its eventId.
 *
 * While Redis is unreachable, events wait in a bounded local spool (in order) and are
 * retried, with backoff and as soon as the connection is ready again, until Redis has them:
 * `append` resolves once the event is in the stream or in the spool, never hangs on a Redis
 * that is down. The spool is memory: a producer that is itself killed while Redis is down
 * loses what it held (a Redis outage and a crash of the same process at once).
 */
export class AuditProducer implements AuditSink {
  private readonly spool: string[] = [];
  private readonly maxSpooled: number;
  private readonly appendTimeoutMs: number;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private retryMs: number;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly onReady = () => this.drainSoon(0);

  constructor(
    private readonly redis: Redis,
    private readonly stream: string = AUDIT_STREAM,
    private readonly opts: AuditProducerOptions = {},
  ) {
    this.maxSpooled = opts.maxSpooled ?? 10_000;
    this.appendTimeoutMs = opts.appendTimeoutMs ?? 2000;
    this.minRetryMs = opts.minRetryMs ?? 100;
    this.maxRetryMs = opts.maxRetryMs ?? 5000;
    this.retryMs = this.minRetryMs;
    redis.on("ready", this.onReady);
  }

  /** Events waiting for Redis. */
  get spooled(): number {
    return this.spool.length;
  }

  async append(input: AuditEventInput): Promise<AuditEvent> {
    const requestId = this.opts.requestId?.();
    const event = completeEvent(requestId === undefined || input.details?.requestId !== undefined ? input : { ...input, details: { ...input.details, requestId } });
    const json = JSON.stringify(event);
    // Behind a non-empty spool, or with no connection to send on: wait in line (order kept).
    if (this.spool.length > 0 || this.redis.status !== "ready") {
      this.enqueue(json);
      return event;
    }
    try {
      // No MAXLEN: trimming here could drop events the consumer has not stored yet; the consumer trims.
      await withTimeout(this.redis.xadd(this.stream, "*", "event", json), this.appendTimeoutMs);
    } catch (err) {
      this.enqueue(json, err);
    }
    return event;
  }

  /**
   * Tries once more to hand the spool to Redis (within `timeoutMs`) and stops retrying; what
   * is still spooled then is lost, and reported.
   */
  async close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.redis.off("ready", this.onReady);
    if (this.spool.length && this.redis.status === "ready") await withTimeout(this.drain(), timeoutMs).catch(() => {});
    if (this.spool.length) this.opts.onSpool?.({ state: "full", spooled: this.spool.length, error: new Error("closed with audit events still spooled") });
  }

  private enqueue(json: string, error?: unknown): void {
    if (this.spool.length >= this.maxSpooled) {
      this.opts.onSpool?.({ state: "full", spooled: this.spool.length, error });
      throw new Error(`the audit spool is full (${this.maxSpooled} events waiting for Redis)`);
    }
    if (this.spool.length === 0) this.opts.onSpool?.({ state: "spooling", spooled: 1, error });
    this.spool.push(json);
    this.drainSoon(this.retryMs);
  }

  private drainSoon(ms: number): void {
    if (this.closed || this.spool.length === 0 || this.draining) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        this.drainSoon(this.retryMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** Sends the spool in order, a pipeline of up to 500 at a time; stops at the first failure and backs off. */
  private async drain(): Promise<void> {
    while (this.spool.length > 0 && this.redis.status === "ready") {
      const chunk = this.spool.slice(0, 500);
      const pipeline = this.redis.pipeline();
      for (const json of chunk) pipeline.xadd(this.stream, "*", "event", json);
      try {
        const results = (await withTimeout(pipeline.exec(), this.appendTimeoutMs)) ?? [];
        // Entries of the pipeline that Redis took leave the spool; the first refusal stops here.
        let sent = 0;
        while (sent < chunk.length && results[sent] && !results[sent]![0]) sent++;
        this.spool.splice(0, sent);
        if (sent < chunk.length) throw results[sent]?.[0] ?? new Error("the pipeline ended early");
      } catch {
        this.retryMs = Math.min(this.retryMs * 2, this.maxRetryMs);
        return;
      }
    }
    if (this.spool.length === 0) {
      this.retryMs = this.minRetryMs;
      this.opts.onSpool?.({ state: "drained", spooled: 0 });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

type LogFn = (obj: Record<string, unknown>, msg: string) => void;

/** An `onSpool` that tells operators (a pino-style logger): the spool's start and end at warn/info, a refused event at error. */
export function logAuditSpool(logger: { warn: LogFn; info: LogFn; error: LogFn }): NonNullable<AuditProducerOptions["onSpool"]> {
  return ({ state, spooled, error }) => {
    const err = error instanceof Error ? error.message : error === undefined ? undefined : String(error);
    if (state === "spooling") logger.warn({ err }, "audit stream unreachable: spooling audit events locally until Redis is back");
    else if (state === "drained") logger.info({}, "audit spool delivered to the stream");
    else logger.error({ spooled, err }, "audit spool full (or closed while Redis is away): an audit event was not kept");
  };
}
