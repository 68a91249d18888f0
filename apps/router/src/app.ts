import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { HubError, ROUTER_PATHS, type RouterIndexStatus, type RouterPort, type SearchRequest, type SearchResponse } from "@mcphub/contracts";
import { restErrorHandler } from "@mcphub/observability";

export interface RouterDeps {
  /** The RouterService (any RouterPort serves). */
  router: RouterPort;
  /** INTERNAL_TOKEN: `/internal/*` answers only `Authorization: Bearer <token>`. */
  token: string;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The router's HTTP surface for gateways and the smart-routing REST API in other processes:
 * search, reindex and the index's status. (In one process they call the RouterService directly.)
 */
export default async function routerApp(app: FastifyInstance, deps: RouterDeps): Promise<void> {
  restErrorHandler(app);
  const expected = `Bearer ${deps.token}`;
  const onRequest = async (req: FastifyRequest) => {
    if (!sameSecret(req.headers.authorization ?? "", expected)) {
      throw new HubError("HUB_INTERNAL_UNAUTHORIZED", "internal API: missing or wrong INTERNAL_TOKEN", 401);
    }
  };

  app.post<{ Body: SearchRequest }>(ROUTER_PATHS.search, { onRequest }, async (req): Promise<SearchResponse> => deps.router.search(req.body));
  app.post(ROUTER_PATHS.reindex, { onRequest }, async (): Promise<RouterIndexStatus> => deps.router.reindex());
  app.get(ROUTER_PATHS.status, { onRequest }, async (): Promise<RouterIndexStatus> => deps.router.status());
}
