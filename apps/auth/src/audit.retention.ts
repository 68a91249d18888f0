import type { Logger } from "@mcphub/observability";
import type { AuditRepository } from "./audit.repository.ts";

const DAY_MS = 24 * 3600 * 1000;

/** Deletes audit entries older than the retention period, at start and then every `everyMs` (hourly). */
export class AuditRetention {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly repository: AuditRepository,
    private readonly logger: Logger,
    private readonly days: number,
    private readonly everyMs = 3600_000,
  ) {}

  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; replicas may run it at the same time, deleting the same rows is harmless. */
  async runOnce(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.days * DAY_MS);
    const pass = this.repository.deleteOlderThan(cutoff);
    this.running = pass.then(() => {}, () => {});
    try {
      const deleted = await pass;
      if (deleted > 0) this.logger.info({ deleted, olderThan: cutoff.toISOString() }, "audit retention: deleted old entries");
      return deleted;
    } catch (err) {
      this.logger.warn({ err }, "audit retention: deleting old entries failed; trying again next hour");
      return 0;
    }
  }
}
