/** Nearest-rank percentile of already sorted samples (ms). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Latency {
  n: number;
  p50: number;
  p99: number;
}

export function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

export const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "—" : `${v.toFixed(3)} ms`);
export const rate = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "—" : `${Math.round(v).toLocaleString("en-US")}`);
export const mb = (kb: number | undefined): string => (kb === undefined ? "—" : `${(kb / 1024).toFixed(1)} MB`);

/** A plain-text table with left-aligned first column and right-aligned others. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...rows.map(line)].join("\n");
}
