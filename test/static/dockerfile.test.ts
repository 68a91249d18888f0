import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyParts, dockerignore, ignoredBy, parseDockerfile, type Stage } from "../helpers/dockerfile.ts";
import { repoRoot } from "../helpers/processes.ts";

/** The image, checked from its Dockerfile (no engine here): docs/operations.md lists what it promises. */
const stages = await parseDockerfile();
const final = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);

describe("Dockerfile", () => {
  it("builds in one stage and runs from another, on a Node LTS slim base", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // Even majors are the LTS lines; 24 and later are supported past 2026.
    const m = /^node:(\d+)(?:\.[\d.]+)?-(bookworm|trixie)-slim$/.exec(final.from);
    expect(m, final.from).not.toBeNull();
    expect(Number(m![1]) % 2).toBe(0);
    expect(Number(m![1])).toBeGreaterThanOrEqual(24);
    expect(stages[0]!.from).toBe(final.from);
  });

  it("copies only the assembled runtime tree from the build stage, not the build tree", () => {
    const fromBuild = all(final, "COPY").map((i) => copyParts(i.args)).filter((c) => c.flags.from === stages[0]!.name);
    expect(fromBuild).toHaveLength(1);
    expect(fromBuild[0]!.sources).toEqual(["/out/"]);
    const build = stages[0]!.instructions.map((i) => i.args).join("\n");
    expect(build).toMatch(/infra\/scripts\/runtime-tree\.sh \/out/);
    // The dashboard is built before the tree is assembled, which carries its dist/.
    expect(build.indexOf("pnpm --filter @mcphub/dashboard build")).toBeGreaterThan(-1);
    expect(build.indexOf("pnpm --filter @mcphub/dashboard build")).toBeLessThan(build.indexOf("runtime-tree.sh"));
    expect(build).toMatch(/pnpm install --frozen-lockfile/);
  });

  it("runs as an unprivileged user under tini, with a HEALTHCHECK on /api/health", () => {
    const users = all(final, "USER");
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
    const entry = all(final, "ENTRYPOINT").at(-1)!;
    expect(JSON.parse(entry.args)[0]).toMatch(/\/tini$/);
    const health = all(final, "HEALTHCHECK").at(-1)!;
    expect(health.args).toMatch(/\/api\/health/);
    expect(health.args).toMatch(/BASE_PATH/);
    expect(JSON.parse(all(final, "CMD").at(-1)!.args)).toContain("apps/hub/dist/server.js");
  });

  it("has python3, uv and uvx, and npx, for stdio servers", () => {
    const runs = all(final, "RUN").map((i) => i.args).join("\n");
    expect(runs).toMatch(/apt-get install[^\n]*\bpython3\b/);
    expect(runs).toMatch(/apt-get install[^\n]*\btini\b/);
    const uv = all(final, "COPY").map((i) => copyParts(i.args)).find((c) => /astral-sh\/uv/.test(c.flags.from ?? ""));
    expect(uv?.sources).toEqual(["/uv", "/uvx"]);
    // npx ships with the Node image; its cache must be writable by the unprivileged user.
    const env = all(final, "ENV").map((i) => i.args).join(" ");
    expect(env).toMatch(/npm_config_cache=\/home\/node/);
    expect(env).toMatch(/UV_CACHE_DIR=\/home\/node/);
    expect(env).toMatch(/PATH=\/app\/node_modules\/\.bin:/);
  });

  it("COPYs sources that exist and that .dockerignore keeps, including every workspace manifest", async () => {
    const ignore = await dockerignore();
    const copied: string[] = [];
    for (const stage of stages) {
      for (const i of all(stage, "COPY")) {
        const { flags, sources } = copyParts(i.args);
        if (flags.from) continue;
        for (const src of sources) {
          if (src === ".") continue;
          copied.push(src);
          expect(existsSync(join(repoRoot, src)), `${src} exists`).toBe(true);
          expect(ignoredBy(ignore, src), `${src} is not in .dockerignore`).toBe(false);
        }
      }
    }
    // The dependency layer installs from the lockfile: pnpm needs every committed workspace manifest.
    const manifests = execFileSync("git", ["ls-files", "apps/*/package.json", "packages/*/package.json", "tools/*/package.json"], { cwd: repoRoot, encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    expect(manifests.length).toBeGreaterThan(5);
    for (const m of manifests) expect(copied, m).toContain(m);
    for (const f of ["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"]) expect(copied).toContain(f);
  });

  it("keeps installed trees, local state and secrets out of the build context", async () => {
    const ignore = await dockerignore();
    for (const path of ["node_modules", "apps/hub/node_modules", "apps/hub/dist", ".git", ".env", ".env.production", "mcp_settings.json", "data", ".cluster", "infra/nginx/certs/privkey.pem"]) {
      expect(ignoredBy(ignore, path), path).toBe(true);
    }
    for (const path of [".env.example", "apps/hub/src/server.ts", "infra/scripts/runtime-tree.sh", "packages/db/migrations/0000.sql", "mcp_settings.example.json"]) {
      expect(ignoredBy(ignore, path), path).toBe(false);
    }
  });
});
