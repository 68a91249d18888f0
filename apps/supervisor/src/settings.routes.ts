import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HubError, type AuthenticatorPort } from "@mcphub/contracts";
import { adminOnly } from "./admin-guard.ts";
import type { RawSettings, SettingsService } from "./settings.service.ts";
import type { SupervisorService } from "./supervisor.service.ts";

type RawServers = Record<string, Record<string, unknown>>;
type RawGroup = Record<string, unknown> & { id: string; servers?: unknown[] };

export interface SettingsRoutesDeps {
  settings: SettingsService;
  supervisor: SupervisorService;
  /** When set, every route here needs an admin's session token. */
  authenticator?: AuthenticatorPort;
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (!b || typeof b !== "object" || Array.isArray(b)) throw new HubError("HUB_INVALID_BODY", "the body must be a JSON object", 400);
  return b as Record<string, unknown>;
}

const servers = (raw: RawSettings): RawServers => (raw.mcpServers ?? {}) as RawServers;
const groups = (raw: RawSettings): RawGroup[] => (raw.groups ?? []) as RawGroup[];
const groupServerName = (entry: unknown) => (typeof entry === "string" ? entry : (entry as { name?: string })?.name);

function notFound(kind: string, name: string): HubError {
  return new HubError("HUB_NOT_FOUND", `no ${kind} named "${name}"`, 404);
}

/** The settings REST API: servers, groups and the whole file; every change is a revision. */
export async function settingsRoutes(app: FastifyInstance, deps: SettingsRoutesDeps): Promise<void> {
  const { settings } = deps;
  const author = (req: FastifyRequest) => req.principal?.username ?? "api";
  if (deps.authenticator) app.addHook("preHandler", adminOnly(deps.authenticator));
  const serverView = (name: string, config: Record<string, unknown>) => ({
    name,
    config,
    status: deps.supervisor.status().find((s) => s.name === name),
  });

  app.get("/api/settings", async () => {
    const { revision, raw } = settings.settings;
    return { revision, settings: raw };
  });

  app.put("/api/settings", async (req) => {
    const next = body(req);
    const { revision, raw } = await settings.update(() => next, author(req));
    return { revision, settings: raw };
  });

  app.get("/api/settings/revisions", async () => {
    return { revisions: await settings.history(100) };
  });

  app.get("/api/servers", async () => ({
    servers: Object.entries(servers(settings.settings.raw)).map(([name, config]) => serverView(name, config)),
  }));

  app.get<{ Params: { name: string } }>("/api/servers/:name", async (req) => {
    const config = servers(settings.settings.raw)[req.params.name];
    if (!config) throw notFound("server", req.params.name);
    return serverView(req.params.name, config);
  });

  app.post("/api/servers", async (req, reply) => {
    const { name, ...config } = body(req);
    if (typeof name !== "string" || !name) throw new HubError("HUB_INVALID_BODY", "name: required, a non-empty string", 400);
    await settings.update((raw) => {
      if (servers(raw)[name]) throw new HubError("HUB_CONFLICT", `a server named "${name}" already exists`, 409);
      return { ...raw, mcpServers: { ...servers(raw), [name]: config } };
    }, author(req));
    reply.code(201);
    return serverView(name, config);
  });

  app.put<{ Params: { name: string } }>("/api/servers/:name", async (req) => {
    const { name: _ignored, ...config } = body(req);
    const { name } = req.params;
    await settings.update((raw) => {
      if (!servers(raw)[name]) throw notFound("server", name);
      return { ...raw, mcpServers: { ...servers(raw), [name]: config } };
    }, author(req));
    return serverView(name, config);
  });

  app.delete<{ Params: { name: string } }>("/api/servers/:name", async (req, reply) => {
    const { name } = req.params;
    await settings.update((raw) => {
      const { [name]: gone, ...rest } = servers(raw);
      if (!gone) throw notFound("server", name);
      // A deleted server leaves the groups that named it, so the settings stay valid.
      const kept = groups(raw).map((g) => ({ ...g, servers: (g.servers ?? []).filter((e) => groupServerName(e) !== name) }));
      return { ...raw, mcpServers: rest, groups: kept };
    }, author(req));
    return reply.code(204).send();
  });

  app.get("/api/groups", async () => ({ groups: groups(settings.settings.raw) }));

  app.get<{ Params: { id: string } }>("/api/groups/:id", async (req) => {
    const group = groups(settings.settings.raw).find((g) => g.id === req.params.id);
    if (!group) throw notFound("group", req.params.id);
    return group;
  });

  app.post("/api/groups", async (req, reply) => {
    const input = body(req);
    const group = { ...input, id: typeof input.id === "string" && input.id ? input.id : randomUUID() } as RawGroup;
    await settings.update((raw) => {
      if (groups(raw).some((g) => g.id === group.id)) throw new HubError("HUB_CONFLICT", `a group with id "${group.id}" already exists`, 409);
      return { ...raw, groups: [...groups(raw), group] };
    }, author(req));
    reply.code(201);
    return group;
  });

  app.put<{ Params: { id: string } }>("/api/groups/:id", async (req) => {
    const group = { ...body(req), id: req.params.id } as RawGroup;
    await settings.update((raw) => {
      const list = groups(raw);
      const at = list.findIndex((g) => g.id === group.id);
      if (at < 0) throw notFound("group", group.id);
      return { ...raw, groups: list.map((g, i) => (i === at ? group : g)) };
    }, author(req));
    return group;
  });

  app.delete<{ Params: { id: string } }>("/api/groups/:id", async (req, reply) => {
    await settings.update((raw) => {
      const list = groups(raw);
      if (!list.some((g) => g.id === req.params.id)) throw notFound("group", req.params.id);
      return { ...raw, groups: list.filter((g) => g.id !== req.params.id) };
    }, author(req));
    return reply.code(204).send();
  });
}
