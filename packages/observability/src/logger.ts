import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Also append JSON lines to this file. */
  file?: string;
  service: string;
  /** Write here instead of stdout (tests collect the lines). */
  stream?: { write(line: string): void };
}

/**
 * Keys whose values never reach a log line, wherever they sit in a logged object:
 * tool arguments belong to the user, env and headers carry upstream secrets.
 */
export const REDACTED_PATHS = [
  "arguments",
  "*.arguments",
  "params.arguments",
  "*.params.arguments",
  "env",
  "*.env",
  "headers",
  "*.headers",
  "req.headers.authorization",
  "bearerAuthKey",
  "*.bearerAuthKey",
  "password",
  "*.password",
];

export function createLogger(opts: LoggerOptions): Logger {
  const base = {
    level: opts.level,
    base: { service: opts.service },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  if (opts.stream) return pino(base, opts.stream);
  if (!opts.file) return pino(base);
  return pino(
    base,
    pino.multistream([
      { level: opts.level as pino.Level, stream: process.stdout },
      { level: opts.level as pino.Level, stream: pino.destination({ dest: opts.file, mkdir: true, sync: false }) },
    ]),
  );
}
