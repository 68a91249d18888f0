import type { FastifyInstance, FastifyRequest } from "fastify";
import { safeErrorMessage } from "@mcphub/observability";
import { HubError, McpCallError, type AuditSink, type AuthenticatorPort } from "@mcphub/contracts";
import { adminOnly } from "./admin-guard.ts";
import type { SettingsService } from "./settings.service.ts";
import type { SupervisorService } from "./supervisor.service.ts";

export interface ServerToolsRoutesDeps {
  settings: SettingsService;
  supervisor: SupervisorService;
  /** When set, every route here needs an admin's session token. */
  authenticator?: AuthenticatorPort;
  audit?: AuditSink;
}

const notFound = (name: string) => new HubError("HUB_NOT_FOUND", `no server named "${name}"`, 404);

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== "object" || Array.isArray(b)) throw new HubError("HUB_INVALID_BODY", "the body must be a JSON object", 400);
  return b as Record<string, unknown>;
}

/** What the management API shows of a server's catalog: its tools with their overrides, prompts, resources, and a way to try a tool. */
export async function serverToolsRoutes(app: FastifyInstance, deps: ServerToolsRoutesDeps): Promise<void> {
  const { settings } = deps;
  if (deps.authenticator) app.addHook("preHandler", adminOnly(deps.authenticator));
  const configOf = (name: string) => {
    const all = (settings.settings.raw.mcpServers ?? {}) as Record<string, Record<string, unknown>>;
    return Object.hasOwn(all, name) ? all[name] : undefined;
  };

  /** Reconnects a server now (a stdio server gets a new process); recorded in the audit log. */
  app.post<{ Params: { name: string } }>("/api/servers/:name/restart", async (req, reply) => {
    const { name } = req.params;
    if (!configOf(name)) throw notFound(name);
    const restarted = await deps.supervisor.restart(name);
    await deps.audit
      ?.append({
        action: "server.restart",
        resource: "server",
        resourceId: name,
        success: restarted,
        ...(req.principal ? { userId: req.principal.userId, username: req.principal.username } : {}),
        ip: req.ip,
      })
      .catch((err: unknown) => req.log.error({ err: safeErrorMessage(err), action: "server.restart" }, "could not append an audit event"));
    if (!restarted) throw new HubError("HUB_CONFLICT", `server "${name}" is disabled: enable it to start it`, 409);
    reply.code(202);
    return { status: deps.supervisor.status().find((s) => s.name === name) };
  });

  /** Tool calls per server over the last hour, minute by minute: calls, errors, median latency. */
  app.get("/api/stats", async () => {
    const names = Object.keys((settings.settings.raw.mcpServers ?? {}) as Record<string, unknown>);
    return deps.supervisor.stats.snapshot(names);
  });

  /**
   * A server's tools as it lists them, each with its override applied and shown: enabled, the
   * description clients see, the server's own. Prompts and resources beside them.
   */
  app.get<{ Params: { name: string } }>("/api/servers/:name/tools", async (req) => {
    const { name } = req.params;
    const config = configOf(name);
    const lists = deps.supervisor.upstreamLists(name);
    if (!config || !lists) throw notFound(name);
    const sep = settings.settings.parsed.systemConfig.nameSeparator;
    const overrides = (config.tools ?? {}) as Record<string, { enabled?: boolean; description?: string }>;
    const tools = lists.tools.map((t) => {
      const tool = String(t.name);
      const key = `${name}${sep}${tool}`;
      const o = overrides[key] ?? overrides[tool] ?? {};
      return {
        name: tool,
        key,
        title: t.title,
        enabled: o.enabled !== false,
        description: o.description ?? t.description ?? "",
        originalDescription: t.description ?? "",
        descriptionOverridden: o.description !== undefined,
        inputSchema: t.inputSchema,
      };
    });
    return { tools, prompts: lists.prompts, resources: lists.resources };
  });

  /**
   * Calls a server's tool for an admin trying it out (the dashboard's playground): the same
   * refusal of disabled tools as MCP clients get, recorded in the audit log as a tool call.
   */
  app.post<{ Params: { name: string; tool: string } }>("/api/servers/:name/tools/:tool/call", async (req) => {
    const { name, tool } = req.params;
    const input = body(req);
    const args = input.arguments ?? {};
    if (!args || typeof args !== "object" || Array.isArray(args)) {
      throw new HubError("HUB_INVALID_BODY", "arguments: must be a JSON object", 400, ["$.arguments: must be a JSON object"]);
    }
    if (!configOf(name)) throw notFound(name);
    const started = performance.now();
    let outcome = "ok";
    try {
      const result = await deps.supervisor.call({ server: name, method: "tools/call", params: { name: tool, arguments: args } });
      if (result.isError === true) outcome = "tool_error";
      return { result };
    } catch (err) {
      outcome = err instanceof McpCallError ? (err.reason ?? `error ${err.code}`) : "error";
      if (err instanceof McpCallError) throw new HubError(err.reason === "refused" ? "HUB_TOOL_REFUSED" : "HUB_TOOL_CALL_FAILED", err.message, err.reason === "refused" ? 403 : 502, { code: err.code, data: err.data });
      throw err;
    } finally {
      deps.audit
        ?.append({
          action: "tool.call",
          resource: name,
          resourceId: tool,
          success: outcome === "ok",
          ...(req.principal ? { userId: req.principal.userId, username: req.principal.username } : {}),
          ip: req.ip,
          details: { outcome, durationMs: Math.round((performance.now() - started) * 10) / 10, via: "api" },
        })
        .catch((err: unknown) => req.log.error({ err: safeErrorMessage(err), action: "tool.call" }, "could not append an audit event"));
    }
  });

}
