/** REST calls for tests: the answer's status and parsed JSON body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

/** One REST call, with `token` as `Authorization: Bearer` when given. */
export async function rest(base: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.token && { authorization: `Bearer ${opts.token}` }),
      ...(opts.body !== undefined && { "content-type": "application/json" }),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Signs in; the session token, or undefined when refused. */
export async function signIn(base: string, username: string, password: string): Promise<string | undefined> {
  return (await rest(base, "POST", "/api/auth/login", { body: { username, password } })).body.token;
}
