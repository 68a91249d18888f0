import { Gauge, type Registry } from "prom-client";

/**
 * `mcphub_audit_spooled`: audit events this process holds because Redis cannot take them yet
 * (the producer's bounded spool), read at scrape time. Above 0 for long means Redis is away
 * and the spool, kept in memory, is all there is of those events.
 */
export function auditSpoolGauge(registry: Registry, spooled: () => number): Gauge {
  return new Gauge({
    name: "mcphub_audit_spooled",
    help: "Audit events waiting in this process's local spool for Redis (the audit stream) to take them.",
    registers: [registry],
    collect() {
      this.set(spooled());
    },
  });
}
