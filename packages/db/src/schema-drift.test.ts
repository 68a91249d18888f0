import { execFileSync } from "node:child_process";
import { cp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkg = fileURLToPath(new URL("..", import.meta.url));

describe("committed migrations", () => {
  it("match the drizzle schema (a schema change without its migration fails here)", async () => {
    // drizzle-kit compares the schema with the last snapshot; run it on a copy so a drift
    // shows as a new file there instead of changing the repository.
    // drizzle-kit takes --out relative to its working directory.
    const rel = `.drift-${process.pid}`;
    const out = join(pkg, rel);
    try {
      await cp(join(pkg, "migrations"), out, { recursive: true });
      const before = await readdir(out);
      const log = execFileSync(
        join(pkg, "node_modules/.bin/drizzle-kit"),
        ["generate", "--dialect", "postgresql", "--schema", "./src/schema/index.ts", "--out", rel, "--name", "drift"],
        { cwd: pkg, encoding: "utf8" },
      );
      expect(log).toMatch(/No schema changes/);
      expect(await readdir(out)).toEqual(before);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
