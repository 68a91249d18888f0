import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError, type Group } from "./api.ts";
import { described, endpointUrl, ErrorBox, Field, usePoll } from "./ui.tsx";
import { loadSettings, reasonsBelow, saveSystemConfig } from "./settings.tsx";

interface IndexStatus {
  model: string;
  backend: string;
  ready: boolean;
  syncing: boolean;
  tools: number;
  lastSync?: { at: string; embedded: number; reused: number; removed: number; ms: number };
  lastError?: string;
}

interface SearchAnswer {
  results: { server: string; tool: string; name: string; description: string; score: number }[];
  ranking: "hybrid" | "lexical";
  degraded?: string;
}

interface SmartForm {
  enabled: boolean;
  threshold: string;
  embeddingProvider: "" | "local" | "openai";
  openaiApiBaseUrl: string;
  openaiApiKey: string;
  openaiApiEmbeddingModel: string;
  progressiveDisclosure: boolean;
}

/** The form's values as systemConfig.smartRouting: empty optional fields are left out, not sent as "". */
export function toSmartRouting(f: SmartForm, stored: Record<string, unknown>): Record<string, unknown> {
  const { embeddingProvider: _p, openaiApiBaseUrl: _u, openaiApiKey: _k, openaiApiEmbeddingModel: _m, ...kept } = stored;
  const out: Record<string, unknown> = { ...kept, enabled: f.enabled, progressiveDisclosure: f.progressiveDisclosure };
  out.threshold = f.threshold.trim() === "" ? undefined : Number(f.threshold);
  if (f.embeddingProvider) out.embeddingProvider = f.embeddingProvider;
  if (f.openaiApiBaseUrl.trim()) out.openaiApiBaseUrl = f.openaiApiBaseUrl.trim();
  if (f.openaiApiKey) out.openaiApiKey = f.openaiApiKey;
  if (f.openaiApiEmbeddingModel.trim()) out.openaiApiEmbeddingModel = f.openaiApiEmbeddingModel.trim();
  return out;
}

export function SmartRoutingPage() {
  const status = usePoll(() => api<{ settings: Record<string, unknown>; index: IndexStatus }>("GET", "api/smart-routing/status"), []);
  const index = status.data?.index;
  const [reindexError, setReindexError] = useState<Error | undefined>();
  return (
    <section>
      <h1>Smart routing</h1>
      <p>
        <code>{endpointUrl("mcp/$smart")}</code> gives a client two tools, <code>search_tools</code> and <code>call_tool</code>, instead of every tool: it finds the right one by
        meaning. <code>{endpointUrl("mcp/$smart/<group>")}</code> searches one group.
      </p>
      <h2>Index</h2>
      <ErrorBox error={status.error ?? reindexError} />
      {index && (
        <dl className="facts" aria-label="Index status">
          <dt>State</dt>
          <dd data-testid="index-state">{index.syncing ? "indexing…" : index.ready ? "ready" : "not built yet"}</dd>
          <dt>Tools indexed</dt>
          <dd data-testid="index-tools">{index.tools}</dd>
          <dt>Model</dt>
          <dd>{index.model}</dd>
          <dt>Vectors compared</dt>
          <dd>{index.backend === "pgvector" ? "by pgvector in the database" : "exactly, in the process"}</dd>
          {index.lastSync && (
            <>
              <dt>Last sync</dt>
              <dd>
                {new Date(index.lastSync.at).toLocaleString()}: {index.lastSync.embedded} embedded, {index.lastSync.reused} reused, {index.lastSync.removed} removed ({index.lastSync.ms} ms)
              </dd>
            </>
          )}
          {index.lastError && (
            <>
              <dt>Last error</dt>
              <dd className="last-error">{index.lastError}</dd>
            </>
          )}
        </dl>
      )}
      <button
        type="button"
        className="secondary"
        onClick={async () => {
          try {
            await api("POST", "api/smart-routing/reindex");
            setReindexError(undefined);
            await status.refresh();
          } catch (err) {
            setReindexError(err as Error);
          }
        }}
      >
        Rebuild the index
      </button>
      <SearchBox />
      <SmartSettings onSaved={status.refresh} />
    </section>
  );
}

