import { useState, type FormEvent } from "react";
import { api, ApiError, type AuditEntry } from "./api.ts";
import type { Viewer } from "./app.tsx";
import { described, ErrorBox, Field, usePoll } from "./ui.tsx";

interface Filters {
  user: string;
  action: string;
  resource: string;
  success: "" | "true" | "false";
  from: string;
  to: string;
}

const EMPTY: Filters = { user: "", action: "", resource: "", success: "", from: "", to: "" };
const PAGE = 25;

/** The filters as the audit API's query; datetime-local values become ISO times. */
export function auditQuery(f: Filters, cursor?: string): string {
  const q = new URLSearchParams();
  for (const key of ["user", "action", "resource", "success"] as const) if (f[key].trim()) q.set(key, f[key].trim());
  for (const key of ["from", "to"] as const) {
    if (!f[key]) continue;
    const at = new Date(f[key]);
    q.set(key, Number.isNaN(at.getTime()) ? f[key] : at.toISOString());
  }
  q.set("limit", String(PAGE));
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

export function AuditPage({ viewer }: { viewer: Viewer }) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  // Cursors of the pages seen so far: [undefined] is the newest page.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  // The first page follows new entries live; older pages stay put while read.
  const page = usePoll(() => api<{ entries: AuditEntry[]; nextCursor: string | null }>("GET", `api/audit?${auditQuery(filters, cursor)}`), [filters, cursor], cursor ? 0 : undefined);
  const fields = page.error instanceof ApiError ? page.error.fields : {};
  const set = (k: keyof Filters, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };
  return (
    <section>
      <h1>Audit log</h1>
      <p>{viewer.user?.role === "admin" ? "Every sign-in, change and tool call, newest first." : "Your own sign-ins, changes and tool calls, newest first."}</p>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log" noValidate>
        {viewer.user?.role === "admin" && (
          <Field label="User" id="f-user" error={fields.user}>
            <input {...described("f-user", fields.user)} value={draft.user} onChange={(e) => set("user", e.target.value)} placeholder="name or id" />
          </Field>
        )}
        <Field label="Action" id="f-action" error={fields.action}>
          <input {...described("f-action", fields.action)} value={draft.action} onChange={(e) => set("action", e.target.value)} placeholder="tool.call" list="audit-actions" />
        </Field>
        <datalist id="audit-actions">
          {["auth.login", "tool.call", "server.create", "server.update", "server.delete", "group.create", "group.update", "group.delete", "settings.replace", "apikey.create", "apikey.revoke", "user.create", "user.update", "user.delete"].map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <Field label="Server or resource" id="f-resource" error={fields.resource}>
          <input {...described("f-resource", fields.resource)} value={draft.resource} onChange={(e) => set("resource", e.target.value)} />
        </Field>
        <Field label="Outcome" id="f-success" error={fields.success}>
          <select {...described("f-success", fields.success)} value={draft.success} onChange={(e) => set("success", e.target.value)}>
            <option value="">any</option>
            <option value="true">succeeded</option>
            <option value="false">failed</option>
          </select>
        </Field>
        <Field label="From" id="f-from" error={fields.from}>
          <input {...described("f-from", fields.from)} type="datetime-local" value={draft.from} onChange={(e) => set("from", e.target.value)} />
        </Field>
        <Field label="To" id="f-to" error={fields.to}>
          <input {...described("f-to", fields.to)} type="datetime-local" value={draft.to} onChange={(e) => set("to", e.target.value)} />
        </Field>
        <div className="row">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setCursors([undefined]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {page.error && !Object.keys(fields).length && <ErrorBox error={page.error} />}
      {page.data && !page.data.entries.length && <p>No entries.</p>}
      {page.data && page.data.entries.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Audit entries">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">User</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Outcome</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.data.entries.map((e) => (
                <tr key={e.id} data-action={e.action}>
                  <td>{new Date(e.at).toLocaleString()}</td>
                  <td>{e.username ?? "—"}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{[e.resource, e.resourceId].filter(Boolean).join(" / ")}</td>
                  <td>{e.success ? <span className="badge state-ready">ok</span> : <span className="badge state-failed">failed</span>}</td>
                  <td className="details">{e.details ? <code>{JSON.stringify(e.details)}</code> : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" className="secondary" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" className="secondary" disabled={!page.data?.nextCursor} onClick={() => setCursors((c) => [...c, page.data!.nextCursor!])}>
          Older
        </button>
      </nav>
    </section>
  );
}
