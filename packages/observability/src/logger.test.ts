import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

function collecting(level = "info") {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    level,
    service: "unit",
    stream: {
      write(line) {
        raw.push(line);
        lines.push(JSON.parse(line));
      },
    },
  });
  return { logger, lines, raw };
}

describe("createLogger", () => {
  it("writes one JSON object per line with level, service and message", () => {
    const { logger, lines, raw } = collecting();
    logger.info({ server: "everything", tools: 12 }, "upstream ready");
    expect(raw).toHaveLength(1);
    expect(raw[0]!.endsWith("\n")).toBe(true);
    expect(lines[0]).toMatchObject({ level: 30, service: "unit", server: "everything", tools: 12, msg: "upstream ready" });
    expect(typeof lines[0]!.time).toBe("number");
  });

  it("honours the level", () => {
    const { logger, lines } = collecting("warn");
    logger.info("not shown");
    logger.debug("not shown either");
    logger.warn("shown");
    expect(lines.map((l) => l.msg)).toEqual(["shown"]);
  });

  it("redacts tool arguments, env, headers and keys wherever they sit", () => {
    const { logger, raw, lines } = collecting("trace");
    const secrets = Array.from({ length: 10 }, (_, i) => `secret-${i}-do-not-log`);
    logger.info({ arguments: { q: secrets[0] } }, "top-level arguments");
    logger.info({ call: { method: "tools/call", params: { name: "echo", arguments: { message: secrets[1] } } } }, "a call");
    logger.info({ config: { command: "node", env: { API_TOKEN: secrets[2] } } }, "a server config");
    logger.info({ settings: { mcpServers: { gh: { env: { GITHUB_TOKEN: secrets[3] }, headers: { "x-api-key": secrets[4] } } } } }, "whole settings");
    logger.info({ settings: { systemConfig: { routing: { bearerAuthKey: secrets[5] } } } }, "system config");
    logger.info({ req: { method: "POST", headers: { authorization: `Bearer ${secrets[6]}` } } }, "a request");
    logger.info({ batch: [{ params: { arguments: secrets[7] } }] }, "inside an array");
    logger.info({ user: { name: "admin", password: secrets[8] } }, "a user");
    logger.info({ upstream: { authorization: secrets[9] } }, "a bare authorization");

    const all = raw.join("");
    for (const s of secrets) expect(all).not.toContain(s);
    // What is not secret stays, so the lines remain useful.
    expect(lines[1]).toMatchObject({ call: { method: "tools/call", params: { name: "echo", arguments: "[redacted]" } } });
    expect(lines[2]).toMatchObject({ config: { command: "node", env: "[redacted]" } });
    expect(lines[5]).toMatchObject({ req: { method: "POST" } });
    expect(lines[7]).toMatchObject({ user: { name: "admin", password: "[redacted]" } });
  });
});

describe("LOG_FILE", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("appends JSON lines to the file, creating its directory, with the same redaction", async () => {
    dir = await mkdtemp(join(tmpdir(), "mcphub-log-"));
    const file = join(dir, "nested", "hub.log");
    const logger = createLogger({ level: "info", service: "filetest", file });
    logger.info({ n: 1 }, "first");
    logger.debug({ n: 2 }, "below the level");
    logger.warn({ n: 3, env: { TOKEN: "file-secret" } }, "second");

    let lines: Record<string, unknown>[] = [];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const content = await readFile(file, "utf8").catch(() => "");
      lines = content.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      if (lines.length >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(lines.map((l) => l.msg)).toEqual(["first", "second"]);
    expect(lines[0]).toMatchObject({ level: 30, service: "filetest", n: 1 });
    expect(lines[1]).toMatchObject({ level: 40, n: 3, env: "[redacted]" });
  });
});
