import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { MAX_NAME_LENGTH } from "@mcphub/config";
import type { AuthenticationService } from "./authn.service.ts";
import { parseInput } from "./errors.ts";
import { requireSession } from "./session.ts";
import type { ApiKeysService } from "./api-keys.service.ts";

/** Group ids and server names are at most MAX_NAME_LENGTH in the settings; a longer one could never match. */
const names = z.array(z.string().min(1, "must not be empty").max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)).max(1000);

const createBody = z
  .object({
    name: z.string().trim().min(1, "is required").max(100, "must be at most 100 characters"),
    accessType: z.enum(["all", "groups", "servers"]),
    allowedGroups: names.optional(),
    allowedServers: names.optional(),
    expiresAt: z.iso.datetime({ offset: true, message: "must be an ISO 8601 time, e.g. 2030-01-31T00:00:00Z" }).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.accessType === "groups" && !b.allowedGroups?.length) {
      ctx.addIssue({ code: "custom", path: ["allowedGroups"], message: 'is required (at least one group id) when accessType is "groups"' });
    }
    if (b.accessType === "servers" && !b.allowedServers?.length) {
      ctx.addIssue({ code: "custom", path: ["allowedServers"], message: 'is required (at least one server name) when accessType is "servers"' });
    }
    if (b.accessType !== "groups" && b.allowedGroups?.length) {
      ctx.addIssue({ code: "custom", path: ["allowedGroups"], message: 'only applies when accessType is "groups"' });
    }
    if (b.accessType !== "servers" && b.allowedServers?.length) {
      ctx.addIssue({ code: "custom", path: ["allowedServers"], message: 'only applies when accessType is "servers"' });
    }
    if (b.expiresAt && new Date(b.expiresAt).getTime() <= Date.now()) {
      ctx.addIssue({ code: "custom", path: ["expiresAt"], message: "must be in the future" });
    }
  });

const listQuery = z.object({ all: z.enum(["true", "false"], "must be true or false").optional() });
const idParams = z.object({ id: z.uuid("must be an API key id (a UUID)") });

/** API keys of the signed-in user (an admin sees and revokes everyone's). */
export async function apiKeysRoutes(app: FastifyInstance, opts: { keys: ApiKeysService; authn: AuthenticationService }): Promise<void> {
  const { keys, authn } = opts;

  app.post("/api/keys", async (req, reply) => {
    const { actor } = await requireSession(req, authn);
    const body = parseInput(createBody, req.body, "HUB_INVALID_API_KEY");
    const created = await keys.create(actor, { ...body, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined });
    reply.code(201);
    return created;
  });

  app.get("/api/keys", async (req) => {
    const { actor } = await requireSession(req, authn);
    const { all } = parseInput(listQuery, req.query, "HUB_INVALID_QUERY", "query");
    return { keys: await keys.list(actor, all === "true") };
  });

  app.delete("/api/keys/:id", async (req, reply) => {
    const { actor } = await requireSession(req, authn);
    const { id } = parseInput(idParams, req.params, "HUB_INVALID_REQUEST", "id");
    await keys.revoke(actor, id);
    return reply.code(204).send();
  });
}
