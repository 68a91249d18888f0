import { useState, type FormEvent } from "react";
import { api, ApiError, type ApiKey, type Group, type ServerView } from "./api.ts";
import type { Viewer } from "./app.tsx";
import { ConfirmButton, CopyButton, described, endpointUrl, ErrorBox, Field, usePoll } from "./ui.tsx";

export function KeysPage({ viewer }: { viewer: Viewer }) {
  const isAdmin = viewer.user?.role === "admin";
  const [all, setAll] = useState(false);
  const keys = usePoll(() => api<{ keys: ApiKey[] }>("GET", `api/keys${all ? "?all=true" : ""}`), [all], 0);
  const [created, setCreated] = useState<{ key: string; apiKey: ApiKey } | undefined>();
  const [error, setError] = useState<Error | undefined>();
  return (
    <section>
      <h1>API keys</h1>
      <p>MCP clients send a key as <code>Authorization: Bearer mcphub_…</code>. A key is shown once, when it is created; the hub keeps only its hash.</p>
      {created && (
        <div className="created-key" role="status">
          <p>
            <strong>{created.apiKey.name}</strong>: copy this key now, it will not be shown again.
          </p>
          <p>
            <code className="secret" data-testid="new-key">
              {created.key}
            </code>{" "}
            <CopyButton text={created.key} label="Copy key" />
          </p>
          <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      <KeyForm
        onCreated={async (c) => {
          setCreated(c);
          await keys.refresh();
        }}
        isAdmin={isAdmin}
      />
      <h2>Keys</h2>
      {isAdmin && (
        <label className="toggle">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Everyone's keys
        </label>
      )}
      <ErrorBox error={keys.error ?? error} />
      {keys.data && !keys.data.keys.length && <p>No keys yet.</p>}
      {keys.data && keys.data.keys.length > 0 && (
        <div className="table-wrap">
          <table aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                {all && <th scope="col">Owner</th>}
                <th scope="col">Access</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((k) => (
                <tr key={k.id} data-key={k.name}>
                  <th scope="row">{k.name}</th>
                  <td>
                    <code>{k.prefix ? `${k.prefix}…` : "—"}</code>
                  </td>
                  {all && <td>{k.username ?? k.userId}</td>}
                  <td>{k.accessType === "all" ? "everything" : `${k.accessType}: ${(k.accessType === "groups" ? k.allowedGroups : k.allowedServers)?.join(", ")}`}</td>
                  <td>{k.expiresAt ? new Date(k.expiresAt).toLocaleString() : "never"}</td>
                  <td>{k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : "never"}</td>
                  <td>{k.revokedAt ? "revoked" : k.expiresAt && new Date(k.expiresAt) < new Date() ? "expired" : "active"}</td>
                  <td>
                    {!k.revokedAt && (
                      <ConfirmButton
                        label="Revoke"
                        confirmLabel={`Revoke ${k.name}`}
                        onConfirm={async () => {
                          try {
                            await api("DELETE", `api/keys/${k.id}`);
                            setError(undefined);
                          } catch (err) {
                            setError(err as Error);
                          }
                          await keys.refresh();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Use it</h2>
      <p>
        Endpoint: <code>{endpointUrl("mcp")}</code> <CopyButton text={endpointUrl("mcp")} label="Copy endpoint" />
      </p>
    </section>
  );
}

function KeyForm({ onCreated, isAdmin }: { onCreated: (c: { key: string; apiKey: ApiKey }) => Promise<void>; isAdmin: boolean }) {
  const [name, setName] = useState("");
  const [accessType, setAccessType] = useState<ApiKey["accessType"]>("all");
  const [picked, setPicked] = useState<string[]>([]);
  const [expiresAt, setExpiresAt] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | undefined>();
  // Group and server names to scope to; only admins may read the settings API.
  const groups = usePoll(() => (isAdmin ? api<{ groups: Group[] }>("GET", "api/groups") : Promise.resolve({ groups: [] })), [isAdmin], 0);
  const servers = usePoll(() => (isAdmin ? api<{ servers: ServerView[] }>("GET", "api/servers") : Promise.resolve({ servers: [] })), [isAdmin], 0);
  const options = accessType === "groups" ? (groups.data?.groups ?? []).map((g) => ({ value: g.id, label: g.name })) : (servers.data?.servers ?? []).map((s) => ({ value: s.name, label: s.name }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setFormError(undefined);
    const body: Record<string, unknown> = { name, accessType };
    if (accessType === "groups") body.allowedGroups = picked;
    if (accessType === "servers") body.allowedServers = picked;
    if (expiresAt) {
      const at = new Date(expiresAt);
      body.expiresAt = Number.isNaN(at.getTime()) ? expiresAt : at.toISOString();
    }
    try {
      const created = await api<{ key: string; apiKey: ApiKey }>("POST", "api/keys", body);
      setName("");
      setPicked([]);
      setExpiresAt("");
      await onCreated(created);
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length) setErrors(err.fields);
      else setFormError((err as Error).message);
    }
  };
  const scopeError = errors.allowedGroups ?? errors.allowedServers;
  return (
    <form className="card" onSubmit={submit} aria-label="New API key" noValidate>
      <h2>New key</h2>
      <Field label="Name" id="key-name" error={errors.name} hint="Which client uses it, e.g. my IDE.">
        <input {...described("key-name", errors.name, true)} value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Access" id="key-access" error={errors.accessType}>
        <select
          {...described("key-access", errors.accessType)}
          value={accessType}
          onChange={(e) => {
            setAccessType(e.target.value as ApiKey["accessType"]);
            setPicked([]);
          }}
        >
          <option value="all">Every server and group</option>
          <option value="groups">Only some groups</option>
          <option value="servers">Only some servers</option>
        </select>
      </Field>
      {accessType !== "all" && (
        <fieldset className={scopeError ? "invalid" : ""}>
          <legend>{accessType === "groups" ? "Groups" : "Servers"}</legend>
          {options.map((o) => (
            <label key={o.value} className="pick">
              <input type="checkbox" checked={picked.includes(o.value)} onChange={(e) => setPicked((p) => (e.target.checked ? [...p, o.value] : p.filter((x) => x !== o.value)))} /> {o.label}
            </label>
          ))}
          {!options.length && <p className="hint">None to pick from.</p>}
          {scopeError && (
            <small className="field-error" role="alert">
              {scopeError}
            </small>
          )}
        </fieldset>
      )}
      <Field label="Expires (empty: never)" id="key-expires" error={errors.expiresAt}>
        <input {...described("key-expires", errors.expiresAt)} type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
      </Field>
      <ErrorBox error={formError} />
      <button type="submit">Create key</button>
    </form>
  );
}
