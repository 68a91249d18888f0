import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HubMetrics } from "../../packages/observability/src/metrics.ts";
import { repoRoot } from "../helpers/processes.ts";

/** What can be checked of the compose topology without a Docker engine. */
describe("docker-compose.yml", () => {
  it("passes dclint against the current compose schema", () => {
    // dclint exits non-zero on any error (schema or rule) and prints each one.
    const out = execFileSync(join(repoRoot, "node_modules/.bin/dclint"), ["docker-compose.yml"], { cwd: repoRoot, encoding: "utf8" });
    expect(out).not.toMatch(/error/i);
  });

  it("gives nginx every value its template needs, and runs the services the cluster runs", async () => {
    const compose = parse(await readFile(join(repoRoot, "docker-compose.yml"), "utf8"), { merge: true });
    const template = await readFile(join(repoRoot, "infra/nginx/mcphub.conf.template"), "utf8");
    const needed = new Set([...template.matchAll(/\$\{(MCPHUB_[A-Z_]+)\}/g)].map((m) => m[1]));
    expect(Object.keys(compose.services.nginx.environment)).toEqual(expect.arrayContaining([...needed]));
    // One image; HUB_TARGETS picks the service, as `pnpm cluster` does with the same bundle.
    for (const name of ["gateway", "supervisor", "router", "auth"]) {
      expect(compose.services[name].environment.HUB_TARGETS, name).toBe(name);
      expect(compose.services[name].build, name).toBe(".");
    }
    expect(compose.services.gateway.deploy.replicas).toBeGreaterThanOrEqual(2);
    // Gateways refuse to start without an auth service unless SKIP_AUTH=true.
    expect(compose.services.gateway.environment.AUTH_URL).toBe("http://auth:3000");
  });
});

describe("Grafana dashboards", () => {
  it("use only metric names the services expose", async () => {
    const metrics = new HubMetrics();
    const exposed = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exposed.add(m.name);
      if (String(m.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exposed.add(m.name + suffix);
    }
    const dashboard = JSON.parse(await readFile(join(repoRoot, "infra/grafana/dashboards/mcphub.json"), "utf8"));
    const used = new Set<string>();
    for (const panel of dashboard.panels) for (const t of panel.targets) for (const m of t.expr.matchAll(/mcphub_[a-z_]+/g)) used.add(m[0]);
    expect(used.size).toBeGreaterThan(3);
    for (const name of used) expect(exposed, `dashboard uses ${name}`).toContain(name);
  });
});
