import type { FastifyInstance } from "fastify";
import type { AuditSink, AuthenticatorPort } from "@mcphub/contracts";
import { restErrorHandler } from "@mcphub/observability";
import { settingsOpenApi } from "./openapi.ts";
import { serverToolsRoutes } from "./server-tools.routes.ts";
import { settingsRoutes } from "./settings.routes.ts";
import type { SettingsService } from "./settings.service.ts";
import type { SupervisorService } from "./supervisor.service.ts";

export interface SupervisorDeps {
  supervisor: SupervisorService;
  settings: SettingsService;
  /** The prefix this plugin is mounted under, for the OpenAPI document's paths. */
  basePath: string;
  /** When set, the settings API needs an admin's session token. */
  authenticator?: AuthenticatorPort;
  /** Where management changes are recorded. */
  audit?: AuditSink;
}

/** The supervisor's HTTP surface: upstream health, the settings REST API and its OpenAPI description. */
export default async function supervisorApp(app: FastifyInstance, deps: SupervisorDeps): Promise<void> {
  restErrorHandler(app);
  // Open endpoints are a choice (SKIP_AUTH=true) or a missing auth service: say so where operators look.
  const auth = deps.authenticator ? "enforced" : "OPEN: no credentials are checked (SKIP_AUTH=true or no auth service)";
  app.get("/api/health", async () => {
    const servers = deps.supervisor.status();
    return { status: "ok", auth, servers };
  });
  app.get("/api/health/ready", async (_req, reply) => {
    const servers = deps.supervisor.status();
    const notReady = servers.filter((s) => s.state !== "ready" && s.state !== "disabled");
    reply.code(notReady.length ? 503 : 200);
    return { status: notReady.length ? "degraded" : "ready", servers };
  });
  const doc = settingsOpenApi(deps.basePath);
  app.get("/api/docs", async () => doc);
  await app.register(settingsRoutes, deps);
  await app.register(serverToolsRoutes, deps);
}
