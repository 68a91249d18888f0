import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { safeErrorMessage } from "@mcphub/observability";
import { HubError, type AuditSink, type AuthenticatorPort } from "@mcphub/contracts";
import { serverNameSchema } from "@mcphub/config";
import { completeEvent, type AuditEventInput } from "@mcphub/contracts";
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
  /** Every change, refused ones too, is recorded here. */
  audit?: AuditSink;
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (!b || typeof b !== "object" || Array.isArray(b)) throw new HubError("HUB_INVALID_BODY", "the body must be a JSON object", 400);
  return b as Record<string, unknown>;
}

const servers = (raw: RawSettings): RawServers => (raw.mcpServers ?? {}) as RawServers;
const groups = (raw: RawSettings): RawGroup[] => (raw.groups ?? []) as RawGroup[];
const groupServerName = (entry: unknown) => (typeof entry === "string" ? entry : (entry as { name?: string })?.name);

/**
 * A server's settings for the audit log: env and header names kept, their values (secrets)
 * not, nor a URL's password or query values (tokens often ride there).
 */
function redactServer(config: Record<string, unknown>): Record<string, unknown> {
  const keysOnly = (v: unknown) => (v && typeof v === "object" ? Object.fromEntries(Object.keys(v).map((k) => [k, "[redacted]"])) : v);
  return {
    ...config,
    ...(config.env ? { env: keysOnly(config.env) } : {}),
    ...(config.headers ? { headers: keysOnly(config.headers) } : {}),
    ...(typeof config.url === "string" ? { url: redactUrl(config.url) } : {}),
  };
}

function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = "[redacted]";
    for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, "[redacted]");
    return url.href;
  } catch {
    return "[redacted]";
  }
}

/** What the API shows in place of an env or header value; sent back, it means "keep the stored one". */
export const SECRET_MASK = "[secret]";

type SecretMaps = { env?: Record<string, string>; headers?: Record<string, string> };

/** A server's settings as the API shows them: env and header values masked (they are secrets). */
function maskServer(config: Record<string, unknown>): Record<string, unknown> {
  const mask = (v: unknown) => (v && typeof v === "object" ? Object.fromEntries(Object.keys(v).map((k) => [k, SECRET_MASK])) : v);
  return { ...config, ...(config.env ? { env: mask(config.env) } : {}), ...(config.headers ? { headers: mask(config.headers) } : {}) };
}

/** Puts stored values back where a client sent the mask (it saved what it had read). */
function unmaskServer(config: Record<string, unknown>, stored: Record<string, unknown> | undefined): Record<string, unknown> {
  const restore = (field: keyof SecretMaps) => {
    const sent = config[field] as Record<string, string> | undefined;
    if (!sent || typeof sent !== "object") return {};
    const kept = ((stored as SecretMaps | undefined)?.[field] ?? {}) as Record<string, string>;
    return { [field]: Object.fromEntries(Object.entries(sent).map(([k, v]) => [k, v === SECRET_MASK && k in kept ? kept[k] : v])) };
  };
  return { ...config, ...restore("env"), ...restore("headers") };
}

function maskSettings(raw: RawSettings): RawSettings {
  return { ...raw, mcpServers: Object.fromEntries(Object.entries(servers(raw)).map(([n, c]) => [n, maskServer(c)])) };
}

function unmaskSettings(next: RawSettings, stored: RawSettings): RawSettings {
  return { ...next, mcpServers: Object.fromEntries(Object.entries(servers(next)).map(([n, c]) => [n, unmaskServer(c, servers(stored)[n])])) };
}

/**
 * A new server's name or group's id, checked before anything else: it becomes a URL segment
 * and an audit resource id, so one that cannot be stored whole is refused naming the field.
 */
function checkName(field: string, value: unknown): void {
  const parsed = serverNameSchema.safeParse(value);
  if (!parsed.success) {
    const reason = parsed.error.issues[0]?.message ?? "is invalid";
    throw new HubError("HUB_INVALID_BODY", `${field}: ${reason}`, 400, [`${field}: ${reason}`]);
  }
}

function notFound(kind: string, name: string): HubError {
  return new HubError("HUB_NOT_FOUND", `no ${kind} named "${name}"`, 404);
}

