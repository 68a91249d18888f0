/** The REST API, as any client uses it: relative to the page's <base href> (the hub's BASE_PATH). */

const TOKEN_KEY = "mcphub.token";

export const session = {
  get token(): string | null {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token: string | null): void {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** An API answer other than 2xx, with the API's reasons mapped to the fields that caused them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Field name → reason, from `error.details` (settings JSON paths or `{field, message}`). */
    readonly fields: Record<string, string>,
    readonly details: unknown,
  ) {
    super(message);
  }
}

/**
 * Maps an API error's details to form fields. Settings errors name JSON paths
 * (`$.mcpServers.<name>.options.timeout: reason`); auth errors give `{field, message}`.
 * `strip` removes a leading path (`$.mcpServers.<name>.`) so fields read as the form names them.
 */
export function fieldErrors(details: unknown, strip?: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(details)) return out;
  for (const d of details) {
    let path: string;
    let reason: string;
    if (typeof d === "string") {
      const at = d.indexOf(": ");
      if (at < 0) continue;
      path = d.slice(0, at);
      reason = d.slice(at + 2);
    } else if (d && typeof d === "object" && "field" in d) {
      path = String((d as { field: unknown }).field);
      reason = String((d as { message?: unknown }).message ?? "is invalid");
    } else continue;
    if (strip && path.startsWith(strip)) path = path.slice(strip.length);
    path = path.replace(/^\$\.?/, "");
    out[path] ??= reason;
  }
  return out;
}

/** Raised to the app when the API says the session is over (expired, password changed, user gone). */
export const SIGNED_OUT = "mcphub:signed-out";

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = session.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(path, document.baseURI), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    if (res.status === 401 && token && path !== "api/auth/login") window.dispatchEvent(new Event(SIGNED_OUT));
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `${res.status} ${res.statusText}`, fieldErrors(err?.details), err?.details);
  }
  return data as T;
}

// The API's shapes, as the pages use them.

export interface User {
  id: string;
  username: string;
  role: "admin" | "user";
  email?: string | null;
  disabled?: boolean;
  createdAt?: string;
}

export interface ServerStatus {
  name: string;
  type: string;
  state: "connecting" | "ready" | "failed" | "restarting" | "disabled";
  toolCount: number;
  lastError?: string;
  restarts: number;
  retryInMs?: number;
  protocolVersion?: string;
}

export interface ServerConfig {
  type?: "stdio" | "sse" | "streamable-http";
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
  enabled?: boolean;
  options?: { timeout?: number } & Record<string, unknown>;
  tools?: Record<string, { enabled?: boolean; description?: string }>;
  [key: string]: unknown;
}

export interface ServerView {
  name: string;
  config: ServerConfig;
  status?: ServerStatus;
}

export interface ToolView {
  name: string;
  key: string;
  title?: string;
  enabled: boolean;
  description: string;
  originalDescription: string;
  descriptionOverridden: boolean;
  inputSchema?: JsonSchema;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  enum?: unknown[];
  items?: JsonSchema;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

export interface GroupEntry {
  name: string;
  tools: string[] | "all";
}

export interface Group {
  id: string;
  name: string;
  description?: string;
  servers: (string | GroupEntry)[];
}

export interface ApiKey {
  id: string;
  name: string;
  prefix?: string;
  accessType: "all" | "groups" | "servers";
  allowedGroups?: string[] | null;
  allowedServers?: string[] | null;
  expiresAt?: string | null;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
  createdAt?: string;
  userId?: string;
  username?: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  action: string;
  resource?: string | null;
  resourceId?: string | null;
  username?: string | null;
  userId?: string | null;
  success: boolean;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

export interface MinuteStats {
  at: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
}

export interface ServerStats {
  server: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  minutes: MinuteStats[];
}
