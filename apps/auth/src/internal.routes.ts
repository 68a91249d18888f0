import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AuthenticationService } from "./authn.service.ts";
import { parseInput } from "./errors.ts";
import { INTERNAL_AUTH_PATH, type AuthenticateResponse } from "@mcphub/contracts";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const authenticateBody = z
  .object({
    authorization: z.string().max(8192).optional(),
    apiKey: z.string().max(1024).optional(),
  })
  .strict();

/** `/internal/*` for the gateway and the supervisor, guarded by INTERNAL_TOKEN. */
export async function internalRoutes(app: FastifyInstance, opts: { authn: AuthenticationService; token: string }): Promise<void> {
  const expected = `Bearer ${opts.token}`;
  app.addHook("onRequest", async (req, reply) => {
    if (!sameSecret(req.headers.authorization ?? "", expected)) {
      return reply
        .code(401)
        .send({ error: { code: "HUB_INTERNAL_UNAUTHORIZED", message: "internal API: missing or wrong INTERNAL_TOKEN", requestId: req.id } });
    }
  });

  app.post(INTERNAL_AUTH_PATH, async (req): Promise<AuthenticateResponse> => {
    const body = parseInput(authenticateBody, req.body, "HUB_INVALID_REQUEST");
    return { principal: await opts.authn.authenticate(body) };
  });
}
