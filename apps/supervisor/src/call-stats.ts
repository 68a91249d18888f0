/**
 * Tool calls per server and minute over the last hour, for the dashboard's overview: the same
 * calls `mcphub_tool_calls_total` and `mcphub_tool_call_duration_seconds` count, kept as a short
 * time series (Prometheus keeps the long one). Every tools/call passes the supervisor, in
 * all-in-one and split alike, so one process sees them all.
 */
export interface MinuteStats {
  /** Start of the minute, ISO 8601. */
  at: string;
  calls: number;
  errors: number;
  /** Median duration of the minute's calls, ms; null without calls. */
  p50Ms: number | null;
}

export interface ServerStats {
  server: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  /** Oldest first, one entry per minute of the window (zeros where nothing happened). */
  minutes: MinuteStats[];
}

interface Bucket {
  minute: number;
  calls: number;
  errors: number;
  /** A bounded sample of durations: enough for a median, never unbounded memory. */
  durations: number[];
}

const MINUTE = 60_000;
const SAMPLE = 500;

export class CallStats {
  private readonly buckets = new Map<string, Bucket[]>();

  constructor(
    readonly windowMinutes = 60,
    private readonly now: () => number = Date.now,
  ) {}

  record(server: string, durationMs: number, ok: boolean): void {
    const minute = Math.floor(this.now() / MINUTE);
    let list = this.buckets.get(server);
    if (!list) this.buckets.set(server, (list = []));
    let last = list[list.length - 1];
    if (!last || last.minute !== minute) {
      last = { minute, calls: 0, errors: 0, durations: [] };
      list.push(last);
      while (list.length && list[0]!.minute <= minute - this.windowMinutes) list.shift();
    }
    last.calls++;
    if (!ok) last.errors++;
    if (last.durations.length < SAMPLE) last.durations.push(durationMs);
    else last.durations[Math.floor(Math.random() * SAMPLE)] = durationMs;
  }

  /** Per server, the window ending now; servers listed in `servers` appear even without calls. */
  snapshot(servers: string[] = []): { windowMinutes: number; servers: ServerStats[] } {
    const current = Math.floor(this.now() / MINUTE);
    const first = current - this.windowMinutes + 1;
    const names = [...new Set([...servers, ...this.buckets.keys()])];
    return {
      windowMinutes: this.windowMinutes,
      servers: names.map((server) => {
        const list = (this.buckets.get(server) ?? []).filter((b) => b.minute >= first);
        const byMinute = new Map(list.map((b) => [b.minute, b]));
        const minutes: MinuteStats[] = [];
        for (let m = first; m <= current; m++) {
          const b = byMinute.get(m);
          minutes.push({ at: new Date(m * MINUTE).toISOString(), calls: b?.calls ?? 0, errors: b?.errors ?? 0, p50Ms: b ? median(b.durations) : null });
        }
        return {
          server,
          calls: list.reduce((n, b) => n + b.calls, 0),
          errors: list.reduce((n, b) => n + b.errors, 0),
          p50Ms: median(list.flatMap((b) => b.durations)),
          minutes,
        };
      }),
    };
  }
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const m = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Math.round(m * 10) / 10;
}
