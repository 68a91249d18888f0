import { spawn } from "node:child_process";
import { mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/** LOG_FILE under logrotate: after the file is moved away and SIGHUP arrives, lines go to a new file. */
const LOGGER = fileURLToPath(new URL("../src/logger.ts", import.meta.url));
let dir: string;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitForText(path: string, needle: string): Promise<string> {
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (text.includes(needle)) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("createLogger with a file", () => {
  it("reopens LOG_FILE on SIGHUP and keeps running", async () => {
    dir = await mkdtemp(join(tmpdir(), "mcphub-logs-"));
    const file = join(dir, "hub.log");
    // A process that logs each line it reads from stdin, and says when SIGHUP was handled.
    const script = `
      import { createLogger } from ${JSON.stringify(LOGGER)};
      import { createInterface } from "node:readline";
      const logger = createLogger({ level: "info", file: ${JSON.stringify(file)}, service: "test" });
      process.on("SIGHUP", () => setImmediate(() => process.stdout.write("hup-handled\\n")));
      createInterface({ input: process.stdin }).on("line", (l) => logger.info({ line: l }, "got"));
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    try {
      child.stdin!.write("before-rotation\n");
      await waitForText(file, "before-rotation");
      await rename(file, `${file}.1`);
      child.kill("SIGHUP");
      await new Promise<void>((r) => {
        const check = () => (out.includes("hup-handled") ? r() : setTimeout(check, 10));
        check();
      });
      child.stdin!.write("after-rotation\n");
      const fresh = await waitForText(file, "after-rotation");
      expect(fresh).not.toContain("before-rotation");
      expect(await readFile(`${file}.1`, "utf8")).not.toContain("after-rotation");
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGTERM");
    }
  });
});
