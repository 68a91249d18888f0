import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { joinContinuations } from "./compose.ts";
import { repoRoot } from "./processes.ts";

export interface Instruction {
  op: string;
  args: string;
}
export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** The Dockerfile as stages of instructions, with ARG defaults given before the first FROM resolved. */
export async function parseDockerfile(path = join(repoRoot, "Dockerfile")): Promise<Stage[]> {
  const lines = joinContinuations(await readFile(path, "utf8")).filter((l) => !/^\s*#/.test(l));
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === "ARG" && stages.length === 0) {
      const [k, v] = args.split("=");
      globalArgs[k!] = v ?? "";
      continue;
    }
    if (op === "FROM") {
      const resolved = args.replace(/\$\{?([A-Za-z_]+)\}?/g, (_, n: string) => globalArgs[n] ?? "");
      const [from, as, name] = resolved.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ op, args });
  }
  return stages;
}

/** `COPY [--flags] src… dest` split into flags, sources and destination (JSON form too). */
export function copyParts(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const f = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!f) break;
    flags[f[1]!] = f[2] ?? "";
    rest = rest.slice(f[0].length);
  }
  const parts = rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { flags, sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

/**
 * Whether .dockerignore leaves `path` out of the build context: patterns in order, `!` re-includes,
 * the last match wins; `**` crosses directories, `*` does not; a matched directory excludes its contents.
 */
export function ignoredBy(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, "");
    const regex = new RegExp(
      "^" +
        pattern
          .split("**")
          .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]"))
          .join(".*")
          .replace(/\.\*\//g, "(?:.*/)?") +
        "(?:/.*)?$",
    );
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}

export async function dockerignore(): Promise<string[]> {
  return (await readFile(join(repoRoot, ".dockerignore"), "utf8"))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}
