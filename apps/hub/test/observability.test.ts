import { freePort } from "../../../test/helpers/processes.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

// GET /metrics and the log lines, as an operator sees them after real traffic.

const SECRET_ENV = "sk-env-4f1c9a7e2b-DO-NOT-LOG";
const SECRET_ARG = "arg-secret-8d3e0b61-DO-NOT-LOG";
const SECRET_ARG2 = "arg-secret-77aa19e4-DO-NOT-LOG";
const SECRET_HEADER = "hdr-secret-c02f5d93-DO-NOT-LOG";

let t: TestHub;


beforeAll(async () => {
  const closedPort = await freePort();
  t = await startHub(
    {
      mcpServers: {
        everything: upstream.everything({
          env: { MCPHUB_TEST_TOKEN: SECRET_ENV },
          tools: { "everything-get-tiny-image": { enabled: false } },
        }),
        probe: upstream.probe(),
        off: upstream.everything({ enabled: false }),
        // Nothing listens there: never up, retried with backoff, its header must not be logged.
        broken: { type: "streamable-http", url: `http://127.0.0.1:${closedPort}/mcp`, headers: { authorization: `Bearer ${SECRET_HEADER}` } },
      },
      groups: [{ id: "picks", name: "picks", servers: [{ name: "everything", tools: ["echo"] }] }],
    },
    { env: { LOG_LEVEL: "info" }, waitFor: ["everything", "probe"] },
  );
});
afterAll(() => t?.close());

type Labels = Record<string, string>;

/** The value of one series in Prometheus text format, matched on its exact label set. */
function sample(exposition: string, name: string, labels: Labels = {}): number | undefined {
  for (const line of exposition.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Labels = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[l[1]!] = l[2]!;
    const keys = Object.keys(labels);
    if (Object.keys(found).length === keys.length && keys.every((k) => found[k] === labels[k])) return Number(m[3]);
  }
  return undefined;
}

