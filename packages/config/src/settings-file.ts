import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { ConfigError } from "./env.ts";
import { expandEnv } from "./expand.ts";
import { settingsSchema, type Settings } from "./settings.ts";

export interface LoadedSettings {
  settings: Settings;
  /** Variables referenced as ${VAR} or $VAR that the environment does not define. */
  missingVars: string[];
}

/** `$.mcpServers.everything.command` style path for a zod issue. */
function jsonPath(path: readonly PropertyKey[]): string {
  return "$" + path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/** zod reports a bad record key as "Invalid key in record"; say what is wrong with it. */
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key") return `invalid name: ${issue.issues.map((i) => i.message).join("; ")}`;
  return issue.message;
}

/** Validates settings text; throws ConfigError naming the JSON path and the reason of every issue. */
export function parseSettings(text: string, env: NodeJS.ProcessEnv, source = "settings"): LoadedSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(source, [`$: not valid JSON (${(e as Error).message})`]);
  }
  const missing = new Set<string>();
  const expanded = expandEnv(raw, env, missing);
  const result = settingsSchema.safeParse(expanded);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((i) => `${jsonPath(i.path)}: ${describe(i)}`),
    );
  }
  return { settings: result.data, missingVars: [...missing] };
}

export async function loadSettingsFile(path: string, env: NodeJS.ProcessEnv): Promise<LoadedSettings> {
  return parseSettings(await readFile(path, "utf8"), env, path);
}
