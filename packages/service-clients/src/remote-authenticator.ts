import { HubError, INTERNAL_AUTH_PATH, type AuthenticateRequest, type AuthenticatorPort, type Principal } from "@mcphub/contracts";
import { Pool } from "undici";
import { withRequestIdHeader } from "@mcphub/observability";

export interface RemoteAuthenticatorOptions {
  url: string;
  token: string;
}

/** AuthenticatorPort over the auth service's `POST /internal/authenticate` (wrap it in a CachingAuthenticator). */
export class RemoteAuthenticator implements AuthenticatorPort {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;

  constructor(opts: RemoteAuthenticatorOptions) {
    this.pool = new Pool(opts.url, { connections: 8, pipelining: 1 });
    this.headers = { authorization: `Bearer ${opts.token}`, "content-type": "application/json" };
  }

  async authenticate(request: AuthenticateRequest): Promise<Principal> {
    let res;
    try {
      res = await this.pool.request({ path: INTERNAL_AUTH_PATH, method: "POST", headers: withRequestIdHeader(this.headers), body: JSON.stringify(request) });
    } catch (err) {
      throw new HubError("HUB_AUTH_UNAVAILABLE", `the auth service is unreachable: ${(err as Error).message}`, 503);
    }
    const body = (await res.body.json()) as { principal?: Principal; error?: { code: string; message: string; details?: unknown } };
    if (res.statusCode === 200 && body.principal) return body.principal;
    if (res.statusCode === 401 && body.error) throw new HubError(body.error.code as `HUB_${string}`, body.error.message, 401, body.error.details);
    throw new HubError("HUB_AUTH_UNAVAILABLE", `the auth service answered ${res.statusCode}: ${body.error?.message ?? "no reason"}`, 503);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
