import { z } from "zod";

/**
 * `mcp_settings.json` in MCPHub's format (DESIGN.md, "Settings"). Known fields are checked
 * strictly; unknown ones are kept, so a file written by another MCPHub version still loads.
 */
/**
 * Names and ids are URL path segments (`/api/servers/:name`, `/mcp/<server>`) and audit
 * resource ids: 100 characters keeps them well inside the router's parameter limit (500)
 * and the audit column (512), so whatever is accepted can be read, changed and deleted.
 */
export const MAX_NAME_LENGTH = 100;
/** Object.prototype's own names: as keys of a plain object they read inherited members. */
const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);
const urlName = (what: string) =>
  z
    .string()
    .min(1, "must not be empty")
    .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)
    .regex(/^[^/\s?#]+$/, `must not contain '/', '?', '#' or whitespace (${what})`)
    .refine((n) => !RESERVED_NAMES.has(n), "is reserved (__proto__, constructor and prototype cannot name anything)");
/** A server's name (the key in `mcpServers`); a group id follows the same rules. */
export const serverNameSchema = urlName("it is part of a URL");
const serverName = serverNameSchema;

const toolOverride = z.looseObject({
  enabled: z.boolean().optional(),
  description: z.string().optional(),
});

const common = {
  enabled: z.boolean().default(true),
  options: z
    .looseObject({ timeout: z.number().int().positive().optional() })
    .optional(),
  tools: z.record(z.string(), toolOverride).optional(),
};

const stdioServer = z.looseObject({
  type: z.literal("stdio"),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  ...common,
});

const remoteServer = (type: "sse" | "streamable-http") =>
  z.looseObject({
    type: z.literal(type),
    url: z.url(),
    headers: z.record(z.string(), z.string()).default({}),
    ...common,
  });

/** MCPHub infers `type` when it is missing: a command means stdio, a url means HTTP. */
function inferType(raw: unknown): unknown {
  if (!raw || typeof raw !== "object" || "type" in raw) return raw;
  const r = raw as Record<string, unknown>;
  if (typeof r.command === "string") return { ...r, type: "stdio" };
  if (typeof r.url === "string") {
    return { ...r, type: /\/sse\/?(\?|$)/.test(r.url) ? "sse" : "streamable-http" };
  }
  return raw;
}

export const serverConfigSchema = z.preprocess(
  inferType,
  z.discriminatedUnion("type", [stdioServer, remoteServer("sse"), remoteServer("streamable-http")], {
    error: "type must be one of stdio, sse, streamable-http (or give command or url)",
  }),
);

const groupServer = z.union([
  serverName,
  z.looseObject({
    name: serverName,
    tools: z.union([z.literal("all"), z.array(z.string())]).default("all"),
  }),
]);

export const groupSchema = z.looseObject({
  id: urlName("it is part of a URL"),
  name: z.string().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  description: z.string().optional(),
  servers: z.array(groupServer).default([]),
});

/**
 * `systemConfig.smartRouting`, in MCPHub's own keys so an existing settings file keeps working.
 * The embedder is the offline local one unless `embeddingProvider` is "openai" (any
 * OpenAI-compatible `/v1/embeddings` server) or an OpenAI key is configured; the environment's
 * OPENAI_API_KEY / OPENAI_BASE_URL / EMBEDDING_MODEL fill what the file leaves out.
 */
export const smartRoutingSchema = z
  .looseObject({
    enabled: z.boolean().default(true),
    /** Results scoring below this (0..1) are dropped from search_tools. */
    threshold: z.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1").default(0.3),
    embeddingProvider: z.enum(["local", "openai"], { error: 'must be "local" or "openai"' }).optional(),
    openaiApiBaseUrl: z.url("must be a URL").optional(),
    openaiApiKey: z.string().optional(),
    openaiApiEmbeddingModel: z.string().min(1, "must not be empty").optional(),
    /** search_tools answers without input schemas; describe_tool gives one tool's in full. */
    progressiveDisclosure: z.boolean().default(false),
    /** Tool texts are cut to about this many tokens before embedding (remote models limit input). */
    embeddingMaxTokens: z.number().int("must be an integer").min(16, "must be at least 16").max(32768, "must be at most 32768").default(512),
  })
  .prefault({});

const systemConfigSchema = z
  .looseObject({
    routing: z
      .looseObject({
        enableGlobalRoute: z.boolean().default(true),
        enableGroupNameRoute: z.boolean().default(true),
        enableBearerAuth: z.boolean().default(false),
        bearerAuthKey: z.string().default(""),
      })
      .prefault({}),
    nameSeparator: z.string().min(1).max(8).default("-"),
    audit: z
      .looseObject({
        /** Tool arguments belong to the user: stored in the audit log only when this is on. */
        logArguments: z.boolean().default(false),
      })
      .prefault({}),
    smartRouting: smartRoutingSchema,
  })
  .prefault({});

export const settingsSchema = z
  .looseObject({
    mcpServers: z.record(serverName, serverConfigSchema).default({}),
    groups: z.array(groupSchema).default([]),
    systemConfig: systemConfigSchema,
  })
  .superRefine((s, ctx) => {
    const ids = new Set<string>();
    s.groups.forEach((g, gi) => {
      if (ids.has(g.id)) ctx.addIssue({ code: "custom", path: ["groups", gi, "id"], message: `duplicate group id "${g.id}"` });
      ids.add(g.id);
      g.servers.forEach((entry, si) => {
        const name = typeof entry === "string" ? entry : entry.name;
        if (!(name in s.mcpServers)) {
          ctx.addIssue({ code: "custom", path: ["groups", gi, "servers", si], message: `unknown server "${name}"` });
        }
      });
    });
  });

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type StdioServerConfig = Extract<ServerConfig, { type: "stdio" }>;
export type GroupConfig = z.infer<typeof groupSchema>;
export type Settings = z.infer<typeof settingsSchema>;
export type RoutingConfig = Settings["systemConfig"]["routing"];
export type SmartRoutingConfig = Settings["systemConfig"]["smartRouting"];
