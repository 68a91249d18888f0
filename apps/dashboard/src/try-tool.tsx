import { useState, type FormEvent } from "react";
import { api, ApiError, type JsonSchema, type ToolView } from "./api.ts";
import { ErrorBox } from "./ui.tsx";

type Values = Record<string, string | boolean>;

const typeOf = (s: JsonSchema): string => (Array.isArray(s.type) ? (s.type.find((t) => t !== "null") ?? "string") : (s.type ?? "string"));

/** Form values to the tool's arguments, typed by its input schema; a reason per field it cannot convert. */
export function toArguments(schema: JsonSchema | undefined, values: Values): { args: Record<string, unknown>; errors: Record<string, string> } {
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const [key, prop] of Object.entries(schema?.properties ?? {})) {
    const raw = values[key];
    const type = typeOf(prop);
    const required = schema?.required?.includes(key) ?? false;
    if (type === "boolean") {
      if (raw !== undefined) args[key] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw : "";
    if (!text.trim()) {
      if (required) errors[key] = "is required";
      continue;
    }
    if (type === "number" || type === "integer") {
      const n = Number(text);
      if (!Number.isFinite(n) || (type === "integer" && !Number.isInteger(n))) errors[key] = `must be ${type === "integer" ? "a whole number" : "a number"}`;
      else args[key] = n;
    } else if (type === "object" || type === "array") {
      try {
        args[key] = JSON.parse(text);
      } catch {
        errors[key] = `must be JSON (${type === "array" ? "[...]" : "{...}"})`;
      }
    } else args[key] = text;
  }
  return { args, errors };
}

interface CallResult {
  content?: { type: string; text?: string; data?: string; mimeType?: string; resource?: { uri: string; text?: string } }[];
  structuredContent?: unknown;
  isError?: boolean;
}

/** A form generated from a tool's input schema; the call goes through the API and its result is shown. */
export function TryTool({ server, tool }: { server: string; tool: ToolView }) {
  const props = Object.entries(tool.inputSchema?.properties ?? {});
  const [values, setValues] = useState<Values>(() =>
    Object.fromEntries(props.map(([k, p]) => [k, typeOf(p) === "boolean" ? p.default === true : p.default !== undefined ? (typeof p.default === "string" ? p.default : JSON.stringify(p.default)) : ""])),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [result, setResult] = useState<CallResult | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { args, errors } = toArguments(tool.inputSchema, values);
    setErrors(errors);
    if (Object.keys(errors).length) return;
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      const { result } = await api<{ result: CallResult }>("POST", `api/servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool.name)}/call`, { arguments: args });
      setResult(result);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const id = (k: string) => `try-${tool.name}-${k}`;
  return (
    <form className="try" onSubmit={submit} aria-label={`Try ${tool.name}`} noValidate>
      {props.length === 0 && <p>This tool takes no arguments.</p>}
      {props.map(([key, p]) => {
        const type = typeOf(p);
        const required = tool.inputSchema?.required?.includes(key);
        const err = errors[key];
        const label = `${key}${required ? " (required)" : ""}`;
        if (type === "boolean") {
          return (
            <div className="field checkbox" key={key}>
              <input id={id(key)} type="checkbox" checked={values[key] === true} onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.checked }))} />
              <label htmlFor={id(key)}>{label}</label>
            </div>
          );
        }
        return (
          <div className={err ? "field invalid" : "field"} key={key}>
            <label htmlFor={id(key)}>{label}</label>
            {p.enum ? (
              <select id={id(key)} value={String(values[key] ?? "")} onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}>
                <option value="">—</option>
                {p.enum.map((o) => (
                  <option key={String(o)} value={String(o)}>
                    {String(o)}
                  </option>
                ))}
              </select>
            ) : type === "object" || type === "array" ? (
              <textarea id={id(key)} rows={3} aria-invalid={err ? true : undefined} aria-describedby={err ? `${id(key)}-error` : undefined} value={String(values[key] ?? "")} onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))} />
            ) : (
              <input
                id={id(key)}
                inputMode={type === "number" || type === "integer" ? "decimal" : undefined}
                aria-invalid={err ? true : undefined}
                aria-describedby={err ? `${id(key)}-error` : undefined}
                value={String(values[key] ?? "")}
                onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}
              />
            )}
            {p.description && <small className="hint">{p.description}</small>}
            {err && (
              <small className="field-error" id={`${id(key)}-error`} role="alert">
                {err}
              </small>
            )}
          </div>
        );
      })}
      <button type="submit" disabled={busy}>
        Call {tool.name}
      </button>
      <ErrorBox error={error} />
      {result && (
        <div className={result.isError ? "result is-error" : "result"} aria-live="polite" aria-label="Result">
          {result.isError && <p className="error">The tool answered with an error:</p>}
          {(result.content ?? []).map((c, i) =>
            c.type === "text" ? (
              <pre key={i}>{c.text}</pre>
            ) : c.type === "image" ? (
              <img key={i} alt={`image ${i + 1} from ${tool.name}`} src={`data:${c.mimeType};base64,${c.data}`} />
            ) : (
              <pre key={i}>{JSON.stringify(c, null, 2)}</pre>
            ),
          )}
          {result.structuredContent !== undefined && (
            <>
              <h4>Structured content</h4>
              <pre>{JSON.stringify(result.structuredContent, null, 2)}</pre>
            </>
          )}
        </div>
      )}
    </form>
  );
}
