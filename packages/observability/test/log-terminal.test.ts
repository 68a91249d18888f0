import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** Human-readable log lines when stdout is a terminal, JSON when it is a pipe. */
const LOGGER = fileURLToPath(new URL("../src/logger.ts", import.meta.url));
const script = `
  import { createLogger } from ${JSON.stringify(LOGGER)};
  const logger = createLogger({ level: "info", service: "hub" });
  logger.info({ server: "everything", tools: 12 }, "upstream ready");
  logger.error({ err: new Error("it broke") }, "upstream failed");
`;
const node = [process.execPath, "--import", "tsx", "--input-type=module", "-e", script];

describe("createLogger on stdout", () => {
  it("writes readable lines to a terminal", () => {
    // script(1) gives the child a pseudo-terminal as stdout and copies what it writes.
    const quoted = node.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const r = spawnSync("script", ["-qec", quoted, "/dev/null"], { encoding: "utf8" });
    if (r.error) throw new Error(`script(1) is needed (util-linux): ${r.error.message}`);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const out = r.stdout.replace(/\x1b\[[0-9;]*m/g, "");
    expect(out).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} INFO +hub upstream ready server=everything tools=12\r?$/m);
    expect(out).toMatch(/ERROR hub upstream failed/);
    expect(out).toMatch(/Error: it broke/);
    expect(out).not.toContain('{"level"');
  });

  it("writes JSON lines to a pipe", () => {
    const r = spawnSync(node[0]!, node.slice(1), { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ level: 30, service: "hub", msg: "upstream ready", server: "everything", tools: 12 });
    expect(lines[1]).toMatchObject({ level: 50, msg: "upstream failed", err: { message: "it broke" } });
  });
});
