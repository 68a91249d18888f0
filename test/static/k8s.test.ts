import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { envSchema, splitServiceEnvSchema } from "../../packages/config/src/index.ts";
import { gatewayEnvSchema } from "../../apps/gateway/src/main.ts";
import { routerEnvSchema } from "../../apps/router/src/config.ts";
import { authEnvSchema } from "../../apps/auth/src/config.ts";
import { dockerfileEnv } from "../helpers/compose.ts";
import { repoRoot } from "../helpers/processes.ts";

/**
 * infra/k8s rendered offline by `kubectl kustomize`, each object checked against the
 * Kubernetes API schemas (kubernetes-models), then what an operator relies on: probes,
 * non-root, resources, secrets by reference, the gateway's replicas, HPA and PDB, Services and
 * the Ingress pointing at what exists, and each service's environment accepted by its schema.
 */
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };
const SERVICE_SCHEMAS = { gateway: gatewayEnvSchema, supervisor: splitServiceEnvSchema, router: routerEnvSchema, auth: authEnvSchema } as const;
const SECRET_VALUES: Record<string, string> = {
  INTERNAL_TOKEN: "i".repeat(32),
  REDIS_URL: "redis://redis.example:6379",
  DATABASE_URL: "postgres://mcphub:pw@postgres.example:5432/mcphub",
  JWT_SECRET: "j".repeat(48),
  ADMIN_PASSWORD: "first-admin-password",
};

