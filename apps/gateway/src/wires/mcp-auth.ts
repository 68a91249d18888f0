import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { HubError, type AuthenticatorPort, type Principal, type SupervisorPort } from "@mcphub/contracts";
import { resolveTarget } from "../core/catalog-view.ts";
import { errorResponse, JsonRpcCode } from "../core/jsonrpc.ts";

/** What a request may reach, once its credential is known. */
export interface McpAccess {
  /** Binds a session to whoever opened it: another credential cannot use it. */
  principalKey: string;
  principal?: Principal;
  /** When set, only these servers' tools, prompts and resources are visible and callable. */
  servers?: string[];
}

export interface McpAuthOptions {
  /** The auth service; absent in the all-in-one hub until it runs there. */
  authenticator?: AuthenticatorPort;
  /** SKIP_AUTH=true: no account credential is checked, on purpose (the settings' bearer key still is). */
  skipAuth: boolean;
  supervisor: SupervisorPort;
  basePath: string;
}

const OPEN: McpAccess = { principalKey: "open" };
const METADATA_PATH = "/.well-known/oauth-protected-resource";

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Who may use the MCP endpoints. Credentials, in order: the settings' bearer key
 * (`systemConfig.routing.enableBearerAuth` + `bearerAuthKey`), then API keys and session tokens
 * through the auth service. An API key's scope holds for lists and calls: a key for some
 * groups reaches only those groups' endpoints, a key for some servers sees only those servers.
 */
export class McpAuth {
  constructor(private readonly opts: McpAuthOptions) {}

  /** The access of this request to `targetName`; undefined when a 401/403 was sent. */
  async check(req: FastifyRequest, reply: FastifyReply, targetName: string): Promise<McpAccess | undefined> {
    const bearerHash = this.bearerKeyHash();
    // SKIP_AUTH opens what needs accounts; a bearer key the settings turn on still holds,
    // as the user asked for it there. Nothing to check against: open.
    if (!bearerHash && (this.opts.skipAuth || !this.opts.authenticator)) return OPEN;
    const authorization = header(req, "authorization");
    const apiKey = header(req, "x-api-key");
    const presented = apiKey ?? authorization?.replace(/^Bearer\s+/i, "");
    if (bearerHash && presented && timingSafeEqual(sha256(presented), bearerHash)) return { principalKey: "bearer-key" };
    if (!authorization && !apiKey) return this.unauthorized(req, reply, "missing_credentials", "send Authorization: Bearer <API key or session token>");
    if (this.opts.skipAuth || !this.opts.authenticator) return this.unauthorized(req, reply, "key_unknown", "the credential is not the configured bearer key");
    let principal: Principal;
    try {
      principal = await this.opts.authenticator.authenticate({ authorization, apiKey });
    } catch (err) {
      if (err instanceof HubError && err.status === 401) {
        const reason = (err.details as { reason?: string } | undefined)?.reason ?? "token_invalid";
        return this.unauthorized(req, reply, reason, err.message);
      }
      const status = err instanceof HubError ? err.status : 503;
      reply.code(status).header("content-type", "application/json").send(JSON.stringify(errorResponse(null, -32000, `authentication unavailable: ${(err as Error).message}`)));
      return undefined;
    }
    const principalKey = principal.kind === "apiKey" ? `key:${principal.keyId}` : `user:${principal.userId}`;
    return this.scope(reply, principal, principalKey, targetName);
  }

  /** RFC 9728 protected-resource metadata, named in every 401's WWW-Authenticate. */
  register(app: FastifyInstance): void {
    const metadata = (req: FastifyRequest) => ({
      resource: `${origin(req)}${this.opts.basePath}/mcp`,
      authorization_servers: [],
      bearer_methods_supported: ["header"],
      resource_name: "MCPHub",
      resource_documentation: `${origin(req)}${this.opts.basePath}/api/docs`,
    });
    app.get(METADATA_PATH, async (req) => metadata(req));
    app.get(`${METADATA_PATH}/mcp`, async (req) => metadata(req));
    app.get(`${METADATA_PATH}/mcp/:target`, async (req) => metadata(req));
    app.get(`${METADATA_PATH}/mcp/:target/:group`, async (req) => metadata(req));
  }

  private scope(reply: FastifyReply, principal: Principal, principalKey: string, targetName: string): McpAccess | undefined {
    const { scope } = principal;
    if (scope.accessType === "all") return { principalKey, principal };
    const snap = this.opts.supervisor.catalog();
    const target = resolveTarget(targetName, snap);
    if (scope.accessType === "groups") {
      // A group key reaches its groups' endpoints, where the group already limits what is seen.
      // Smart routing over one of its groups too: the search and call_tool see that group only.
      const group = target?.kind === "group" ? target.id : target?.kind === "smart" ? target.group : undefined;
      if (group !== undefined && (scope.groups ?? []).includes(group)) return { principalKey, principal };
      const endpoints = (scope.groups ?? []).flatMap((g) => [`/mcp/${g}`, `/mcp/$smart/${g}`]);
      return this.forbidden(reply, `this API key may use only the endpoints of its groups (${endpoints.join(", ") || "none"})`);
    }
    const servers = scope.servers ?? [];
    if (target?.kind === "server" && !servers.includes(target.name)) {
      return this.forbidden(reply, `this API key may not use server "${target.name}"`);
    }
    return { principalKey, principal, servers };
  }

  private bearerKeyHash(): Buffer | undefined {
    const bearer = this.opts.supervisor.catalog().routing.bearerAuth;
    return bearer?.enabled && bearer.keySha256 ? Buffer.from(bearer.keySha256, "hex") : undefined;
  }

  private unauthorized(req: FastifyRequest, reply: FastifyReply, reason: string, message: string): undefined {
    const resourceMetadata = `${origin(req)}${this.opts.basePath}${METADATA_PATH}`;
    reply
      .code(401)
      .header("www-authenticate", `Bearer error="invalid_token", error_description="${reason}", resource_metadata="${resourceMetadata}"`)
      .header("content-type", "application/json")
      .send(JSON.stringify(errorResponse(null, -32001, `Unauthorized (${reason}): ${message}`)));
    return undefined;
  }

  private forbidden(reply: FastifyReply, message: string): undefined {
    reply.code(403).header("content-type", "application/json").send(JSON.stringify(errorResponse(null, JsonRpcCode.InvalidRequest, `Forbidden: ${message}`)));
    return undefined;
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The client's view of our origin (behind nginx: its forwarded proto and host). */
function origin(req: FastifyRequest): string {
  const proto = header(req, "x-forwarded-proto") ?? req.protocol;
  return `${proto}://${header(req, "x-forwarded-host") ?? req.headers.host ?? "localhost"}`;
}
