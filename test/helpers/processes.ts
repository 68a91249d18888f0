import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** A free TCP port on loopback (closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Everything it wrote to stdout and stderr. */
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs one MCPHub service from source (`apps/<name>/src/server.ts`) and waits for its /api/health. */
export async function startService(name: string, env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const proc = spawn(process.execPath, ["--import", "tsx", `apps/${name}/src/server.ts`], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: "info", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  proc.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  proc.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}:\n${output.join("")}`);
    const ok = await fetch(`${url}${env.BASE_PATH ?? ""}/api/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${name} did not become healthy within ${timeoutMs} ms:\n${output.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    port,
    url,
    output,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
