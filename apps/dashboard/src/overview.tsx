import { useState } from "react";
import { api, type ServerStatus } from "./api.ts";
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