async function metrics(): Promise<string> {
  const res = await fetch(`${t.base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
}

const calls = (m: string, tool: string, status: string, server = "everything") =>
  sample(m, "mcphub_tool_calls_total", { server, tool, status }) ?? 0;

describe("GET /metrics", () => {
  it("counts tool calls by server, tool and status, and times the ones that reach the upstream", async () => {
    const before = await metrics();
    const durationBefore = sample(before, "mcphub_tool_call_duration_seconds_count", { server: "everything" }) ?? 0;
    const c = await connect(`${t.base}/mcp`);

    for (const m of ["a", "b", "c"]) expect(text(await c.callTool({ name: "everything-echo", arguments: { message: m } }))).toBe(`Echo: ${m}`);
    // The upstream rejects the arguments: a tool error, counted as "error".
    const bad = await c.callTool({ name: "everything-get-sum", arguments: { a: "one", b: 2 } }).catch((e: Error) => e);
    expect(bad instanceof Error || (bad as { isError?: boolean }).isError === true).toBe(true);
    // Disabled in the settings: refused by the hub, never reaches the upstream.
    await expect(c.callTool({ name: "everything-get-tiny-image", arguments: {} })).rejects.toThrow(/disabled/);
    // An unknown name must not mint a series of its own (labels stay bounded).
    await expect(c.callTool({ name: "everything-made-up-tool", arguments: {} })).rejects.toThrow(/unknown tool/);
    await c.close();

    const after = await metrics();
    expect(calls(after, "echo", "ok") - calls(before, "echo", "ok")).toBe(3);
    expect(calls(after, "get-sum", "error") - calls(before, "get-sum", "error")).toBe(1);
    expect(calls(after, "get-sum", "ok")).toBe(calls(before, "get-sum", "ok"));
    expect(calls(after, "get-tiny-image", "refused") - calls(before, "get-tiny-image", "refused")).toBe(1);
    expect(after).not.toContain("made-up-tool");
    // Four calls reached the upstream (three echoes, one failed sum); the refused one did not.
    const durationAfter = sample(after, "mcphub_tool_call_duration_seconds_count", { server: "everything" });
    expect(durationAfter! - durationBefore).toBe(4);
    expect(sample(after, "mcphub_tool_call_duration_seconds_bucket", { server: "everything", le: "+Inf" })).toBe(durationAfter);
    expect(sample(after, "mcphub_tool_call_duration_seconds_sum", { server: "everything" })).toBeGreaterThan(0);
  });

  it("keeps tool labels bounded: refusals of names no server has do not mint series", async () => {
    const c = await connect(`${t.base}/mcp`);
    const c2 = await connect(`${t.base}/mcp/picks`);
    const junk = Array.from({ length: 3 }, (_, i) => `zz-junk-${i}-${Date.now()}`);
    for (const j of junk) {
      // A disabled server, and a group that does not pick the tool: both refused by name.
      await expect(c.callTool({ name: `off-${j}`, arguments: {} })).rejects.toThrow(/disabled/);
      await expect(c2.callTool({ name: `probe-${j}`, arguments: {} })).rejects.toThrow(/not available here/);
    }
    // A real tool outside the group's picks keeps its name.
    await expect(c2.callTool({ name: "everything-get-sum", arguments: { a: 1, b: 2 } })).rejects.toThrow(/not among this group's tools/);
    await c.close();
    await c2.close();

    const m = await metrics();
    for (const j of junk) expect(m).not.toContain(j);
    const refused = (server: string) =>
      m.split("\n").filter((l) => l.startsWith("mcphub_tool_calls_total{") && l.includes(`server="${server}"`) && l.includes('status="refused"'))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    // Still counted, under a bounded label.
    expect(refused("off")).toBe(3);
    expect(refused("probe")).toBe(3);
    expect(calls(m, "get-sum", "refused")).toBe(1);
  });

  it("shows each ready upstream as up", async () => {
    const m = await metrics();
    expect(sample(m, "mcphub_upstream_up", { server: "everything" })).toBe(1);
    expect(sample(m, "mcphub_upstream_up", { server: "probe" })).toBe(1);
  });

  it("shows a server that keeps failing as down, and counts its retries", async () => {
    await waitUntil(async () => (sample(await metrics(), "mcphub_upstream_restarts_total", { server: "broken" }) ?? 0) >= 2, 15_000, "two retries of broken");
    expect(sample(await metrics(), "mcphub_upstream_up", { server: "broken" })).toBe(0);
  });

  it("follows open sessions: up on initialize, down on DELETE and when a legacy stream closes", async () => {
    const active = async (transport: string) => sample(await metrics(), "mcphub_sessions_active", { transport }) ?? 0;
    const start = await active("streamable-http");

    const init = await fetch(`${t.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
    });
    const sid = init.headers.get("mcp-session-id")!;
    expect(sid).toBeTruthy();
    await init.text();
    expect(await active("streamable-http")).toBe(start + 1);
    const second = await connect(`${t.base}/mcp`);
    expect(await active("streamable-http")).toBe(start + 2);

    const del = await fetch(`${t.base}/mcp`, { method: "DELETE", headers: { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" } });
    expect(del.status).toBe(200);
    expect(await active("streamable-http")).toBe(start + 1);
    // A second DELETE of the same session must not count it twice.
    await fetch(`${t.base}/mcp`, { method: "DELETE", headers: { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" } });
    expect(await active("streamable-http")).toBe(start + 1);
    await second.close();

    const sseStart = await active("sse");
    const legacy = await connect(`${t.base}/sse`, "sse");
    expect(await active("sse")).toBe(sseStart + 1);
    await legacy.close();
    await waitUntil(async () => (await active("sse")) === sseStart, 5000, "the legacy session to be counted out");
  });

  it("counts an upstream restart, and shows the server up again once it is back", async () => {
    const before = sample(await metrics(), "mcphub_upstream_restarts_total", { server: "probe" }) ?? 0;
    const status = () => t.hub.supervisor.status().find((s) => s.name === "probe")!;
    const pid = status().pid!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    // The down phase lasts only the (shortened) backoff, too brief to catch by polling /metrics;
    // the restart counter and the new process prove it happened.
    await waitUntil(() => status().state === "ready" && status().pid !== pid, 20_000, "probe restarted");
    const m = await metrics();
    expect(sample(m, "mcphub_upstream_restarts_total", { server: "probe" })).toBe(before + 1);
    expect(sample(m, "mcphub_upstream_up", { server: "probe" })).toBe(1);
    expect(sample(m, "mcphub_upstream_restarts_total", { server: "everything" }) ?? 0).toBe(0);
  });
});

describe("logs at LOG_LEVEL=info", () => {
  it("never contain tool arguments or the secrets of a server's env", async () => {
    const c = await connect(`${t.base}/mcp`);
    expect(text(await c.callTool({ name: "everything-echo", arguments: { message: SECRET_ARG } }))).toBe(`Echo: ${SECRET_ARG}`);
    // The secret really reached the upstream's environment (so not logging it means something).
    expect(text(await c.callTool({ name: "everything-get-env", arguments: {} }))).toContain(SECRET_ENV);
    // Failures are where arguments tend to leak into log lines.
    await c.callTool({ name: "everything-get-sum", arguments: { a: SECRET_ARG2, b: 1 } }).catch(() => undefined);
    await c.callTool({ name: "everything-get-tiny-image", arguments: { note: SECRET_ARG2 } }).catch(() => undefined);
    await c.callTool({ name: "everything-nope", arguments: { note: SECRET_ARG2 } }).catch(() => undefined);
    await c.close();

    // The capture works and honours the level: info lines are there, debug lines are not.
    expect(t.logs.some((l) => l.msg === "upstream ready" && l.server === "everything" && l.level === 30)).toBe(true);
    expect(t.logs.some((l) => l.server === "broken" && l.level === 40)).toBe(true);
    expect(t.logs.every((l) => (l.level as number) >= 30)).toBe(true);
    const all = t.logs.map((l) => JSON.stringify(l)).join("\n");
    expect(all).not.toContain(SECRET_ARG);
    expect(all).not.toContain(SECRET_ENV);
    expect(all).not.toContain(SECRET_ARG2);
    expect(all).not.toContain(SECRET_HEADER);
  });
});
