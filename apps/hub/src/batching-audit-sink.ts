import { completeEvent, type AuditEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";

/**
 * In one process the audit log is written straight to the embedded database; one insert per
 * tool call would put a database write on every call's path. Events are gathered for a few
 * milliseconds and written together; `append` resolves once its event is stored.
 */
export class BatchingAuditSink implements AuditSink {
  private batch: { event: AuditEvent; done: (err?: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (events: AuditEvent[]) => Promise<unknown>,
    private readonly delayMs = 25,
    private readonly maxBatch = 500,
  ) {}

  append(input: AuditEventInput): Promise<AuditEvent> {
    const event = completeEvent(input);
    return new Promise((resolve, reject) => {
      this.batch.push({ event, done: (err) => (err ? reject(err) : resolve(event)) });
      if (this.batch.length >= this.maxBatch) this.flushSoon(0);
      else this.flushSoon(this.delayMs);
    });
  }

  /** Writes what is pending; called on shutdown so nothing gathered is lost. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch.splice(0);
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      try {
        await this.write(batch.map((b) => b.event));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
    });
    return this.flushing;
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), ms);
  }
}
