import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { HubError } from "@mcphub/contracts";
import { newPassword } from "./auth.routes.ts";
import type { AuthenticationService } from "./authn.service.ts";
import { notFound, parseInput } from "./errors.ts";
import { requireAdmin } from "./session.ts";
import { publicUser, type UsersService } from "./users.service.ts";

const username = z
  .string()
  .trim()
  .min(1, "is required")
  .max(255, "must be at most 255 characters")
  .regex(/^[A-Za-z0-9._@+-]+$/, "may contain only letters, digits and . _ @ + -");
const role = z.enum(["admin", "user"]);
const email = z.email().max(255);

const createBody = z.object({
  username,
  password: newPassword,
  role: role.default("user"),
  email: email.nullish(),
});

const updateBody = z
  .object({ username: username.optional(), password: newPassword.optional(), role: role.optional(), email: email.nullable().optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, "give at least one of username, password, role, email");

const idParams = z.object({ id: z.uuid("must be a user id (a UUID)") });

/** User administration: admins only. */
export async function usersRoutes(app: FastifyInstance, opts: { users: UsersService; authn: AuthenticationService }): Promise<void> {
  const { users, authn } = opts;

  app.get("/api/users", async (req) => {
    await requireAdmin(req, authn);
    return { users: await users.list() };
  });

  app.post("/api/users", async (req, reply) => {
    const { actor } = await requireAdmin(req, authn);
    const body = parseInput(createBody, req.body, "HUB_INVALID_USER");
    reply.code(201);
    return { user: await users.create(actor, { ...body, email: body.email ?? null }) };
  });

  app.get("/api/users/:id", async (req) => {
    await requireAdmin(req, authn);
    const { id } = parseInput(idParams, req.params, "HUB_INVALID_REQUEST", "id");
    const user = await users.get(id);
    if (!user) throw notFound("user", id);
    return { user: publicUser(user) };
  });

  app.put("/api/users/:id", async (req) => {
    const { actor } = await requireAdmin(req, authn);
    const { id } = parseInput(idParams, req.params, "HUB_INVALID_REQUEST", "id");
    const body = parseInput(updateBody, req.body, "HUB_INVALID_USER");
    return { user: await users.update(actor, id, body) };
  });

  app.delete("/api/users/:id", async (req, reply) => {
    const { actor } = await requireAdmin(req, authn);
    const { id } = parseInput(idParams, req.params, "HUB_INVALID_REQUEST", "id");
    if (id === actor.userId) throw new HubError("HUB_CANNOT_DELETE_SELF", "an admin cannot delete their own account; ask another admin", 409);
    await users.delete(actor, id);
    return reply.code(204).send();
  });
}
