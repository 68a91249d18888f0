import { Gauge, type Registry } from "prom-client";
import type { Redis } from "ioredis";

/**
 * `mcphub_audit_backlog`: audit events on the Redis stream that the auth service's consumer
 * group has not committed yet, read from `XINFO GROUPS` at scrape time: `lag` (not yet
 * delivered to the group) plus `pending` (delivered, not acknowledged). It grows when auth is
 * down or the database refuses inserts; the alert rules watch it. -1 when Redis does not
 * answer or cannot tell the lag (the stream was trimmed past the group).
 */
export function auditBacklogGauge(registry: Registry, redis: Redis, stream: string, group: string): Gauge {
  return new Gauge({
    name: "mcphub_audit_backlog",
    help: "Audit events on the stream not yet stored by the auth service (lag plus pending); -1 when unknown.",
    registers: [registry],
    async collect() {
      this.set(await backlog(redis, stream, group));
    },
  });
}

async function backlog(redis: Redis, stream: string, group: string): Promise<number> {
  let groups: unknown[];
  try {
    groups = (await redis.xinfo("GROUPS", stream)) as unknown[];
  } catch (err) {
    // No stream yet: nothing was ever produced, so nothing waits.
    if (/no such key/i.test((err as Error).message)) return 0;
    return -1;
  }
  for (const entry of groups) {
    const fields = entry as unknown[];
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) info[String(fields[i])] = fields[i + 1];
    if (info.name !== group) continue;
    const lag = info.lag;
    if (lag === null || lag === undefined) return -1;
    return Number(lag) + Number(info.pending ?? 0);
  }
  // The group is made when auth first starts; until then every event waits.
  const length = await redis.xlen(stream).catch(() => -1);
  return length;
}
