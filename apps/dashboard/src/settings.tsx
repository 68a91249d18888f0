import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, fieldErrors } from "./api.ts";
import { described, ErrorBox, Field } from "./ui.tsx";

export type RawSettings = {
  mcpServers?: Record<string, unknown>;
  groups?: unknown[];
  systemConfig?: Record<string, unknown> & {
    routing?: Record<string, unknown>;
    smartRouting?: Record<string, unknown>;
    nameSeparator?: string;
  };
  [key: string]: unknown;
};

export async function loadSettings(): Promise<RawSettings> {
  return (await api<{ settings: RawSettings }>("GET", "api/settings")).settings;
}

type SystemConfig = NonNullable<RawSettings["systemConfig"]>;

/**
 * Changes systemConfig through PUT /api/settings, as one revision (read, change, write back: the
 * API puts masked secrets back). Reasons come back as JSON paths (`$.systemConfig.routing.x`).
 */
export async function saveSystemConfig(mutate: (system: SystemConfig) => SystemConfig): Promise<RawSettings> {
  const current = await loadSettings();
  const saved = await api<{ settings: RawSettings }>("PUT", "api/settings", { ...current, systemConfig: mutate(current.systemConfig ?? {}) });
  return saved.settings;
}

export function reasonsBelow(err: unknown, prefix: string): Record<string, string> {
  return err instanceof ApiError ? fieldErrors(err.details, prefix) : {};
}

export function SettingsPage() {
  const [settings, setSettings] = useState<RawSettings | undefined>();
  const [loadError, setLoadError] = useState<Error | undefined>();
  useEffect(() => {
    loadSettings().then(setSettings, setLoadError);
  }, []);
  if (loadError) return <ErrorBox error={loadError} />;
  if (!settings) return <p>Loading…</p>;
  return (
    <section>
      <h1>Settings</h1>
      <RoutingForm settings={settings} onSaved={setSettings} />
      <JsonEditor settings={settings} onSaved={setSettings} />
    </section>
  );
}

function RoutingForm({ settings, onSaved }: { settings: RawSettings; onSaved: (s: RawSettings) => void }) {
  const routing = settings.systemConfig?.routing ?? {};
  const [globalRoute, setGlobalRoute] = useState(routing.enableGlobalRoute !== false);
  const [groupNameRoute, setGroupNameRoute] = useState(routing.enableGroupNameRoute !== false);
  const [bearer, setBearer] = useState(routing.enableBearerAuth === true);
  const [bearerKey, setBearerKey] = useState(String(routing.bearerAuthKey ?? ""));
  const [separator, setSeparator] = useState(settings.systemConfig?.nameSeparator ?? "-");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    setSaved(false);
    try {
      const routing = { enableGlobalRoute: globalRoute, enableGroupNameRoute: groupNameRoute, enableBearerAuth: bearer, bearerAuthKey: bearerKey };
      onSaved(await saveSystemConfig((system) => ({ ...system, routing: { ...(system.routing ?? {}), ...routing }, nameSeparator: separator })));
      setSaved(true);
    } catch (err) {
      const reasons = { ...reasonsBelow(err, "$.systemConfig.routing."), ...reasonsBelow(err, "$.systemConfig.") };
      setErrors(reasons);
      if (!Object.keys(reasons).length) setError((err as Error).message);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Routing" noValidate>
      <h2>Routing</h2>
      <div className="field checkbox">
        <input id="global-route" type="checkbox" checked={globalRoute} onChange={(e) => setGlobalRoute(e.target.checked)} />
        <label htmlFor="global-route">Serve every server at /mcp (the global route)</label>
      </div>
      <div className="field checkbox">
        <input id="group-name-route" type="checkbox" checked={groupNameRoute} onChange={(e) => setGroupNameRoute(e.target.checked)} />
        <label htmlFor="group-name-route">Groups answer by name as well as by id</label>
      </div>
      <div className="field checkbox">
        <input id="bearer" type="checkbox" checked={bearer} onChange={(e) => setBearer(e.target.checked)} />
        <label htmlFor="bearer">Require the shared bearer key on MCP endpoints</label>
      </div>
      <Field label="Bearer key" id="bearer-key" error={errors.bearerAuthKey}>
        <input {...described("bearer-key", errors.bearerAuthKey)} type="password" autoComplete="off" value={bearerKey} onChange={(e) => setBearerKey(e.target.value)} />
      </Field>
      <Field label="Name separator" id="separator" error={errors.nameSeparator} hint="Between a server's name and its tool's: memory-read_graph.">
        <input {...described("separator", errors.nameSeparator, true)} value={separator} onChange={(e) => setSeparator(e.target.value)} />
      </Field>
      <ErrorBox error={error} />
      <div className="row">
        <button type="submit">Save routing</button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </form>
  );
}

function JsonEditor({ settings, onSaved }: { settings: RawSettings; onSaved: (s: RawSettings) => void }) {
  const [text, setText] = useState(() => JSON.stringify(settings, null, 2));
  const [reasons, setReasons] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  useEffect(() => setText(JSON.stringify(settings, null, 2)), [settings]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setReasons([]);
    setSaved(false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      setReasons([`$: not JSON (${(err as Error).message})`]);
      return;
    }
    try {
      const { settings: next } = await api<{ settings: RawSettings }>("PUT", "api/settings", parsed);
      onSaved(next);
      setSaved(true);
    } catch (err) {
      // The editor keeps what was typed; each reason names its JSON path.
      const details = err instanceof ApiError && Array.isArray(err.details) ? err.details.map((d) => (typeof d === "string" ? d : JSON.stringify(d))) : [];
      setReasons(details.length ? details : [(err as Error).message]);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="All settings as JSON" noValidate>
      <h2>All settings (mcp_settings.json)</h2>
      <p className="hint">Saved as a new revision and written back to the file. Env and header values show as [secret]; leaving them so keeps the stored ones.</p>
      <label htmlFor="settings-json">Settings JSON</label>
      <textarea id="settings-json" rows={18} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={reasons.length ? true : undefined} aria-describedby={reasons.length ? "settings-json-errors" : undefined} />
      {reasons.length > 0 && (
        <ul id="settings-json-errors" className="field-error" role="alert" aria-label="Why the settings were refused">
          {reasons.map((r) => (
            <li key={r}>
              <code>{r}</code>
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <button type="submit">Save settings</button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </form>
  );
}
