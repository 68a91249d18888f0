import { spawnSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../helpers/processes.ts";

/**
 * Prometheus' own checker on the scrape config and alert rules, and its rule unit tests
 * (infra/prometheus/alerts.test.yml: each alert fires on what should raise it, not on healthy
 * series). Which metric names they may use is checked against a running cluster in
 * test/e2e/operations.test.ts.
 */
function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { cwd: join(repoRoot, "infra/prometheus"), encoding: "utf8" });
  if (r.error) throw new Error(`promtool is needed (Debian: apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, output: r.stdout + r.stderr };
}

describe("Prometheus configuration", () => {
  it("is valid, with its rule file", () => {
    const r = promtool("check", "config", "prometheus.yml");
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
  });

  it("alerts on an upstream down, the error ratio, p99, the audit backlog and a replica gone, as their unit tests expect", async () => {
    const rules = parse(await readFile(join(repoRoot, "infra/prometheus/alerts.yml"), "utf8"));
    const names = rules.groups.flatMap((g: { rules: { alert: string }[] }) => g.rules.map((r) => r.alert));
    expect(names).toEqual(expect.arrayContaining(["MCPHubUpstreamDown", "MCPHubToolErrorRatio", "MCPHubToolLatencyP99", "MCPHubAuditBacklog", "MCPHubGatewayReplicaGone"]));
    const tests = await readFile(join(repoRoot, "infra/prometheus/alerts.test.yml"), "utf8");
    for (const name of names) expect(tests, `${name} has a unit test`).toContain(`alertname: ${name}`);
    const r = promtool("test", "rules", "alerts.test.yml");
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS/);
  });
});

describe("Grafana provisioning", () => {
  it("provisions the dashboards directory and each dashboard uses the provisioned datasource", async () => {
    const provider = parse(await readFile(join(repoRoot, "infra/grafana/provisioning/dashboards/mcphub.yml"), "utf8"));
    expect(provider.providers[0].options.path).toBe("/var/lib/grafana/dashboards");
    const datasource = parse(await readFile(join(repoRoot, "infra/grafana/provisioning/datasources/prometheus.yml"), "utf8")).datasources[0];
    const files = (await readdir(join(repoRoot, "infra/grafana/dashboards"))).filter((f) => f.endsWith(".json"));
    expect(files.sort()).toEqual(["auth-audit.json", "gateways.json", "overview.json", "smart-routing.json", "upstreams.json"]);
    const uids = new Set<string>();
    for (const f of files) {
      const board = JSON.parse(await readFile(join(repoRoot, "infra/grafana/dashboards", f), "utf8"));
      expect(uids.has(board.uid), `${f}: unique uid`).toBe(false);
      uids.add(board.uid);
      expect(board.panels.length, f).toBeGreaterThanOrEqual(4);
      for (const p of board.panels) {
        expect(p.datasource.uid, `${f}: ${p.title}`).toBe(datasource.uid);
        expect(p.targets.length, `${f}: ${p.title}`).toBeGreaterThan(0);
      }
    }
  });
});
