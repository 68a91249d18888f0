import { Counter, type Registry } from "prom-client";

export type AuditMetrics = Counter<"result">;

/**
 * `mcphub_audit_events_total{result}`: events stored ("inserted"), already stored
 * ("duplicate", a replay), or dropped as unreadable ("malformed"). Registered once per
 * registry, however many sinks or consumers share it.
 */
export function auditMetrics(registry: Registry): AuditMetrics {
  const name = "mcphub_audit_events_total";
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as AuditMetrics;
  return new Counter({
    name,
    help: "Audit events handled by the auth service, by result (inserted, duplicate, malformed).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
}
