import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, ApiError, session, SIGNED_OUT, type User } from "./api.ts";
import { navigate, useRoute } from "./router.ts";
import { described, ErrorBox, Field, Link, usePoll } from "./ui.tsx";
import { ServerDetail, ServerForm, ServersPage } from "./servers.tsx";
import { GroupsPage } from "./groups.tsx";
import { KeysPage } from "./keys.tsx";
import { UsersPage } from "./users.tsx";
import { AuditPage } from "./audit.tsx";
import { OverviewPage } from "./overview.tsx";
import { SettingsPage } from "./settings.tsx";
import { AccountPage } from "./account.tsx";
import { SmartRoutingPage } from "./smart-routing.tsx";

/** Who is using the dashboard: a signed-in user, or nobody needed (the hub runs with SKIP_AUTH). */
export type Viewer = { user: User; open: false } | { user: null; open: true };

type Boot = { phase: "loading" } | { phase: "signed-out"; reason?: string } | { phase: "in"; viewer: Viewer };

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: "loading" });

  useEffect(() => {
    const check = async () => {
      try {
        const { user } = await api<{ user: User }>("GET", "api/auth/me");
        setBoot({ phase: "in", viewer: { user, open: false } });
      } catch (err) {
        // No auth service in this hub (SKIP_AUTH=true): every endpoint is open.
        if (err instanceof ApiError && err.status === 404) setBoot({ phase: "in", viewer: { user: null, open: true } });
        else {
          if (err instanceof ApiError && err.status === 401) session.set(null);
          setBoot({ phase: "signed-out", reason: session.token ? (err as Error).message : undefined });
        }
      }
    };
    void check();
    const onSignedOut = () => {
      session.set(null);
      setBoot({ phase: "signed-out", reason: "Your session ended (it expired, or the password was changed). Sign in again." });
    };
    window.addEventListener(SIGNED_OUT, onSignedOut);
    return () => window.removeEventListener(SIGNED_OUT, onSignedOut);
  }, []);

  if (boot.phase === "loading") return <p className="loading">Loading…</p>;
  if (boot.phase === "signed-out") {
    return <SignIn reason={boot.reason} onSignedIn={(user) => setBoot({ phase: "in", viewer: { user, open: false } })} />;
  }
  return (
    <Shell
      viewer={boot.viewer}
      onSignOut={() => {
        session.set(null);
        setBoot({ phase: "signed-out" });
        navigate("");
      }}
    />
  );
}

function SignIn({ reason, onSignedIn }: { reason?: string; onSignedIn: (user: User) => void }) {
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const { token, user } = await api<{ token: string; user: User }>("POST", "api/auth/login", { username, password });
      session.set(token);
      onSignedIn(user);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const fields = error?.fields ?? {};
  return (
    <main className="signin">
      <h1>MCPHub</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <h2>Sign in</h2>
        {reason && <p className="notice">{reason}</p>}
        <Field label="User name" id="username" error={fields.username}>
          <input {...described("username", fields.username)} autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
        </Field>
        <Field label="Password" id="password" error={fields.password}>
          <input {...described("password", fields.password)} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        {error && !Object.keys(fields).length && <ErrorBox error={error} />}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <details className="first-start" open>
          <summary>First start?</summary>
          <p>
            The hub created the user <code>admin</code>. Its password is the <code>ADMIN_PASSWORD</code> you set, or, if you set none, a generated one
            printed once in the hub's log: look for the line starting <code>FIRST START</code> in the terminal where <code>pnpm start</code> runs (or in{" "}
            <code>LOG_FILE</code>).
          </p>
        </details>
      </form>
    </main>
  );
}

interface Page {
  route: string;
  label: string;
  adminOnly?: boolean;
}

const PAGES: Page[] = [
  { route: "", label: "Overview" },
  { route: "servers", label: "Servers", adminOnly: true },
  { route: "groups", label: "Groups", adminOnly: true },
  { route: "smart-routing", label: "Smart routing", adminOnly: true },
  { route: "keys", label: "API keys" },
  { route: "users", label: "Users", adminOnly: true },
  { route: "audit", label: "Audit log" },
  { route: "settings", label: "Settings", adminOnly: true },
];

function Shell({ viewer, onSignOut }: { viewer: Viewer; onSignOut: () => void }) {
  const route = useRoute();
  // Checked on every page change and now and then: a changed password, a deleted user or an
  // expired token ends the session here too (the API answers 401, which signs out).
  usePoll(() => (viewer.open ? Promise.resolve(null) : api("GET", "api/auth/me")), [route, viewer.open], 5000);
  // After a page change, focus goes to the new page (screen readers announce it) and the title follows.
  const first = useRef(true);
  useEffect(() => {
    const label = PAGES.find((p) => p.route === route.split("/")[0])?.label ?? (route.startsWith("account") ? "Your account" : "MCPHub");
    document.title = label === "MCPHub" ? "MCPHub" : `${label} · MCPHub`;
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("main")?.focus();
  }, [route]);
  const isAdmin = viewer.open || viewer.user.role === "admin";
  const pages = PAGES.filter((p) => isAdmin || !p.adminOnly).filter((p) => !viewer.open || !["keys", "users", "audit"].includes(p.route));
  const [section, ...rest] = route.split("/");
  const active = pages.find((p) => p.route === section)?.route ?? "";
  return (
    <div className="shell">
      {/* With <base href> set, "#main" would resolve to the base URL and load another page: focus it here instead. */}
      <a
        className="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span className="brand">MCPHub</span>
        <nav aria-label="Main">
          <ul>
            {pages.map((p) => (
              <li key={p.route}>
                <Link to={p.route} aria-current={p.route === active ? "page" : undefined}>
                  {p.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {viewer.open ? (
            <span className="badge state-failed" title="SKIP_AUTH=true: no credentials are checked">
              open: no sign-in
            </span>
          ) : (
            <>
              <Link to="account" aria-current={section === "account" ? "page" : undefined} title="Your account">
                {viewer.user.username} <small>({viewer.user.role})</small>
              </Link>
              <button type="button" className="secondary" onClick={onSignOut}>
                Sign out
              </button>
            </>
          )}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <PageFor section={section ?? ""} rest={rest} viewer={viewer} allowed={pages.some((p) => p.route === section) || (section === "account" && !viewer.open)} />
      </main>
    </div>
  );
}

function PageFor({ section, rest, viewer, allowed }: { section: string; rest: string[]; viewer: Viewer; allowed: boolean }) {
  if (!allowed) return <NotFound />;
  switch (section) {
    case "":
      return <OverviewPage viewer={viewer} />;
    case "servers":
      if (rest[0] === "new") return <ServerForm />;
      if (rest[0] && rest[1] === "edit") return <ServerForm name={rest[0]} />;
      if (rest[0]) return <ServerDetail name={rest[0]} />;
      return <ServersPage />;
    case "groups":
      return <GroupsPage />;
    case "keys":
      return <KeysPage viewer={viewer} />;
    case "users":
      return <UsersPage viewer={viewer} />;
    case "audit":
      return <AuditPage viewer={viewer} />;
    case "smart-routing":
      return <SmartRoutingPage />;
    case "settings":
      return <SettingsPage />;
    case "account":
      return <AccountPage viewer={viewer} />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no such page. <Link to="">Go to the overview</Link>.
      </p>
    </section>
  );
}
