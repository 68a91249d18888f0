import type { FastifyInstance } from "fastify";
import type { SupervisorService } from "./supervisor.service.ts";

export interface SupervisorDeps {
  supervisor: SupervisorService;
}

/** The supervisor's HTTP surface: upstream health. (Settings REST API and /internal come with the split topology.) */
export default async function supervisorApp(app: FastifyInstance, deps: SupervisorDeps): Promise<void> {
  app.get("/api/health", async () => {
    const servers = deps.supervisor.status();
    return { status: "ok", servers };
  });
  app.get("/api/health/ready", async (_req, reply) => {
    const servers = deps.supervisor.status();
    const notReady = servers.filter((s) => s.state !== "ready" && s.state !== "disabled");
    reply.code(notReady.length ? 503 : 200);
    return { status: notReady.length ? "degraded" : "ready", servers };
  });
}