function render(dir: string): K8sObject[] {
  const out = execFileSync("kubectl", ["kustomize", join(repoRoot, "infra/k8s", dir)], { encoding: "utf8" });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

async function validate(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [undefined, obj.apiVersion];
  const path = group ? `${group}/${version}` : version;
  const mod = (await import(`kubernetes-models/${path}/${obj.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>;
  new mod[obj.kind]!(obj).validate();
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

for (const variant of ["base", "overlays/production"]) {
  describe(`infra/k8s/${variant}`, () => {
    const objects = render(variant);
    const of = (kind: string) => objects.filter((o) => o.kind === kind);
    const deployment = (name: string) => of("Deployment").find((d) => d.metadata.name === `mcphub-${name}`)!;

    it("renders objects that the Kubernetes API schemas accept", async () => {
      expect(objects.length).toBeGreaterThan(10);
      for (const obj of objects) await expect(validate(obj), `${obj.kind}/${obj.metadata.name}`).resolves.toBeUndefined();
    });

    it("has a Deployment per service with probes on /api/health/ready and /api/health, non-root, and resources", () => {
      for (const name of Object.keys(SERVICE_SCHEMAS)) {
        const d = deployment(name);
        expect(d, name).toBeDefined();
        const pod = d.spec.template.spec;
        expect(pod.securityContext.runAsNonRoot, name).toBe(true);
        expect(pod.securityContext.runAsUser, name).toBeGreaterThan(0);
        expect(pod.automountServiceAccountToken, name).toBe(false);
        for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect(c.securityContext.allowPrivilegeEscalation, `${name}/${c.name}`).toBe(false);
          expect(c.securityContext.readOnlyRootFilesystem, `${name}/${c.name}`).toBe(true);
          expect(c.securityContext.capabilities.drop, `${name}/${c.name}`).toEqual(["ALL"]);
          for (const r of ["requests", "limits"]) for (const k of ["cpu", "memory"]) expect(c.resources?.[r]?.[k], `${name}/${c.name} ${r}.${k}`).toBeDefined();
        }
        const [main] = pod.containers;
        expect(main.readinessProbe.httpGet.path, name).toBe("/api/health/ready");
        expect(main.livenessProbe.httpGet.path, name).toBe("/api/health");
        const portNames = main.ports.map((p: { name: string }) => p.name);
        expect(portNames, name).toContain(main.readinessProbe.httpGet.port);
        expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), name).toBe(true);
      }
      expect(deployment("supervisor").spec.replicas).toBe(1);
      expect(deployment("supervisor").spec.strategy.type).toBe("Recreate");
    });

    it("runs every pod non-root with every capability dropped, probes and resources (the dashboard too)", () => {
      for (const d of of("Deployment")) {
        const pod = d.spec.template.spec;
        expect(pod.securityContext.runAsNonRoot, d.metadata.name).toBe(true);
        expect(pod.securityContext.seccompProfile.type, d.metadata.name).toBe("RuntimeDefault");
        for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect(c.securityContext.allowPrivilegeEscalation, `${d.metadata.name}/${c.name}`).toBe(false);
          expect(c.securityContext.capabilities.drop, `${d.metadata.name}/${c.name}`).toEqual(["ALL"]);
          expect(c.resources?.limits?.memory, `${d.metadata.name}/${c.name}`).toBeDefined();
        }
        for (const c of pod.containers) {
          expect(c.readinessProbe?.httpGet, `${d.metadata.name}/${c.name}`).toBeDefined();
          expect(c.livenessProbe?.httpGet, `${d.metadata.name}/${c.name}`).toBeDefined();
        }
      }
      const dashboard = deployment("dashboard");
      // The build comes out of the MCPHub image, from where runtime-tree.sh puts it.
      expect(dashboard.spec.template.spec.initContainers[0].image).toBe(deployment("gateway").spec.template.spec.containers[0].image);
      expect(dashboard.spec.template.spec.initContainers[0].command.join(" ")).toContain("/app/apps/dashboard/dist/");
    });

    it("references secrets and never contains one", () => {
      expect(of("Secret")).toEqual([]);
      for (const d of of("Deployment")) {
        for (const c of d.spec.template.spec.containers) {
          for (const e of c.env ?? []) {
            if (/SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL|API_KEY/.test(e.name)) {
              expect(e.value, `${d.metadata.name}: ${e.name}`).toBeUndefined();
              expect(e.valueFrom?.secretKeyRef?.name, `${d.metadata.name}: ${e.name}`).toBe("mcphub-secrets");
            }
          }
        }
      }
      for (const cm of of("ConfigMap")) for (const k of Object.keys(cm.data ?? {})) expect(k).not.toMatch(/SECRET|TOKEN|PASSWORD|KEY$/);
    });

    it("gives each service an environment its own schema accepts, with the image's ENV", async () => {
      const image = await dockerfileEnv();
      const config = of("ConfigMap").find((c) => c.metadata.name === "mcphub-config")!.data!;
      for (const [name, schema] of Object.entries(SERVICE_SCHEMAS)) {
        const c = deployment(name).spec.template.spec.containers[0];
        const env: Record<string, string> = { ...image };
        for (const from of c.envFrom ?? []) if (from.configMapRef?.name === "mcphub-config") Object.assign(env, config);
        for (const e of c.env ?? []) {
          if (e.value !== undefined) env[e.name] = e.value;
          else if (e.valueFrom?.secretKeyRef) {
            const v = SECRET_VALUES[e.valueFrom.secretKeyRef.key];
            if (v === undefined) expect(e.valueFrom.secretKeyRef.optional, `${name}: ${e.name} without a test value must be optional`).toBe(true);
            else env[e.name] = v;
          } else if (e.valueFrom?.fieldRef) env[e.name] = `${name}-pod`;
        }
        expect(env.HUB_TARGETS, name).toBe(name);
        for (const s of [envSchema, schema]) {
          const parsed = s.safeParse(env);
          expect(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
        }
      }
      // Gateways reach their peers by Service name.
      const services = new Set(of("Service").map((s) => s.metadata.name));
      for (const key of ["AUTH_URL", "SUPERVISOR_URL", "ROUTER_URL"]) expect(services.has(new URL(config[key]!).hostname), key).toBe(true);
    });

    it("runs two or more gateways behind a Service, scaled by an HPA and kept up by a PDB", () => {
      const gw = deployment("gateway");
      expect(gw.spec.replicas).toBeGreaterThanOrEqual(2);
      const hpa = of("HorizontalPodAutoscaler").find((h) => h.spec.scaleTargetRef.name === gw.metadata.name)!;
      expect(hpa.spec.scaleTargetRef.kind).toBe("Deployment");
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      const pdb = of("PodDisruptionBudget").find((p) => matches(p.spec.selector.matchLabels, gw.spec.template.metadata.labels))!;
      expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
      expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
    });

    it("points every Service at pods that exist and the Ingress at Services that exist, with nginx's routes and SSE settings", async () => {
      const deployments = of("Deployment");
      for (const svc of of("Service")) {
        const target = deployments.find((d) => matches(svc.spec.selector, d.spec.template.metadata.labels));
        expect(target, svc.metadata.name).toBeDefined();
        const names = target!.spec.template.spec.containers.flatMap((c: { ports: { name: string }[] }) => c.ports.map((p) => p.name));
        for (const p of svc.spec.ports) expect(names, svc.metadata.name).toContain(p.targetPort);
      }
      const [ingress] = of("Ingress");
      const a = ingress!.metadata.annotations!;
      expect(a["nginx.ingress.kubernetes.io/proxy-buffering"]).toBe("off");
      expect(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(3600);
      const routes = new Map<string, string>();
      for (const rule of ingress!.spec.rules) {
        for (const p of rule.http.paths) {
          const svc = of("Service").find((s) => s.metadata.name === p.backend.service.name);
          expect(svc, p.path).toBeDefined();
          expect(svc!.spec.ports.map((x: { name: string }) => x.name)).toContain(p.backend.service.port.name);
          routes.set(p.path, p.backend.service.name.replace("mcphub-", ""));
        }
      }
      // The same routes as the nginx of compose and `pnpm cluster`.
      const conf = await readFile(join(repoRoot, "infra/nginx/mcphub-routes.conf"), "utf8");
      const nginx = new Map([...conf.matchAll(/^location\s+(?:=\s+)?(\S+)\s+\{\s*proxy_pass http:\/\/mcphub_(\w+);/gm)].map((m) => [m[1]!, m[2]!]));
      expect(nginx.size).toBeGreaterThan(10);
      // "/" is nginx's own (the dashboard's files); here a Service of its own serves them.
      expect(routes.get("/")).toBe("dashboard");
      routes.delete("/");
      expect(Object.fromEntries(routes)).toEqual(Object.fromEntries(nginx));
      if (variant !== "base") {
        expect(ingress!.spec.tls[0].secretName).toBeDefined();
        expect(ingress!.spec.rules[0].host).toBe(ingress!.spec.tls[0].hosts[0]);
      }
    });
  });
}

describe("infra/k8s/overlays/production", () => {
  it("pins the image, runs in its own namespace under the restricted Pod Security Standard", () => {
    const objects = render("overlays/production");
    const ns = objects.find((o) => o.kind === "Namespace")!;
    expect(ns.metadata.labels!["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    for (const o of objects.filter((o) => o.kind !== "Namespace")) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(ns.metadata.name);
    for (const d of objects.filter((o) => o.kind === "Deployment")) {
      for (const c of [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers]) {
        // MCPHub's own image at the release, anything else at a fixed version.
        if (c.image.includes("mcphub")) expect(c.image, d.metadata.name).toMatch(/^[^:]+\/mcphub:\d+\.\d+\.\d+$/);
        else expect(c.image, d.metadata.name).toMatch(/:\d+\.\d+[\w.-]*$/);
      }
    }
  });
});
