import { useState } from "react";
import { api, type ServerStats, type ServerStatus } from "./api.ts";
import type { Viewer } from "./app.tsx";
import { CopyButton, endpointUrl, ErrorBox, Link, StateBadge, usePoll } from "./ui.tsx";

const STATES: ServerStatus["state"][] = ["ready", "connecting", "restarting", "failed", "disabled"];

/** Client configuration files as Claude Desktop, Cursor and VS Code read them, with the key left to fill in. */
export function clientSnippets(url: string): Record<string, string> {
  const auth = { Authorization: "Bearer <your MCPHub API key>" };
  return {
    "Claude Desktop": JSON.stringify({ mcpServers: { mcphub: { command: "npx", args: ["-y", "mcp-remote", url, "--header", "Authorization:${MCPHUB_AUTH}"], env: { MCPHUB_AUTH: "Bearer <your MCPHub API key>" } } } }, null, 2),
    Cursor: JSON.stringify({ mcpServers: { mcphub: { url, headers: auth } } }, null, 2),
    "VS Code": JSON.stringify({ servers: { mcphub: { type: "http", url, headers: auth } } }, null, 2),
  };
}

export function OverviewPage({ viewer }: { viewer: Viewer }) {
  const health = usePoll(() => api<{ servers: ServerStatus[]; auth?: string }>("GET", "api/health"), []);
  const servers = health.data?.servers ?? [];
  const byState = Object.fromEntries(STATES.map((s) => [s, servers.filter((x) => x.state === s).length]));
  const tools = servers.reduce((n, s) => n + s.toolCount, 0);
  const url = endpointUrl("mcp");
  const snippets = clientSnippets(url);
  const [client, setClient] = useState(Object.keys(snippets)[0]!);
  const isAdmin = viewer.open || viewer.user.role === "admin";
  return (
    <section>
      <h1>Overview</h1>
      <ErrorBox error={health.error} />
      <div className="stats" aria-label="Summary">
        <div className="stat">
          <span className="num" data-testid="servers-total">{servers.length}</span> servers
        </div>
        <div className="stat">
          <span className="num" data-testid="tools-total">{tools}</span> tools
        </div>
        {STATES.filter((s) => byState[s]).map((s) => (
          <div className="stat" key={s}>
            <span className="num">{byState[s]}</span> <StateBadge state={s} />
          </div>
        ))}
      </div>
      {isAdmin && servers.some((s) => s.state === "failed" || s.state === "restarting") && (
        <p className="notice">
          Some servers are not running: see <Link to="servers">Servers</Link> for their last error.
        </p>
      )}
      {isAdmin && <CallCharts />}
      <h2>Connect a client</h2>
      <p>
        Every tool of every server: <code>{url}</code> <CopyButton text={url} label="Copy endpoint" />
      </p>
      <p>
        One group: <code>{endpointUrl("mcp/<group id>")}</code>; one server: <code>{endpointUrl("mcp/<server>")}</code>; tool search: <code>{endpointUrl("mcp/$smart")}</code>. Legacy SSE clients: <code>{endpointUrl("sse")}</code>.
      </p>
      {!viewer.open && (
        <p>
          Clients authenticate with an API key: <Link to="keys">make one</Link>.
        </p>
      )}
      <div role="tablist" aria-label="Client" className="tabs">
        {Object.keys(snippets).map((c) => (
          <button key={c} type="button" role="tab" aria-selected={client === c} onClick={() => setClient(c)}>
            {c}
          </button>
        ))}
      </div>
      <pre className="snippet" aria-label={`${client} configuration`}>
        {snippets[client]}
      </pre>
      <CopyButton text={snippets[client]!} label="Copy configuration" />
    </section>
  );
}

/** A line over the last hour; gaps (minutes without calls) drop to the baseline. */
function Spark({ values, label, format }: { values: (number | null)[]; label: string; format: (v: number) => string }) {
  const w = 180;
  const h = 36;
  const nums = values.map((v) => v ?? 0);
  const max = Math.max(1e-9, ...nums);
  const points = nums.map((v, i) => `${((i / Math.max(1, nums.length - 1)) * w).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`).join(" ");
  const last = values.filter((v): v is number => v !== null).at(-1);
  return (
    <figure className="spark">
      <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${label} over the last hour, latest ${last === undefined ? "none" : format(last)}, highest ${format(max)}`}>
        <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** Calls per minute, error ratio and median latency per server over the last hour (GET /api/stats). */
function CallCharts() {
  const stats = usePoll(() => api<{ windowMinutes: number; servers: ServerStats[] }>("GET", "api/stats"), [], 10_000);
  if (stats.error) return <ErrorBox error={stats.error} />;
  if (!stats.data) return null;
  const servers = stats.data.servers;
  const calls = servers.reduce((n, s) => n + s.calls, 0);
  const errors = servers.reduce((n, s) => n + s.errors, 0);
  return (
    <>
      <h2>Tool calls, last {stats.data.windowMinutes} minutes</h2>
      <p>
        <span data-testid="calls-total">{calls}</span> calls, {(calls / stats.data.windowMinutes).toFixed(2)} per minute, error ratio{" "}
        <span data-testid="error-ratio">{calls ? `${((errors / calls) * 100).toFixed(1)} %` : "—"}</span>
      </p>
      <div className="table-wrap">
        <table aria-label="Calls per server">
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Calls</th>
              <th scope="col">Errors</th>
              <th scope="col">p50</th>
              <th scope="col">Per minute</th>
              <th scope="col">Error ratio</th>
              <th scope="col">p50 latency</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => (
              <tr key={s.server} data-stats={s.server}>
                <th scope="row">{s.server}</th>
                <td className="calls">{s.calls}</td>
                <td>{s.errors}</td>
                <td>{s.p50Ms === null ? "—" : `${s.p50Ms} ms`}</td>
                <td>
                  <Spark values={s.minutes.map((m) => m.calls)} label="calls per minute" format={(v) => `${v}`} />
                </td>
                <td>
                  <Spark values={s.minutes.map((m) => (m.calls ? m.errors / m.calls : null))} label="error ratio" format={(v) => `${(v * 100).toFixed(0)} %`} />
                </td>
                <td>
                  <Spark values={s.minutes.map((m) => m.p50Ms)} label="p50 latency" format={(v) => `${v} ms`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
