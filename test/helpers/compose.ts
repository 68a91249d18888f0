import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "./processes.ts";

/**
 * Compose's variable interpolation (the compose specification's "Interpolation"): `$VAR`,
 * `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+alt}`, `${VAR+alt}`, and `$$` for a literal `$`. Every required variable that is
 * missing is reported together, as `docker compose config` does one by one.
 */
export class ComposeInterpolationError extends Error {
  constructor(readonly missing: Map<string, string>) {
    super(`required variables are not set:\n${[...missing].map(([k, v]) => `  ${k}: ${v}`).join("\n")}`);
  }
}

const PATTERN = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function interpolateString(value: string, env: Record<string, string | undefined>, missing: Map<string, string>): string {
  return value.replace(PATTERN, (whole, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
    if (whole === "$$") return "$";
    const name = (braced ?? bare)!;
    const v = env[name];
    const unsetOrEmpty = v === undefined || v === "";
    switch (op) {
      case undefined:
        return v ?? "";
      case ":-":
        return unsetOrEmpty ? interpolateString(arg!, env, missing) : v!;
      case "-":
        return v === undefined ? interpolateString(arg!, env, missing) : v;
      case ":?":
      case "?":
        if (op === ":?" ? unsetOrEmpty : v === undefined) {
          missing.set(name, arg || "required");
          return "";
        }
        return v!;
      case ":+":
        return unsetOrEmpty ? "" : interpolateString(arg!, env, missing);
      case "+":
        return v === undefined ? "" : interpolateString(arg!, env, missing);
      default:
        throw new Error(`unknown interpolation operator ${op} in ${whole}`);
    }
  });
}

function walk(node: unknown, fn: (s: string) => string): unknown {
  if (typeof node === "string") return fn(node);
  if (Array.isArray(node)) return node.map((n) => walk(n, fn));
  if (node && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, fn)]));
  return node;
}

/** Every `${NAME…}` reference in the raw file, with its operator and argument. */
export function references(text: string): { name: string; op?: string; arg?: string }[] {
  const refs: { name: string; op?: string; arg?: string }[] = [];
  for (const line of text.split("\n")) {
    if (line.trimStart().startsWith("#")) continue;
    for (const m of line.matchAll(PATTERN)) if (m[0] !== "$$") refs.push({ name: (m[1] ?? m[4])!, op: m[2], arg: m[3] });
  }
  return refs;
}

/** docker-compose.yml parsed (YAML merge keys applied) and interpolated with `env`. */
export async function loadCompose(env: Record<string, string | undefined>): Promise<any> {
  const raw = parse(await readFile(join(repoRoot, "docker-compose.yml"), "utf8"), { merge: true });
  const missing = new Map<string, string>();
  const out = walk(raw, (s) => interpolateString(s, env, missing));
  if (missing.size) throw new ComposeInterpolationError(missing);
  return out;
}

/** A compose `environment:` (map or list form) as a plain record of strings. */
export function environmentOf(service: { environment?: Record<string, unknown> | string[] }): Record<string, string> {
  const e = service.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split("=")[0]!, kv.slice(kv.indexOf("=") + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** The `ENV` values the final stage of the Dockerfile sets (`ENV A=1 B=2` or `ENV A 1`). */
export async function dockerfileEnv(): Promise<Record<string, string>> {
  const text = await readFile(join(repoRoot, "Dockerfile"), "utf8");
  const stages = text.split(/^FROM /m);
  const last = stages[stages.length - 1]!;
  const env: Record<string, string> = {};
  for (const line of joinContinuations(last)) {
    const m = /^ENV\s+(.*)$/i.exec(line.trim());
    if (!m) continue;
    const body = m[1]!;
    if (!body.includes("=")) {
      const [k, ...rest] = body.split(/\s+/);
      env[k!] = rest.join(" ");
      continue;
    }
    for (const kv of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) env[kv[1]!] = kv[2]!.replace(/^"|"$/g, "");
  }
  return env;
}

/** Dockerfile lines with `\` continuations joined and comments dropped. */
export function joinContinuations(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    if (raw.trimStart().startsWith("#")) continue;
    if (raw.endsWith("\\")) {
      current += raw.slice(0, -1) + " ";
      continue;
    }
    current += raw;
    if (current.trim()) lines.push(current);
    current = "";
  }
  if (current.trim()) lines.push(current);
  return lines;
}
