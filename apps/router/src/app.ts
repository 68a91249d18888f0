import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { HubError } from "@mcphub/contracts";
import { restErrorHandler } from "@mcphub/observability";
import type { RouterService } from "./router.service.ts";
import { ROUTER_PATHS, type SearchRequest, type SearchResponse } from "@mcphub/contracts";

export interface RouterDeps {
  router: RouterService;
  /** INTERNAL_TOKEN: `/internal/*` answers only `Authorization: Bearer <token>`. */
  token: string;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The router's HTTP surface: `POST /internal/search` for gateways in other processes.
 * (In one process a gateway calls the RouterService directly.)
 */
export default async function routerApp(app: FastifyInstance, deps: RouterDeps): Promise<void> {
  restErrorHandler(app);
  const expected = `Bearer ${deps.token}`;

  app.post<{ Body: SearchRequest }>(
    ROUTER_PATHS.search,
    {
      onRequest: async (req) => {
        if (!sameSecret(req.headers.authorization ?? "", expected)) {
          throw new HubError("HUB_INTERNAL_UNAUTHORIZED", "internal API: missing or wrong INTERNAL_TOKEN", 401);
        }
      },
    },
    async (req): Promise<SearchResponse> => deps.router.search(req.body),
  );
}
