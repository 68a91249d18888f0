import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { completeEvent, parseStreamEvent, type AuditEvent, type AuditEventInput, type AuditSink } from "@mcphub/contracts";
import { detailsWithRequestId } from "@mcphub/observability";

export interface BatchingAuditSinkOptions {
  /** Stores events (idempotently, by eventId: a replayed journal inserts nothing twice). */
  write: (events: AuditEvent[]) => Promise<unknown>;
  /**
   * A file every event is appended to before `append` returns, emptied once everything in it
   * is stored. A killed process leaves the events it had not stored there; `recover()` stores
   * them on the next start. Without it, a kill loses the events of the last batch.
   */
  journalPath?: string;
  delayMs?: number;
  maxBatch?: number;
}

/**
 * In one process the audit log is written straight to the embedded database; one insert per
 * tool call would put a database write on every call's path. Events are gathered for a few
 * milliseconds and written together; `append` resolves once its event is stored.
 *
 * What a tool call's audit is guaranteed: the gateway appends its event before the answer is
 * written, and append puts it in the journal synchronously (one write(2), no fsync), so an
 * answered call's event survives a SIGKILL or crash of the hub and is stored on its next
 * start; only a crash of the machine itself can lose the last moments. Changes to settings,
 * users and keys do not depend on this: their rows are stored in the change's transaction.
 */
export class BatchingAuditSink implements AuditSink {
  private batch: { event: AuditEvent; done: (err?: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Batches written but not yet committed. */
  private inFlight = 0;
  private journal: number | undefined;
  /**
   * Events of batches that failed to store (their appends were refused): written again with
   * the next batch, or on their own after a pause, so a database outage does not keep them
   * out of the log until a restart. Bounded; past the bound they wait in the journal alone,
   * which then is no longer emptied until the next start stores it.
   */
  private unstored: AuditEvent[] = [];
  private overflowed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 500;
  private readonly write: (events: AuditEvent[]) => Promise<unknown>;
  private readonly delayMs: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: BatchingAuditSinkOptions) {
    this.write = opts.write;
    this.delayMs = opts.delayMs ?? 25;
    this.maxBatch = opts.maxBatch ?? 500;
  }

  /**
   * Stores what a killed predecessor left in the journal, then opens it for appending. Call
   * before the first append; returns how many events were recovered.
   */
  async recover(): Promise<number> {
    const path = this.opts.journalPath;
    if (!path) return 0;
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    // A kill in the middle of a write leaves a partial last line: it was never acknowledged.
    const events = text
      .split("\n")
      .map((line) => (line ? parseStreamEvent(line).event : undefined))
      .filter((e): e is AuditEvent => e !== undefined);
    for (let i = 0; i < events.length; i += this.maxBatch) await this.write(events.slice(i, i + this.maxBatch));
    mkdirSync(dirname(path), { recursive: true });
    this.journal = openSync(path, "a");
    ftruncateSync(this.journal, 0);
    return events.length;
  }

  /** Never throws: an event that cannot be made is a rejected promise, so a caller's answer is never this exception. */
  append(input: AuditEventInput): Promise<AuditEvent> {
    let event: AuditEvent;
    try {
      // The request it is recorded for, as in split mode (AuditProducer's requestId option).
      event = completeEvent({ ...input, details: detailsWithRequestId(input.details) });
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.journal !== undefined) {
      try {
        writeSync(this.journal, `${JSON.stringify(event)}\n`);
      } catch {
        // A full or failing disk: the event is still stored with its batch, only not kill-safe;
        // the journal is kept as it is (never emptied again) for the next start to store.
        this.overflowed = true;
      }
    }
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
    if (batch.length === 0 && this.unstored.length === 0) return this.flushing;
    this.inFlight++;
    this.flushing = this.flushing.then(async () => {
      const retried = this.unstored.splice(0);
      try {
        await this.write([...retried, ...batch.map((b) => b.event)]);
        this.retryMs = 500;
        for (const b of batch) b.done();
      } catch (err) {
        this.keepUnstored([...retried, ...batch.map((b) => b.event)]);
        for (const b of batch) b.done(err);
      } finally {
        this.inFlight--;
        this.trimJournal();
      }
    });
    return this.flushing;
  }

  private keepUnstored(events: AuditEvent[]): void {
    const room = 10_000 - this.unstored.length;
    if (events.length > room) this.overflowed = true;
    this.unstored.push(...events.slice(0, Math.max(0, room)));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flush(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  /** Closes the journal (after a final flush); what it still holds is recovered next start. */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.flush();
    if (this.journal !== undefined) closeSync(this.journal);
    this.journal = undefined;
  }

  /**
   * Empties the journal when everything appended is stored. Appends run on this same thread,
   * so nothing can be journaled between the check and the truncate. Events not stored yet keep
   * it (the next start stores them if this process does not).
   */
  private trimJournal(): void {
    if (this.journal === undefined || this.inFlight > 0 || this.batch.length > 0 || this.unstored.length > 0 || this.overflowed) return;
    ftruncateSync(this.journal, 0);
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), ms);
  }
}
