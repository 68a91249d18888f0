import { useState, type FormEvent } from "react";
import { api, ApiError, type User } from "./api.ts";
import type { Viewer } from "./app.tsx";
import { ConfirmButton, described, ErrorBox, Field, usePoll } from "./ui.tsx";

export function UsersPage({ viewer }: { viewer: Viewer }) {
  const users = usePoll(() => api<{ users: User[] }>("GET", "api/users"), [], 0);
  const [error, setError] = useState<Error | undefined>();
  const [resetting, setResetting] = useState<string | undefined>();
  const change = async (u: User, patch: Record<string, unknown>) => {
    try {
      await api("PUT", `api/users/${u.id}`, patch);
      setError(undefined);
    } catch (err) {
      setError(err as Error);
    }
    await users.refresh();
  };
  return (
    <section>
      <h1>Users</h1>
      <p>Admins manage servers, groups, settings and users; users make their own API keys and read their own audit entries.</p>
      <UserForm onCreated={users.refresh} />
      <ErrorBox error={users.error ?? error} />
      {users.data && (
        <div className="table-wrap">
          <table aria-label="Users">
            <thead>
              <tr>
                <th scope="col">User name</th>
                <th scope="col">Role</th>
                <th scope="col">Email</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((u) => (
                <tr key={u.id} data-user={u.username}>
                  <th scope="row">{u.username}</th>
                  <td>
                    <select aria-label={`Role of ${u.username}`} value={u.role} onChange={(e) => void change(u, { role: e.target.value })} disabled={u.id === viewer.user?.id}>
                      <option value="user">user</option>
                      <option value="admin">admin</option>
                    </select>
                  </td>
                  <td>{u.email ?? ""}</td>
                  <td>{u.createdAt ? new Date(u.createdAt).toLocaleDateString() : ""}</td>
                  <td className="actions">
                    {resetting === u.id ? (
                      <ResetPassword user={u} onDone={() => setResetting(undefined)} />
                    ) : (
                      <button type="button" className="secondary" onClick={() => setResetting(u.id)}>
                        Reset password
                      </button>
                    )}
                    {u.id !== viewer.user?.id && (
                      <ConfirmButton
                        label="Delete"
                        confirmLabel={`Delete ${u.username}`}
                        onConfirm={async () => {
                          try {
                            await api("DELETE", `api/users/${u.id}`);
                            setError(undefined);
                          } catch (err) {
                            setError(err as Error);
                          }
                          await users.refresh();
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
    </section>
  );
}

function ResetPassword({ user, onDone }: { user: User; onDone: () => void }) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const id = `reset-${user.id}`;
  return (
    <form
      className="inline"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api("PUT", `api/users/${user.id}`, { password });
          onDone();
        } catch (err) {
          setError(err instanceof ApiError ? (err.fields.password ?? err.message) : (err as Error).message);
        }
      }}
    >
      <label htmlFor={id}>New password for {user.username}</label>
      <input {...described(id, error)} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      {error && (
        <small id={`${id}-error`} className="field-error" role="alert">
          {error}
        </small>
      )}
      <button type="submit">Set password</button>
      <button type="button" className="secondary" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

function UserForm({ onCreated }: { onCreated: () => Promise<void> }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<"user" | "admin">("user");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | undefined>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setFormError(undefined);
    try {
      await api("POST", "api/users", { username, password, role });
      setUsername("");
      setPassword("");
      await onCreated();
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length) setErrors(err.fields);
      else if (err instanceof ApiError && err.status === 409) setErrors({ username: err.message });
      else setFormError((err as Error).message);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="New user" noValidate>
      <h2>New user</h2>
      <Field label="User name" id="new-username" error={errors.username}>
        <input {...described("new-username", errors.username)} autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
      </Field>
      <Field label="Password" id="new-password" error={errors.password} hint="At least 8 characters.">
        <input {...described("new-password", errors.password, true)} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      </Field>
      <Field label="Role" id="new-role" error={errors.role}>
        <select {...described("new-role", errors.role)} value={role} onChange={(e) => setRole(e.target.value as "user" | "admin")}>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      </Field>
      <ErrorBox error={formError} />
      <button type="submit">Create user</button>
    </form>
  );
}
