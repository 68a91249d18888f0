import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, fieldErrors, type ServerConfig, type ServerView, type ToolView } from "./api.ts";
import { navigate } from "./router.ts";
import { ConfirmButton, CopyButton, described, endpointUrl, ErrorBox, Field, Link, StateBadge, usePoll } from "./ui.tsx";
import { TryTool } from "./try-tool.tsx";

export function ServersPage() {
  const { data, error, refresh } = usePoll(() => api<{ servers: ServerView[] }>("GET", "api/servers"), []);
  const [actionError, setActionError] = useState<Error | undefined>();
  const setEnabled = async (s: ServerView, enabled: boolean) => {
    try {
      await api("PUT", `api/servers/${encodeURIComponent(s.name)}`, { ...s.config, enabled });
      setActionError(undefined);
      await refresh();
    } catch (err) {
      setActionError(err as Error);
    }
  };
  const restart = async (name: string) => {
    try {
      await api("POST", `api/servers/${encodeURIComponent(name)}/restart`);
      setActionError(undefined);
      await refresh();
    } catch (err) {
      setActionError(err as Error);
    }
  };
  const remove = async (name: string) => {
    try {
      await api("DELETE", `api/servers/${encodeURIComponent(name)}`);
      setActionError(undefined);
      await refresh();
    } catch (err) {
      setActionError(err as Error);
    }
  };
  return (
    <section>
      <div className="title-row">
        <h1>Servers</h1>
        <Link className="button" to="servers/new">
          Add server
        </Link>
      </div>
      <ErrorBox error={error ?? actionError} />
      {data && !data.servers.length && <p>No servers yet. Add one to give your MCP clients its tools.</p>}
      {data && data.servers.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Servers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Type</th>
                <th scope="col">Tools</th>
                <th scope="col">Protocol</th>
                <th scope="col">Restarts</th>
                <th scope="col">Last error</th>
                <th scope="col">Enabled</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.servers.map((s) => (
                <tr key={s.name} data-server={s.name}>
                  <th scope="row">
                    <Link to={`servers/${s.name}`}>{s.name}</Link>
                  </th>
                  <td>
                    <StateBadge state={s.status?.state} />
                  </td>
                  <td>{s.config.type ?? s.status?.type}</td>
                  <td className="tool-count">{s.status?.toolCount ?? 0}</td>
                  <td>{s.status?.protocolVersion ?? "—"}</td>
                  <td className="restarts">{s.status?.restarts ?? 0}</td>
                  <td className="last-error">{s.status?.lastError ?? ""}</td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Enable ${s.name}`}
                      checked={s.config.enabled !== false}
                      onChange={(e) => void setEnabled(s, e.target.checked)}
                    />
                  </td>
                  <td className="actions">
                    <Link className="button secondary" to={`servers/${s.name}/edit`} aria-label={`Edit ${s.name}`}>
                      Edit
                    </Link>
                    {s.config.enabled !== false && (
                      <button type="button" className="secondary" onClick={() => void restart(s.name)} aria-label={`Restart ${s.name}`}>
                        Restart
                      </button>
                    )}
                    <ConfirmButton label="Delete" confirmLabel={`Delete ${s.name}`} onConfirm={() => remove(s.name)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

type Transport = "stdio" | "sse" | "streamable-http";

interface FormState {
  name: string;
  type: Transport;
  command: string;
  args: string;
  env: string;
  url: string;
  headers: string;
  timeout: string;
  enabled: boolean;
}

const emptyForm: FormState = { name: "", type: "stdio", command: "", args: "", env: "", url: "", headers: "", timeout: "", enabled: true };

/** "KEY=value" (env) or "Name: value" (headers) lines to an object. */
export function parsePairs(text: string, sep: "=" | ":"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf(sep);
    if (at <= 0) out[line.trim()] = "";
    else out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

const pairs = (obj: Record<string, string> | undefined, sep: string) =>
  Object.entries(obj ?? {})
    .map(([k, v]) => `${k}${sep}${v}`)
    .join("\n");

/** The form's content as the API's server config; fields of the other transports left out. */
export function toConfig(f: FormState, base: ServerConfig = {}): ServerConfig {
  const { command: _c, args: _a, env: _e, url: _u, headers: _h, ...kept } = base;
  const config: ServerConfig = { ...kept, type: f.type, enabled: f.enabled };
  if (f.type === "stdio") {
    config.command = f.command.trim();
    const args = f.args.split("\n").map((a) => a.trim()).filter(Boolean);
    if (args.length) config.args = args;
    const env = parsePairs(f.env, "=");
    if (Object.keys(env).length) config.env = env;
  } else {
    config.url = f.url.trim();
    const headers = parsePairs(f.headers, ":");
    if (Object.keys(headers).length) config.headers = headers;
  }
  const { timeout: _t, ...otherOptions } = base.options ?? {};
  const options: Record<string, unknown> = { ...otherOptions };
  if (f.timeout.trim()) options.timeout = Number(f.timeout);
  if (Object.keys(options).length) config.options = options;
  else delete config.options;
  return config;
}

function fromConfig(name: string, c: ServerConfig): FormState {
  const type: Transport = c.type ?? (c.command ? "stdio" : c.url?.endsWith("/sse") ? "sse" : "streamable-http");
  return {
    name,
    type,
    command: c.command ?? "",
    args: (c.args ?? []).join("\n"),
    env: pairs(c.env, "="),
    url: c.url ?? "",
    headers: pairs(c.headers, ": "),
    timeout: c.options?.timeout !== undefined ? String(c.options.timeout) : "",
    enabled: c.enabled !== false,
  };
}

/** Which form field a settings JSON path (below the server) belongs to. */
function formField(path: string): string {
  if (path.startsWith("options.timeout")) return "timeout";
  const head = path.split(".")[0] ?? "";
  return head || "form";
}

export function ServerForm({ name }: { name?: string }) {
  const editing = name !== undefined;
  const [mode, setMode] = useState<"form" | "json">("form");
  const [form, setForm] = useState<FormState>(emptyForm);
  const [base, setBase] = useState<ServerConfig>({});
  const [json, setJson] = useState(`{\n  "mcpServers": {\n    "memory": { "command": "mcp-server-memory" }\n  }\n}`);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [loadError, setLoadError] = useState<Error | undefined>();

  useEffect(() => {
    if (!editing) return;
    api<ServerView>("GET", `api/servers/${encodeURIComponent(name)}`).then(
      (s) => {
        setBase(s.config);
        setForm(fromConfig(s.name, s.config));
      },
      (err: Error) => setLoadError(err),
    );
  }, [name, editing]);

  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));

  const showError = (err: unknown, serverName: string) => {
    if (!(err instanceof ApiError)) {
      setFormError((err as Error).message);
      return;
    }
    const byPath = fieldErrors(err.details, `$.mcpServers.${serverName}.`);
    const mapped: Record<string, string> = {};
    for (const [path, reason] of Object.entries(byPath)) mapped[formField(path)] ??= reason;
    if (err.status === 409) mapped.name = err.message;
    if (mapped["mcpServers." + serverName]) mapped.form = mapped["mcpServers." + serverName]!;
    setErrors(mapped);
    const known = ["name", "type", "command", "args", "env", "url", "headers", "timeout"];
    setFormError(Object.keys(mapped).some((k) => known.includes(k)) ? undefined : err.message);
  };

  const submitForm = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(undefined);
    try {
      const config = toConfig(form, base);
      if (editing) await api("PUT", `api/servers/${encodeURIComponent(name)}`, config);
      else await api("POST", "api/servers", { name: form.name.trim(), ...config });
      navigate(`servers/${editing ? name : form.name.trim()}`);
    } catch (err) {
      // Nothing typed is lost: the form keeps its state, the reasons appear at their fields.
      showError(err, editing ? name : form.name.trim());
    } finally {
      setBusy(false);
    }
  };

  const submitJson = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setFormError(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      setErrors({ json: `not JSON: ${(err as Error).message}` });
      return;
    }
    const entries = Object.entries(((parsed as { mcpServers?: unknown })?.mcpServers ?? {}) as Record<string, ServerConfig>);
    if (!entries.length) {
      setErrors({ json: 'give {"mcpServers": {"<name>": {...}}} with at least one server' });
      return;
    }
    setBusy(true);
    const added: string[] = [];
    try {
      for (const [serverName, config] of entries) {
        await api("POST", "api/servers", { name: serverName, ...config });
        added.push(serverName);
      }
      navigate(entries.length === 1 ? `servers/${entries[0]![0]}` : "servers");
    } catch (err) {
      const which = entries[added.length]?.[0] ?? "";
      const reasons = err instanceof ApiError ? Object.entries(fieldErrors(err.details)).map(([p, r]) => `${p}: ${r}`) : [];
      setErrors({
        json: `${added.length ? `added ${added.join(", ")}; ` : ""}"${which}" was refused: ${reasons.length ? reasons.join("; ") : (err as Error).message}`,
      });
    } finally {
      setBusy(false);
    }
  };

  if (loadError) return <ErrorBox error={loadError} />;
  return (
    <section>
      <p className="crumbs">
        <Link to="servers">Servers</Link> / {editing ? name : "new"}
      </p>
      <h1>{editing ? `Edit ${name}` : "Add a server"}</h1>
      {!editing && (
        <div role="tablist" aria-label="How to add" className="tabs">
          <button type="button" role="tab" aria-selected={mode === "form"} onClick={() => setMode("form")}>
            Form
          </button>
          <button type="button" role="tab" aria-selected={mode === "json"} onClick={() => setMode("json")}>
            Paste JSON
          </button>
        </div>
      )}
      {mode === "json" && !editing ? (
        <form onSubmit={submitJson} aria-label="Add servers from JSON">
          <Field label="Servers in mcpServers format" id="json" error={errors.json} hint="The shape MCP clients and MCPHub's mcp_settings.json use; several servers at once work.">
            <textarea {...described("json", errors.json, true)} rows={12} spellCheck={false} value={json} onChange={(e) => setJson(e.target.value)} />
          </Field>
          <button type="submit" disabled={busy}>
            Add
          </button>
        </form>
      ) : (
        <form onSubmit={submitForm} aria-label={editing ? "Edit server" : "Add server"} noValidate>
          {!editing && (
            <Field label="Name" id="name" error={errors.name} hint="Letters, digits, - and _; tools appear as <name>-<tool>.">
              <input {...described("name", errors.name, true)} value={form.name} onChange={(e) => set("name", e.target.value)} autoFocus />
            </Field>
          )}
          <Field label="Transport" id="type" error={errors.type}>
            <select {...described("type", errors.type)} value={form.type} onChange={(e) => set("type", e.target.value as Transport)}>
              <option value="stdio">stdio (a local command)</option>
              <option value="streamable-http">Streamable HTTP</option>
              <option value="sse">SSE (legacy)</option>
            </select>
          </Field>
          {form.type === "stdio" ? (
            <>
              <Field label="Command" id="command" error={errors.command} hint="Looked up in PATH, then in the hub's node_modules/.bin.">
                <input {...described("command", errors.command, true)} value={form.command} onChange={(e) => set("command", e.target.value)} placeholder="npx" />
              </Field>
              <Field label="Arguments (one per line)" id="args" error={errors.args}>
                <textarea {...described("args", errors.args)} rows={3} value={form.args} onChange={(e) => set("args", e.target.value)} />
              </Field>
              <Field label="Environment (KEY=value, one per line)" id="env" error={errors.env} hint="Values are stored as secrets: the API shows them masked; ${VAR} expands from the hub's environment.">
                <textarea {...described("env", errors.env, true)} rows={3} value={form.env} onChange={(e) => set("env", e.target.value)} />
              </Field>
            </>
          ) : (
            <>
              <Field label="URL" id="url" error={errors.url}>
                <input {...described("url", errors.url)} type="url" value={form.url} onChange={(e) => set("url", e.target.value)} placeholder="https://example.com/mcp" />
              </Field>
              <Field label="Headers (Name: value, one per line)" id="headers" error={errors.headers}>
                <textarea {...described("headers", errors.headers)} rows={3} value={form.headers} onChange={(e) => set("headers", e.target.value)} />
              </Field>
            </>
          )}
          <Field label="Timeout per request (ms)" id="timeout" error={errors.timeout} hint="Empty: the hub's REQUEST_TIMEOUT.">
            <input {...described("timeout", errors.timeout, true)} inputMode="numeric" value={form.timeout} onChange={(e) => set("timeout", e.target.value)} />
          </Field>
          <div className="field checkbox">
            <input id="enabled" type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
            <label htmlFor="enabled">Enabled</label>
          </div>
          {(formError || errors.form) && <ErrorBox error={formError ?? errors.form} />}
          <button type="submit" disabled={busy}>
            {editing ? "Save" : "Add server"}
          </button>
        </form>
      )}
    </section>
  );
}

interface ToolsAnswer {
  tools: ToolView[];
  prompts: { name: string; description?: string }[];
  resources: { uri: string; name?: string; description?: string }[];
}

export function ServerDetail({ name }: { name: string }) {
  const server = usePoll(() => api<ServerView>("GET", `api/servers/${encodeURIComponent(name)}`), [name]);
  const state = server.data?.status?.state;
  // The lists change when the server (re)connects: reload them on each state change.
  const tools = usePoll(() => api<ToolsAnswer>("GET", `api/servers/${encodeURIComponent(name)}/tools`), [name, state], 0);
  const [trying, setTrying] = useState<string | undefined>();
  const [toolError, setToolError] = useState<Record<string, string>>({});

  const saveTool = async (tool: ToolView, change: { enabled?: boolean; description?: string | null }) => {
    const current = server.data;
    if (!current) return;
    const overrides = { ...(current.config.tools ?? {}) };
    // Overrides keyed by the bare tool name count too; one key per tool, the prefixed one.
    const existing = overrides[tool.key] ?? overrides[tool.name] ?? {};
    delete overrides[tool.name];
    const next: { enabled?: boolean; description?: string } = { ...existing };
    if (change.enabled !== undefined) {
      if (change.enabled) delete next.enabled;
      else next.enabled = false;
    }
    if (change.description !== undefined) {
      if (change.description === null || change.description === tool.originalDescription) delete next.description;
      else next.description = change.description;
    }
    if (Object.keys(next).length) overrides[tool.key] = next;
    else delete overrides[tool.key];
    try {
      await api("PUT", `api/servers/${encodeURIComponent(name)}`, { ...current.config, tools: overrides });
      setToolError((e) => ({ ...e, [tool.name]: "" }));
      await Promise.all([server.refresh(), tools.refresh()]);
    } catch (err) {
      setToolError((e) => ({ ...e, [tool.name]: (err as Error).message }));
    }
  };

  if (server.error instanceof ApiError && server.error.status === 404) {
    return (
      <section>
        <h1>No server named {name}</h1>
        <Link to="servers">Back to servers</Link>
      </section>
    );
  }
  const s = server.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="servers">Servers</Link> / {name}
      </p>
      <div className="title-row">
        <h1>{name}</h1>
        <StateBadge state={state} />
        <Link className="button secondary" to={`servers/${name}/edit`}>
          Edit
        </Link>
      </div>
      <ErrorBox error={server.error} />
      {s && (
        <dl className="facts">
          <dt>Transport</dt>
          <dd>{s.config.type ?? s.status?.type}</dd>
          {s.config.command && (
            <>
              <dt>Command</dt>
              <dd>
                <code>{[s.config.command, ...(s.config.args ?? [])].join(" ")}</code>
              </dd>
            </>
          )}
          {s.config.url && (
            <>
              <dt>URL</dt>
              <dd>
                <code>{s.config.url}</code>
              </dd>
            </>
          )}
          <dt>Protocol</dt>
          <dd>{s.status?.protocolVersion ?? "—"}</dd>
          <dt>Restarts</dt>
          <dd>{s.status?.restarts ?? 0}</dd>
          {s.status?.lastError && (
            <>
              <dt>Last error</dt>
              <dd className="last-error">{s.status.lastError}</dd>
            </>
          )}
          <dt>Endpoint</dt>
          <dd>
            <code>{endpointUrl(`mcp/${name}`)}</code> <CopyButton text={endpointUrl(`mcp/${name}`)} />
          </dd>
        </dl>
      )}
      <h2>Tools</h2>
      <ErrorBox error={tools.error} />
      {tools.data && !tools.data.tools.length && <p>{state === "ready" ? "This server lists no tools." : "Tools appear once the server is ready."}</p>}
      {tools.data && tools.data.tools.length > 0 && (
        <ul className="tools" aria-label="Tools">
          {tools.data.tools.map((t) => (
            <li key={t.name} data-tool={t.name} className={t.enabled ? "" : "off"}>
              <div className="tool-head">
                <label className="toggle">
                  <input type="checkbox" checked={t.enabled} onChange={(e) => void saveTool(t, { enabled: e.target.checked })} aria-label={`Enable tool ${t.name}`} />
                  <strong>{t.name}</strong>
                </label>
                <button type="button" className="secondary" onClick={() => setTrying(trying === t.name ? undefined : t.name)} aria-expanded={trying === t.name}>
                  Try
                </button>
              </div>
              <ToolDescription tool={t} onSave={(d) => saveTool(t, { description: d })} />
              {toolError[t.name] && <ErrorBox error={toolError[t.name]} />}
              {trying === t.name && <TryTool server={name} tool={t} />}
            </li>
          ))}
        </ul>
      )}
      {tools.data && tools.data.prompts.length > 0 && (
        <>
          <h2>Prompts</h2>
          <ul>
            {tools.data.prompts.map((p) => (
              <li key={p.name}>
                <strong>{p.name}</strong> {p.description}
              </li>
            ))}
          </ul>
        </>
      )}
      {tools.data && tools.data.resources.length > 0 && (
        <>
          <h2>Resources</h2>
          <ul>
            {tools.data.resources.map((r) => (
              <li key={r.uri}>
                <code>{r.uri}</code> {r.name}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function ToolDescription({ tool, onSave }: { tool: ToolView; onSave: (d: string | null) => Promise<void> }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(tool.description);
  const id = `desc-${tool.name}`;
  if (!editing) {
    return (
      <p className="tool-desc">
        {tool.description || <em>no description</em>} {tool.descriptionOverridden && <span className="badge">overridden</span>}{" "}
        <button
          type="button"
          className="link"
          onClick={() => {
            setText(tool.description);
            setEditing(true);
          }}
          aria-label={`Edit description of ${tool.name}`}
        >
          Edit description
        </button>
      </p>
    );
  }
  return (
    <form
      className="desc-form"
      onSubmit={async (e) => {
        e.preventDefault();
        await onSave(text);
        setEditing(false);
      }}
    >
      <label htmlFor={id}>Description clients see for {tool.name}</label>
      <textarea id={id} rows={3} value={text} onChange={(e) => setText(e.target.value)} />
      <div className="row">
        <button type="submit">Save description</button>
        {tool.descriptionOverridden && (
          <button
            type="button"
            className="secondary"
            onClick={async () => {
              await onSave(null);
              setEditing(false);
            }}
          >
            Use the server's own
          </button>
        )}
        <button type="button" className="secondary" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
