import { SMART_ROUTING_DEFAULTS, type CatalogSnapshot, type ServerCatalog } from "@mcphub/contracts";
import { describe, expect, it } from "vitest";
import { buildView, CatalogViews, resolveTarget } from "./catalog-view.ts";

function server(name: string, tools: string[], extra: Partial<ServerCatalog> = {}): ServerCatalog {
  return {
    server: name,
    version: 1,
    capabilities: { tools: {} },
    tools: tools.map((t) => ({ name: t, description: `${t} of ${name}`, inputSchema: { type: "object" } })),
    prompts: [],
    resources: [],
    resourceTemplates: [],
    ...extra,
  };
}

function snapshot(over: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return {
    version: 1,
    nameSeparator: "-",
    routing: { enableGlobalRoute: true, enableGroupNameRoute: true }, audit: { logArguments: false }, smartRouting: SMART_ROUTING_DEFAULTS,
    servers: { a: server("a", ["echo", "sum"]), b: server("b", ["echo"], { prompts: [{ name: "hello" }], resources: [{ uri: "b://r" }] }) },
    configured: { a: { enabled: true, disabledTools: [] }, b: { enabled: true, disabledTools: [] }, off: { enabled: false, disabledTools: [] } },
    groups: [{ id: "g1", name: "Team", servers: { a: ["sum"], b: "all" } }],
    ...over,
  };
}

describe("resolveTarget", () => {
  it("resolves group id, then group name, then server; nothing else", () => {
    const snap = snapshot();
    expect(resolveTarget("", snap)).toEqual({ kind: "all" });
    expect(resolveTarget("g1", snap)).toEqual({ kind: "group", id: "g1" });
    expect(resolveTarget("Team", snap)).toEqual({ kind: "group", id: "g1" });
    expect(resolveTarget("a", snap)).toEqual({ kind: "server", name: "a" });
    expect(resolveTarget("zzz", snap)).toBeUndefined();
  });

  it("honours enableGlobalRoute and enableGroupNameRoute", () => {
    const snap = snapshot({ routing: { enableGlobalRoute: false, enableGroupNameRoute: false } });
    expect(resolveTarget("", snap)).toBeUndefined();
    expect(resolveTarget("Team", snap)).toBeUndefined();
    expect(resolveTarget("g1", snap)).toEqual({ kind: "group", id: "g1" });
  });

  it("prefers a group over a server of the same name", () => {
    const snap = snapshot({ groups: [{ id: "a", name: "A", servers: { b: "all" } }] });
    expect(resolveTarget("a", snap)).toEqual({ kind: "group", id: "a" });
  });
});

describe("buildView", () => {
  it("prefixes names on the global endpoint and routes them back", () => {
    const view = buildView(snapshot(), { kind: "all" });
    expect([...view.tools.keys()]).toEqual(["a-echo", "a-sum", "b-echo"]);
    expect(view.tools.get("b-echo")).toEqual({ server: "b", name: "echo" });
    expect(JSON.parse(view.toolsJson).tools.map((t: { name: string }) => t.name)).toEqual(["a-echo", "a-sum", "b-echo"]);
    expect(view.prompts.get("b-hello")).toEqual({ server: "b", name: "hello" });
    expect(view.resources.get("b://r")).toBe("b");
  });

  it("keeps only a group's servers and picks", () => {
    const view = buildView(snapshot(), { kind: "group", id: "g1" });
    expect([...view.tools.keys()]).toEqual(["a-sum", "b-echo"]);
    expect(view.members.get("a")).toEqual(new Set(["sum"]));
  });

  it("serves one server unprefixed", () => {
    const view = buildView(snapshot(), { kind: "server", name: "a" });
    expect([...view.tools.keys()]).toEqual(["echo", "sum"]);
    expect(JSON.parse(view.toolsJson).tools[0].name).toBe("echo");
  });

  it("uses the configured separator", () => {
    const view = buildView(snapshot({ nameSeparator: "__" }), { kind: "all" });
    expect(view.tools.has("a__echo")).toBe(true);
  });

  it("leaves disabled servers out of every target", () => {
    const snap = snapshot();
    snap.configured.a = { enabled: false, disabledTools: [] };
    expect([...buildView(snap, { kind: "all" }).tools.keys()]).toEqual(["b-echo"]);
    expect(buildView(snap, { kind: "server", name: "a" }).tools.size).toBe(0);
  });
});

describe("CatalogViews", () => {
  it("reuses a view until the catalog version changes", () => {
    const views = new CatalogViews();
    const snap = snapshot();
    const first = views.view(snap, { kind: "all" });
    expect(views.view(snap, { kind: "all" })).toBe(first);
    const next = { ...snap, version: 2, servers: { a: server("a", ["only"]) } };
    expect([...views.view(next, { kind: "all" }).tools.keys()]).toEqual(["a-only"]);
  });
});
