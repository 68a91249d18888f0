import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./processes.ts";

/**
 * A redis-server of a test's own, for fault tests that stop and restart it: the shared one on
 * 6379 must stay up for other test files. Its append-only file (fsync on every write) lives in
 * a temporary directory, so what the stream held before a stop is there after the start.
 */
export interface PrivateRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Starts it (again); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Shuts it down (SIGTERM: it writes its data first); resolves once the process has exited. */
  stop(): Promise<void>;
  /** Stops it (if running) and deletes its directory. */
  destroy(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), "mcphub-redis-"));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      proc = child;
      exited = new Promise((resolve) => child.once("exit", () => resolve()));
      let out = "";
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("Ready to accept connections")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
      });
    },
    async stop() {
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
      proc = undefined;
    },
    async destroy() {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
