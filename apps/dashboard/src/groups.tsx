import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, fieldErrors, type Group, type GroupEntry, type ServerView, type ToolView } from "./api.ts";
import { ConfirmButton, CopyButton, described, endpointUrl, ErrorBox, Field, usePoll } from "./ui.tsx";

const entryName = (e: string | GroupEntry) => (typeof e === "string" ? e : e.name);

/** A group's picks as the form holds them: server → "all" or the picked tool names. */
type Picks = Record<string, "all" | string[]>;

const toPicks = (g?: Group): Picks => Object.fromEntries((g?.servers ?? []).map((e) => (typeof e === "string" ? [e, "all"] : [e.name, e.tools])));
const fromPicks = (p: Picks): (string | GroupEntry)[] => Object.entries(p).map(([name, tools]) => (tools === "all" ? name : { name, tools }));

export function GroupsPage() {
  const groups = usePoll(() => api<{ groups: Group[] }>("GET", "api/groups"), []);
  const servers = usePoll(() => api<{ servers: ServerView[] }>("GET", "api/servers"), [], 0);
  const [editing, setEditing] = useState<Group | "new" | undefined>();
  const [error, setError] = useState<Error | undefined>();
  return (
    <section>
      <div className="title-row">
        <h1>Groups</h1>
        <button type="button" onClick={() => setEditing("new")}>
          New group
        </button>
      </div>
      <p>A group is an endpoint with some servers, or single tools of them: give a client only what it needs.</p>
      <ErrorBox error={groups.error ?? error} />
      {editing && (
        <GroupForm
          group={editing === "new" ? undefined : editing}
          servers={servers.data?.servers ?? []}
          onDone={async () => {
            setEditing(undefined);
            await groups.refresh();
          }}
        />
      )}
      {groups.data && !groups.data.groups.length && <p>No groups yet.</p>}
      {groups.data && groups.data.groups.length > 0 && (
        <ul className="cards" aria-label="Groups">
          {groups.data.groups.map((g) => (
            <li key={g.id} data-group={g.id} className="card">
              <h2>{g.name}</h2>
              <p>
                <small>id</small> <code>{g.id}</code>
              </p>
              <p>
                {g.servers.length
                  ? g.servers.map((e) => (typeof e === "string" ? e : `${e.name} (${e.tools === "all" ? "all tools" : e.tools.join(", ")})`)).join("; ")
                  : "no servers"}
              </p>
              <p className="endpoint">
                <code>{endpointUrl(`mcp/${g.id}`)}</code> <CopyButton text={endpointUrl(`mcp/${g.id}`)} label="Copy endpoint" />
              </p>
              <p className="endpoint hint">
                Tool search in it: <code>{endpointUrl(`mcp/$smart/${g.id}`)}</code>
              </p>
              <div className="row">
                <button type="button" className="secondary" onClick={() => setEditing(g)} aria-label={`Edit group ${g.name}`}>
                  Edit
                </button>
                <ConfirmButton
                  label="Delete"
                  confirmLabel={`Delete ${g.name}`}
                  onConfirm={async () => {
                    try {
                      await api("DELETE", `api/groups/${encodeURIComponent(g.id)}`);
                      setError(undefined);
                    } catch (err) {
                      setError(err as Error);
                    }
                    await groups.refresh();
                  }}
                />
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function GroupForm({ group, servers, onDone }: { group?: Group; servers: ServerView[]; onDone: () => Promise<void> }) {
  const [id, setId] = useState(group?.id ?? "");
  const [name, setName] = useState(group?.name ?? "");
  const [picks, setPicks] = useState<Picks>(() => toPicks(group));
  const [tools, setTools] = useState<Record<string, ToolView[]>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | undefined>();

  // Tool lists for the servers whose single tools are being picked.
  useEffect(() => {
    for (const [server, p] of Object.entries(picks)) {
      if (p === "all" || tools[server]) continue;
      api<{ tools: ToolView[] }>("GET", `api/servers/${encodeURIComponent(server)}/tools`).then(
        (t) => setTools((all) => ({ ...all, [server]: t.tools })),
        () => setTools((all) => ({ ...all, [server]: [] })),
      );
    }
  }, [picks, tools]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setFormError(undefined);
    const body = { ...(group ?? {}), ...(id.trim() ? { id: id.trim() } : {}), name: name.trim(), servers: fromPicks(picks) };
    try {
      if (group) await api("PUT", `api/groups/${encodeURIComponent(group.id)}`, body);
      else await api("POST", "api/groups", body);
      await onDone();
    } catch (err) {
      if (err instanceof ApiError) {
        const f = fieldErrors(err.details);
        const mapped: Record<string, string> = {};
        for (const [path, reason] of Object.entries(f)) {
          const m = /^groups\.\d+\.(\w+)/.exec(path);
          const field = m?.[1] ?? (path === "id" || path === "name" ? path : "form");
          mapped[field] ??= reason;
        }
        if (err.status === 409) mapped.id = err.message;
        setErrors(mapped);
        setFormError(Object.keys(mapped).some((k) => ["id", "name", "servers"].includes(k)) ? undefined : err.message);
      } else setFormError((err as Error).message);
    }
  };
  const fid = group ? `group-${group.id}` : "group-new";
  return (
    <form className="card" onSubmit={submit} aria-label={group ? `Edit group ${group.name}` : "New group"} noValidate>
      <h2>{group ? `Edit ${group.name}` : "New group"}</h2>
      {!group && (
        <Field label="Id (in the endpoint URL; empty: generated)" id={`${fid}-id`} error={errors.id}>
          <input {...described(`${fid}-id`, errors.id)} value={id} onChange={(e) => setId(e.target.value)} />
        </Field>
      )}
      <Field label="Name" id={`${fid}-name`} error={errors.name}>
        <input {...described(`${fid}-name`, errors.name)} value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <fieldset>
        <legend>Servers and tools</legend>
        {errors.servers && (
          <small className="field-error" role="alert">
            {errors.servers}
          </small>
        )}
        {servers.map((s) => {
          const pick = picks[s.name];
          return (
            <div key={s.name} className="pick">
              <label>
                <input
                  type="checkbox"
                  checked={pick !== undefined}
                  onChange={(e) =>
                    setPicks((p) => {
                      const { [s.name]: _gone, ...rest } = p;
                      return e.target.checked ? { ...rest, [s.name]: "all" } : rest;
                    })
                  }
                />{" "}
                {s.name}
              </label>
              {pick !== undefined && (
                <label className="sub">
                  <input type="checkbox" checked={pick !== "all"} onChange={(e) => setPicks((p) => ({ ...p, [s.name]: e.target.checked ? [] : "all" }))} /> only some tools
                </label>
              )}
              {Array.isArray(pick) && (
                <div className="tool-picks" role="group" aria-label={`Tools of ${s.name}`}>
                  {(tools[s.name] ?? []).map((t) => (
                    <label key={t.name}>
                      <input
                        type="checkbox"
                        checked={pick.includes(t.name)}
                        onChange={(e) => setPicks((p) => ({ ...p, [s.name]: e.target.checked ? [...pick, t.name] : pick.filter((x) => x !== t.name) }))}
                      />{" "}
                      {t.name}
                    </label>
                  ))}
                </div>
              )}
            </div>
          );
        })}
        {/* Entries naming servers that no longer exist are kept, and shown. */}
        {Object.keys(picks)
          .filter((n) => !servers.some((s) => s.name === n))
          .map((n) => (
            <p key={n} className="hint">
              {n} (not a configured server)
            </p>
          ))}
      </fieldset>
      <ErrorBox error={formError ?? errors.form} />
      <div className="row">
        <button type="submit">{group ? "Save group" : "Create group"}</button>
        <button type="button" className="secondary" onClick={() => void onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export { entryName };
