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
  if (!opts.file) return pino(base);
  const file = pino.destination({ dest: opts.file, mkdir: true, sync: false });
  // logrotate moves the file away, then SIGHUP (`systemctl reload`, `kill -HUP`) makes the
  // process write to a new file at the same path instead of the moved one.
  process.on("SIGHUP", () => file.reopen());
  return pino(
    base,
    pino.multistream([
      { level: opts.level as pino.Level, stream: process.stdout },
      { level: opts.level as pino.Level, stream: file },
    ]),
  );
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
