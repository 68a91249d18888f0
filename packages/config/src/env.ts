import { z } from "zod";

/** Thrown when configuration is invalid; lists every bad key at once. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(`${source} is invalid:\n  - ${issues.join("\n  - ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

const milliseconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = z
  .enum(["true", "false", "1", "0", ""])
  .default("false")
  .transform((v) => v === "true" || v === "1");

const optionalText = z
  .string()
  .optional()
  .transform((v) => v || undefined);

/** The environment variables every MCPHub process understands (DESIGN.md, "Environment"). */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** Loopback by default: a newcomer's first hub is not on the network before they choose so. */
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BASE_PATH: z
    .string()
    .default("")
    .refine((v) => v === "" || (v.startsWith("/") && !v.endsWith("/")), "must start with / and not end with /"),
  MCPHUB_SETTING_PATH: z.string().default("./mcp_settings.json"),
  DATA_DIR: z.string().default("./data"),
  INIT_TIMEOUT: milliseconds(30_000),
  REQUEST_TIMEOUT: milliseconds(60_000),
  /** Largest accepted JSON-RPC body; larger ones get 413. */
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** Unread bytes a client's SSE stream may hold; a client further behind is dropped. */
  MAX_STREAM_BUFFER_BYTES: z.coerce.number().int().positive().default(8 * 1024 * 1024),
  /** Sessions one principal (API key, user, or everyone on an open hub) may hold; opening more ends its least recently used. */
  MAX_SESSIONS_PER_PRINCIPAL: z.coerce.number().int().positive().default(100),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FILE: z.string().optional(),
  HUB_TARGETS: z.string().default("all"),
  SKIP_AUTH: flag,
  /** postgres://… ; PGlite under DATA_DIR when absent. */
  DATABASE_URL: z.string().optional(),
  /** redis://… ; the in-memory bus when absent (all-in-one). */
  REDIS_URL: z.string().optional(),
  /** Shared secret of the internal HTTP APIs between services. */
  INTERNAL_TOKEN: z.string().optional(),
  SUPERVISOR_URL: z.url().optional(),
  ROUTER_URL: z.url().optional(),
  AUTH_URL: z.url().optional(),
  /** Signs session tokens; 32+ characters, required when NODE_ENV=production. */
  JWT_SECRET: z.string().optional(),
  /** The first admin's password; without it one is generated and printed once. */
  ADMIN_PASSWORD: z.string().optional(),
  /**
   * Host names the MCP endpoints answer to, comma-separated (DNS-rebinding protection).
   * Default: loopback names when HOST is a loopback address, any name otherwise.
   */
  ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(",").map((h) => h.trim()).filter(Boolean) : undefined)),
  /**
   * Bearer token of GET /metrics (`Authorization: Bearer <token>`, Prometheus' `authorization`
   * block). While the hub enforces credentials, /metrics is refused without it; split services
   * require it when set (nginx never routes /metrics to them).
   */
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  /** The Redis stream audit events travel on (one per deployment sharing a Redis). */
  AUDIT_STREAM: z.string().min(1).default("mcphub:audit"),
  /** Names this process in logs and in the x-mcphub-replica response header. */
  REPLICA_ID: z.string().optional(),
  /**
   * Smart routing's embedder: any OpenAI-compatible `/v1/embeddings` server when a key is set,
   * else the offline one; `systemConfig.smartRouting` in the settings wins over these. An
   * empty value (compose's `VAR: ""`) counts as unset.
   */
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: z.preprocess((v) => (v === "" ? undefined : v), z.url().optional()),
  EMBEDDING_MODEL: optionalText,
});

/** What a service split out of the all-in-one hub needs to reach its peers. */
export const splitServiceEnvSchema = envSchema.extend({
  INTERNAL_TOKEN: z.string().min(16, "must be at least 16 characters (a shared secret between services)"),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment once; reports every bad key together. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      "environment",
      result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    );
  }
  return result.data;
}
