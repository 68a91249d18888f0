import { describe, expect, it } from "vitest";
import { CallStats } from "./call-stats.ts";

describe("CallStats", () => {
  it("counts calls and errors per server and minute, with the median latency", () => {
    let now = Date.parse("2030-01-01T10:00:05Z");
    const stats = new CallStats(3, () => now);
    stats.record("a", 10, true);
    stats.record("a", 30, false);
    stats.record("a", 20, true);
    now += 60_000;
    stats.record("a", 100, true);
    stats.record("b", 5, true);
    const { windowMinutes, servers } = stats.snapshot(["a", "b", "idle"]);
    expect(windowMinutes).toBe(3);
    const a = servers.find((s) => s.server === "a")!;
    expect(a).toMatchObject({ calls: 4, errors: 1, p50Ms: 25 });
    expect(a.minutes.map((m) => [m.at, m.calls, m.errors, m.p50Ms])).toEqual([
      ["2030-01-01T09:59:00.000Z", 0, 0, null],
      ["2030-01-01T10:00:00.000Z", 3, 1, 20],
      ["2030-01-01T10:01:00.000Z", 1, 0, 100],
    ]);
    expect(servers.find((s) => s.server === "idle")).toMatchObject({ calls: 0, errors: 0, p50Ms: null });
  });

  it("forgets minutes that left the window", () => {
    let now = Date.parse("2030-01-01T10:00:00Z");
    const stats = new CallStats(2, () => now);
    stats.record("a", 1, true);
    now += 5 * 60_000;
    expect(stats.snapshot().servers[0]).toMatchObject({ server: "a", calls: 0 });
    stats.record("a", 2, false);
    expect(stats.snapshot().servers[0]).toMatchObject({ calls: 1, errors: 1, p50Ms: 2 });
  });
});
