import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envSchema, splitServiceEnvSchema } from "../../packages/config/src/index.ts";
import { gatewayEnvSchema } from "../../apps/gateway/src/main.ts";
import { routerEnvSchema } from "../../apps/router/src/config.ts";
import { authEnvSchema } from "../../apps/auth/src/config.ts";
import { ComposeInterpolationError, dockerfileEnv, environmentOf, loadCompose, references } from "../helpers/compose.ts";
import { repoRoot } from "../helpers/processes.ts";

/** What can be checked of the compose topology without a Docker engine. */
const SECRETS = {
  JWT_SECRET: "a".repeat(48),
  INTERNAL_TOKEN: "b".repeat(32),
  POSTGRES_PASSWORD: "c".repeat(24),
  ADMIN_PASSWORD: "first-admin-password",
  GRAFANA_ADMIN_PASSWORD: "grafana-password",
};
const SERVICE_SCHEMAS = { gateway: gatewayEnvSchema, supervisor: splitServiceEnvSchema, router: routerEnvSchema, auth: authEnvSchema } as const;

describe("docker-compose.yml", () => {
  it("passes dclint against the current compose schema", () => {
    // dclint exits non-zero on any error (schema or rule) and prints each one.
    const out = execFileSync(join(repoRoot, "node_modules/.bin/dclint"), ["docker-compose.yml"], { cwd: repoRoot, encoding: "utf8" });
    expect(out).not.toMatch(/error/i);
  });

  it("refuses to start without its secrets: none has a default", async () => {
    const err = await loadCompose({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComposeInterpolationError);
    expect([...(err as ComposeInterpolationError).missing.keys()].sort()).toEqual(Object.keys(SECRETS).sort());
    // Every reference to a secret-looking variable is `${NAME:?reason}`, with a reason to read.
    const text = await readFile(join(repoRoot, "docker-compose.yml"), "utf8");
    const secretRefs = references(text).filter((r) => /SECRET|TOKEN|PASSWORD/.test(r.name));
    expect(secretRefs.length).toBeGreaterThanOrEqual(Object.keys(SECRETS).length);
    for (const ref of secretRefs) {
      expect(ref.op, `${ref.name} must be \${${ref.name}:?…}`).toBe(":?");
      expect(ref.arg, ref.name).toMatch(/\w/);
    }
  });

  it("documents in .env.example every variable it reads, each with a comment, and nothing it does not read", async () => {
    const text = await readFile(join(repoRoot, "docker-compose.yml"), "utf8");
    const read = new Set(references(text).map((r) => r.name));
    const example = (await readFile(join(repoRoot, ".env.example"), "utf8")).split("\n");
    const listed = new Map<string, number>();
    example.forEach((line, i) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
      if (m) listed.set(m[1]!, i);
    });
    expect([...read].sort()).toEqual([...listed.keys()].sort());
    // A comment line above each variable or its group says what it is.
    for (const [name, i] of listed) {
      let j = i - 1;
      while (j >= 0 && /^[A-Za-z_]/.test(example[j]!)) j--;
      expect(example[j], name).toMatch(/^# \S/);
    }
    // Secrets are listed empty: nothing to copy into production by mistake.
    for (const name of Object.keys(SECRETS)) expect(example[listed.get(name)!], name).toBe(`${name}=`);
  });

  it("gives every MCPHub service an environment its own schema accepts, with the image's ENV", async () => {
    const compose = await loadCompose(SECRETS);
    const imageEnv = await dockerfileEnv();
    expect(imageEnv.NODE_ENV).toBe("production");
    for (const [name, schema] of Object.entries(SERVICE_SCHEMAS)) {
      const env = { ...imageEnv, ...environmentOf(compose.services[name]) };
      // The dispatcher parses the shared schema first, then the service its own.
      const shared = envSchema.safeParse(env);
      expect(shared.success, `${name}: ${JSON.stringify(shared.error?.issues)}`).toBe(true);
      const own = schema.safeParse(env);
      expect(own.success, `${name}: ${JSON.stringify(own.error?.issues)}`).toBe(true);
      expect(env.HUB_TARGETS, name).toBe(name);
      // One image built once, run by every service.
      expect(compose.services[name].build, name).toBe(".");
      expect(compose.services[name].image, name).toBe(compose.services.gateway.image);
    }
  });

  it("runs every MCPHub container read-only, without capabilities or privilege gain, writable only where it keeps state", async () => {
    const compose = await loadCompose(SECRETS);
    for (const name of [...Object.keys(SERVICE_SCHEMAS), "dashboard"]) {
      const svc = compose.services[name];
      expect(svc.read_only, name).toBe(true);
      expect(svc.cap_drop, name).toEqual(["ALL"]);
      expect(svc.security_opt, name).toContain("no-new-privileges:true");
      // npx and uvx write their caches under HOME (the image's npm_config_cache and UV_CACHE_DIR).
      expect(svc.tmpfs, name).toEqual(expect.arrayContaining(["/tmp", "/home/node"]));
    }
    const image = await dockerfileEnv();
    expect(image.npm_config_cache).toMatch(/^\/home\/node\//);
    expect(image.UV_CACHE_DIR).toMatch(/^\/home\/node\//);
    // The supervisor writes its data, logs and the settings file (API edits): all mounted.
    const mounts = (compose.services.supervisor.volumes as string[]).map((v) => v.split(":")[1]);
    expect(mounts).toEqual(expect.arrayContaining([image.DATA_DIR ?? "/app/data", "/config/mcp_settings.json", "/var/log/mcphub"]));
  });

  it("wires the gateways to the router, the supervisor and auth, with two replicas", async () => {
    const compose = await loadCompose(SECRETS);
    const gateway = environmentOf(compose.services.gateway);
    expect(gateway.ROUTER_URL).toBe("http://router:3000");
    expect(gateway.SUPERVISOR_URL).toBe("http://supervisor:3000");
    expect(gateway.AUTH_URL).toBe("http://auth:3000");
    expect(compose.services.gateway.deploy.replicas).toBeGreaterThanOrEqual(2);
    // The supervisor hands these to the stdio servers it spawns (npx, uvx): a mirror set in .env reaches them.
    const supervisor = environmentOf(compose.services.supervisor);
    expect(supervisor.npm_config_registry).toMatch(/^https?:\/\//);
    expect(supervisor.UV_DEFAULT_INDEX).toMatch(/^https?:\/\//);
    const mirrored = environmentOf((await loadCompose({ ...SECRETS, npm_config_registry: "https://npm.mirror.example/", UV_DEFAULT_INDEX: "https://pypi.mirror.example/simple" })).services.supervisor);
    expect([mirrored.npm_config_registry, mirrored.UV_DEFAULT_INDEX]).toEqual(["https://npm.mirror.example/", "https://pypi.mirror.example/simple"]);
    // --scale needs replicas without fixed names or host ports.
    expect(compose.services.gateway.container_name).toBeUndefined();
    expect(compose.services.gateway.ports).toBeUndefined();
  });

  it("waits only on health checks that exist (the image's HEALTHCHECK or the service's own)", async () => {
    const compose = await loadCompose(SECRETS);
    const dockerfile = await readFile(join(repoRoot, "Dockerfile"), "utf8");
    const imageHasHealthcheck = /^HEALTHCHECK\s+(?!NONE)/m.test(dockerfile);
    for (const [name, svc] of Object.entries<any>(compose.services)) {
      for (const [dep, cond] of Object.entries<any>(svc.depends_on && !Array.isArray(svc.depends_on) ? svc.depends_on : {})) {
        if (cond.condition !== "service_healthy") continue;
        const target = compose.services[dep];
        const healthy = target.healthcheck !== undefined || (target.build === "." && imageHasHealthcheck);
        expect(healthy, `${name} waits for ${dep} to be healthy, which has no health check`).toBe(true);
      }
    }
  });

  it("keeps state in named volumes and initialises Postgres with pgvector", async () => {
    const compose = await loadCompose(SECRETS);
    const named = Object.keys(compose.volumes);
    const mounted = (svc: string) => (compose.services[svc].volumes as string[]).map((v) => v.split(":")[0]!);
    expect(named).toEqual(expect.arrayContaining(mounted("postgres").filter((v) => !v.startsWith("."))));
    expect(mounted("postgres")).toContain("postgres-data");
    expect(mounted("supervisor")).toContain("supervisor-data");
    expect(mounted("supervisor")).toContain("logs");
    expect(compose.services.postgres.image).toMatch(/^pgvector\/pgvector:pg16/);
    const init = (compose.services.postgres.volumes as string[]).find((v) => v.endsWith(":/docker-entrypoint-initdb.d:ro"))!;
    const sql = await readFile(join(repoRoot, init.split(":")[0]!, "01-extensions.sql"), "utf8");
    expect(sql).toMatch(/CREATE EXTENSION IF NOT EXISTS vector/);
  });

  it("gives nginx every value its templates need, and publishes plain HTTP only on loopback", async () => {
    const compose = await loadCompose(SECRETS);
    const nginx = compose.services.nginx;
    const env = environmentOf(nginx);
    // The TLS mode script exports the certificate paths; compose sets the rest.
    const envsh = await readFile(join(repoRoot, "infra/nginx/tls-mode.envsh"), "utf8");
    const exported = new Set([...envsh.matchAll(/export\s+([^\n]+)/g)].flatMap((m) => [...m[1]!.matchAll(/([A-Z_]+)=/g)].map((x) => x[1]!)));
    for (const mode of ["http", "https"]) {
      const template = await readFile(join(repoRoot, `infra/nginx/${mode}/mcphub.conf.template`), "utf8");
      for (const m of template.matchAll(/\$\{([A-Z_]+)\}/g)) expect(m[1]! in env || exported.has(m[1]!), `${mode}: ${m[1]}`).toBe(true);
      expect(envsh).toContain(`NGINX_ENVSUBST_TEMPLATE_DIR="$templates/${mode}"`);
    }
    expect(nginx.volumes).toContain("./infra/nginx:/etc/nginx/mcphub:ro");
    expect(envsh).toContain('templates="${MCPHUB_TEMPLATES_ROOT:-/etc/nginx/mcphub}"');
    expect(envsh).toContain('certs="${MCPHUB_CERTS_DIR:-/etc/nginx/certs}"');
    expect(nginx.volumes).toContain("./infra/nginx/certs:/etc/nginx/certs:ro");
    // The image's entrypoint sources a .envsh only when it is executable; the mount keeps git's mode.
    const mode = execFileSync("git", ["ls-files", "-s", "infra/nginx/tls-mode.envsh"], { cwd: repoRoot, encoding: "utf8" });
    expect(mode).toMatch(/^100755 /);
    expect(nginx.volumes).toContain("./infra/nginx/tls-mode.envsh:/docker-entrypoint.d/15-mcphub-tls-mode.envsh:ro");
    expect(env.MCPHUB_NGINX_DIR).toBe("/etc/nginx/mcphub");
    const http = (nginx.ports as string[]).find((p) => p.endsWith(":80"))!;
    expect(http).toMatch(/^127\.0\.0\.1:/);
  });

  it("serves the image's dashboard build from nginx: a one-shot copy into a volume nginx waits for", async () => {
    const compose = await loadCompose(SECRETS);
    const copy = compose.services.dashboard;
    expect(copy.image).toBe(compose.services.gateway.image);
    expect(copy.restart).toBe("no");
    // Where runtime-tree.sh puts the build in the image, into the volume.
    expect(copy.command.join(" ")).toMatch(/cp -a \/app\/apps\/dashboard\/dist\/\. \/srv\/dashboard\//);
    const [volume, target] = (copy.volumes as string[])[0]!.split(":");
    expect(target).toBe("/srv/dashboard");
    expect(compose.volumes).toHaveProperty(volume!);
    const nginx = compose.services.nginx;
    expect(nginx.depends_on.dashboard.condition).toBe("service_completed_successfully");
    // mcphub-routes.conf says `root dashboard;`: relative to the nginx image's prefix, /etc/nginx.
    expect(nginx.volumes).toContain(`${volume}:/etc/nginx/dashboard:ro`);
    expect(await readFile(join(repoRoot, "infra/nginx/mcphub-routes.conf"), "utf8")).toMatch(/root dashboard;/);
    expect(await readFile(join(repoRoot, "infra/scripts/runtime-tree.sh"), "utf8")).toMatch(/"\$out\/apps\/dashboard\/dist"/);
  });

  it("has Prometheus scrape every service, gateway replicas found by DNS", async () => {
    const compose = await loadCompose(SECRETS);
    const prom = parse(await readFile(join(repoRoot, "infra/prometheus/prometheus.yml"), "utf8"));
    const jobs = prom.scrape_configs as { job_name: string; dns_sd_configs?: { names: string[] }[]; static_configs?: { targets: string[] }[] }[];
    expect(jobs.find((j) => j.dns_sd_configs?.some((d) => d.names.includes("gateway")))).toBeDefined();
    const targets = jobs.flatMap((j) => j.static_configs?.flatMap((s) => s.targets) ?? []);
    for (const svc of ["supervisor", "router", "auth"]) {
      expect(targets, svc).toContain(`${svc}:3000`);
      expect(compose.services[svc]).toBeDefined();
    }
    expect(prom.rule_files).toEqual(expect.arrayContaining(["alerts.yml"]));
  });
});
