/**
 * Expands `${VAR}` and `$VAR` in every string of a JSON value from `env`.
 * Unknown variables become "" and are reported in `missing`, so the caller can warn
 * instead of silently passing a literal "${TOKEN}" to an upstream.
 */
export function expandEnv<T>(value: T, env: NodeJS.ProcessEnv, missing: Set<string> = new Set()): T {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced, bare) => {
      const name = (braced ?? bare) as string;
      const v = env[name];
      if (v === undefined) missing.add(name);
      return v ?? "";
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => expandEnv(v, env, missing)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, missing);
    return out as T;
  }
  return value;
}

/** JSON with object keys sorted: equal values give equal text, whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