/** The settings REST API: servers, groups and the whole file; every change is a revision. */
export async function settingsRoutes(app: FastifyInstance, deps: SettingsRoutesDeps): Promise<void> {
  const { settings } = deps;
  const author = (req: FastifyRequest) => req.principal?.username ?? "api";
  if (deps.authenticator) app.addHook("preHandler", adminOnly(deps.authenticator));

  /**
   * Applies a change and records it in the audit log, refused ones too. Server configs are
   * logged with the names of their env variables and headers, never the values (secrets).
   * The event is built and checked before anything is stored, and the answer waits for it:
   * stored with the revision in one transaction where the audit log shares the settings'
   * database (all-in-one), appended to the audit stream otherwise (split).
   */
  const change = async (req: FastifyRequest, what: { action: string; resource: string; resourceId: string; details?: Record<string, unknown> }, mutate: (raw: RawSettings) => RawSettings) => {
    const who = req.principal ? { userId: req.principal.userId, username: req.principal.username } : {};
    const succeeded = deps.audit ? completeEvent({ ...what, ...who, success: true, ip: req.ip }) : undefined;
    let result: Awaited<ReturnType<SettingsService["update"]>>;
    try {
      result = await settings.update(mutate, author(req), succeeded);
    } catch (err) {
      const reason = err instanceof HubError ? err.code : "HUB_INTERNAL";
      await record(req, { ...what, ...who, success: false, ip: req.ip, details: { ...what.details, refused: reason } });
      throw err;
    }
    if (succeeded && !result.audited) await record(req, succeeded);
    return result;
  };
  const record = (req: FastifyRequest, event: AuditEventInput) =>
    deps.audit?.append(event).then(
      () => undefined,
      (err: unknown) => req.log.error({ err: safeErrorMessage(err), action: event.action }, "could not append an audit event"),
    );
  /** A server by name: own entries only (a name like `__proto__` must not find Object.prototype). */
  const serverNamed = (name: string) => {
    const all = servers(settings.settings.raw);
    return Object.hasOwn(all, name) ? all[name] : undefined;
  };
  const serverView = (name: string, config: Record<string, unknown>) => ({
    name,
    config: maskServer(config),
    status: deps.supervisor.status().find((s) => s.name === name),
  });

  app.get("/api/settings", async () => {
    const { revision, raw } = settings.settings;
    return { revision, settings: maskSettings(raw) };
  });

  app.put("/api/settings", async (req) => {
    const next = body(req);
    const { revision, raw } = await change(req, { action: "settings.replace", resource: "settings", resourceId: "all", details: { servers: Object.keys(servers(next)) } }, (stored) =>
      unmaskSettings(next, stored),
    );
    return { revision, settings: maskSettings(raw) };
  });

  app.get("/api/settings/revisions", async () => {
    return { revisions: await settings.history(100) };
  });

  app.get("/api/servers", async () => ({
    servers: Object.entries(servers(settings.settings.raw)).map(([name, config]) => serverView(name, config)),
  }));

  app.get<{ Params: { name: string } }>("/api/servers/:name", async (req) => {
    const config = serverNamed(req.params.name);
    if (!config) throw notFound("server", req.params.name);
    return serverView(req.params.name, config);
  });

  app.post("/api/servers", async (req, reply) => {
    const { name, ...config } = body(req);
    if (typeof name !== "string" || !name) throw new HubError("HUB_INVALID_BODY", "name: required, a non-empty string", 400);
    checkName("name", name);
    await change(req, { action: "server.create", resource: "server", resourceId: name, details: { config: redactServer(config) } }, (raw) => {
      if (Object.hasOwn(servers(raw), name)) throw new HubError("HUB_CONFLICT", `a server named "${name}" already exists`, 409);
      return { ...raw, mcpServers: { ...servers(raw), [name]: config } };
    });
    reply.code(201);
    return serverView(name, config);
  });

  app.put<{ Params: { name: string } }>("/api/servers/:name", async (req) => {
    const { name: _ignored, ...sent } = body(req);
    const { name } = req.params;
    let config = sent;
    await change(req, { action: "server.update", resource: "server", resourceId: name, details: { config: redactServer(sent) } }, (raw) => {
      const stored = Object.hasOwn(servers(raw), name) ? servers(raw)[name] : undefined;
      if (!stored) throw notFound("server", name);
      config = unmaskServer(sent, stored);
      return { ...raw, mcpServers: { ...servers(raw), [name]: config } };
    });
    return serverView(name, config);
  });

  app.delete<{ Params: { name: string } }>("/api/servers/:name", async (req, reply) => {
    const { name } = req.params;
    await change(req, { action: "server.delete", resource: "server", resourceId: name }, (raw) => {
      if (!Object.hasOwn(servers(raw), name)) throw notFound("server", name);
      const { [name]: _gone, ...rest } = servers(raw);
      // A deleted server leaves the groups that named it, so the settings stay valid.
      const kept = groups(raw).map((g) => ({ ...g, servers: (g.servers ?? []).filter((e) => groupServerName(e) !== name) }));
      return { ...raw, mcpServers: rest, groups: kept };
    });
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
    if (input.id !== undefined && input.id !== "") checkName("id", input.id);
    const group = { ...input, id: typeof input.id === "string" && input.id ? input.id : randomUUID() } as RawGroup;
    await change(req, { action: "group.create", resource: "group", resourceId: group.id, details: { group } }, (raw) => {
      if (groups(raw).some((g) => g.id === group.id)) throw new HubError("HUB_CONFLICT", `a group with id "${group.id}" already exists`, 409);
      return { ...raw, groups: [...groups(raw), group] };
    });
    reply.code(201);
    return group;
  });

  app.put<{ Params: { id: string } }>("/api/groups/:id", async (req) => {
    const group = { ...body(req), id: req.params.id } as RawGroup;
    await change(req, { action: "group.update", resource: "group", resourceId: group.id, details: { group } }, (raw) => {
      const list = groups(raw);
      const at = list.findIndex((g) => g.id === group.id);
      if (at < 0) throw notFound("group", group.id);
      return { ...raw, groups: list.map((g, i) => (i === at ? group : g)) };
    });
    return group;
  });

  app.delete<{ Params: { id: string } }>("/api/groups/:id", async (req, reply) => {
    await change(req, { action: "group.delete", resource: "group", resourceId: req.params.id }, (raw) => {
      const list = groups(raw);
      if (!list.some((g) => g.id === req.params.id)) throw notFound("group", req.params.id);
      return { ...raw, groups: list.filter((g) => g.id !== req.params.id) };
    });
    return reply.code(204).send();
  });
}
