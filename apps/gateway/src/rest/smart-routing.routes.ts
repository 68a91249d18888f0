import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { HubError, McpCallError, type AuditSink, type AuthenticatorPort, type RouterPort, type SupervisorPort } from "@mcphub/contracts";
import { restErrorHandler, safeErrorMessage, type Logger } from "@mcphub/observability";
import { requireAdmin } from "@mcphub/service-clients";
import { CatalogViews, resolveTarget, SMART_TARGET } from "../core/catalog-view.ts";
import { searchArgs, SmartSearcher } from "../core/smart-tools.ts";

export interface SmartRoutingApiDeps {
  router: RouterPort;
  supervisor: Pick<SupervisorPort, "catalog">;
  /** When set, every route needs an admin's session token. */
  authenticator?: AuthenticatorPort;
  audit?: AuditSink;
  logger: Logger;
}

const searchBody = z.strictObject({
  query: z.unknown(),
  limit: z.unknown().optional(),
  /** A group id or name: search only what `/mcp/$smart/<group>` would. */
  group: z.string({ error: "must be a group id or name" }).min(1, "must not be empty").optional(),
});

/**
 * The smart-routing REST API, for the dashboard and operators: what `search_tools` would answer
 * (the same code), the index's state, and a rebuild. Served where the meta-tools are, by the
 * gateway, so a search here and one over MCP cannot disagree.
 */
export async function smartRoutingApi(app: FastifyInstance, deps: SmartRoutingApiDeps): Promise<void> {
  restErrorHandler(app);
  const searcher = new SmartSearcher(deps.router, deps.logger, deps.audit);
  const views = new CatalogViews();
  const admin = async (req: FastifyRequest) => {
    if (deps.authenticator) return requireAdmin(deps.authenticator, req.headers.authorization, "smart routing's API");
    return undefined;
  };

  app.post("/api/smart-routing/search", async (req) => {
    const principal = await admin(req);
    const parsed = searchBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
      throw new HubError("HUB_INVALID_BODY", details.join("; "), 400, details);
    }
    let query: { query: string; limit: number };
    try {
      query = searchArgs(parsed.data as Record<string, unknown>, "search");
    } catch (err) {
      // The same checks as search_tools; here they read as a REST body's fields.
      const message = (err as Error).message.replace(/^search: arguments\./, "");
      throw new HubError("HUB_INVALID_BODY", message, 400, [message]);
    }
    const snap = deps.supervisor.catalog();
    const group = parsed.data.group;
    const target = resolveTarget(group === undefined ? SMART_TARGET : `${SMART_TARGET}/${group}`, snap);
    if (!target) {
      if (!snap.smartRouting.enabled) throw new HubError("HUB_SMART_ROUTING_DISABLED", "smart routing is disabled (systemConfig.smartRouting.enabled)", 409);
      throw new HubError("HUB_NOT_FOUND", group === undefined ? "the global route is disabled: name a group" : `no group named "${group}"`, 404);
    }
    try {
      const view = views.view(snap, target);
      const search = await searcher.search(view, snap, query.query, query.limit);
      searcher.record(search, view, snap, principal?.kind === "user" ? { userId: principal.userId, username: principal.username } : undefined, "api");
      const { hits, ...rest } = search;
      return { results: hits, ...rest };
    } catch (err) {
      if (err instanceof McpCallError) throw new HubError("HUB_SEARCH_UNAVAILABLE", err.message, 503);
      throw err;
    }
  });

  app.get("/api/smart-routing/status", async (req) => {
    await admin(req);
    const { smartRouting } = deps.supervisor.catalog();
    const { openaiApiKey, ...settings } = smartRouting;
    return { settings: { ...settings, openaiApiKeySet: Boolean(openaiApiKey) }, index: await deps.router.status() };
  });

  app.post("/api/smart-routing/reindex", async (req, reply) => {
    const principal = await admin(req);
    // A rebuild of thousands of tools takes a while: it runs on, and status shows its progress.
    const rebuilt = deps.router.reindex();
    rebuilt.catch((err: unknown) => req.log.error({ err: safeErrorMessage(err) }, "tool index rebuild failed"));
    if (deps.audit) {
      const event = {
        action: "smart-routing.reindex",
        resource: "smart-routing",
        success: true,
        ...(principal?.kind === "user" ? { userId: principal.userId, username: principal.username } : {}),
        ip: req.ip,
      };
      await deps.audit.append(event).catch((err: unknown) => req.log.error({ err: safeErrorMessage(err), action: event.action }, "could not append an audit event"));
    }
    reply.code(202);
    return { accepted: true, index: await deps.router.status() };
  });
}
