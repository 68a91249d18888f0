import { z } from "zod";
import { groupSchema, serverConfigSchema, settingsSchema } from "@mcphub/config";

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const body = (schema: object) => ({ required: true, content: { "application/json": { schema } } });
const ok = (description: string, schema?: object) => ({
  description,
  ...(schema ? { content: { "application/json": { schema } } } : {}),
});
const errors = {
  "400": ok("invalid input: `error.details` lists each JSON path and reason", ref("Error")),
  "404": ok("no such server or group", ref("Error")),
  "503": ok("the settings database is still starting", ref("Error")),
};
const nameParam = [{ name: "name", in: "path", required: true, schema: { type: "string" } }];
const idParam = [{ name: "id", in: "path", required: true, schema: { type: "string" } }];

/** The OpenAPI 3.1 description of the settings API, built from the same schemas that validate it. */
export function settingsOpenApi(basePath: string): Record<string, unknown> {
  const p = (path: string) => `${basePath}${path}`;
  return {
    openapi: "3.1.0",
    info: { title: "MCPHub settings API", version: "0.1.0", description: "Servers, groups and system settings. Every change is a revision, written back to mcp_settings.json." },
    components: {
      schemas: {
        ServerConfig: json(serverConfigSchema),
        Group: json(groupSchema),
        Settings: json(settingsSchema),
        Error: {
          type: "object",
          properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" }, details: {}, requestId: { type: "string" } } } },
        },
      },
    },
    paths: {
      [p("/api/settings")]: {
        get: { summary: "The current settings and their revision", responses: { "200": ok("settings", { type: "object", properties: { revision: { type: ["integer", "null"] }, settings: ref("Settings") } }) } },
        put: { summary: "Replace the whole settings", requestBody: body(ref("Settings")), responses: { "200": ok("the new settings"), ...errors } },
      },
      [p("/api/settings/revisions")]: { get: { summary: "The newest 100 revisions (without their content)", responses: { "200": ok("revisions") } } },
      [p("/api/servers")]: {
        get: { summary: "Every server with its settings and state", responses: { "200": ok("servers") } },
        post: {
          summary: "Add a server",
          requestBody: body({ allOf: [ref("ServerConfig"), { type: "object", required: ["name"], properties: { name: { type: "string" } } }] }),
          responses: { "201": ok("created"), "409": ok("a server with this name exists", ref("Error")), ...errors },
        },
      },
      [p("/api/servers/{name}")]: {
        parameters: nameParam,
        get: { summary: "One server", responses: { "200": ok("server"), "404": errors["404"] } },
        put: { summary: "Replace a server's settings", requestBody: body(ref("ServerConfig")), responses: { "200": ok("updated"), ...errors } },
        delete: { summary: "Remove a server (and its group entries)", responses: { "204": ok("removed"), "404": errors["404"] } },
      },
      [p("/api/servers/{name}/restart")]: {
        parameters: nameParam,
        post: {
          summary: "Reconnect a server now (a stdio server gets a new process)",
          responses: { "202": ok("restarting: the server's status"), "404": errors["404"], "409": ok("the server is disabled", ref("Error")) },
        },
      },
      [p("/api/stats")]: {
        get: {
          summary: "Tool calls per server over the last hour, minute by minute (calls, errors, median latency)",
          responses: {
            "200": ok("per-server stats", {
              type: "object",
              properties: {
                windowMinutes: { type: "integer" },
                servers: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      server: { type: "string" },
                      calls: { type: "integer" },
                      errors: { type: "integer" },
                      p50Ms: { type: ["number", "null"] },
                      minutes: {
                        type: "array",
                        items: { type: "object", properties: { at: { type: "string", format: "date-time" }, calls: { type: "integer" }, errors: { type: "integer" }, p50Ms: { type: ["number", "null"] } } },
                      },
                    },
                  },
                },
              },
            }),
          },
        },
      },
      [p("/api/servers/{name}/tools")]: {
        parameters: nameParam,
        get: {
          summary: "A server's tools as it lists them (disabled ones too), each with its override applied; its prompts and resources",
          responses: {
            "200": ok("tools, prompts and resources", {
              type: "object",
              properties: {
                tools: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      name: { type: "string", description: "the server's own name of the tool" },
                      key: { type: "string", description: "the key of its override in the server's `tools`: <server><sep><tool>" },
                      enabled: { type: "boolean" },
                      description: { type: "string", description: "what clients see (the override, else the server's)" },
                      originalDescription: { type: "string" },
                      descriptionOverridden: { type: "boolean" },
                      inputSchema: { type: "object" },
                    },
                  },
                },
                prompts: { type: "array", items: { type: "object" } },
                resources: { type: "array", items: { type: "object" } },
              },
            }),
            "404": errors["404"],
          },
        },
      },
      [p("/api/servers/{name}/tools/{tool}/call")]: {
        parameters: [...nameParam, { name: "tool", in: "path", required: true, schema: { type: "string" } }],
        post: {
          summary: "Call a tool of a server (trying it out); recorded in the audit log as a tool call",
          requestBody: body({ type: "object", properties: { arguments: { type: "object" } } }),
          responses: {
            "200": ok("the tool's result, as MCP's tools/call returns it", { type: "object", properties: { result: { type: "object" } } }),
            "400": errors["400"],
            "403": ok("the tool is disabled", ref("Error")),
            "404": errors["404"],
            "502": ok("the server failed the call (error.details.code is the JSON-RPC code)", ref("Error")),
          },
        },
      },
      [p("/api/groups")]: {
        get: { summary: "Every group", responses: { "200": ok("groups") } },
        post: { summary: "Add a group (id generated when absent)", requestBody: body(ref("Group")), responses: { "201": ok("created"), "409": ok("a group with this id exists", ref("Error")), ...errors } },
      },
      [p("/api/groups/{id}")]: {
        parameters: idParam,
        get: { summary: "One group", responses: { "200": ok("group"), "404": errors["404"] } },
        put: { summary: "Replace a group", requestBody: body(ref("Group")), responses: { "200": ok("updated"), ...errors } },
        delete: { summary: "Remove a group", responses: { "204": ok("removed"), "404": errors["404"] } },
      },
    },
  };
}
