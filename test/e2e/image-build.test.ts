import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyParts, dockerignore, ignoredBy, parseDockerfile } from "../helpers/dockerfile.ts";
import { repoRoot } from "../helpers/processes.ts";

/**
 * The Dockerfile's build stage, run without an engine: its instructions in order on a scratch
 * root, from a build context made as `docker build .` makes it (the working tree's files git
 * keeps, less .dockerignore). Each COPY copies from that context, each RUN runs in the stage's
 * WORKDIR with its ENV, pnpm offline (the store is filled by the checkout's own install), and
 * the image's absolute /out under the scratch root. What the runtime stage copies must be there.
 */
const stages = await parseDockerfile();
const [build, runtime] = [stages[0]!, stages.at(-1)!];
let scratch: string;
let context: string;
let rootfs: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "mcphub-image-"));
  context = join(scratch, "context");
  rootfs = join(scratch, "rootfs");
  const ignore = await dockerignore();
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repoRoot, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && !ignoredBy(ignore, f) && existsSync(join(repoRoot, f)));
  for (const f of files) {
    await mkdir(dirname(join(context, f)), { recursive: true });
    await cp(join(repoRoot, f), join(context, f), { preserveTimestamps: true, verbatimSymlinks: true });
  }
}, 60_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("the Dockerfile's build stage, run on a scratch root", () => {
  it("builds the runtime tree the runtime stage copies", async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { packageManager: string };
    let workdir = rootfs;
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, npm_config_offline: "true", npm_config_store_dir: execFileSync("pnpm", ["store", "path"], { encoding: "utf8" }).trim() };
    for (const { op, args } of build.instructions) {
      if (op === "WORKDIR") {
        workdir = join(rootfs, args);
        await mkdir(workdir, { recursive: true });
      } else if (op === "ENV") {
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[m[1]!] = m[2]!;
      } else if (op === "COPY") {
        const { flags, sources, dest } = copyParts(args);
        expect(flags.from, "the build stage copies from the context only").toBeUndefined();
        const target = join(workdir, dest);
        for (const src of sources) {
          if (src === ".") await cp(context, target, { recursive: true, verbatimSymlinks: true });
          else {
            await mkdir(dest.endsWith("/") ? target : dirname(target), { recursive: true });
            await cp(join(context, src), dest.endsWith("/") ? join(target, basename(src)) : target, { recursive: true });
          }
        }
      } else if (op === "RUN") {
        // The image installs pnpm itself; here the one on PATH must be that version.
        const pnpmInstall = /^npm install -g pnpm@(\S+)$/.exec(args);
        if (pnpmInstall) {
          expect(`pnpm@${pnpmInstall[1]}`).toBe(pkg.packageManager.split("+")[0]);
          expect(execFileSync("pnpm", ["-v"], { encoding: "utf8" }).trim()).toBe(pnpmInstall[1]);
          continue;
        }
        const command = args.replace(/(^|\s)\/out(?=\s|$)/g, `$1${join(rootfs, "out")}`);
        const r = spawnSync("sh", ["-c", command], { cwd: workdir, env, encoding: "utf8" });
        expect(r.status, `RUN ${args}\n${r.stdout}\n${r.stderr}`).toBe(0);
      } else {
        throw new Error(`the simulation does not know ${op}`);
      }
    }

    // The runtime stage: COPY --from=build /out/ /app/, then WORKDIR /app, CMD and PATH into it.
    const fromBuild = runtime.instructions.map((i) => (i.op === "COPY" ? copyParts(i.args) : undefined)).find((c) => c?.flags.from === build.name)!;
    expect(fromBuild.dest).toBe("/app/");
    const app = join(rootfs, fromBuild.sources[0]!);
    const cmd = JSON.parse(runtime.instructions.filter((i) => i.op === "CMD").at(-1)!.args) as string[];
    expect(existsSync(join(app, cmd.at(-1)!))).toBe(true);
    expect(existsSync(join(app, "apps/hub/dist/migrations"))).toBe(true);
    expect(existsSync(join(app, "apps/dashboard/dist/index.html"))).toBe(true);
    expect(existsSync(join(app, "node_modules/.bin/mcp-server-everything"))).toBe(true);
    expect(existsSync(join(app, "infra/scripts/backup.sh"))).toBe(true);
    // The context left out what .dockerignore names.
    expect(existsSync(join(context, ".git"))).toBe(false);
    expect(existsSync(join(context, "node_modules"))).toBe(false);
  }, 300_000);
});
