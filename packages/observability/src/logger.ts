import { pino, type Logger } from "pino";
import { currentRequestId } from "./request-context.ts";

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Also append JSON lines to this file. */
  file?: string;
  service: string;
  /** Write here instead of stdout (tests collect the lines). */
  stream?: { write(line: string): void };
  /**
   * Human-readable lines on stdout instead of JSON; by default when stdout is a terminal (a
   * person running the hub), never when it is a pipe or a file (a collector). LOG_FILE stays JSON.
   */
  pretty?: boolean;
}

/** Keys whose values never reach a log line: tool arguments belong to the user, the rest carry secrets. */
export const REDACTED_KEYS = ["arguments", "env", "headers", "authorization", "bearerAuthKey", "password"];

/**
 * pino's redaction has no recursive wildcard, so each key is listed at every depth up to
 * this one (an array index counts as a level): enough for a whole settings object
 * (`settings.mcpServers.<name>.env`) or a call (`call.params.arguments`) logged as a field.
 */
const REDACT_DEPTH = 4;

export const REDACTED_PATHS = REDACTED_KEYS.flatMap((key) =>
  Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => [...Array<string>(depth).fill("*"), key].join(".")),
);

export function createLogger(opts: LoggerOptions): Logger {
  const base = {
    level: opts.level,
    base: { service: opts.service },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    // Every line written while a request is served names it (one id across nginx and the services).
    mixin: () => {
      const requestId = currentRequestId();
      return requestId === undefined ? {} : { requestId };
    },
  };
  if (opts.stream) return pino(base, opts.stream);
  const readable = (opts.pretty ?? process.stdout.isTTY === true) ? readableLines(process.stdout) : undefined;
  if (!opts.file) return readable ? pino(base, readable) : pino(base);
  const file = pino.destination({ dest: opts.file, mkdir: true, sync: false });
  // logrotate moves the file away, then SIGHUP (`systemctl reload`, `kill -HUP`) makes the
  // process write to a new file at the same path instead of the moved one.
  process.on("SIGHUP", () => file.reopen());
  return pino(
    base,
    pino.multistream([
      { level: opts.level as pino.Level, stream: readable ?? process.stdout },
      { level: opts.level as pino.Level, stream: file },
    ]),
  );
}

const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO ", 40: "WARN ", 50: "ERROR", 60: "FATAL" };
const COLOURS: Record<number, string> = { 10: "\x1b[90m", 20: "\x1b[36m", 30: "\x1b[32m", 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[35m" };

/**
 * pino's JSON lines turned into `12:00:01.234 INFO  hub upstream ready server=everything tools=12`
 * for a terminal: time, level (coloured), service, message, then the other fields; an error's
 * stack on the lines below.
 */
export function readableLines(out: { write(text: string): unknown }): { write(line: string): void } {
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { level, time, service, msg, pid: _pid, hostname: _host, err, ...rest } = entry;
      const n = Number(level);
      const clock = new Date(Number(time)).toISOString().slice(11, 23);
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(" ");
      const error = err as { message?: string; stack?: string } | undefined;
      const tail = error ? `\n${error.stack ?? error.message ?? JSON.stringify(error)}` : "";
      out.write(`${clock} ${COLOURS[n] ?? ""}${LEVEL_NAMES[n] ?? String(level)}\x1b[0m ${service ?? ""} ${msg ?? ""}${fields ? ` \x1b[90m${fields}\x1b[0m` : ""}${tail}\n`);
    },
  };
}

/**
 * An error's message safe for a log line. Database drivers wrapped by drizzle put the whole
 * query and its parameters in the message ("Failed query: … params: …"): the parameters may be
 * audit details or tool arguments, so only the driver's own reason (the cause) is kept.
 */
export function safeErrorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message.startsWith("Failed query:") && err.cause instanceof Error) return err.cause.message;
  return err.message;
}
