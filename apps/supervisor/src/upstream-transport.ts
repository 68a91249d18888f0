import { SSEClientTransport, StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import type { ServerConfig } from "@mcphub/config";

export interface BuiltTransport {
  transport: Transport;
  /** The child's pid, for stdio servers once started. */
  pid(): number | undefined;
  /** Called with each line the child writes to stderr. */
  onStderr(listener: (line: string) => void): void;
}

/** Builds the SDK client transport for one server's settings. */
export function createUpstreamTransport(config: ServerConfig, hubEnv: NodeJS.ProcessEnv): BuiltTransport {
  switch (config.type) {
    case "stdio": {
      // The hub's whole environment (npm_config_registry and UV_DEFAULT_INDEX with it), the
      // server's `env` over it.
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(hubEnv)) if (v !== undefined) env[k] = v;
      Object.assign(env, config.env);
      const transport = new StdioClientTransport({
        command: config.command,
        args: config.args,
        env,
        cwd: config.cwd,
        stderr: "pipe",
      });
      return {
        transport,
        pid: () => transport.pid ?? undefined,
        onStderr(listener) {
          let partial = "";
          const stderr = transport.stderr;
          stderr?.on("data", (chunk: Buffer) => {
            const lines = (partial + chunk.toString("utf8")).split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines) if (line.trim()) listener(line);
          });
          // A dying process's last words often lack a newline ("fatal: ..." then exit).
          stderr?.on("end", () => {
            if (partial.trim()) listener(partial);
            partial = "";
          });
        },
      };
    }
    case "sse":
    case "streamable-http": {
      const url = new URL(config.url);
      const requestInit = { headers: config.headers };
      const transport =
        config.type === "sse"
          ? new SSEClientTransport(url, { requestInit })
          : new StreamableHTTPClientTransport(url, { requestInit });
      return { transport, pid: () => undefined, onStderr() {} };
    }
  }
}
