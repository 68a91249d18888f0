import type { CatalogSnapshot, McpObject, McpResource, McpResourceTemplate, ServerCatalog } from "@mcphub/contracts";
import { metaToolsJson } from "./meta-tools.ts";

/**
 * What an endpoint serves: every server, a group, one server (unprefixed), or smart routing
 * over every server or one group (`$smart[/<group>]`: the meta-tools instead of the tools).
 */
export type Target =
  | { kind: "all" }
  | { kind: "group"; id: string }
  | { kind: "server"; name: string }
  | { kind: "smart"; group?: string };

/** The path segment of the smart-routing endpoints, MCPHub's name: `/mcp/$smart[/<group>]`. */
export const SMART_TARGET = "$smart";

export function targetKey(t: Target): string {
  switch (t.kind) {
    case "all":
      return "*";
    case "group":
      return `g:${t.id}`;
    case "server":
      return `s:${t.name}`;
    case "smart":
      return t.group === undefined ? "$" : `$:${t.group}`;
  }
}

/**
 * Resolves the path of `/mcp/:name`: a group id first, then a group name (when
 * `enableGroupNameRoute`), then a server name; `$smart` and `$smart/<group>` while smart
 * routing is enabled. Returns undefined for none of these.
 */
export function resolveTarget(name: string | undefined, snap: CatalogSnapshot): Target | undefined {
  if (name === undefined || name === "") return snap.routing.enableGlobalRoute ? { kind: "all" } : undefined;
  if (name === SMART_TARGET || name.startsWith(`${SMART_TARGET}/`)) {
    if (!snap.smartRouting.enabled) return undefined;
    if (name === SMART_TARGET) return snap.routing.enableGlobalRoute ? { kind: "smart" } : undefined;
    const group = findGroup(name.slice(SMART_TARGET.length + 1), snap);
    return group ? { kind: "smart", group: group.id } : undefined;
  }
  const group = findGroup(name, snap);
  if (group) return { kind: "group", id: group.id };
  if (name in snap.configured) return { kind: "server", name };
  return undefined;
}

/** A group by id, or by name while `enableGroupNameRoute` is on. */
function findGroup(name: string, snap: CatalogSnapshot): CatalogSnapshot["groups"][number] | undefined {
  return snap.groups.find((g) => g.id === name) ?? (snap.routing.enableGroupNameRoute ? snap.groups.find((g) => g.name === name) : undefined);
}

export interface Routed {
  server: string;
  /** The upstream's own (unprefixed) name. */
  name: string;
}

/**
 * The lists one target shows and the indexes to route a call back to its server.
 * Built once per catalog version and target; `*Json` are pre-serialized list results,
 * so a tools/list costs one string concatenation.
 */
export interface CatalogView {
  target: Target;
  /** Servers in this target (configured, ready or not), with the tools picked from each. */
  members: Map<string, "all" | Set<string>>;
  /** Servers of the target that the caller's key scope leaves out: refused as if they did not exist. */
  hidden: ReadonlySet<string>;
  tools: Map<string, Routed>;
  prompts: Map<string, Routed>;
  /** Resource URI → server. */
  resources: Map<string, string>;
  templates: { server: string; template: McpResourceTemplate }[];
  toolsJson: string;
  promptsJson: string;
  resourcesJson: string;
  templatesJson: string;
  /** Per list kind, a digest of what the client sees, to notify list_changed only on a real change. */
  signature: { tools: string; prompts: string; resources: string };
  capabilities: Record<string, unknown>;
  instructions?: string;
  /** Smart routing only: the scope's tool definitions by prefixed name, for search results and describe_tool. */
  definitions?: Map<string, McpObject>;
}