function SearchBox() {
  const [query, setQuery] = useState("");
  const [limit, setLimit] = useState("10");
  const [group, setGroup] = useState("");
  const [answer, setAnswer] = useState<SearchAnswer | undefined>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>();
  const groups = usePoll(() => api<{ groups: Group[] }>("GET", "api/groups"), [], 0);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    try {
      const body: Record<string, unknown> = { query, ...(limit.trim() ? { limit: Number(limit) } : {}), ...(group ? { group } : {}) };
      setAnswer(await api<SearchAnswer>("POST", "api/smart-routing/search", body));
    } catch (err) {
      setAnswer(undefined);
      // The API names the field first ("query: ...", "limit: ...").
      const m = err instanceof ApiError ? /^(query|limit|group)\b[:\s]/.exec(err.message) : null;
      if (m) setErrors({ [m[1]!]: err instanceof ApiError ? err.message.slice(m[0].length).trim() : "" });
      else setError((err as Error).message);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Search tools" noValidate>
      <h2>Search tools</h2>
      <p className="hint">What search_tools answers a client asking this.</p>
      <Field label="What should the tool do?" id="sr-query" error={errors.query}>
        <input {...described("sr-query", errors.query)} type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
      </Field>
      <div className="row">
        <Field label="At most" id="sr-limit" error={errors.limit}>
          <input {...described("sr-limit", errors.limit)} inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} />
        </Field>
        <Field label="In group" id="sr-group" error={errors.group}>
          <select {...described("sr-group", errors.group)} value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="">every server</option>
            {(groups.data?.groups ?? []).map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorBox error={error} />
      <button type="submit">Search</button>
      {answer && (
        <div aria-live="polite" aria-label="Search results">
          <p>
            Ranked <strong data-testid="ranking">{answer.ranking === "hybrid" ? "by meaning and by words" : "by words only"}</strong>.
          </p>
          {answer.degraded && <p className="notice">Not by meaning: {answer.degraded}</p>}
          {!answer.results.length && <p>No tool scored above the threshold.</p>}
          {answer.results.length > 0 && (
            <ol className="results">
              {answer.results.map((r) => (
                <li key={r.name} data-result={r.name}>
                  <code>{r.name}</code> <span className="badge">{r.score.toFixed(2)}</span>
                  <div className="hint">{r.description}</div>
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </form>
  );
}

function SmartSettings({ onSaved }: { onSaved: () => Promise<void> }) {
  const [stored, setStored] = useState<Record<string, unknown> | undefined>();
  const [form, setForm] = useState<SmartForm | undefined>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    loadSettings().then(
      (s) => {
        const sr = (s.systemConfig?.smartRouting ?? {}) as Record<string, unknown>;
        setStored(sr);
        setForm({
          enabled: sr.enabled !== false,
          threshold: sr.threshold === undefined ? "0.3" : String(sr.threshold),
          embeddingProvider: (sr.embeddingProvider as SmartForm["embeddingProvider"]) ?? "",
          openaiApiBaseUrl: String(sr.openaiApiBaseUrl ?? ""),
          openaiApiKey: String(sr.openaiApiKey ?? ""),
          openaiApiEmbeddingModel: String(sr.openaiApiEmbeddingModel ?? ""),
          progressiveDisclosure: sr.progressiveDisclosure === true,
        });
      },
      (err: Error) => setError(err.message),
    );
  }, []);
  if (!form || !stored) return <ErrorBox error={error} />;
  const set = <K extends keyof SmartForm>(k: K, v: SmartForm[K]) => setForm((f) => f && { ...f, [k]: v });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(undefined);
    setSaved(false);
    try {
      const next = toSmartRouting(form, stored);
      await saveSystemConfig((system) => ({ ...system, smartRouting: next }));
      setStored(next);
      setSaved(true);
      await onSaved();
    } catch (err) {
      const reasons = reasonsBelow(err, "$.systemConfig.smartRouting.");
      setErrors(reasons);
      if (!Object.keys(reasons).length) setError((err as Error).message);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Smart routing settings" noValidate>
      <h2>Settings</h2>
      <div className="field checkbox">
        <input id="sr-enabled" type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
        <label htmlFor="sr-enabled">Smart routing enabled</label>
      </div>
      <Field label="Threshold (0 to 1)" id="sr-threshold" error={errors.threshold} hint="Tools scoring below it are left out of the results.">
        <input {...described("sr-threshold", errors.threshold, true)} inputMode="decimal" value={form.threshold} onChange={(e) => set("threshold", e.target.value)} />
      </Field>
      <Field label="Embedder" id="sr-provider" error={errors.embeddingProvider}>
        <select {...described("sr-provider", errors.embeddingProvider)} value={form.embeddingProvider} onChange={(e) => set("embeddingProvider", e.target.value as SmartForm["embeddingProvider"])}>
          <option value="">default (local, or OpenAI when OPENAI_API_KEY is set)</option>
          <option value="local">local encoder (offline)</option>
          <option value="openai">OpenAI-compatible endpoint</option>
        </select>
      </Field>
      {form.embeddingProvider === "openai" && (
        <>
          <Field label="Embeddings API base URL" id="sr-url" error={errors.openaiApiBaseUrl}>
            <input {...described("sr-url", errors.openaiApiBaseUrl)} type="url" value={form.openaiApiBaseUrl} onChange={(e) => set("openaiApiBaseUrl", e.target.value)} placeholder="https://api.openai.com/v1" />
          </Field>
          <Field label="API key" id="sr-key" error={errors.openaiApiKey}>
            <input {...described("sr-key", errors.openaiApiKey)} type="password" autoComplete="off" value={form.openaiApiKey} onChange={(e) => set("openaiApiKey", e.target.value)} />
          </Field>
          <Field label="Embedding model" id="sr-model" error={errors.openaiApiEmbeddingModel}>
            <input {...described("sr-model", errors.openaiApiEmbeddingModel)} value={form.openaiApiEmbeddingModel} onChange={(e) => set("openaiApiEmbeddingModel", e.target.value)} placeholder="text-embedding-3-small" />
          </Field>
        </>
      )}
      <div className="field checkbox">
        <input id="sr-progressive" type="checkbox" checked={form.progressiveDisclosure} onChange={(e) => set("progressiveDisclosure", e.target.checked)} />
        <label htmlFor="sr-progressive">Progressive disclosure: search results without input schemas (describe_tool gives one in full)</label>
      </div>
      <ErrorBox error={error} />
      <div className="row">
        <button type="submit">Save smart routing</button>
        {saved && <span role="status">Saved.</span>}
      </div>
    </form>
  );
}
