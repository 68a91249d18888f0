import { useState, type FormEvent } from "react";
import { api, ApiError, session, type User } from "./api.ts";
import type { Viewer } from "./app.tsx";
import { described, ErrorBox, Field } from "./ui.tsx";

/** The signed-in user's own account: changing the password ends every other session of theirs. */
export function AccountPage({ viewer }: { viewer: Viewer }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>();
  const [done, setDone] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    setDone(false);
    try {
      const { token } = await api<{ token: string; user: User }>("PUT", "api/auth/password", { currentPassword: current, newPassword: next });
      // Tokens signed before the change no longer verify: this page keeps the fresh one.
      session.set(token);
      setCurrent("");
      setNext("");
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length) setErrors(err.fields);
      else setError((err as Error).message);
    }
  };
  return (
    <section>
      <h1>Your account</h1>
      <p>
        Signed in as <strong>{viewer.user?.username}</strong> ({viewer.user?.role}).
      </p>
      <form className="card" onSubmit={submit} aria-label="Change password" noValidate>
        <h2>Change password</h2>
        <p className="hint">Every other session of yours ends; this one goes on.</p>
        <Field label="Current password" id="current-password" error={errors.currentPassword}>
          <input {...described("current-password", errors.currentPassword)} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
        </Field>
        <Field label="New password" id="new-own-password" error={errors.newPassword} hint="At least 8 characters.">
          <input {...described("new-own-password", errors.newPassword, true)} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
        </Field>
        <ErrorBox error={error} />
        <div className="row">
          <button type="submit">Change password</button>
          {done && <span role="status">Password changed.</span>}
        </div>
      </form>
    </section>
  );
}