/** `servers`, when given, limits the view to those servers (an API key's scope). */
export function buildView(snap: CatalogSnapshot, target: Target, servers?: readonly string[]): CatalogView {
  const members = targetMembers(snap, target);
  // Servers an API key's scope hides: to that key they do not exist (calls to them read as unknown names).
  const hidden = new Set<string>();
  if (servers) for (const name of [...members.keys()]) if (!servers.includes(name)) members.delete(name), hidden.add(name);
  const prefixed = target.kind !== "server";
  const sep = snap.nameSeparator;
  const tools = new Map<string, Routed>();
  const prompts = new Map<string, Routed>();
  const resources = new Map<string, string>();
  const toolList: McpObject[] = [];
  const promptList: McpObject[] = [];
  const resourceList: McpResource[] = [];
  const templates: CatalogView["templates"] = [];
  const definitions = target.kind === "smart" ? new Map<string, McpObject>() : undefined;
  let anyCompletions = false;
  let anyLogging = false;
  let anySubscribe = false;

  for (const [server, picks] of members) {
    const cat: ServerCatalog | undefined = snap.servers[server];
    if (!cat) continue;
    anyCompletions ||= Boolean(cat.capabilities.completions);
    anyLogging ||= Boolean(cat.capabilities.logging);
    anySubscribe ||= Boolean((cat.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe);
    for (const t of cat.tools) {
      if (picks !== "all" && !picks.has(t.name)) continue;
      const name = prefixed ? `${server}${sep}${t.name}` : t.name;
      if (tools.has(name)) continue; // first server wins a name clash
      tools.set(name, { server, name: t.name });
      toolList.push(prefixed ? { ...t, name } : t);
      definitions?.set(name, toolList[toolList.length - 1]!);
    }
    for (const p of cat.prompts) {
      const name = prefixed ? `${server}${sep}${p.name}` : p.name;
      if (prompts.has(name)) continue;
      prompts.set(name, { server, name: p.name });
      promptList.push(prefixed ? { ...p, name } : p);
    }
    for (const r of cat.resources) {
      if (resources.has(r.uri)) continue;
      resources.set(r.uri, server);
      resourceList.push(r);
    }
    for (const t of cat.resourceTemplates) templates.push({ server, template: t });
  }

  // Smart routing lists the meta-tools; the tools of its scope stay in `tools` for call_tool.
  const toolsJson = target.kind === "smart" ? metaToolsJson(snap.smartRouting.progressiveDisclosure) : JSON.stringify({ tools: toolList });
  const promptsJson = JSON.stringify({ prompts: promptList });
  const resourcesJson = JSON.stringify({ resources: resourceList });
  const templatesJson = JSON.stringify({ resourceTemplates: templates.map((t) => t.template) });
  const single = target.kind === "server" ? snap.servers[target.name] : undefined;
  return {
    target,
    members,
    hidden,
    tools,
    prompts,
    resources,
    templates,
    toolsJson,
    promptsJson,
    resourcesJson,
    templatesJson,
    signature: { tools: toolsJson, prompts: promptsJson, resources: resourcesJson + templatesJson },
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: anySubscribe ? { listChanged: true, subscribe: true } : { listChanged: true },
      ...(anyCompletions ? { completions: {} } : {}),
      ...(anyLogging ? { logging: {} } : {}),
    },
    instructions: single?.instructions,
    ...(definitions ? { definitions } : {}),
  };
}

function targetMembers(snap: CatalogSnapshot, target: Target): Map<string, "all" | Set<string>> {
  const members = new Map<string, "all" | Set<string>>();
  if (target.kind === "smart") return targetMembers(snap, target.group === undefined ? { kind: "all" } : { kind: "group", id: target.group });
  if (target.kind === "all") {
    for (const [name, info] of Object.entries(snap.configured)) if (info.enabled) members.set(name, "all");
  } else if (target.kind === "server") {
    if (snap.configured[target.name]?.enabled) members.set(target.name, "all");
  } else {
    const group = snap.groups.find((g) => g.id === target.id);
    for (const [name, picks] of Object.entries(group?.servers ?? {})) {
      if (snap.configured[name]?.enabled) members.set(name, picks === "all" ? "all" : new Set(picks));
    }
  }
  return members;
}

/** Caches views by target for the current catalog version; a new version drops them all. */
export class CatalogViews {
  private version = -1;
  private readonly views = new Map<string, CatalogView>();

  view(snap: CatalogSnapshot, target: Target, servers?: readonly string[]): CatalogView {
    if (snap.version !== this.version) {
      this.views.clear();
      this.version = snap.version;
    }
    const key = servers ? `${targetKey(target)}|${[...servers].sort().join(",")}` : targetKey(target);
    let v = this.views.get(key);
    if (!v) this.views.set(key, (v = buildView(snap, target, servers)));
    return v;
  }
}
